//! One typed configuration: defaults, then a TOML file, then `RESETD_*` environment variables.
//!
//! Every value is checked before the server starts; a bad one stops it with the key named.
//! The key and variable names are part of the operator interface (INTERFACE.md): keep them.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::security::cidr::Cidr;

mod clients;

pub use clients::{is_scope_token, ClientConfig, DEFAULT_CLIENT_ID};

/// A configuration problem, always naming the key it is about.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid TOML: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("config key `{key}`: {problem}")]
    Invalid { key: String, problem: String },
}

impl ConfigError {
    fn invalid(key: impl Into<String>, problem: impl Into<String>) -> Self {
        Self::Invalid {
            key: key.into(),
            problem: problem.into(),
        }
    }
}

/// Environment variables and the keys they set (INTERFACE.md).
pub const ENV_KEYS: &[(&str, &str)] = &[
    ("RESETD_BIND", "bind"),
    ("RESETD_DATABASE_URL", "database_url"),
    ("RESETD_MAIL_URL", "mail.url"),
    ("RESETD_MAIL_FROM", "mail.from"),
    ("RESETD_PUBLIC_BASE_URL", "public_base_url"),
    ("RESETD_SECRET", "secret"),
    ("RESETD_ADMIN_TOKEN", "admin_token"),
    ("RESETD_LOG", "log.filter"),
    ("RESETD_LOG_FORMAT", "log.format"),
    ("RESETD_RATE_LIMITS", "security.rate_limits"),
    ("RESETD_METRICS_TOKEN", "metrics.token"),
    ("RESETD_INTROSPECTION_TOKEN", "introspection.token"),
];

/// The environment variable naming the config file.
pub const CONFIG_FILE_ENV: &str = "RESETD_CONFIG";

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address and port the HTTP server listens on.
    #[schemars(with = "String")]
    pub bind: SocketAddr,
    /// `sqlite://PATH` (created if missing) or `postgres://user:password@host:port/db`.
    pub database_url: String,
    /// The only source of links in emails: never the request's Host.
    #[schemars(with = "String")]
    pub public_base_url: url::Url,
    /// The product's name as its users know it (resetd itself stays out of sight): shown in
    /// the reset pages' title and heading and in the emails. Plain text, escaped where shown.
    pub product_name: String,
    /// Keys the token hashes. Unset: generated once and kept in the database.
    pub secret: Option<Secret>,
    /// Bearer token of the admin API. Unset: the admin API answers 404.
    pub admin_token: Option<Secret>,
    pub mail: MailConfig,
    pub log: LogConfig,
    pub argon2: Argon2Config,
    pub sessions: SessionConfig,
    pub outbox: OutboxConfig,
    pub issuer: IssuerConfig,
    pub dialects: DialectsConfig,
    pub security: SecurityConfig,
    pub metrics: MetricsConfig,
    pub introspection: IntrospectionConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: "sqlite://resetd.db".to_owned(),
            public_base_url: url::Url::parse("http://127.0.0.1:8080")
                .expect("the default base URL is valid"),
            secret: None,
            admin_token: None,
            product_name: "resetd".to_owned(),
            mail: MailConfig::default(),
            log: LogConfig::default(),
            argon2: Argon2Config::default(),
            sessions: SessionConfig::default(),
            outbox: OutboxConfig::default(),
            issuer: IssuerConfig::default(),
            dialects: DialectsConfig::default(),
            security: SecurityConfig::default(),
            metrics: MetricsConfig::default(),
            introspection: IntrospectionConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct MailConfig {
    /// `file://DIR`, `smtp://host:port[?tls=required|opportunistic]`, `smtps://host:port`.
    pub url: Secret,
    /// Sender of every email, as `Name <address>` or a bare address.
    pub from: String,
    /// A directory of mail templates replacing the built-in ones file by file (same names as
    /// `src/mail/templates/`, e.g. `cloudreve_reset.zh-CN.html.j2`). Every file is compiled
    /// and tried at start; an unknown name or a broken template stops the start. Unset: the
    /// built-in templates.
    pub templates_dir: Option<PathBuf>,
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            url: Secret::new("file://mail-out"),
            from: "resetd <no-reply@localhost>".to_owned(),
            templates_dir: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// What to log, in `tracing`'s filter syntax (`info`, `resetd=debug,info`, ...).
    pub filter: String,
    /// `text` for people, `json` for one JSON object per line.
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            filter: "info".to_owned(),
            format: LogFormat::Text,
        }
    }
}

/// argon2id parameters; the defaults are OWASP's minimum (m=19 MiB, t=2, p=1).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Argon2Config {
    /// Memory per hash in KiB (`m`; OWASP's minimum is 19456).
    pub memory_kib: u32,
    /// Passes over the memory (`t`).
    pub iterations: u32,
    /// Lanes per hash (`p`).
    pub parallelism: u32,
    /// Hashes computed at once; each holds `memory_kib` of memory. 0 = one per core.
    pub max_concurrent: usize,
}

impl Default for Argon2Config {
    fn default() -> Self {
        Self {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
            max_concurrent: 0,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SessionConfig {
    /// Lifetime of an access token (`/v1/login`, the dialects' sessions), in seconds.
    pub access_ttl_secs: u64,
    /// Lifetime of a refresh token, in seconds.
    pub refresh_ttl_secs: u64,
    /// The clients `/v1/login` issues sessions to (`[[sessions.clients]]` tables of `id` and
    /// `scopes`): an unknown `client_id` is refused (`invalid_client`), as is a scope not
    /// listed for the client (`invalid_scope`). A login naming no client is client `resetd`;
    /// one naming no scope gets all of its client's scopes. Setting this list replaces the
    /// built-in client; an empty list refuses every `/v1/login`.
    pub clients: Vec<ClientConfig>,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            access_ttl_secs: 3_600,
            refresh_ttl_secs: 30 * 24 * 3_600,
            clients: clients::default_clients(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct OutboxConfig {
    /// Attempts before a message is marked dead.
    pub max_attempts: i32,
    /// Wait before the second attempt; each later wait doubles (±20% jitter).
    pub base_delay_ms: u64,
    /// Longest wait between two attempts.
    pub max_delay_ms: u64,
    /// How long a claimed message stays with its worker without a renewal before another
    /// may take it. The worker renews it every third of this while it delivers, however
    /// long the mail server takes; after a crash, mail it held waits this long.
    pub lease_ms: u64,
    /// How often to look for mail to send when nothing in this process queued any.
    pub poll_interval_ms: u64,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            base_delay_ms: 2_000,
            max_delay_ms: 15 * 60 * 1_000,
            lease_ms: 10_000,
            poll_interval_ms: 1_000,
        }
    }
}

/// The reset issuer (`reset::issuer`): the background task that turns queued reset requests
/// into tokens and mail, so that the request path does the same work for every email.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct IssuerConfig {
    /// Run the issuer in this process. `false` only for a replica that takes requests while
    /// another replica on the same database issues (or a test that looks at the queue):
    /// with no issuer running anywhere, requests are answered but no mail is sent.
    pub enabled: bool,
    /// How long a claimed request stays with its issuer without a renewal before another
    /// may take it (the issuer died). The issuer renews it every third of this while it
    /// works; after a crash, requests it held wait this long.
    pub lease_ms: u64,
    /// How often to look for queued requests when no request in this process wakes the
    /// issuer (requests taken by other replicas, leases that ran out).
    pub poll_interval_ms: u64,
}

impl Default for IssuerConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            lease_ms: 10_000,
            poll_interval_ms: 1_000,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct DialectConfig {
    /// Serve this dialect's endpoints; off, they answer the dialect's "not available".
    pub enabled: bool,
    /// Lifetime of a reset link or code, in seconds.
    pub token_ttl_secs: u64,
}

impl Default for DialectConfig {
    /// Links live an hour by default (SECURITY.md item 8).
    fn default() -> Self {
        Self::with_ttl(3_600)
    }
}

impl DialectConfig {
    fn with_ttl(token_ttl_secs: u64) -> Self {
        Self {
            enabled: true,
            token_ttl_secs,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct IpcolaConfig {
    /// Serve IPCola's endpoints; off, they answer `-7` (not available).
    pub enabled: bool,
    /// Lifetime of an emailed vcode, in seconds.
    pub token_ttl_secs: u64,
    /// The `user_tag` every request must carry.
    pub user_tag: String,
}

impl Default for IpcolaConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            token_ttl_secs: 15 * 60,
            user_tag: "ipcola".to_owned(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct DialectsConfig {
    pub ipcola: IpcolaConfig,
    pub strapi: DialectConfig,
    pub cloudreve: DialectConfig,
    pub selfcommunity: DialectConfig,
}

/// `GET /metrics` (Prometheus). Counts such as tokens issued or mail sent move only for
/// emails that have an account, so whoever can both request resets and read the metrics can
/// tell who has one: they are served only to holders of this token.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Bearer token a Prometheus scraper must send to read `GET /metrics`. Unset: `/metrics`
    /// answers 404.
    pub token: Option<Secret>,
}

/// `POST /v1/introspect` (RFC 7662): it tells who a session token belongs to, so only the
/// products that check tokens may call it (RFC 7662 §2.1).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct IntrospectionConfig {
    /// Bearer token a product must send to call `POST /v1/introspect`. Unset:
    /// `/v1/introspect` answers 404.
    pub token: Option<Secret>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Switch {
    #[default]
    On,
    Off,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SecurityConfig {
    /// Answer unknown/banned/inactive accounts the way the original product did (leaks who
    /// has an account).
    pub reveal_unknown_accounts: bool,
    /// Require a solved image captcha (`GET /site/captcha`, `GET /api/user/captcha`) with
    /// every reset request of the dialects whose API carries one (Cloudreve, IPCola).
    pub captcha: bool,
    /// How long a captcha can be answered, in seconds; each is answered at most once.
    pub captcha_ttl_secs: u64,
    /// `off` disables every limit below (a warning is logged at start).
    pub rate_limits: Switch,
    /// Failed redemptions after which a token is burned.
    pub max_failed_attempts: u32,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// How long a client may take to send a request body, in milliseconds, counted from
    /// when its handler starts reading it; past it the answer is 408 and the connection is
    /// closed, so a client trickling its body cannot hold a connection and a handler.
    pub body_read_timeout_ms: u64,
    /// Reset requests for one email (any dialect, known or not) per `account_window_secs`;
    /// past it the answer is unchanged but no token is issued and no email sent.
    pub account_requests_per_window: u32,
    /// Length of the per-account window, in seconds.
    pub account_window_secs: u64,
    /// Reset requests from one client IP per `ip_window_secs`; past it the dialect's
    /// "too many requests" answer.
    pub ip_requests_per_window: u32,
    /// Length of the per-IP request window, in seconds.
    pub ip_window_secs: u64,
    /// Failed redemptions from one client IP per `ip_failed_window_secs`; past it every
    /// redemption from that IP is refused before its token is looked up. Failed logins
    /// (`/v1/login`) are counted apart, under the same numbers. Attempts still being judged
    /// count too, so no burst of concurrent attempts gets past the limit.
    pub ip_failed_redemptions_per_window: u32,
    /// Length of the per-IP failure window, in seconds.
    pub ip_failed_window_secs: u64,
    /// Failed logins (`/v1/login`) naming one email, from any IP, per
    /// `account_failed_window_secs` (NIST SP 800-63B: at most 100); past it every login for
    /// that email is refused before its password is checked. Counted alike whether or not
    /// the email has an account.
    pub account_failed_logins_per_window: u32,
    /// Length of the per-account failed-login window, in seconds.
    pub account_failed_window_secs: u64,
    /// Proxies whose `X-Forwarded-For` is believed (CIDR networks). Empty: the client IP is
    /// always the socket peer.
    #[schemars(with = "Vec<String>")]
    pub trusted_proxies: Vec<Cidr>,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        Self {
            reveal_unknown_accounts: false,
            captcha: false,
            captcha_ttl_secs: 5 * 60,
            rate_limits: Switch::On,
            max_failed_attempts: 5,
            max_body_bytes: 16 * 1024,
            body_read_timeout_ms: 10_000,
            // SECURITY.md 3 and 10.
            account_requests_per_window: 3,
            account_window_secs: 15 * 60,
            ip_requests_per_window: 20,
            ip_window_secs: 60,
            ip_failed_redemptions_per_window: 10,
            ip_failed_window_secs: 15 * 60,
            account_failed_logins_per_window: 20,
            account_failed_window_secs: 15 * 60,
            trusted_proxies: Vec::new(),
        }
    }
}

/// Longest accepted `product_name`, in characters: it has to fit a page title.
const MAX_PRODUCT_NAME_CHARS: usize = 80;

/// Largest accepted rate-limit count: far above any sensible limit, far below the
/// store's 32-bit counter.
const MAX_RATE_LIMIT: u32 = 1_000_000;
/// Longest accepted rate-limit window. Counters are kept for the longest configured window,
/// so this also bounds how long a counter row lives.
const MAX_RATE_WINDOW_SECS: u64 = 7 * 24 * 3_600;

/// Accepted `security.body_read_timeout_ms`: below 100 ms a slow but honest client on a
/// poor link is refused; above 5 minutes the timeout no longer protects anything.
const MIN_BODY_READ_TIMEOUT_MS: u64 = 100;
const MAX_BODY_READ_TIMEOUT_MS: u64 = 300_000;

/// Longest accepted issuer lease or poll interval: longer would leave answered requests
/// waiting for their mail past any sensible token lifetime.
const MAX_ISSUER_MS: u64 = 3_600_000;

/// A value never shown: `Debug`, `Display` and `Serialize` print `<redacted>`.
#[derive(Clone, Deserialize, PartialEq, Eq, JsonSchema)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("<redacted>")
    }
}

/// Shortest accepted `secret`: it keys every token hash.
const MIN_SECRET_CHARS: usize = 32;
/// Shortest accepted bearer token (`admin_token`, `metrics.token`, `introspection.token`).
const MIN_TOKEN_CHARS: usize = 16;

impl Config {
    /// Loads defaults, then `file` (or `$RESETD_CONFIG`), then the `RESETD_*` variables in
    /// `env`, and validates the result.
    pub fn load(
        file: Option<&Path>,
        env: &BTreeMap<String, String>,
    ) -> Result<Config, ConfigError> {
        Config::load_with_sources(file, env).map(|(config, _)| config)
    }

    /// [`Config::load`], also telling where each key's value came from.
    pub fn load_with_sources(
        file: Option<&Path>,
        env: &BTreeMap<String, String>,
    ) -> Result<(Config, ConfigSources), ConfigError> {
        let file = file
            .map(Path::to_path_buf)
            .or_else(|| env.get(CONFIG_FILE_ENV).map(PathBuf::from));
        let mut table = match &file {
            Some(path) => read_table(path)?,
            None => toml::Table::new(),
        };
        let mut sources = ConfigSources {
            file_keys: leaf_keys(&table),
            file,
            env_keys: BTreeMap::new(),
        };
        for (var, key) in ENV_KEYS {
            if let Some(value) = env.get(*var) {
                set_dotted(&mut table, key, toml::Value::String(value.clone()))?;
                sources.env_keys.insert((*key).to_owned(), var);
            }
        }
        let config: Config =
            serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|err| {
                let key = err.path().to_string();
                ConfigError::invalid(key, err.into_inner().message().to_owned())
            })?;
        config.validate()?;
        Ok((config, sources))
    }

    /// The process environment's `RESETD_*` variables.
    pub fn process_env() -> BTreeMap<String, String> {
        std::env::vars()
            .filter(|(k, _)| k.starts_with("RESETD_"))
            .collect()
    }

    /// Checks what serde cannot: ranges, URL shapes, parameters other crates must accept.
    pub fn validate(&self) -> Result<(), ConfigError> {
        const SCHEMES: [&str; 3] = ["sqlite://", "postgres://", "postgresql://"];
        if !SCHEMES.iter().any(|s| self.database_url.starts_with(s)) {
            return Err(ConfigError::invalid(
                "database_url",
                "must start with sqlite://, postgres:// or postgresql://",
            ));
        }
        match self.public_base_url.scheme() {
            "http" | "https" => {}
            other => {
                return Err(ConfigError::invalid(
                    "public_base_url",
                    format!("scheme must be http or https, not {other}"),
                ))
            }
        }
        if self.public_base_url.query().is_some() || self.public_base_url.fragment().is_some() {
            return Err(ConfigError::invalid(
                "public_base_url",
                "must not carry a query or fragment",
            ));
        }
        if let Some(secret) = &self.secret {
            if secret.expose().chars().count() < MIN_SECRET_CHARS {
                return Err(ConfigError::invalid(
                    "secret",
                    format!("must be at least {MIN_SECRET_CHARS} characters"),
                ));
            }
        }
        for (key, token) in [
            ("admin_token", &self.admin_token),
            ("metrics.token", &self.metrics.token),
            ("introspection.token", &self.introspection.token),
        ] {
            if token
                .as_ref()
                .is_some_and(|t| t.expose().chars().count() < MIN_TOKEN_CHARS)
            {
                return Err(ConfigError::invalid(
                    key,
                    format!("must be at least {MIN_TOKEN_CHARS} characters"),
                ));
            }
        }
        clients::validate(&self.sessions.clients)?;
        crate::mail::MailUrl::parse(self.mail.url.expose())
            .map_err(|err| ConfigError::invalid("mail.url", err.to_string()))?;
        crate::mail::parse_from(&self.mail.from)
            .map_err(|err| ConfigError::invalid("mail.from", err.to_string()))?;
        tracing_subscriber::EnvFilter::try_new(&self.log.filter)
            .map_err(|err| ConfigError::invalid("log.filter", err.to_string()))?;
        argon2::Params::new(
            self.argon2.memory_kib,
            self.argon2.iterations,
            self.argon2.parallelism,
            None,
        )
        .map_err(|err| ConfigError::invalid("argon2", err.to_string()))?;
        let ttls = [
            (
                "dialects.ipcola.token_ttl_secs",
                self.dialects.ipcola.token_ttl_secs,
            ),
            (
                "dialects.strapi.token_ttl_secs",
                self.dialects.strapi.token_ttl_secs,
            ),
            (
                "dialects.cloudreve.token_ttl_secs",
                self.dialects.cloudreve.token_ttl_secs,
            ),
            (
                "dialects.selfcommunity.token_ttl_secs",
                self.dialects.selfcommunity.token_ttl_secs,
            ),
            ("sessions.access_ttl_secs", self.sessions.access_ttl_secs),
            ("sessions.refresh_ttl_secs", self.sessions.refresh_ttl_secs),
        ];
        for (key, secs) in ttls {
            if secs == 0 || secs > 366 * 24 * 3_600 {
                return Err(ConfigError::invalid(
                    key,
                    "must be between 1 s and one year",
                ));
            }
        }
        if self.dialects.ipcola.user_tag.is_empty() {
            return Err(ConfigError::invalid(
                "dialects.ipcola.user_tag",
                "must not be empty",
            ));
        }
        if self.outbox.max_attempts < 1 {
            return Err(ConfigError::invalid(
                "outbox.max_attempts",
                "must be at least 1",
            ));
        }
        if self.outbox.base_delay_ms == 0 || self.outbox.base_delay_ms > self.outbox.max_delay_ms {
            return Err(ConfigError::invalid(
                "outbox.base_delay_ms",
                "must be at least 1 and not above outbox.max_delay_ms",
            ));
        }
        if self.issuer.lease_ms == 0 || self.issuer.lease_ms > MAX_ISSUER_MS {
            return Err(ConfigError::invalid(
                "issuer.lease_ms",
                "must be between 1 ms and one hour",
            ));
        }
        if self.issuer.poll_interval_ms == 0 || self.issuer.poll_interval_ms > MAX_ISSUER_MS {
            return Err(ConfigError::invalid(
                "issuer.poll_interval_ms",
                "must be between 1 ms and one hour",
            ));
        }
        if self.security.max_failed_attempts == 0 {
            return Err(ConfigError::invalid(
                "security.max_failed_attempts",
                "must be at least 1",
            ));
        }
        let security = &self.security;
        let limits = [
            (
                "security.account_requests_per_window",
                security.account_requests_per_window,
            ),
            (
                "security.ip_requests_per_window",
                security.ip_requests_per_window,
            ),
            (
                "security.ip_failed_redemptions_per_window",
                security.ip_failed_redemptions_per_window,
            ),
            (
                "security.account_failed_logins_per_window",
                security.account_failed_logins_per_window,
            ),
        ];
        for (key, limit) in limits {
            if limit == 0 || limit > MAX_RATE_LIMIT {
                return Err(ConfigError::invalid(
                    key,
                    format!("must be between 1 and {MAX_RATE_LIMIT}"),
                ));
            }
        }
        let windows = [
            ("security.account_window_secs", security.account_window_secs),
            ("security.ip_window_secs", security.ip_window_secs),
            (
                "security.ip_failed_window_secs",
                security.ip_failed_window_secs,
            ),
            (
                "security.account_failed_window_secs",
                security.account_failed_window_secs,
            ),
        ];
        for (key, secs) in windows {
            if secs == 0 || secs > MAX_RATE_WINDOW_SECS {
                return Err(ConfigError::invalid(key, "must be between 1 s and 7 days"));
            }
        }
        if !(10..=3600).contains(&self.security.captcha_ttl_secs) {
            return Err(ConfigError::invalid(
                "security.captcha_ttl_secs",
                "must be between 10 s and one hour",
            ));
        }
        let product_name = &self.product_name;
        if product_name.trim().is_empty()
            || product_name.chars().count() > MAX_PRODUCT_NAME_CHARS
            || product_name.chars().any(char::is_control)
        {
            return Err(ConfigError::invalid(
                "product_name",
                format!(
                    "must be 1 to {MAX_PRODUCT_NAME_CHARS} characters of text, without control characters"
                ),
            ));
        }
        if !(MIN_BODY_READ_TIMEOUT_MS..=MAX_BODY_READ_TIMEOUT_MS)
            .contains(&self.security.body_read_timeout_ms)
        {
            return Err(ConfigError::invalid(
                "security.body_read_timeout_ms",
                "must be between 100 ms and 5 minutes",
            ));
        }
        if self.security.max_body_bytes < 1024 {
            return Err(ConfigError::invalid(
                "security.max_body_bytes",
                "must be at least 1024",
            ));
        }
        Ok(())
    }

    /// The effective configuration as TOML, secrets redacted (for `resetd config check`).
    pub fn to_redacted_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|err| format!("# cannot render: {err}\n"))
    }

    /// Concurrent argon2 hashes allowed (`argon2.max_concurrent`, 0 = one per core).
    pub fn hash_concurrency(&self) -> usize {
        match self.argon2.max_concurrent {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }
}

fn read_table(path: &Path) -> Result<toml::Table, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    text.parse::<toml::Table>()
        .map_err(|err| ConfigError::Syntax {
            path: path.to_path_buf(),
            message: err.message().to_owned(),
        })
}

/// Where a configuration value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource<'a> {
    Default,
    File(&'a Path),
    Env(&'static str),
}

impl fmt::Display for ConfigSource<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigSource::Default => f.write_str("default"),
            ConfigSource::File(path) => write!(f, "file {}", path.display()),
            ConfigSource::Env(var) => write!(f, "env {var}"),
        }
    }
}

/// The keys a config file and the environment set (for `resetd config check`).
#[derive(Debug, Clone, Default)]
pub struct ConfigSources {
    file: Option<PathBuf>,
    /// Dotted keys of the file's values (arrays count as one value).
    file_keys: std::collections::BTreeSet<String>,
    env_keys: BTreeMap<String, &'static str>,
}

impl ConfigSources {
    /// Where the value of `key` (dotted) came from: the environment wins over the file.
    pub fn source_of(&self, key: &str) -> ConfigSource<'_> {
        if let Some(var) = self.env_keys.get(key) {
            return ConfigSource::Env(var);
        }
        match &self.file {
            Some(path) if self.file_keys.contains(key) => ConfigSource::File(path),
            _ => ConfigSource::Default,
        }
    }
}

/// The dotted keys of every non-table value in `table`.
fn leaf_keys(table: &toml::Table) -> std::collections::BTreeSet<String> {
    let mut keys = std::collections::BTreeSet::new();
    let mut stack: Vec<(String, &toml::Table)> = vec![(String::new(), table)];
    while let Some((prefix, table)) = stack.pop() {
        for (name, value) in table {
            let key = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}.{name}")
            };
            match value {
                toml::Value::Table(inner) => stack.push((key, inner)),
                _ => {
                    keys.insert(key);
                }
            }
        }
    }
    keys
}

/// Sets `a.b.c` in a TOML table, creating the intermediate tables.
fn set_dotted(table: &mut toml::Table, key: &str, value: toml::Value) -> Result<(), ConfigError> {
    let mut parts: Vec<&str> = key.split('.').collect();
    let last = parts.pop().unwrap_or(key);
    let mut current = table;
    for part in parts {
        let entry = current
            .entry(part.to_owned())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        current = entry
            .as_table_mut()
            .ok_or_else(|| ConfigError::invalid(part, "must be a table"))?;
    }
    current.insert(last.to_owned(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_are_valid() {
        let config = Config::load(None, &BTreeMap::new()).expect("defaults load");
        assert_eq!(config.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(config.database_url, "sqlite://resetd.db");
        assert_eq!(config.argon2.memory_kib, 19_456);
        assert!(config.dialects.cloudreve.enabled);
    }

    #[test]
    fn env_overrides_file_and_file_overrides_defaults() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("resetd.toml");
        std::fs::write(
            &path,
            "bind = \"127.0.0.1:9000\"\n[argon2]\nmemory_kib = 8192\n[dialects.cloudreve]\ntoken_ttl_secs = 60\n",
        )
        .expect("write");
        let config = Config::load(
            Some(&path),
            &env(&[
                ("RESETD_BIND", "127.0.0.1:9100"),
                ("RESETD_LOG_FORMAT", "json"),
            ]),
        )
        .expect("loads");
        assert_eq!(config.bind.to_string(), "127.0.0.1:9100");
        assert_eq!(config.argon2.memory_kib, 8192);
        assert_eq!(config.dialects.cloudreve.token_ttl_secs, 60);
        assert_eq!(config.log.format, LogFormat::Json);
    }

    #[test]
    fn a_bad_value_names_its_key() {
        let err =
            Config::load(None, &env(&[("RESETD_BIND", "not-an-address")])).expect_err("rejected");
        assert!(err.to_string().contains("`bind`"), "{err}");

        let err =
            Config::load(None, &env(&[("RESETD_MAIL_URL", "gopher://x")])).expect_err("rejected");
        assert!(err.to_string().contains("`mail.url`"), "{err}");

        let err =
            Config::load(None, &env(&[("RESETD_RATE_LIMITS", "sometimes")])).expect_err("rejected");
        assert!(err.to_string().contains("`security.rate_limits`"), "{err}");

        let err = Config::load(None, &env(&[("RESETD_SECRET", "short")])).expect_err("rejected");
        assert!(err.to_string().contains("`secret`"), "{err}");
        assert!(
            !err.to_string().contains("short"),
            "the secret is not echoed: {err}"
        );
    }

    #[test]
    fn rate_limits_have_the_documented_defaults() {
        let security = Config::load(None, &BTreeMap::new())
            .expect("defaults load")
            .security;
        assert_eq!(security.rate_limits, Switch::On);
        assert_eq!(
            (
                security.account_requests_per_window,
                security.account_window_secs
            ),
            (3, 900)
        );
        assert_eq!(
            (security.ip_requests_per_window, security.ip_window_secs),
            (20, 60)
        );
        assert_eq!(
            (
                security.ip_failed_redemptions_per_window,
                security.ip_failed_window_secs
            ),
            (10, 900)
        );
        assert_eq!(
            (
                security.account_failed_logins_per_window,
                security.account_failed_window_secs
            ),
            (20, 900)
        );
        assert!(security.trusted_proxies.is_empty());
    }

    #[test]
    fn rate_limit_settings_are_read_and_checked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("resetd.toml");
        std::fs::write(
            &path,
            "[security]\nrate_limits = \"off\"\nip_requests_per_window = 100\n\
             trusted_proxies = [\"127.0.0.1/32\", \"10.0.0.0/8\", \"::1\"]\n",
        )
        .expect("write");
        let config = Config::load(Some(&path), &BTreeMap::new()).expect("loads");
        assert_eq!(config.security.rate_limits, Switch::Off);
        assert_eq!(config.security.ip_requests_per_window, 100);
        let proxies: Vec<String> = config
            .security
            .trusted_proxies
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(proxies, ["127.0.0.1/32", "10.0.0.0/8", "::1/128"]);
        let shown = config.to_redacted_toml();
        assert!(shown.contains("\"10.0.0.0/8\""), "{shown}");

        let cases = [
            (
                "trusted_proxies = [\"10.0.0.0/8\", \"10.0.0.1/8\"]",
                "security.trusted_proxies",
            ),
            (
                "trusted_proxies = [\"proxy.local\"]",
                "security.trusted_proxies",
            ),
            (
                "account_requests_per_window = 0",
                "security.account_requests_per_window",
            ),
            (
                "ip_requests_per_window = 2000000",
                "security.ip_requests_per_window",
            ),
            (
                "ip_failed_redemptions_per_window = 0",
                "security.ip_failed_redemptions_per_window",
            ),
            ("account_window_secs = 0", "security.account_window_secs"),
            ("ip_window_secs = 99999999", "security.ip_window_secs"),
            (
                "ip_failed_window_secs = 0",
                "security.ip_failed_window_secs",
            ),
            ("ip_window_secs = -1", "security.ip_window_secs"),
            ("captcha_ttl_secs = 5", "security.captcha_ttl_secs"),
        ];
        for (line, key) in cases {
            std::fs::write(&path, format!("[security]\n{line}\n")).expect("write");
            let err = Config::load(Some(&path), &BTreeMap::new()).expect_err(line);
            assert!(err.to_string().contains(key), "{line}: {err}");
        }
    }

    #[test]
    fn issuer_settings_are_read_and_checked() {
        let defaults = Config::load(None, &BTreeMap::new()).expect("defaults load");
        assert!(defaults.issuer.enabled);
        assert_eq!(defaults.issuer.lease_ms, 10_000);
        assert_eq!(defaults.issuer.poll_interval_ms, 1_000);

        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("resetd.toml");
        std::fs::write(
            &path,
            "[issuer]\nenabled = false\nlease_ms = 2000\npoll_interval_ms = 50\n",
        )
        .expect("write");
        let config = Config::load(Some(&path), &BTreeMap::new()).expect("loads");
        assert!(!config.issuer.enabled);
        assert_eq!(config.issuer.lease_ms, 2_000);
        assert_eq!(config.issuer.poll_interval_ms, 50);

        for (line, key) in [
            ("lease_ms = 0", "issuer.lease_ms"),
            ("poll_interval_ms = 0", "issuer.poll_interval_ms"),
            ("lease_ms = 3600001", "issuer.lease_ms"),
        ] {
            std::fs::write(&path, format!("[issuer]\n{line}\n")).expect("write");
            let err = Config::load(Some(&path), &BTreeMap::new()).expect_err(line);
            assert!(err.to_string().contains(key), "{line}: {err}");
        }
    }

    #[test]
    fn product_name_is_read_and_checked() {
        let defaults = Config::load(None, &BTreeMap::new()).expect("defaults load");
        assert_eq!(defaults.product_name, "resetd");

        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("resetd.toml");
        std::fs::write(&path, "product_name = \"Acme <Drive>\"\n").expect("write");
        let config = Config::load(Some(&path), &BTreeMap::new()).expect("loads");
        assert_eq!(config.product_name, "Acme <Drive>");

        for value in [
            "\"\"",
            "\"   \"",
            "\"a\\nb\"",
            &format!("\"{}\"", "x".repeat(81)),
        ] {
            std::fs::write(&path, format!("product_name = {value}\n")).expect("write");
            let err = Config::load(Some(&path), &BTreeMap::new()).expect_err(value);
            assert!(err.to_string().contains("`product_name`"), "{value}: {err}");
        }
    }

    #[test]
    fn login_clients_are_read_and_checked() {
        let defaults = Config::load(None, &BTreeMap::new()).expect("defaults load");
        assert_eq!(
            defaults.sessions.clients,
            [ClientConfig {
                id: "resetd".to_owned(),
                scopes: vec!["openid".to_owned()],
            }]
        );
        assert!(defaults.introspection.token.is_none());

        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("resetd.toml");
        std::fs::write(
            &path,
            "[[sessions.clients]]\nid = \"my-app\"\nscopes = [\"read\", \"write\"]\n\
             [[sessions.clients]]\nid = \"resetd\"\nscopes = [\"openid\"]\n",
        )
        .expect("write");
        let config = Config::load(Some(&path), &BTreeMap::new()).expect("loads");
        assert_eq!(config.sessions.clients.len(), 2);
        assert_eq!(config.sessions.clients[0].id, "my-app");
        assert_eq!(config.sessions.clients[0].scopes, ["read", "write"]);

        std::fs::write(
            &path,
            "[[sessions.clients]]\nid = \"my-app\"\nscopes = []\n",
        )
        .expect("write");
        let err = Config::load(Some(&path), &BTreeMap::new()).expect_err("no scopes");
        assert!(
            err.to_string().contains("`sessions.clients[0].scopes`"),
            "{err}"
        );

        let err = Config::load(None, &env(&[("RESETD_INTROSPECTION_TOKEN", "short")]))
            .expect_err("too short");
        assert!(err.to_string().contains("`introspection.token`"), "{err}");
        assert!(!err.to_string().contains("short"), "{err}");
    }

    #[test]
    fn unknown_keys_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("resetd.toml");
        std::fs::write(&path, "[argon2]\nmemroy_kib = 1\n").expect("write");
        let err = Config::load(Some(&path), &BTreeMap::new()).expect_err("rejected");
        assert!(err.to_string().contains("argon2"), "{err}");
    }

    #[test]
    fn secrets_are_redacted() {
        let config = Config::load(
            None,
            &env(&[
                ("RESETD_SECRET", "0123456789abcdef0123456789abcdef-x"),
                ("RESETD_MAIL_URL", "smtp://user:hunter2hunter2@127.0.0.1:25"),
                ("RESETD_INTROSPECTION_TOKEN", "introspection-swordfish"),
            ]),
        )
        .expect("loads");
        let shown = config.to_redacted_toml();
        assert!(!shown.contains("0123456789abcdef"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("swordfish"), "{shown}");
        assert_eq!(
            config.introspection.token.as_ref().map(Secret::expose),
            Some("introspection-swordfish")
        );
        assert!(format!("{config:?}").contains("<redacted>"));
    }
}

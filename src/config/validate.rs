//! What serde cannot check: ranges, URL shapes, parameters other crates must accept.

use super::{clients, Config, ConfigError};

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

/// Shortest accepted `secret`: it keys every token hash.
const MIN_SECRET_CHARS: usize = 32;
/// Shortest accepted bearer token (`admin_token`, `metrics.token`, `introspection.token`).
const MIN_TOKEN_CHARS: usize = 16;

impl Config {
    /// Checks what serde cannot: ranges, URL shapes, parameters other crates must accept.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.cors.validate()?;
        super::webhooks::validate(&self.webhooks, &self.webhook_delivery)?;
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
        super::MailUrl::parse(self.mail.url.expose())
            .map_err(|err| ConfigError::invalid("mail.url", err.to_string()))?;
        // lettre's own mailbox parser, as `mail::parse_from` uses it to send.
        self.mail
            .from
            .parse::<lettre::message::Mailbox>()
            .map_err(|err| {
                ConfigError::invalid("mail.from", format!("not a valid mailbox: {err}"))
            })?;
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
            (
                "dialects.strapi.jwt_ttl_secs",
                self.dialects.strapi.jwt_ttl_secs,
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
        if self
            .dialects
            .strapi
            .jwt_secret
            .as_ref()
            .is_some_and(|secret| secret.expose().is_empty())
        {
            return Err(ConfigError::invalid(
                "dialects.strapi.jwt_secret",
                "must not be empty",
            ));
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
}

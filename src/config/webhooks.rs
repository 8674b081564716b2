//! `[[webhooks]]`: endpoints told what changed (signed per Standard Webhooks), and
//! `[webhook_delivery]`: how their queue retries. One endpoint may also come from
//! `RESETD_WEBHOOK_URL` and `RESETD_WEBHOOK_SECRET`.

use std::net::IpAddr;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

use super::{ConfigError, Secret};

/// The prefix of a Standard Webhooks secret; base64 follows.
pub const SECRET_PREFIX: &str = "whsec_";
/// The Standard Webhooks specification asks for 24 to 64 random bytes.
const MIN_SECRET_BYTES: usize = 24;
const MAX_SECRET_BYTES: usize = 64;

/// The environment variables of the one endpoint the environment may add.
pub const WEBHOOK_URL_ENV: &str = "RESETD_WEBHOOK_URL";
pub const WEBHOOK_SECRET_ENV: &str = "RESETD_WEBHOOK_SECRET";

/// One endpoint.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Where events are POSTed (`https://`; `http://` only to a loopback address when
    /// `password_hash` is set).
    #[schemars(with = "String")]
    pub url: url::Url,
    /// The signing secret, `whsec_` + base64 of 24 to 64 bytes; a list signs with each (for
    /// rotation: the receiver accepts any).
    #[serde(deserialize_with = "one_or_many")]
    #[schemars(with = "Vec<String>")]
    pub secret: Vec<Secret>,
    /// The events sent; unset: all.
    #[serde(default = "all_events")]
    pub events: Vec<WebhookEventName>,
    /// Adds `data.password_hash`, the new password in the product's own format, to
    /// `password.reset_completed` and `password.changed`.
    #[serde(default)]
    pub password_hash: Option<ProductHashFormat>,
}

/// The events a webhook may report.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, strum::VariantArray,
)]
pub enum WebhookEventName {
    #[serde(rename = "password.reset_requested")]
    ResetRequested,
    #[serde(rename = "password.reset_completed")]
    ResetCompleted,
    #[serde(rename = "password.changed")]
    PasswordChanged,
    #[serde(rename = "user.created")]
    UserCreated,
    #[serde(rename = "user.updated")]
    UserUpdated,
    #[serde(rename = "user.deleted")]
    UserDeleted,
}

impl WebhookEventName {
    pub const ALL: &'static [WebhookEventName] =
        <WebhookEventName as strum::VariantArray>::VARIANTS;

    pub fn as_str(self) -> &'static str {
        match self {
            WebhookEventName::ResetRequested => "password.reset_requested",
            WebhookEventName::ResetCompleted => "password.reset_completed",
            WebhookEventName::PasswordChanged => "password.changed",
            WebhookEventName::UserCreated => "user.created",
            WebhookEventName::UserUpdated => "user.updated",
            WebhookEventName::UserDeleted => "user.deleted",
        }
    }
}

fn all_events() -> Vec<WebhookEventName> {
    WebhookEventName::ALL.to_vec()
}

/// The password hash formats of the products resetd stands beside.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProductHashFormat {
    /// Strapi (bcryptjs), cost 10.
    Bcrypt,
    /// Django's default hasher, at Django 5.2's iteration count.
    DjangoPbkdf2Sha256,
    /// Cloudreve v4: `salt:hex(sha256(password + salt))`.
    CloudreveV4,
    /// argon2id with resetd's own `[argon2]` parameters (PHC string).
    Argon2id,
}

/// `[webhook_delivery]`: the retries of the webhook queue.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookDeliveryConfig {
    /// Attempts before a delivery is marked dead (`resetd webhook retry` re-queues it).
    pub max_attempts: i32,
    /// Wait before the second attempt; each later wait doubles (±20% jitter).
    pub base_delay_ms: u64,
    /// Longest wait between two attempts.
    pub max_delay_ms: u64,
    /// How long one POST may take before it counts as failed.
    pub timeout_ms: u64,
    /// How long a claimed delivery stays with its worker without a renewal (renewed every
    /// third of this while it is under way); after a crash, what it held waits this long.
    pub lease_ms: u64,
    /// How often to look for due deliveries when nothing in this process queued any.
    pub poll_interval_ms: u64,
}

impl Default for WebhookDeliveryConfig {
    fn default() -> Self {
        Self {
            max_attempts: 10,
            base_delay_ms: 5_000,
            max_delay_ms: 60 * 60 * 1_000,
            timeout_ms: 10_000,
            lease_ms: 10_000,
            poll_interval_ms: 1_000,
        }
    }
}

/// One secret, or a list of them.
fn one_or_many<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Secret>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(Secret),
        Many(Vec<Secret>),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(secret) => vec![secret],
        OneOrMany::Many(secrets) => secrets,
    })
}

/// The key bytes of a `whsec_` secret, checked.
pub fn secret_key(secret: &str) -> Result<Vec<u8>, &'static str> {
    let encoded = secret
        .strip_prefix(SECRET_PREFIX)
        .ok_or("must start with `whsec_`")?;
    let key = BASE64
        .decode(encoded)
        .map_err(|_| "must be `whsec_` followed by base64")?;
    if !(MIN_SECRET_BYTES..=MAX_SECRET_BYTES).contains(&key.len()) {
        return Err("must encode 24 to 64 bytes");
    }
    Ok(key)
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// Checks every endpoint, and the retries.
pub(super) fn validate(
    webhooks: &[WebhookConfig],
    delivery: &WebhookDeliveryConfig,
) -> Result<(), ConfigError> {
    for (n, hook) in webhooks.iter().enumerate() {
        let key = |field: &str| format!("webhooks[{n}].{field}");
        match hook.url.scheme() {
            "https" => {}
            "http" if hook.password_hash.is_none() || is_loopback(&hook.url) => {}
            "http" => {
                return Err(ConfigError::invalid(
                    key("url"),
                    "must be https:// (or a loopback address) when password_hash is set",
                ))
            }
            _ => return Err(ConfigError::invalid(key("url"), "must be http(s)://")),
        }
        if webhooks[..n].iter().any(|other| other.url == hook.url) {
            return Err(ConfigError::invalid(key("url"), "is listed twice"));
        }
        if hook.secret.is_empty() {
            return Err(ConfigError::invalid(
                key("secret"),
                "needs at least one secret",
            ));
        }
        for secret in &hook.secret {
            secret_key(secret.expose())
                .map_err(|problem| ConfigError::invalid(key("secret"), problem))?;
        }
        if hook.events.is_empty() {
            return Err(ConfigError::invalid(
                key("events"),
                "must name at least one event (leave it out for all)",
            ));
        }
    }
    if delivery.max_attempts < 1 {
        return Err(ConfigError::invalid(
            "webhook_delivery.max_attempts",
            "must be at least 1",
        ));
    }
    let ms = [
        ("webhook_delivery.base_delay_ms", delivery.base_delay_ms),
        ("webhook_delivery.timeout_ms", delivery.timeout_ms),
        ("webhook_delivery.lease_ms", delivery.lease_ms),
        (
            "webhook_delivery.poll_interval_ms",
            delivery.poll_interval_ms,
        ),
    ];
    for (key, value) in ms {
        if value == 0 || value > 24 * 3_600_000 {
            return Err(ConfigError::invalid(
                key,
                "must be between 1 ms and one day",
            ));
        }
    }
    if delivery.base_delay_ms > delivery.max_delay_ms {
        return Err(ConfigError::invalid(
            "webhook_delivery.base_delay_ms",
            "must not exceed webhook_delivery.max_delay_ms",
        ));
    }
    Ok(())
}

/// Adds the endpoint of `RESETD_WEBHOOK_URL` and `RESETD_WEBHOOK_SECRET` to the file's list.
pub(super) fn add_from_env(
    table: &mut toml::Table,
    env: &std::collections::BTreeMap<String, String>,
) -> Result<bool, ConfigError> {
    let (url, secret) = (env.get(WEBHOOK_URL_ENV), env.get(WEBHOOK_SECRET_ENV));
    let (url, secret) = match (url, secret) {
        (None, None) => return Ok(false),
        (Some(url), Some(secret)) => (url, secret),
        _ => {
            return Err(ConfigError::invalid(
                "webhooks",
                "RESETD_WEBHOOK_URL and RESETD_WEBHOOK_SECRET go together",
            ))
        }
    };
    let mut endpoint = toml::Table::new();
    endpoint.insert("url".to_owned(), toml::Value::String(url.clone()));
    endpoint.insert("secret".to_owned(), toml::Value::String(secret.clone()));
    let list = table
        .entry("webhooks".to_owned())
        .or_insert_with(|| toml::Value::Array(Vec::new()));
    let list = list
        .as_array_mut()
        .ok_or_else(|| ConfigError::invalid("webhooks", "must be a list of tables"))?;
    list.push(toml::Value::Table(endpoint));
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn load(file: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("resetd.toml");
        std::fs::write(&path, file).expect("write");
        let env = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::load(Some(&path), &env)
    }

    fn good_secret() -> String {
        format!("{SECRET_PREFIX}{}", BASE64.encode([7u8; 32]))
    }

    #[test]
    fn endpoints_come_from_the_file_and_one_from_the_environment() {
        let s = good_secret();
        let file = format!(
            "[[webhooks]]\nurl = \"https://a.test/h\"\nsecret = [\"{s}\", \"{s}\"]\n\
             events = [\"password.changed\"]\npassword_hash = \"django_pbkdf2_sha256\"\n"
        );
        let config = load(
            &file,
            &[
                (WEBHOOK_URL_ENV, "http://10.0.0.9/h"),
                (WEBHOOK_SECRET_ENV, &s),
            ],
        )
        .expect("loads");
        assert_eq!(config.webhooks.len(), 2);
        let first = &config.webhooks[0];
        assert_eq!(first.secret.len(), 2);
        assert_eq!(first.events, [WebhookEventName::PasswordChanged]);
        assert_eq!(
            first.password_hash,
            Some(ProductHashFormat::DjangoPbkdf2Sha256)
        );
        let from_env = &config.webhooks[1];
        assert_eq!(from_env.events, WebhookEventName::ALL);
        assert_eq!(from_env.password_hash, None);
        // Secrets never shown.
        assert!(!config.to_redacted_toml().contains(&s));
    }

    #[test]
    fn bad_endpoints_are_refused_naming_the_key() {
        let s = good_secret();
        let cases = [
            (
                format!(
                    "url = \"http://10.0.0.9/h\"\nsecret = \"{s}\"\npassword_hash = \"bcrypt\""
                ),
                "webhooks[0].url",
            ),
            (
                format!("url = \"ftp://a.test/h\"\nsecret = \"{s}\""),
                "webhooks[0].url",
            ),
            (
                "url = \"https://a.test/h\"\nsecret = \"not-whsec\"".to_owned(),
                "webhooks[0].secret",
            ),
            (
                format!(
                    "url = \"https://a.test/h\"\nsecret = \"{s}\"\nevents = [\"password.stolen\"]"
                ),
                "webhooks",
            ),
            (
                format!("url = \"https://a.test/h\"\nsecret = \"{s}\"\nevents = []"),
                "webhooks[0].events",
            ),
            (
                format!("url = \"https://a.test/h\"\nsecret = \"{s}\"\npassword_hash = \"md5\""),
                "webhooks",
            ),
        ];
        for (table, key) in cases {
            let err = load(&format!("[[webhooks]]\n{table}\n"), &[]).expect_err(&table);
            assert!(err.to_string().contains(key), "{table}: {err}");
            assert!(!err.to_string().contains(&s), "a secret in {err}");
        }
        // A loopback http:// endpoint may take the hash.
        let ok = format!("[[webhooks]]\nurl = \"http://127.0.0.1:9/h\"\nsecret = \"{s}\"\npassword_hash = \"bcrypt\"\n");
        assert!(load(&ok, &[]).is_ok());
        let err = load("", &[(WEBHOOK_URL_ENV, "https://a.test/h")]).expect_err("no secret");
        assert!(err.to_string().contains("go together"), "{err}");
    }

    #[test]
    fn secrets_are_checked() {
        let good = format!("{SECRET_PREFIX}{}", BASE64.encode([7u8; 32]));
        assert_eq!(secret_key(&good).map(|k| k.len()), Ok(32));
        assert!(secret_key(&BASE64.encode([7u8; 32])).is_err());
        assert!(secret_key("whsec_!!!").is_err());
        assert!(secret_key(&format!("{SECRET_PREFIX}{}", BASE64.encode([7u8; 8]))).is_err());
    }

    #[test]
    fn loopback_is_told_apart() {
        for (url, loopback) in [
            ("http://127.0.0.1:9/x", true),
            ("http://[::1]/x", true),
            ("http://localhost/x", true),
            ("http://example.com/x", false),
            ("http://10.0.0.1/x", false),
        ] {
            assert_eq!(is_loopback(&url.parse().expect("url")), loopback, "{url}");
        }
    }
}

//! One typed configuration: defaults, then a TOML file, then `RESETD_*` environment variables.
//!
//! Every value is checked before the server starts; a bad one stops it with the key named.
//! The key and variable names are part of the operator interface (INTERFACE.md): keep them.

use std::net::SocketAddr;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

mod cidr;
mod clients;
mod cors;
mod credentials;
mod dialects;
mod load;
mod log;
mod mail;
mod mail_url;
mod pages;
mod queues;
mod secret;
mod security;
mod validate;
mod webhooks;

pub use cidr::{Cidr, InvalidCidr};
pub use clients::{is_scope_token, ClientConfig, DEFAULT_CLIENT_ID};
pub use cors::{CorsConfig, ANY_ORIGIN};
pub use credentials::{Argon2Config, SessionConfig};
pub use dialects::{DialectConfig, DialectsConfig, IpcolaConfig, StrapiConfig};
pub use load::{ConfigSource, ConfigSources, CONFIG_FILE_ENV, ENV_KEYS};
pub use log::{LogConfig, LogFormat};
pub use mail::MailConfig;
pub use mail_url::{MailUrl, MailUrlError, SmtpCredentials, SmtpSecurity};
pub use pages::PagesConfig;
pub use queues::{IssuerConfig, OutboxConfig};
pub use secret::Secret;
pub use security::{IntrospectionConfig, MetricsConfig, SecurityConfig, Switch};
pub use webhooks::{
    secret_key as webhook_secret_key, ProductHashFormat, WebhookConfig, WebhookDeliveryConfig,
    WebhookEventName, WEBHOOK_SECRET_ENV, WEBHOOK_URL_ENV,
};

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
    pub pages: PagesConfig,
    pub log: LogConfig,
    pub argon2: Argon2Config,
    pub sessions: SessionConfig,
    pub outbox: OutboxConfig,
    pub issuer: IssuerConfig,
    pub dialects: DialectsConfig,
    pub security: SecurityConfig,
    pub metrics: MetricsConfig,
    pub introspection: IntrospectionConfig,
    pub cors: CorsConfig,
    /// Endpoints told of every change to an account (`[[webhooks]]` tables of `url`,
    /// `secret`, `events`, `password_hash`; see the README's webhook section), signed per
    /// Standard Webhooks and delivered through a durable queue. One endpoint may come from
    /// `RESETD_WEBHOOK_URL` and `RESETD_WEBHOOK_SECRET` (added to the file's list).
    pub webhooks: Vec<WebhookConfig>,
    pub webhook_delivery: WebhookDeliveryConfig,
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
            pages: PagesConfig::default(),
            log: LogConfig::default(),
            argon2: Argon2Config::default(),
            sessions: SessionConfig::default(),
            outbox: OutboxConfig::default(),
            issuer: IssuerConfig::default(),
            dialects: DialectsConfig::default(),
            security: SecurityConfig::default(),
            metrics: MetricsConfig::default(),
            introspection: IntrospectionConfig::default(),
            cors: CorsConfig::default(),
            webhooks: Vec::new(),
            webhook_delivery: WebhookDeliveryConfig::default(),
        }
    }
}

impl Config {
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

#[cfg(test)]
mod tests;

//! `[security]`, `[metrics]`, `[introspection]`: limits, captchas, trusted proxies, and who
//! may read the protected endpoints.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Cidr, Secret};

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

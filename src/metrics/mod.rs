//! Prometheus metrics, served at `GET /metrics` (`routes.rs`) in the OpenMetrics text format.
//!
//! One [`Metrics`] per server: the registry and a handle per area. A component keeps a clone
//! of its area's handles (cheap: each is a shared counter or family) and records what it does;
//! the outbox depth is read from the store when scraped. Label values come from enums and
//! tables fixed at build time — operation ids, dialects, status codes, outcome names — never
//! from anything a client or an account chooses, so the number of series stays bounded and
//! nothing about an account shows.
//!
//! `prometheus-client` (the Prometheus project's Rust client) does the encoding: escaping,
//! cumulative buckets and the `_total`/`_bucket`/`_sum`/`_count` suffixes are its job, not
//! something this crate hand-rolls.

mod accounts;
mod argon2;
mod http;
mod mail;
mod queue;
mod rate_limits;
mod resets;
mod webhooks;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

pub use accounts::AccountMetrics;
pub use argon2::{Argon2Metrics, HashOperation};
pub use http::HttpMetrics;
pub use mail::{DeliveryOutcome, MailMetrics};
pub use rate_limits::RateLimitMetrics;
pub use resets::{IssuedVia, ResetMetrics, COMPLETED};
pub use webhooks::{WebhookMetrics, WebhookOutcome};

/// What `GET /metrics` answers with; Prometheus asks for it by name.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The label values that exist before anything happens, so that a first event is an increase,
/// not a new series. They are named by the layers that own them (the core's dialects,
/// security's limit kinds): metrics, a leaf, knows none of their types.
#[derive(Debug, Clone, Default)]
pub struct KnownLabels {
    pub dialects: Vec<&'static str>,
    /// The rate limits whose refusals are counted.
    pub limit_kinds: Vec<&'static str>,
}

/// Every metric of one server.
pub struct Metrics {
    registry: Registry,
    pub http: HttpMetrics,
    pub resets: ResetMetrics,
    pub mail: MailMetrics,
    pub argon2: Argon2Metrics,
    pub rate_limits: RateLimitMetrics,
    pub accounts: AccountMetrics,
    pub webhooks: WebhookMetrics,
}

impl Metrics {
    pub fn new(known: &KnownLabels) -> Metrics {
        let mut registry = Registry::with_prefix("resetd");
        registry.register(
            "build",
            "The running resetd's version",
            Info::new(vec![("version", env!("CARGO_PKG_VERSION"))]),
        );
        let http = HttpMetrics::default();
        let resets = ResetMetrics::default();
        let mail = MailMetrics::default();
        let argon2 = Argon2Metrics::default();
        let rate_limits = RateLimitMetrics::default();
        let accounts = AccountMetrics::default();
        let webhooks = WebhookMetrics::default();
        http.register(&mut registry);
        resets.register(&mut registry, &known.dialects);
        mail.register(&mut registry);
        argon2.register(&mut registry);
        rate_limits.register(&mut registry, &known.limit_kinds);
        accounts.register(&mut registry);
        webhooks.register(&mut registry);
        Metrics {
            registry,
            http,
            resets,
            mail,
            argon2,
            rate_limits,
            accounts,
            webhooks,
        }
    }

    /// The exposition: every metric as it stands, then `# EOF`.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// Bucket bounds in seconds for request and hashing times: 1 ms to 10 s.
const SECONDS_BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_exposition_names_every_family_and_ends_with_eof() {
        let metrics = Metrics::new(&KnownLabels {
            dialects: vec!["cloudreve", "strapi"],
            limit_kinds: vec!["ip_requests"],
        });
        metrics
            .http
            .observe("cloudreve_reset_password", 200, Duration::from_millis(30));
        metrics.resets.requested("cloudreve");
        let text = metrics.encode().expect("encodes");
        for family in [
            "resetd_build_info{version=",
            "resetd_http_requests_total{operation=\"cloudreve_reset_password\",status=\"200\"} 1",
            "resetd_http_request_duration_seconds_bucket{le=\"0.05\",operation=\"cloudreve_reset_password\"} 1",
            "resetd_http_request_duration_seconds_bucket{le=\"0.025\",operation=\"cloudreve_reset_password\"} 0",
            "resetd_reset_requests_total{dialect=\"cloudreve\"} 1",
            "resetd_reset_requests_total{dialect=\"strapi\"} 0",
            "resetd_mail_deliveries_total{outcome=\"sent\"} 0",
            "resetd_argon2_duration_seconds_count{operation=\"hash\"} 0",
            "resetd_rate_limit_hits_total{kind=\"ip_requests\"} 0",
            "resetd_accounts_legacy_hash 0",
        ] {
            assert!(text.contains(family), "{family} missing from:\n{text}");
        }
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}

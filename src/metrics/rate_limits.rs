//! Rate limits that turned a request away (or, for the per-account limit, let it through
//! with no mail), by kind.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

#[derive(Clone, Default)]
pub struct RateLimitMetrics {
    hits: Family<KindLabels, Counter>,
}

impl RateLimitMetrics {
    pub(super) fn register(&self, registry: &mut Registry, kinds: &[&'static str]) {
        for &kind in kinds {
            let _ = self.hits.get_or_create(&KindLabels { kind });
        }
        registry.register(
            "rate_limit_hits",
            "Requests past a rate limit, by kind: `ip_requests`, `ip_failed_redemptions`, \
             `ip_failed_logins` and `account_failed_logins` were refused; `account_requests` \
             were answered as usual but sent no mail",
            self.hits.clone(),
        );
    }

    /// `kind`: the limit's name, one of those given to [`super::Metrics::new`].
    pub fn hit(&self, kind: &'static str) {
        self.hits.get_or_create(&KindLabels { kind }).inc();
    }
}

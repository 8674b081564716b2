//! Webhooks: delivery attempts by outcome, and the queue's depth, read from the store by the
//! `/metrics` handler when scraped (the database's, shared by replicas: aggregate with `max`).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    status: &'static str,
}

/// What became of one delivery attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::VariantArray)]
#[strum(serialize_all = "snake_case")]
pub enum WebhookOutcome {
    Delivered,
    /// Failed; tried again later.
    Failed,
    /// Failed for good.
    Dead,
}

impl WebhookOutcome {
    const ALL: &'static [WebhookOutcome] = <WebhookOutcome as strum::VariantArray>::VARIANTS;

    fn as_str(self) -> &'static str {
        self.into()
    }
}

#[derive(Clone, Default)]
pub struct WebhookMetrics {
    deliveries: Family<OutcomeLabels, Counter>,
    depth: Family<StatusLabels, Gauge>,
}

impl WebhookMetrics {
    pub(super) fn register(&self, registry: &mut Registry) {
        for &outcome in WebhookOutcome::ALL {
            let _ = self.deliveries.get_or_create(&OutcomeLabels {
                outcome: outcome.as_str(),
            });
        }
        registry.register(
            "webhook_deliveries",
            "Webhook delivery attempts by this process, by outcome (`delivered`; `failed`, to \
             be retried; `dead`, given up)",
            self.deliveries.clone(),
        );
        registry.register(
            "webhook_queue",
            "Webhook deliveries by status (`pending`: waiting; `dead`: given up), read from \
             the database when scraped",
            self.depth.clone(),
        );
    }

    pub fn attempted(&self, outcome: WebhookOutcome) {
        self.deliveries
            .get_or_create(&OutcomeLabels {
                outcome: outcome.as_str(),
            })
            .inc();
    }

    pub fn set_depth(&self, pending: i64, dead: i64) {
        for (status, count) in [("pending", pending), ("dead", dead)] {
            self.depth
                .get_or_create(&StatusLabels { status })
                .set(count);
        }
    }

    /// The depth could not be read: left out rather than shown stale.
    pub fn forget_depth(&self) {
        self.depth.clear();
    }
}

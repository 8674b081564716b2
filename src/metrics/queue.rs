//! What each durable queue (the outbox, webhook deliveries) reports: attempts by this
//! process, by outcome, and the queue's depth by status, read from the store by the
//! `/metrics` handler when scraped. The depth is the database's, shared by every replica on
//! it: aggregate it with `max`, not `sum`.

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

/// One queue's two metrics, by name and help text.
pub(super) struct QueueNames {
    pub attempts: &'static str,
    pub attempts_help: &'static str,
    pub depth: &'static str,
    pub depth_help: &'static str,
}

#[derive(Clone, Default)]
pub(super) struct QueueMetrics {
    attempts: Family<OutcomeLabels, Counter>,
    depth: Family<StatusLabels, Gauge>,
}

impl QueueMetrics {
    /// Registers both, every outcome at zero from the start: a first failure is then an
    /// increase, not a new series.
    pub(super) fn register(
        &self,
        registry: &mut Registry,
        names: &QueueNames,
        outcomes: impl IntoIterator<Item = &'static str>,
    ) {
        for outcome in outcomes {
            let _ = self.attempts.get_or_create(&OutcomeLabels { outcome });
        }
        registry.register(names.attempts, names.attempts_help, self.attempts.clone());
        registry.register(names.depth, names.depth_help, self.depth.clone());
    }

    pub(super) fn attempted(&self, outcome: &'static str) {
        self.attempts
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    /// The depth as just read: items waiting, and given up on.
    pub(super) fn set_depth(&self, pending: i64, dead: i64) {
        for (status, count) in [("pending", pending), ("dead", dead)] {
            self.depth
                .get_or_create(&StatusLabels { status })
                .set(count);
        }
    }

    /// The depth could not be read: it is left out of the exposition rather than shown stale.
    pub(super) fn forget_depth(&self) {
        self.depth.clear();
    }
}

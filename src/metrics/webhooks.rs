//! Webhooks: delivery attempts by outcome, and the queue's depth (`queue.rs`).

use prometheus_client::registry::Registry;
use strum::VariantArray as _;

use super::queue::{QueueMetrics, QueueNames};

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

const NAMES: QueueNames = QueueNames {
    attempts: "webhook_deliveries",
    attempts_help: "Webhook delivery attempts by this process, by outcome (`delivered`; \
                    `failed`, to be retried; `dead`, given up)",
    depth: "webhook_queue",
    depth_help: "Webhook deliveries by status (`pending`: waiting; `dead`: given up), read \
                 from the database when scraped",
};

#[derive(Clone, Default)]
pub struct WebhookMetrics(QueueMetrics);

impl WebhookMetrics {
    pub(super) fn register(&self, registry: &mut Registry) {
        let outcomes = WebhookOutcome::VARIANTS.iter().map(|&o| o.into());
        self.0.register(registry, &NAMES, outcomes);
    }

    pub fn attempted(&self, outcome: WebhookOutcome) {
        self.0.attempted(outcome.into());
    }

    pub fn set_depth(&self, pending: i64, dead: i64) {
        self.0.set_depth(pending, dead);
    }

    /// The depth could not be read.
    pub fn forget_depth(&self) {
        self.0.forget_depth();
    }
}

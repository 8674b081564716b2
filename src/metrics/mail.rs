//! Mail: delivery attempts by outcome, and the outbox's depth (`queue.rs`).

use prometheus_client::registry::Registry;
use strum::VariantArray as _;

use super::queue::{QueueMetrics, QueueNames};

/// What became of one delivery attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::VariantArray)]
#[strum(serialize_all = "snake_case")]
pub enum DeliveryOutcome {
    Sent,
    /// Failed; tried again later.
    Failed,
    /// Failed for good: retries used up, or a message that cannot be built.
    Dead,
}

const NAMES: QueueNames = QueueNames {
    attempts: "mail_deliveries",
    attempts_help: "Mail delivery attempts by this process, by outcome (`sent`; `failed`, to \
                    be retried; `dead`, given up)",
    depth: "outbox_messages",
    depth_help: "Messages in the outbox by status (`pending`: waiting to be sent; `dead`: \
                 given up), read from the database when scraped",
};

#[derive(Clone, Default)]
pub struct MailMetrics(QueueMetrics);

impl MailMetrics {
    pub(super) fn register(&self, registry: &mut Registry) {
        let outcomes = DeliveryOutcome::VARIANTS.iter().map(|&o| o.into());
        self.0.register(registry, &NAMES, outcomes);
    }

    pub fn delivered(&self, outcome: DeliveryOutcome) {
        self.0.attempted(outcome.into());
    }

    /// The outbox's depth as just read: messages waiting to be sent, and given up on.
    pub fn set_outbox_depth(&self, pending: i64, dead: i64) {
        self.0.set_depth(pending, dead);
    }

    /// The depth could not be read.
    pub fn forget_outbox_depth(&self) {
        self.0.forget_depth();
    }
}

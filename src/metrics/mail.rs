//! Mail: delivery attempts by outcome, and the outbox's depth, read from the store when
//! scraped. The depth is the database's, shared by every replica on it: aggregate it with
//! `max`, not `sum`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::store::{OutboxStatus, Store, StoreError};

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    status: &'static str,
}

/// What became of one delivery attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryOutcome {
    Sent,
    /// Failed; tried again later.
    Failed,
    /// Failed for good: retries used up, or a message that cannot be built.
    Dead,
}

impl DeliveryOutcome {
    const ALL: [DeliveryOutcome; 3] = [
        DeliveryOutcome::Sent,
        DeliveryOutcome::Failed,
        DeliveryOutcome::Dead,
    ];

    fn as_str(self) -> &'static str {
        match self {
            DeliveryOutcome::Sent => "sent",
            DeliveryOutcome::Failed => "failed",
            DeliveryOutcome::Dead => "dead",
        }
    }
}

/// The outbox states whose size is reported: mail waiting, and mail given up on.
const DEPTH_STATUSES: [(OutboxStatus, &str); 2] = [
    (OutboxStatus::Pending, "pending"),
    (OutboxStatus::Dead, "dead"),
];

#[derive(Clone, Default)]
pub struct MailMetrics {
    deliveries: Family<OutcomeLabels, Counter>,
    depth: Family<StatusLabels, Gauge>,
}

impl MailMetrics {
    pub(super) fn register(&self, registry: &mut Registry) {
        for outcome in DeliveryOutcome::ALL {
            let _ = self.deliveries.get_or_create(&OutcomeLabels {
                outcome: outcome.as_str(),
            });
        }
        registry.register(
            "mail_deliveries",
            "Mail delivery attempts by this process, by outcome (`sent`; `failed`, to be \
             retried; `dead`, given up)",
            self.deliveries.clone(),
        );
        registry.register(
            "outbox_messages",
            "Messages in the outbox by status (`pending`: waiting to be sent; `dead`: given \
             up), read from the database when scraped",
            self.depth.clone(),
        );
    }

    pub fn delivered(&self, outcome: DeliveryOutcome) {
        self.deliveries
            .get_or_create(&OutcomeLabels {
                outcome: outcome.as_str(),
            })
            .inc();
    }

    /// Reads the outbox's depth from `store`. On failure the depth is left out of the
    /// exposition (rather than showing a stale number) and the error returned.
    pub async fn refresh_outbox_depth(&self, store: &Store) -> Result<(), StoreError> {
        for (status, label) in DEPTH_STATUSES {
            match store.count_outbox(status).await {
                Ok(count) => {
                    self.depth
                        .get_or_create(&StatusLabels { status: label })
                        .set(count);
                }
                Err(error) => {
                    self.depth.clear();
                    return Err(error);
                }
            }
        }
        Ok(())
    }
}

//! Mail: delivery attempts by outcome, and the outbox's depth, read from the store by the
//! `/metrics` handler when scraped. The depth is the database's, shared by every replica on it: aggregate it with
//! `max`, not `sum`.

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
pub enum DeliveryOutcome {
    Sent,
    /// Failed; tried again later.
    Failed,
    /// Failed for good: retries used up, or a message that cannot be built.
    Dead,
}

impl DeliveryOutcome {
    const ALL: &'static [DeliveryOutcome] = <DeliveryOutcome as strum::VariantArray>::VARIANTS;

    fn as_str(self) -> &'static str {
        self.into()
    }
}

#[derive(Clone, Default)]
pub struct MailMetrics {
    deliveries: Family<OutcomeLabels, Counter>,
    depth: Family<StatusLabels, Gauge>,
}

impl MailMetrics {
    pub(super) fn register(&self, registry: &mut Registry) {
        for &outcome in DeliveryOutcome::ALL {
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

    /// The outbox's depth as just read: messages waiting to be sent, and given up on.
    pub fn set_outbox_depth(&self, pending: i64, dead: i64) {
        for (status, count) in [("pending", pending), ("dead", dead)] {
            self.depth
                .get_or_create(&StatusLabels { status })
                .set(count);
        }
    }

    /// The depth could not be read: it is left out of the exposition rather than shown stale.
    pub fn forget_outbox_depth(&self) {
        self.depth.clear();
    }
}

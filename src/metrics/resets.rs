//! The reset flow by dialect: requests accepted, tokens issued, redemptions and their
//! outcomes.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use strum::VariantArray as _;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DialectLabels {
    dialect: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct IssuedLabels {
    dialect: &'static str,
    via: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RedemptionLabels {
    dialect: &'static str,
    outcome: &'static str,
}

/// How a token reached its owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::VariantArray)]
#[strum(serialize_all = "snake_case")]
pub enum IssuedVia {
    /// Mailed in answer to a reset request.
    Email,
    /// Handed to an operator through the admin API.
    Operator,
}

impl IssuedVia {
    fn as_str(self) -> &'static str {
        self.into()
    }
}

#[derive(Clone, Default)]
pub struct ResetMetrics {
    requested: Family<DialectLabels, Counter>,
    issued: Family<IssuedLabels, Counter>,
    redemptions: Family<RedemptionLabels, Counter>,
}

impl ResetMetrics {
    pub(super) fn register(&self, registry: &mut Registry, dialects: &[&'static str]) {
        // Every dialect from the start, so that a first event is an increase, not a new series.
        for &dialect in dialects {
            let _ = self.requested.get_or_create(&DialectLabels { dialect });
            for via in IssuedVia::VARIANTS.iter().map(|v| v.as_str()) {
                let _ = self.issued.get_or_create(&IssuedLabels { dialect, via });
            }
            let _ = self.redemptions.get_or_create(&RedemptionLabels {
                dialect,
                outcome: COMPLETED,
            });
        }
        registry.register(
            "reset_requests",
            "Reset requests accepted, known and unknown emails alike (the answer does not \
             tell them apart, and neither does this count)",
            self.requested.clone(),
        );
        registry.register(
            "reset_tokens_issued",
            "Reset tokens issued, by dialect and how they were handed over",
            self.issued.clone(),
        );
        registry.register(
            "reset_redemptions",
            "Attempts to set a new password with a token, by dialect and outcome: `completed`, \
             or why not (`invalid_token`, `password_rejected`, `account_banned`, \
             `account_inactive`, `dialect_disabled`, `rate_limited`, `error`)",
            self.redemptions.clone(),
        );
    }

    /// `dialect`: the dialect's name, one of those given to [`super::Metrics::new`].
    pub fn requested(&self, dialect: &'static str) {
        self.requested
            .get_or_create(&DialectLabels { dialect })
            .inc();
    }

    pub fn issued(&self, dialect: &'static str, via: IssuedVia) {
        self.issued
            .get_or_create(&IssuedLabels {
                dialect,
                via: via.as_str(),
            })
            .inc();
    }

    /// One redemption, as the core answered it: [`COMPLETED`], or the core's name for why not
    /// (the help text lists them).
    pub fn redeemed(&self, dialect: &'static str, outcome: &'static str) {
        self.redemptions
            .get_or_create(&RedemptionLabels { dialect, outcome })
            .inc();
    }
}

/// The outcome of a redemption that set the password.
pub const COMPLETED: &str = "completed";

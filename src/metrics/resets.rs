//! The reset flow by dialect: requests accepted, tokens issued, redemptions and their
//! outcomes.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

use crate::reset::{Dialect, RedeemError};

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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssuedVia {
    /// Mailed in answer to a reset request.
    Email,
    /// Handed to an operator through the admin API.
    Operator,
}

impl IssuedVia {
    fn as_str(self) -> &'static str {
        match self {
            IssuedVia::Email => "email",
            IssuedVia::Operator => "operator",
        }
    }
}

#[derive(Clone, Default)]
pub struct ResetMetrics {
    requested: Family<DialectLabels, Counter>,
    issued: Family<IssuedLabels, Counter>,
    redemptions: Family<RedemptionLabels, Counter>,
}

impl ResetMetrics {
    pub(super) fn register(&self, registry: &mut Registry) {
        // Every dialect from the start, so that a first event is an increase, not a new series.
        for dialect in Dialect::ALL.map(Dialect::as_str) {
            let _ = self.requested.get_or_create(&DialectLabels { dialect });
            for via in [IssuedVia::Email, IssuedVia::Operator].map(IssuedVia::as_str) {
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

    pub fn requested(&self, dialect: Dialect) {
        self.requested
            .get_or_create(&DialectLabels {
                dialect: dialect.as_str(),
            })
            .inc();
    }

    pub fn issued(&self, dialect: Dialect, via: IssuedVia) {
        self.issued
            .get_or_create(&IssuedLabels {
                dialect: dialect.as_str(),
                via: via.as_str(),
            })
            .inc();
    }

    /// One redemption, as the core answered it.
    pub fn redeemed<T>(&self, dialect: Dialect, result: &Result<T, RedeemError>) {
        self.redemptions
            .get_or_create(&RedemptionLabels {
                dialect: dialect.as_str(),
                outcome: redemption_outcome(result),
            })
            .inc();
    }
}

const COMPLETED: &str = "completed";

fn redemption_outcome<T>(result: &Result<T, RedeemError>) -> &'static str {
    match result {
        Ok(_) => COMPLETED,
        Err(RedeemError::InvalidToken) => "invalid_token",
        Err(RedeemError::PasswordRejected(_)) => "password_rejected",
        Err(RedeemError::AccountBanned) => "account_banned",
        Err(RedeemError::AccountInactive) => "account_inactive",
        Err(RedeemError::DialectDisabled(_)) => "dialect_disabled",
        Err(RedeemError::TooManyRequests(_)) => "rate_limited",
        Err(RedeemError::Service(_)) => "error",
    }
}

//! argon2id on the bounded blocking pool (`security::password_hash`): how long a hash takes,
//! and how long it waited for a slot first. A growing wait means the pool is the bottleneck.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use super::SECONDS_BUCKETS;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    operation: &'static str,
}

/// What the pool computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashOperation {
    /// A new password's hash.
    Hash,
    /// A password checked against a stored hash (logins).
    Verify,
    /// A new password in a product's own format, for a webhook (bcrypt, PBKDF2, ...).
    ProductHash,
}

impl HashOperation {
    fn labels(self) -> OperationLabels {
        OperationLabels {
            operation: match self {
                HashOperation::Hash => "hash",
                HashOperation::Verify => "verify",
                HashOperation::ProductHash => "product_hash",
            },
        }
    }
}

type Histograms = Family<OperationLabels, Histogram, fn() -> Histogram>;

#[derive(Clone)]
pub struct Argon2Metrics {
    duration: Histograms,
    queue_wait: Histograms,
}

impl Default for Argon2Metrics {
    fn default() -> Self {
        let histograms = || Histograms::new_with_constructor(|| Histogram::new(SECONDS_BUCKETS));
        Argon2Metrics {
            duration: histograms(),
            queue_wait: histograms(),
        }
    }
}

impl Argon2Metrics {
    pub(super) fn register(&self, registry: &mut Registry) {
        for operation in [
            HashOperation::Hash,
            HashOperation::Verify,
            HashOperation::ProductHash,
        ] {
            let _ = self.duration.get_or_create(&operation.labels());
            let _ = self.queue_wait.get_or_create(&operation.labels());
        }
        registry.register_with_unit(
            "argon2_duration",
            "Time computing one argon2id hash or verification",
            Unit::Seconds,
            self.duration.clone(),
        );
        registry.register_with_unit(
            "argon2_queue_wait",
            "Time a hash or verification waited for a slot on the bounded blocking pool \
             (argon2.max_concurrent) and a thread",
            Unit::Seconds,
            self.queue_wait.clone(),
        );
    }

    pub fn waited(&self, operation: HashOperation, wait: Duration) {
        self.queue_wait
            .get_or_create(&operation.labels())
            .observe(wait.as_secs_f64());
    }

    pub fn computed(&self, operation: HashOperation, took: Duration) {
        self.duration
            .get_or_create(&operation.labels())
            .observe(took.as_secs_f64());
    }
}

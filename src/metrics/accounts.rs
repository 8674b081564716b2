//! Accounts still on a legacy password hash (an imported product's bcrypt, PBKDF2, ...,
//! or argon2id with other parameters), which the next successful login replaces. Read from
//! the store at start, after an import and on each scrape.

use std::sync::atomic::AtomicI64;

use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Default)]
pub struct AccountMetrics {
    legacy_hashes: Gauge<i64, AtomicI64>,
}

impl AccountMetrics {
    pub(super) fn register(&self, registry: &mut Registry) {
        registry.register(
            "accounts_legacy_hash",
            "Accounts whose password hash is not resetd's current argon2id",
            self.legacy_hashes.clone(),
        );
    }

    pub fn set_legacy_hashes(&self, count: i64) {
        self.legacy_hashes.set(count);
    }
}

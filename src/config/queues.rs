//! `[outbox]` and `[issuer]`: the two background queues, their leases, polls and retries.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct OutboxConfig {
    /// Attempts before a message is marked dead.
    pub max_attempts: i32,
    /// Wait before the second attempt; each later wait doubles (±20% jitter).
    pub base_delay_ms: u64,
    /// Longest wait between two attempts.
    pub max_delay_ms: u64,
    /// How long a claimed message stays with its worker without a renewal before another
    /// may take it. The worker renews it every third of this while it delivers, however
    /// long the mail server takes; after a crash, mail it held waits this long.
    pub lease_ms: u64,
    /// How often to look for mail to send when nothing in this process queued any.
    pub poll_interval_ms: u64,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            base_delay_ms: 2_000,
            max_delay_ms: 15 * 60 * 1_000,
            lease_ms: 10_000,
            poll_interval_ms: 1_000,
        }
    }
}

/// The reset issuer (`reset::issuer`): the background task that turns queued reset requests
/// into tokens and mail, so that the request path does the same work for every email.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct IssuerConfig {
    /// Run the issuer in this process. `false` only for a replica that takes requests while
    /// another replica on the same database issues (or a test that looks at the queue):
    /// with no issuer running anywhere, requests are answered but no mail is sent.
    pub enabled: bool,
    /// How long a claimed request stays with its issuer without a renewal before another
    /// may take it (the issuer died). The issuer renews it every third of this while it
    /// works; after a crash, requests it held wait this long.
    pub lease_ms: u64,
    /// How often to look for queued requests when no request in this process wakes the
    /// issuer (requests taken by other replicas, leases that ran out).
    pub poll_interval_ms: u64,
}

impl Default for IssuerConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            lease_ms: 10_000,
            poll_interval_ms: 1_000,
        }
    }
}

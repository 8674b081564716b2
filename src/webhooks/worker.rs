//! The webhook worker: claims due deliveries (`Store::claim_webhooks`), POSTs them, records
//! the outcome, and retries with exponential backoff and jitter until a delivery is dead.
//!
//! At least once: a worker that dies after a POST but before recording it leaves the row
//! leased; once the lease ends it is POSTed again with the same `webhook-id`, which is how a
//! receiver recognises the duplicate. Deliveries are recorded together, once per batch.
//! Never logged: the body, the secrets, the signatures.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::clock::{Millis, SharedClock};
use crate::config::{webhook_secret_key, WebhookConfig, WebhookDeliveryConfig};
use crate::metrics::{WebhookMetrics, WebhookOutcome};
use crate::security::sealing::BodySealer;
use crate::security::webhook_signature::WebhookSigner;
use crate::store::{Store, StoreError, WebhookDelivery};
use crate::worker::{error_summary, work_batch, Backoff, Driver, Pass, Queue, Schedule};

/// Retries, leases and timeouts (`[webhook_delivery]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookPolicy {
    pub max_attempts: i32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// How long one POST may take.
    pub timeout: Duration,
    pub lease: Duration,
    pub poll_interval: Duration,
    /// Deliveries claimed at once.
    pub batch: i64,
}

impl WebhookPolicy {
    pub fn from_config(config: &WebhookDeliveryConfig) -> WebhookPolicy {
        WebhookPolicy {
            max_attempts: config.max_attempts,
            base_delay: Duration::from_millis(config.base_delay_ms),
            max_delay: Duration::from_millis(config.max_delay_ms),
            timeout: Duration::from_millis(config.timeout_ms),
            lease: Duration::from_millis(config.lease_ms),
            poll_interval: Duration::from_millis(config.poll_interval_ms),
            batch: 256,
        }
    }

    /// Delays between attempts: `min(max_delay, base_delay * 2^(attempts-1))`, jittered.
    fn backoff(&self) -> Backoff {
        Backoff {
            base_delay: self.base_delay,
            max_delay: self.max_delay,
        }
    }
}

/// POSTs under way at once: receivers answer after a round trip; one at a time the worker
/// would mostly wait.
const CONCURRENT_DELIVERIES: usize = 64;
/// `last_error` is a summary for operators.
const MAX_ERROR_SUMMARY: usize = 300;

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("webhook secret of {url}: {problem}")]
    Secret { url: String, problem: &'static str },
    #[error("cannot build the webhook HTTP client: {0}")]
    Client(String),
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WebhookStats {
    pub claimed: usize,
    pub delivered: usize,
    pub retrying: usize,
    pub dead: usize,
    pub released: usize,
}

#[derive(Clone)]
pub struct WebhookWorker {
    store: Store,
    clock: SharedClock,
    client: reqwest::Client,
    /// Each configured endpoint's signer, by its URL as the rows name it.
    signers: Arc<HashMap<String, WebhookSigner>>,
    policy: WebhookPolicy,
    /// Opens the password hashes the core sealed.
    sealer: BodySealer,
    metrics: WebhookMetrics,
}

impl WebhookWorker {
    pub fn new(
        store: Store,
        clock: SharedClock,
        endpoints: &[WebhookConfig],
        policy: WebhookPolicy,
        sealer: BodySealer,
        metrics: WebhookMetrics,
    ) -> Result<WebhookWorker, WorkerError> {
        let mut signers = HashMap::new();
        for endpoint in endpoints {
            let keys = endpoint
                .secret
                .iter()
                .map(|s| webhook_secret_key(s.expose()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|problem| WorkerError::Secret {
                    url: endpoint.url.to_string(),
                    problem,
                })?;
            signers.insert(endpoint.url.to_string(), WebhookSigner::new(keys));
        }
        let client = reqwest::Client::builder()
            .timeout(policy.timeout)
            // A redirect would hand the signed body to a URL nobody configured.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("resetd/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| WorkerError::Client(e.to_string()))?;
        Ok(WebhookWorker {
            store,
            clock,
            client,
            signers: Arc::new(signers),
            policy,
            sealer,
            metrics,
        })
    }

    /// Delivers with the background thread's store.
    pub fn with_store(self, store: Store) -> Self {
        Self { store, ..self }
    }

    pub fn driver(self, wake: Arc<Notify>) -> Driver<WebhookWorker> {
        let schedule = Schedule {
            lease: self.policy.lease,
            poll_interval: self.policy.poll_interval,
            batch: self.policy.batch,
            gather: Duration::from_millis(5),
            drain: Duration::ZERO,
        };
        let clock = self.clock.clone();
        Driver::new(self, schedule, clock, wake)
    }

    /// Delivers what is due now, once.
    pub async fn run_once(&self) -> Result<WebhookStats, StoreError> {
        self.clone()
            .driver(Arc::new(Notify::new()))
            .run_once()
            .await
    }

    /// Delivers until `stop` is cancelled, woken by `wake` or every poll interval.
    pub async fn run(self, wake: Arc<Notify>, stop: CancellationToken) {
        self.driver(wake).run(stop).await;
    }

    /// One POST; `Ok(None)` delivered, `Ok(Some(summary))` failed, `Err(summary)` failed for
    /// good (retrying cannot help).
    async fn post(&self, row: &WebhookDelivery) -> Result<Option<String>, String> {
        let Some(signer) = self.signers.get(&row.endpoint) else {
            return Err("endpoint no longer configured".to_owned());
        };
        let hash = match &row.password_hash {
            Some(sealed) => Some(
                self.sealer
                    .open(sealed, &row.webhook_id)
                    .map_err(|e| e.to_string())?,
            ),
            None => None,
        };
        let body = super::payload::body(row, hash.as_deref());
        let timestamp = self.clock.now_ms().div_euclid(1_000);
        let signature = signer.sign(&row.webhook_id, timestamp, &body);
        let sent = self
            .client
            .post(&row.endpoint)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("webhook-id", &row.webhook_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await;
        Ok(match sent {
            Ok(answer) if answer.status().is_success() => None,
            Ok(answer) => Some(format!("HTTP {}", answer.status().as_u16())),
            // Without the URL, which may carry a credential.
            Err(error) => Some(summary(&error.without_url().to_string())),
        })
    }

    async fn deliver(&self, row: &WebhookDelivery) -> Result<WebhookOutcome, StoreError> {
        let error = match self.post(row).await {
            Ok(None) => return Ok(WebhookOutcome::Delivered),
            Ok(Some(error)) => error,
            Err(error) => {
                self.store.mark_webhook_failed(row.id, &error, None).await?;
                tracing::error!(webhook_id = %row.webhook_id, %error, "webhook cannot be delivered; marked dead");
                return Ok(WebhookOutcome::Dead);
            }
        };
        if row.attempts >= self.policy.max_attempts {
            self.store.mark_webhook_failed(row.id, &error, None).await?;
            tracing::error!(
                webhook_id = %row.webhook_id,
                attempts = row.attempts,
                %error,
                "webhook delivery failed; retries exhausted, marked dead"
            );
            return Ok(WebhookOutcome::Dead);
        }
        let (next, delay_ms) = self
            .policy
            .backoff()
            .next_attempt(self.clock.now_ms(), row.attempts);
        self.store
            .mark_webhook_failed(row.id, &error, Some(next))
            .await?;
        tracing::warn!(
            webhook_id = %row.webhook_id,
            attempts = row.attempts,
            retry_in_ms = delay_ms,
            %error,
            "webhook delivery failed; will retry"
        );
        Ok(WebhookOutcome::Failed)
    }
}

impl Queue for WebhookWorker {
    type Item = WebhookDelivery;
    type Report = WebhookStats;
    type Error = StoreError;

    const NAME: &'static str = "webhook worker";

    async fn claim(
        &self,
        now: Millis,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<WebhookDelivery>, StoreError> {
        self.store.claim_webhooks(now, lease_ms, limit).await
    }

    fn key(row: &WebhookDelivery) -> i64 {
        row.id
    }

    async fn renew(&self, ids: &[i64], held: Millis, until: Millis) -> Result<(), StoreError> {
        self.store.renew_webhook_leases(ids, held, until).await
    }

    /// POSTs the batch, [`CONCURRENT_DELIVERIES`] at a time (the claim holds at most one
    /// delivery per account and endpoint), records failures as they come and deliveries
    /// together at the end, and hands back what it did not attempt.
    async fn run(
        &self,
        claimed: Vec<WebhookDelivery>,
        pass: &Pass<'_>,
    ) -> Result<WebhookStats, StoreError> {
        let mut stats = WebhookStats {
            claimed: claimed.len(),
            ..WebhookStats::default()
        };
        let mut delivered = Vec::new();
        let worked = work_batch(
            claimed,
            pass,
            CONCURRENT_DELIVERIES,
            // The claim holds at most one delivery per account and endpoint.
            |_: &WebhookDelivery| None,
            |row| async move {
                let outcome = self.deliver(&row).await;
                (row, outcome)
            },
            |row, outcome| {
                self.metrics.attempted(outcome);
                match outcome {
                    WebhookOutcome::Delivered => {
                        stats.delivered += 1;
                        delivered.push(row.id);
                    }
                    WebhookOutcome::Failed => stats.retrying += 1,
                    WebhookOutcome::Dead => stats.dead += 1,
                }
            },
        )
        .await;
        self.store
            .mark_webhooks_delivered(&delivered, self.clock.now_ms())
            .await?;
        if let Some(error) = worked.failure {
            return Err(error);
        }
        let unattempted = worked.to_release(|row| row.id);
        if !unattempted.is_empty() {
            self.store.release_webhooks(&unattempted).await?;
            stats.released = unattempted.len();
        }
        Ok(stats)
    }
}

fn summary(text: &str) -> String {
    error_summary(text, MAX_ERROR_SUMMARY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_double_up_to_the_cap() {
        let policy = WebhookPolicy::from_config(&WebhookDeliveryConfig {
            base_delay_ms: 1_000,
            max_delay_ms: 5_000,
            ..WebhookDeliveryConfig::default()
        });
        let delays: Vec<u64> = (1..=5)
            .map(|n| policy.backoff().delay(n, 1.0).as_millis() as u64)
            .collect();
        assert_eq!(delays, [1_000, 2_000, 4_000, 5_000, 5_000]);
        assert_eq!(policy.backoff().delay(1, 1.2).as_millis(), 1_200);
    }
}

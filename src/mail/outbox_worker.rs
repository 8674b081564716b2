//! Delivers queued mail: claims due outbox rows, sends them, records the outcome, and
//! schedules retries with exponential backoff until a message is declared dead.
//!
//! Delivery is at least once: a worker that dies after sending but before recording it
//! leaves the row leased; when the lease ends the row is sent again, with the same
//! `Message-ID`, so the duplicate is recognisable. Deliveries are recorded together, once
//! per batch (one write, one commit, instead of one per message), so such a death may send
//! again the messages of one batch at most.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use lettre::message::Mailbox;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::message::build_message;
use super::transport::MailTransport;
use crate::clock::{Millis, SharedClock};
use crate::metrics::{DeliveryOutcome, MailMetrics};
use crate::security::sealing::{BodySealer, SealError};
use crate::store::{OutboxMessage, Store, StoreError};
use crate::worker::{error_summary, work_batch, Backoff, Driver, Pass, Queue, Schedule};

/// How long to let mail gather after a wake-up before claiming it. Every redemption wakes
/// the worker for its one "password changed" mail, and each pass costs a claiming
/// transaction and a recording write whatever it carries. Claimed one by one under the
/// bench's `redeem` load, the worker's thread used 0.2 ms of CPU per redemption on SQLite
/// and 0.55 ms on PostgreSQL (plus the database server's), of about 2 ms outside argon2;
/// with 50 ms, 0.12 and 0.22 ms. Next to an email's delivery time, 50 ms is nothing.
const GATHER: Duration = Duration::from_millis(50);

/// When to try again, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts (the first included) before a message is marked dead.
    pub max_attempts: i32,
    /// Delay after the first failure; doubled after each further one.
    pub base_delay: Duration,
    /// Cap on the delay between attempts.
    pub max_delay: Duration,
    /// How long a claimed message stays reserved for its worker without a renewal (the
    /// driver renews it while the batch is delivered; `worker::Schedule::lease`).
    pub lease: Duration,
    /// How often to look for due mail when nobody wakes the worker.
    pub poll_interval: Duration,
    /// Messages claimed at once.
    pub batch: i64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            base_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(15 * 60),
            lease: Duration::from_secs(10),
            poll_interval: Duration::from_secs(1),
            // On SQLite claiming rewrites the rows, bodies included, holding the write lock
            // (the request path's writers go first, see `store/writer_lock.rs`). 32 at a
            // time kept the worker at a third of the issuer's pace under a backlog; 128
            // keeps up with it (`cargo xtask bench`).
            batch: 128,
        }
    }
}

/// Deliveries of a batch under way at once. A mail server answers each message after a
/// round trip or more: one at a time, the worker spent most of its time waiting. A few at
/// once stays well within what mail servers accept from one client. (The file transport
/// writes as it is called, so its deliveries run one after the other.)
const CONCURRENT_DELIVERIES: usize = 8;
/// `last_error` is a summary for operators, not a log.
const MAX_ERROR_SUMMARY: usize = 500;
/// How long a send under way when the worker is told to stop may still take. SMTP commands
/// time out only after a minute each, so a stalled mail server would otherwise hold up the
/// process's exit for minutes.
const SHUTDOWN_SEND_GRACE: Duration = Duration::from_secs(5);

impl RetryPolicy {
    /// Delays between attempts: `min(max_delay, base_delay * 2^(attempts-1))`, jittered.
    fn backoff(&self) -> Backoff {
        Backoff {
            base_delay: self.base_delay,
            max_delay: self.max_delay,
        }
    }
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryStats {
    pub claimed: usize,
    pub sent: usize,
    /// Failed and scheduled for another attempt.
    pub retrying: usize,
    /// Failed for good (retries exhausted, or a message that cannot be built).
    pub dead: usize,
    /// Claimed but handed back unattempted because the worker is stopping.
    pub released: usize,
}

#[derive(Clone)]
pub struct OutboxWorker {
    pub store: Store,
    pub transport: MailTransport,
    pub clock: SharedClock,
    /// The sender, parsed from `mail.from` (see [`super::message::parse_from`]).
    pub from: Mailbox,
    pub policy: RetryPolicy,
    /// Opens the bodies the reset core sealed when it queued them.
    pub sealer: BodySealer,
    /// Delivery outcomes are counted here.
    pub metrics: MailMetrics,
}

impl OutboxWorker {
    pub fn new(
        store: Store,
        transport: MailTransport,
        clock: SharedClock,
        from: Mailbox,
        policy: RetryPolicy,
        sealer: BodySealer,
    ) -> OutboxWorker {
        OutboxWorker {
            store,
            transport,
            clock,
            from,
            policy,
            sealer,
            metrics: MailMetrics::default(),
        }
    }

    /// Counts deliveries in `metrics` (the server's).
    pub fn with_metrics(self, metrics: MailMetrics) -> Self {
        Self { metrics, ..self }
    }

    /// Delivers with the store of the background thread (`background.rs`).
    pub fn with_store(self, store: Store) -> Self {
        Self { store, ..self }
    }

    /// The worker as the worker driver runs it (`crate::worker`), woken by `wake` (notified
    /// after mail is queued).
    pub fn driver(self, wake: Arc<Notify>) -> Driver<OutboxWorker> {
        let schedule = Schedule {
            lease: self.policy.lease,
            poll_interval: self.policy.poll_interval,
            batch: self.policy.batch,
            gather: GATHER,
            // Stopped, it finishes the sends under way (see `deliver`) and no more.
            drain: Duration::ZERO,
        };
        let clock = self.clock.clone();
        Driver::new(self, schedule, clock, wake)
    }

    /// Delivers what is due now, once.
    pub async fn run_once(&self) -> Result<DeliveryStats, StoreError> {
        self.clone()
            .driver(Arc::new(Notify::new()))
            .run_once()
            .await
    }

    /// Delivers until `stop` is cancelled, woken by `wake` or every poll interval
    /// (`worker::Driver::run`). On the stop the message being sent is finished (given
    /// [`SHUTDOWN_SEND_GRACE`] at most; past that it goes back to `pending`, due at once,
    /// and may be sent twice, with the same `Message-ID`); the rest of the batch goes back
    /// to `pending`.
    pub async fn run(self, wake: Arc<Notify>, stop: CancellationToken) {
        tracing::info!(transport = self.transport.description(), "mail transport");
        self.driver(wake).run(stop).await;
    }

    /// `row` with its bodies opened (`security::sealing`).
    fn opened(&self, row: &OutboxMessage) -> Result<OutboxMessage, SealError> {
        let mut row = row.clone();
        row.body_text = self.sealer.open(&row.body_text, &row.recipient)?;
        row.body_html = self.sealer.open(&row.body_html, &row.recipient)?;
        Ok(row)
    }

    /// Records the batch's sent mail in one write: a write per mail made the outbox compete
    /// with reset requests for SQLite's one writer.
    async fn record_sent(&self, sent: &[(i64, i32)]) -> Result<(), StoreError> {
        if sent.is_empty() {
            return Ok(());
        }
        let ids: Vec<i64> = sent.iter().map(|(id, _)| *id).collect();
        self.store.mark_sent(&ids, self.clock.now_ms()).await?;
        for (id, attempts) in sent {
            tracing::info!(outbox_id = id, attempts, "mail sent");
        }
        Ok(())
    }

    async fn deliver(
        &self,
        row: &OutboxMessage,
        pass: &Pass<'_>,
    ) -> Result<DeliveryOutcome, StoreError> {
        let row = match self.opened(row) {
            Ok(row) => row,
            Err(error) => {
                // Only the key that sealed it opens it: retrying cannot help.
                tracing::error!(outbox_id = row.id, %error, "mail body cannot be opened; marked dead");
                self.store
                    .mark_failed(row.id, &error.to_string(), None)
                    .await?;
                return Ok(DeliveryOutcome::Dead);
            }
        };
        let row = &row;
        let message = match build_message(row, &self.from) {
            Ok(message) => message,
            Err(error) => {
                // Retrying cannot fix a bad address.
                tracing::error!(outbox_id = row.id, %error, "mail cannot be built; marked dead");
                self.store
                    .mark_failed(row.id, &summary(&error), None)
                    .await?;
                return Ok(DeliveryOutcome::Dead);
            }
        };

        let sent = tokio::select! {
            sent = self.transport.send(&message) => sent,
            () = grace_after(pass.stopping()) => {
                // The server may have taken the message: if so it comes again.
                self.store
                    .mark_failed(
                        row.id,
                        "delivery interrupted: resetd was stopping",
                        Some(self.clock.now_ms()),
                    )
                    .await?;
                tracing::warn!(
                    outbox_id = row.id,
                    attempts = row.attempts,
                    "mail delivery interrupted by shutdown; left queued"
                );
                return Ok(DeliveryOutcome::Failed);
            }
        };
        let error = match sent {
            // Recorded with the rest of the batch (`record_sent`).
            Ok(()) => return Ok(DeliveryOutcome::Sent),
            Err(error) => error,
        };

        if row.attempts >= self.policy.max_attempts {
            self.store
                .mark_failed(row.id, &summary(&error), None)
                .await?;
            tracing::error!(
                outbox_id = row.id,
                attempts = row.attempts,
                %error,
                "mail delivery failed; retries exhausted, marked dead"
            );
            return Ok(DeliveryOutcome::Dead);
        }

        let (next_attempt_at, delay_ms) = self
            .policy
            .backoff()
            .next_attempt(self.clock.now_ms(), row.attempts);
        self.store
            .mark_failed(row.id, &summary(&error), Some(next_attempt_at))
            .await?;
        tracing::warn!(
            outbox_id = row.id,
            attempts = row.attempts,
            retry_in_ms = delay_ms,
            %error,
            "mail delivery failed; will retry"
        );
        Ok(DeliveryOutcome::Failed)
    }
}

impl Queue for OutboxWorker {
    type Item = OutboxMessage;
    type Report = DeliveryStats;
    type Error = StoreError;

    const NAME: &'static str = "outbox worker";

    async fn claim(
        &self,
        now: Millis,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        self.store.claim_outbox(now, lease_ms, limit).await
    }

    fn key(message: &OutboxMessage) -> i64 {
        message.id
    }

    async fn renew(&self, ids: &[i64], held: Millis, until: Millis) -> Result<(), StoreError> {
        self.store.renew_outbox_leases(ids, held, until).await
    }

    /// Delivers the batch, [`CONCURRENT_DELIVERIES`] at a time (one at a time per
    /// recipient), records each failure as it comes and the deliveries together at the end,
    /// and hands back what it did not attempt (stopping, or the store failing).
    async fn run(
        &self,
        claimed: Vec<OutboxMessage>,
        pass: &Pass<'_>,
    ) -> Result<DeliveryStats, StoreError> {
        let mut stats = DeliveryStats {
            claimed: claimed.len(),
            ..DeliveryStats::default()
        };

        let mut sent = Vec::new();
        let worked = work_batch(
            claimed,
            pass,
            CONCURRENT_DELIVERIES,
            // Mail to one address goes out one at a time, in the order it was queued: of
            // several reset mails to one person the last holds the live token, and it must
            // not arrive before the others.
            |row: &OutboxMessage| Some(row.recipient.as_str()),
            |row| async move {
                let outcome = self.deliver(&row, pass).await;
                (row, outcome)
            },
            |row, outcome| {
                self.metrics.delivered(outcome);
                match outcome {
                    DeliveryOutcome::Sent => {
                        stats.sent += 1;
                        sent.push((row.id, row.attempts));
                    }
                    DeliveryOutcome::Failed => stats.retrying += 1,
                    DeliveryOutcome::Dead => stats.dead += 1,
                }
            },
        )
        .await;
        if worked.lease_ran_out {
            tracing::info!("outbox lease ran out: the rest of the batch is left to the next claim");
        }
        // Recorded even after a store failure, if the store lets us (else what was sent is
        // sent again once the lease ends).
        self.record_sent(&sent).await?;
        if let Some(error) = worked.failure {
            return Err(error);
        }
        let unattempted = worked.to_release(|row| row.id);
        if !unattempted.is_empty() {
            self.store.release_outbox(&unattempted).await?;
            stats.released = unattempted.len();
            tracing::info!(
                released = stats.released,
                "outbox worker stopping: mail left queued"
            );
        }
        Ok(stats)
    }
}

/// Resolves [`SHUTDOWN_SEND_GRACE`] after `stopping` has.
async fn grace_after(stopping: impl Future<Output = ()>) {
    stopping.await;
    tokio::time::sleep(SHUTDOWN_SEND_GRACE).await;
}

fn summary(error: &dyn std::fmt::Display) -> String {
    error_summary(&error.to_string(), MAX_ERROR_SUMMARY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_caps_and_jitters() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.backoff().delay(1, 1.0), Duration::from_secs(2));
        assert_eq!(policy.backoff().delay(2, 1.0), Duration::from_secs(4));
        assert_eq!(policy.backoff().delay(5, 1.0), Duration::from_secs(32));
        assert_eq!(policy.backoff().delay(20, 1.0), Duration::from_secs(900));
        assert_eq!(
            policy.backoff().delay(i32::MAX, 1.0),
            Duration::from_secs(900)
        );
        assert_eq!(policy.backoff().delay(0, 1.0), Duration::from_secs(2));
        assert_eq!(policy.backoff().delay(1, 0.8), Duration::from_millis(1600));
        assert_eq!(policy.backoff().delay(20, 1.2), Duration::from_secs(1080));

        // Huge settings saturate instead of overflowing.
        let unbounded = RetryPolicy {
            base_delay: Duration::MAX,
            max_delay: Duration::MAX,
            ..policy
        };
        assert_eq!(unbounded.backoff().delay(100, 1.2), Duration::MAX);
    }

    #[tokio::test]
    async fn mail_to_one_recipient_waits_for_the_one_before_it() {
        let row = crate::store::test_support::claimed_mail;
        let batch = vec![
            row(1, "ann@example.test"),
            row(2, "ann@example.test"),
            row(3, "bob@example.test"),
            row(4, "ann@example.test"),
        ];
        let started = std::sync::Mutex::new(Vec::new());
        let test_pass = crate::worker::TestPass::new();
        let worked = work_batch(
            batch,
            &test_pass.pass(),
            CONCURRENT_DELIVERIES,
            |row: &OutboxMessage| Some(row.recipient.as_str()),
            |row| {
                let started = &started;
                async move {
                    started.lock().expect("not poisoned").push(row.id);
                    tokio::task::yield_now().await;
                    (row, Ok::<(), StoreError>(()))
                }
            },
            |_, ()| {},
        )
        .await;
        assert!(worked.unattempted.is_empty() && worked.failure.is_none());
        // Ann's next mails wait for her first; Bob's goes past them.
        assert_eq!(*started.lock().expect("not poisoned"), [1, 3, 2, 4]);
    }

    #[test]
    fn summaries_are_bounded() {
        let long = "é".repeat(400);
        let short = summary(&long);
        assert!(short.len() <= MAX_ERROR_SUMMARY);
        assert!(long.starts_with(&short));
    }
}

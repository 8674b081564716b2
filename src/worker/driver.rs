//! The loop every queue runs in: claim, run while the lease is kept alive, wait, stop.

use std::convert::Infallible;
use std::sync::Arc;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::lease::{Lease, Pass};
use super::{Queue, Schedule};
use crate::clock::SharedClock;

/// Drives one [`Queue`]; see the module documentation.
pub struct Driver<Q> {
    queue: Q,
    schedule: Schedule,
    clock: SharedClock,
    /// Notified by whoever queues work in this process; a notification that comes while a
    /// pass is under way is kept for the next wait.
    wake: Arc<Notify>,
}

/// What one pass claimed, and what its run reported.
struct Worked<R> {
    claimed: usize,
    report: R,
}

impl<Q: Queue> Driver<Q> {
    /// Lease times are read from `clock` (the one the queue stores times by).
    pub fn new(queue: Q, schedule: Schedule, clock: SharedClock, wake: Arc<Notify>) -> Self {
        Driver {
            queue,
            schedule,
            clock,
            wake,
        }
    }

    pub fn queue(&self) -> &Q {
        &self.queue
    }

    /// One pass over what is due now, never stopped.
    pub async fn run_once(&self) -> Result<Q::Report, Q::Error> {
        let never = CancellationToken::new();
        let worked = self.pass(&never, None).await?;
        Ok(worked.report)
    }

    /// Passes until `stop` is cancelled. After a pass that filled its batch, the next comes
    /// at once; after one that did not, it waits for a wake-up (then [`Schedule::gather`]),
    /// the poll interval, or the stop; after one that failed, for the growing
    /// [`Schedule::failure_backoff`] or the stop. Once stopped it drains what is due for up
    /// to [`Schedule::drain`], then returns.
    pub async fn run(self, stop: CancellationToken) {
        tracing::info!("{} started", Q::NAME);
        let mut failures = 0_u32;
        while !stop.is_cancelled() {
            let wait = match self.pass(&stop, None).await {
                Ok(worked) => {
                    failures = 0;
                    if worked.report != Q::Report::default() {
                        tracing::debug!(report = ?worked.report, "{} pass", Q::NAME);
                    }
                    if self.is_full(&worked) {
                        // More may be due right now.
                        continue;
                    }
                    None
                }
                Err(error) => {
                    failures = failures.saturating_add(1);
                    tracing::warn!(%error, "{} pass failed", Q::NAME);
                    Some(self.schedule.failure_backoff(failures))
                }
            };
            tokio::select! {
                () = self.idle(wait) => {}
                () = stop.cancelled() => {}
            }
        }
        self.drain(&stop).await;
        tracing::info!("{} stopped", Q::NAME);
    }

    /// Idle: a wake-up and the gathering time after it, or the poll interval. Failing
    /// (`backoff`): that long, wake-ups or not, since the work they announce would fail alike.
    async fn idle(&self, backoff: Option<std::time::Duration>) {
        match backoff {
            Some(backoff) => tokio::time::sleep(backoff).await,
            None => tokio::select! {
                () = self.wake.notified() => tokio::time::sleep(self.schedule.gather).await,
                () = tokio::time::sleep(self.schedule.poll_interval) => {}
            },
        }
    }

    /// Works what is due until the queue is empty, a pass fails, or [`Schedule::drain`]
    /// has passed (checked by the queue between items).
    async fn drain(&self, stop: &CancellationToken) {
        if self.schedule.drain.is_zero() {
            return;
        }
        let deadline = tokio::time::Instant::now() + self.schedule.drain;
        while tokio::time::Instant::now() < deadline {
            match self.pass(stop, Some(deadline)).await {
                Ok(worked) if worked.claimed > 0 => {}
                Ok(_) => return,
                Err(error) => {
                    tracing::warn!(%error, "{} could not drain the queue", Q::NAME);
                    return;
                }
            }
        }
        tracing::info!("{} stopping: work left queued", Q::NAME);
    }

    fn is_full(&self, worked: &Worked<Q::Report>) -> bool {
        i64::try_from(worked.claimed).is_ok_and(|n| n >= self.schedule.batch)
    }

    /// One claim, run with its lease renewed until the run returns.
    async fn pass(
        &self,
        stop: &CancellationToken,
        drain_until: Option<tokio::time::Instant>,
    ) -> Result<Worked<Q::Report>, Q::Error> {
        let now = self.clock.now_ms();
        let lease_ms = self.schedule.lease_ms();
        let batch = self.queue.claim(now, lease_ms, self.schedule.batch).await?;
        let claimed = batch.len();
        if claimed == 0 {
            return Ok(Worked {
                claimed,
                report: Q::Report::default(),
            });
        }
        let keys: Vec<i64> = batch.iter().map(Q::key).collect();
        let lease = Lease::new(self.clock.clone(), now.saturating_add(lease_ms));
        let pass = Pass::new(&lease, stop, drain_until);
        let run = self.queue.run(batch, &pass);
        let keep_alive = async {
            lease.keep_alive(&self.queue, &keys, &self.schedule).await;
            // Run out: the run finds out between items; nothing more to renew.
            std::future::pending::<Infallible>().await
        };
        let report = tokio::select! {
            biased;
            report = run => report?,
            never = keep_alive => match never {},
        };
        Ok(Worked { claimed, report })
    }
}

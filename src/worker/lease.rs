//! A batch's lease as the driver keeps it, and what a queue's `run` may ask of it.

use std::future::Future;
use std::sync::atomic::{AtomicI64, Ordering};

use tokio_util::sync::CancellationToken;

use super::{Queue, Schedule};
use crate::clock::{Millis, SharedClock};

/// Until when the batch under way is this worker's, as far as the worker knows: moved
/// forward only after the store has recorded a renewal.
pub(super) struct Lease {
    clock: SharedClock,
    until: AtomicI64,
}

impl Lease {
    pub(super) fn new(clock: SharedClock, until: Millis) -> Lease {
        Lease {
            clock,
            until: AtomicI64::new(until),
        }
    }

    fn until(&self) -> Millis {
        self.until.load(Ordering::SeqCst)
    }

    fn held(&self) -> bool {
        self.clock.now_ms() < self.until()
    }

    /// Renews the lease of `keys` every [`Schedule::renew_every`], for as long as it is
    /// polled (the driver drops it when the batch is settled). Once the lease has run out
    /// the items may be another worker's: it stops renewing.
    pub(super) async fn keep_alive<Q: Queue>(&self, queue: &Q, keys: &[i64], schedule: &Schedule) {
        let every = schedule.renew_every();
        loop {
            tokio::time::sleep(every).await;
            if !self.held() {
                tracing::info!("{} lease ran out before it could be renewed", Q::NAME);
                return;
            }
            let held = self.until();
            let until = self.clock.now_ms().saturating_add(schedule.lease_ms());
            match queue.renew(keys, held, until).await {
                Ok(()) => self.until.store(until, Ordering::SeqCst),
                // The run sees the lease run out if the store stays away.
                Err(error) => tracing::warn!(%error, "{} lease not renewed", Q::NAME),
            }
        }
    }
}

/// What the driver tells a queue's [`Queue::run`] about the pass under way.
pub struct Pass<'a> {
    lease: &'a Lease,
    stop: &'a CancellationToken,
    /// Set while draining after the stop: work goes on until then.
    drain_until: Option<tokio::time::Instant>,
}

impl<'a> Pass<'a> {
    pub(super) fn new(
        lease: &'a Lease,
        stop: &'a CancellationToken,
        drain_until: Option<tokio::time::Instant>,
    ) -> Pass<'a> {
        Pass {
            lease,
            stop,
            drain_until,
        }
    }

    /// Whether the batch is still this worker's. Once it is not, the rest of the batch may
    /// already be another worker's: working it would do it twice.
    pub fn lease_held(&self) -> bool {
        self.lease.held()
    }

    /// Whether to start the next item: `false` once the driver is stopping (or, draining,
    /// once the drain's time is up).
    pub fn keep_going(&self) -> bool {
        match self.drain_until {
            Some(deadline) => tokio::time::Instant::now() < deadline,
            None => !self.stop.is_cancelled(),
        }
    }

    /// Resolves when [`keep_going`](Pass::keep_going) turns `false`; never in a pass that
    /// is not stopped (`Driver::run_once`).
    pub fn stopping(&self) -> impl Future<Output = ()> + Send + 'a {
        let (stop, drain_until) = (self.stop, self.drain_until);
        async move {
            match drain_until {
                Some(deadline) => tokio::time::sleep_until(deadline).await,
                None => stop.cancelled().await,
            }
        }
    }
}

/// A [`Pass`] for tests of code that a queue's `run` calls: the driver not stopping, the
/// lease held for an hour unless the test says otherwise.
#[cfg(test)]
pub(crate) struct TestPass {
    lease: Lease,
    stop: CancellationToken,
}

#[cfg(test)]
impl TestPass {
    pub(crate) fn new() -> TestPass {
        TestPass::held_for(3_600_000)
    }

    /// A pass whose lease ends `ms` from now (in the past when negative).
    pub(crate) fn held_for(ms: i64) -> TestPass {
        let clock: SharedClock = std::sync::Arc::new(crate::clock::SystemClock);
        let until = clock.now_ms() + ms;
        TestPass {
            lease: Lease::new(clock, until),
            stop: CancellationToken::new(),
        }
    }

    pub(crate) fn pass(&self) -> Pass<'_> {
        Pass::new(&self.lease, &self.stop, None)
    }
}

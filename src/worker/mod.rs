//! One driver for the service's lease queues (the reset issuer, the outbox worker, and any
//! queue after them): claim a batch with a lease, work it, keep the lease alive while the
//! work is under way, back off when idle or failing, and stop on one
//! [`CancellationToken`](tokio_util::sync::CancellationToken).
//!
//! A queue plugs in by implementing [`Queue`]; [`Driver`] does the rest. Leases can be short
//! ([`Schedule::lease`], 10 s by default for both queues) because the driver renews them
//! every [`Schedule::renew_every`] (a third of the lease) until the batch is settled: a live
//! worker keeps its batch however long a slow mail server takes, and what a killed process
//! held is due again one lease after its last renewal.
//!
//! This module is a leaf beside `clock`: it knows nothing of what the queues hold.

mod batch;
mod driver;
mod lease;

use std::fmt;
use std::future::Future;
use std::time::Duration;

pub use batch::{error_summary, work_batch, Backoff, Worked};
pub use driver::Driver;
pub use lease::Pass;
#[cfg(test)]
pub(crate) use lease::TestPass;

use crate::clock::Millis;

/// A queue of leased rows: how to claim them, work them, and renew their lease.
///
/// The driver calls [`claim`](Queue::claim), then [`run`](Queue::run) on the batch while it
/// renews the batch's lease in the background (by [`key`](Queue::key)). `run` settles what
/// it works (records each item's outcome, releases what it does not reach) in whatever
/// writes suit the queue; an item it leaves leased is claimed again once the lease runs out.
pub trait Queue: Send + Sync {
    /// One claimed row.
    type Item: Send;
    /// What one pass did; logged (at debug) unless it is the default (nothing).
    type Report: fmt::Debug + Default + PartialEq + Send;
    type Error: fmt::Display + Send;

    /// Names the queue in log lines ("reset issuer").
    const NAME: &'static str;

    /// Claims up to `limit` due items, leased until `now + lease_ms`, in the order to work
    /// them.
    fn claim(
        &self,
        now: Millis,
        lease_ms: i64,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<Self::Item>, Self::Error>> + Send;

    /// The key [`renew`](Queue::renew) knows `item` by.
    fn key(item: &Self::Item) -> i64;

    /// Moves the lease of those of `keys` still leased until `held` to `until`. Items
    /// settled or released since (or, after a lapse, claimed by another worker) carry no
    /// lease or another one and must be left alone.
    fn renew(
        &self,
        keys: &[i64],
        held: Millis,
        until: Millis,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Works and settles `batch`. Before each item, [`Pass::lease_held`] says whether the
    /// batch is still this worker's and [`Pass::keep_going`] whether to start it at all.
    fn run(
        &self,
        batch: Vec<Self::Item>,
        pass: &Pass<'_>,
    ) -> impl Future<Output = Result<Self::Report, Self::Error>> + Send;
}

/// How a [`Driver`] claims, waits and stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// How long a claimed batch stays with its worker without a renewal. What a killed
    /// worker held waits at most this long.
    pub lease: Duration,
    /// How often to look for work when nobody wakes the driver.
    pub poll_interval: Duration,
    /// Items claimed at once. A full batch is followed by the next claim at once.
    pub batch: i64,
    /// How long to let work gather after a wake-up before claiming it.
    pub gather: Duration,
    /// How long, once stopped, to keep working what is due (checked between items).
    pub drain: Duration,
}

/// Renewals per lease: a renewal may fail twice (a store briefly away) before the lease
/// runs out under work still under way.
const RENEWALS_PER_LEASE: u32 = 3;

/// The shortest time between two renewals of one lease.
pub const MIN_RENEW_EVERY: Duration = Duration::from_millis(10);

/// The longest wait between two passes that failed in a row: the wait doubles from the
/// poll interval to this, so a store that is away is not hammered, and is found back soon.
pub const MAX_FAILURE_BACKOFF: Duration = Duration::from_secs(5);

impl Schedule {
    /// How often the lease of a batch under way is renewed (not more often than every
    /// [`MIN_RENEW_EVERY`], however short the lease).
    pub fn renew_every(&self) -> Duration {
        (self.lease / RENEWALS_PER_LEASE).max(MIN_RENEW_EVERY)
    }

    /// The wait after `failures` (at least 1) failed passes in a row.
    pub fn failure_backoff(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(16);
        let cap = MAX_FAILURE_BACKOFF.max(self.poll_interval);
        self.poll_interval
            .saturating_mul(1_u32 << doublings)
            .min(cap)
    }

    pub(crate) fn lease_ms(&self) -> i64 {
        i64::try_from(self.lease.as_millis()).unwrap_or(i64::MAX)
    }
}

#[cfg(test)]
mod tests;

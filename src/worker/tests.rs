//! The driver against an in-memory queue.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::clock::{SharedClock, SystemClock};

/// A row of the fake queue; `lease_until` as the stores keep it.
#[derive(Debug, Clone)]
struct Row {
    id: i64,
    lease_until: Option<Millis>,
}

#[derive(Default)]
struct Fake {
    rows: Mutex<Vec<Row>>,
    /// Ids worked, in order.
    done: Mutex<Vec<i64>>,
    /// How long working one item takes.
    work: Duration,
    claim_fails: bool,
    renew_fails: bool,
    claims: AtomicUsize,
    renewals: AtomicUsize,
    /// A run found its lease run out.
    saw_lapse: AtomicBool,
}

impl Fake {
    fn with_rows(n: i64) -> Fake {
        let fake = Fake::default();
        fake.push(1..=n);
        fake
    }

    fn push(&self, ids: impl IntoIterator<Item = i64>) {
        let mut rows = self.rows.lock().expect("rows");
        rows.extend(ids.into_iter().map(|id| Row {
            id,
            lease_until: None,
        }));
    }

    fn done(&self) -> Vec<i64> {
        self.done.lock().expect("done").clone()
    }

    fn left(&self) -> usize {
        self.rows.lock().expect("rows").len()
    }

    fn release(&self, ids: &[i64]) {
        for row in self.rows.lock().expect("rows").iter_mut() {
            if ids.contains(&row.id) {
                row.lease_until = None;
            }
        }
    }
}

impl Queue for Arc<Fake> {
    type Item = i64;
    type Report = usize;
    type Error = String;

    const NAME: &'static str = "fake queue";

    async fn claim(&self, now: Millis, lease_ms: i64, limit: i64) -> Result<Vec<i64>, String> {
        self.claims.fetch_add(1, Ordering::SeqCst);
        if self.claim_fails {
            return Err("the store is away".to_owned());
        }
        let mut rows = self.rows.lock().expect("rows");
        let due = rows
            .iter_mut()
            .filter(|r| r.lease_until.is_none_or(|until| until <= now))
            .take(usize::try_from(limit).unwrap_or(0));
        Ok(due
            .map(|row| {
                row.lease_until = Some(now + lease_ms);
                row.id
            })
            .collect())
    }

    fn key(item: &i64) -> i64 {
        *item
    }

    async fn renew(&self, keys: &[i64], held: Millis, until: Millis) -> Result<(), String> {
        if self.renew_fails {
            return Err("the store is away".to_owned());
        }
        self.renewals.fetch_add(1, Ordering::SeqCst);
        for row in self.rows.lock().expect("rows").iter_mut() {
            if keys.contains(&row.id) && row.lease_until == Some(held) {
                row.lease_until = Some(until);
            }
        }
        Ok(())
    }

    async fn run(&self, batch: Vec<i64>, pass: &Pass<'_>) -> Result<usize, String> {
        let mut worked = 0;
        for (i, id) in batch.iter().enumerate() {
            if !pass.keep_going() {
                self.release(&batch[i..]);
                break;
            }
            if !pass.lease_held() {
                self.saw_lapse.store(true, Ordering::SeqCst);
                break;
            }
            tokio::time::sleep(self.work).await;
            self.rows.lock().expect("rows").retain(|r| r.id != *id);
            self.done.lock().expect("done").push(*id);
            worked += 1;
        }
        Ok(worked)
    }
}

fn clock() -> SharedClock {
    Arc::new(SystemClock)
}

fn schedule() -> Schedule {
    Schedule {
        lease: Duration::from_millis(300),
        poll_interval: Duration::from_secs(3_600),
        batch: 10,
        gather: Duration::ZERO,
        drain: Duration::ZERO,
    }
}

/// Polls `done` every 10 ms; panics after `within`.
async fn wait_until(what: &str, within: Duration, done: impl Fn() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[test]
fn renewals_come_three_times_a_lease_and_failures_back_off_to_a_cap() {
    let s = Schedule {
        lease: Duration::from_secs(10),
        poll_interval: Duration::from_secs(1),
        ..schedule()
    };
    assert_eq!(s.renew_every(), Duration::from_secs(10) / 3);
    let tiny = Schedule {
        lease: Duration::from_millis(1),
        ..s
    };
    assert_eq!(tiny.renew_every(), MIN_RENEW_EVERY);
    let waits: Vec<u64> = (1..=6).map(|n| s.failure_backoff(n).as_secs()).collect();
    assert_eq!(waits, [1, 2, 4, 5, 5, 5]);
    assert_eq!(s.failure_backoff(u32::MAX), MAX_FAILURE_BACKOFF);
    // A poll interval above the cap is never shortened.
    let slow = Schedule {
        poll_interval: Duration::from_secs(60),
        ..s
    };
    assert_eq!(slow.failure_backoff(3), Duration::from_secs(60));
}

/// A batch that takes five leases to work stays this worker's throughout: nobody else can
/// claim it meanwhile, and the run never sees its lease run out.
#[tokio::test]
async fn a_lease_is_kept_alive_while_work_is_under_way() {
    let fake = Arc::new(Fake {
        work: Duration::from_millis(500),
        ..Fake::with_rows(3)
    });
    let driver = Driver::new(fake.clone(), schedule(), clock(), Arc::new(Notify::new()));
    let pass = tokio::spawn(async move { driver.run_once().await });
    wait_until("the first item", Duration::from_secs(5), || {
        fake.done().len() == 1
    })
    .await;
    // Past the first lease: the other two are still held.
    let other = fake.claim(clock().now_ms(), 300, 10).await.expect("claim");
    assert!(other.is_empty(), "claimed under a live lease: {other:?}");
    let worked = pass.await.expect("the pass").expect("worked");
    assert_eq!(worked, 3);
    assert_eq!(fake.done(), [1, 2, 3]);
    assert!(!fake.saw_lapse.load(Ordering::SeqCst));
    assert!(
        fake.renewals.load(Ordering::SeqCst) >= 3,
        "renewed every 100 ms"
    );
}

/// When the store refuses renewals, the lease runs out under the run, which stops working
/// the batch; its rows are due again for the next claim.
#[tokio::test]
async fn a_lease_not_renewed_runs_out_and_the_run_stops() {
    let fake = Arc::new(Fake {
        work: Duration::from_millis(200),
        renew_fails: true,
        ..Fake::with_rows(10)
    });
    let driver = Driver::new(fake.clone(), schedule(), clock(), Arc::new(Notify::new()));
    let worked = driver.run_once().await.expect("worked");
    assert!(fake.saw_lapse.load(Ordering::SeqCst));
    assert!((1..10).contains(&worked), "stopped part-way: {worked}");
    let again = fake.claim(clock().now_ms(), 300, 10).await.expect("claim");
    assert_eq!(again.len(), 10 - worked, "the rest is due again");
}

/// A wake-up starts a pass at once (the poll interval is an hour); a full batch is followed
/// by the next claim without waiting; the stop ends the driver.
#[tokio::test]
async fn a_wake_up_starts_a_pass_and_a_full_batch_the_next() {
    let fake = Arc::new(Fake::default());
    let wake = Arc::new(Notify::new());
    let stop = CancellationToken::new();
    let s = Schedule {
        batch: 2,
        ..schedule()
    };
    let driver = Driver::new(fake.clone(), s, clock(), wake.clone());
    let task = tokio::spawn(driver.run(stop.clone()));
    wait_until("the first claim", Duration::from_secs(5), || {
        fake.claims.load(Ordering::SeqCst) == 1
    })
    .await;
    fake.push(1..=5);
    wake.notify_one();
    wait_until("every item", Duration::from_secs(5), || {
        fake.done().len() == 5
    })
    .await;
    assert_eq!(fake.done(), [1, 2, 3, 4, 5]);
    // Three passes for five items two at a time, and the claim that found nothing before.
    assert_eq!(fake.claims.load(Ordering::SeqCst), 4);
    stop.cancel();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("the driver stopped")
        .expect("cleanly");
}

/// Stopped, a driver with a drain works off what is due first; one without stops at once
/// and leaves it queued.
#[tokio::test]
async fn a_stopped_driver_drains_only_if_its_schedule_says_so() {
    for (drain, left) in [(Duration::from_secs(5), 0), (Duration::ZERO, 4)] {
        let fake = Arc::new(Fake::with_rows(4));
        let s = Schedule {
            batch: 1,
            drain,
            ..schedule()
        };
        let driver = Driver::new(fake.clone(), s, clock(), Arc::new(Notify::new()));
        let stop = CancellationToken::new();
        stop.cancel();
        tokio::time::timeout(Duration::from_secs(5), driver.run(stop))
            .await
            .expect("the driver stopped");
        assert_eq!(fake.left(), left, "drain {drain:?}");
    }
}

/// Failing passes are retried after growing waits, wake-ups or not, and the stop still
/// ends the driver at once.
#[tokio::test]
async fn failing_passes_back_off() {
    let fake = Arc::new(Fake {
        claim_fails: true,
        ..Fake::default()
    });
    let wake = Arc::new(Notify::new());
    let s = Schedule {
        poll_interval: Duration::from_millis(40),
        ..schedule()
    };
    let driver = Driver::new(fake.clone(), s, clock(), wake.clone());
    let stop = CancellationToken::new();
    let task = tokio::spawn(driver.run(stop.clone()));
    // Waits of 40, 80, 160, 320, 640 ms: the sixth claim comes after 1.24 s at the earliest,
    // however often the driver is woken.
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(1_100) {
        wake.notify_one();
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let claims = fake.claims.load(Ordering::SeqCst);
    assert!((2..=5).contains(&claims), "{claims} claims in 1.1 s");
    stop.cancel();
    tokio::time::timeout(Duration::from_secs(1), task)
        .await
        .expect("the driver stopped at once")
        .expect("cleanly");
}

//! What a queue's [`Queue::run`](super::Queue::run) does with a claimed batch when its items
//! are sent somewhere (mail, webhooks): a few at a time, each in its lane, until the batch is
//! done, the lease is gone, the driver stops or the store fails, then retries computed the
//! same way for every queue.

use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt as _};
use rand::Rng;

use super::Pass;
use crate::clock::Millis;

/// How a batch ended.
pub struct Worked<T, E> {
    /// The items not started, in claim order.
    pub unattempted: Vec<T>,
    /// The lease ran out before the batch was done: the unattempted items may already be
    /// another worker's, so they are neither worked nor released.
    pub lease_ran_out: bool,
    /// The first item whose work failed in a way that is not the item's own (the store away):
    /// nothing was started after it.
    pub failure: Option<E>,
}

impl<T, E> Worked<T, E> {
    /// The unattempted items to hand back to the queue: none once the lease has run out.
    pub fn to_release(&self, key: impl Fn(&T) -> i64) -> Vec<i64> {
        if self.lease_ran_out {
            return Vec::new();
        }
        self.unattempted.iter().map(key).collect()
    }
}

/// Works `batch`, `concurrency` items at a time, handing each outcome to `settle` as it
/// comes. Items of one lane (`lane`, e.g. a recipient) go one at a time, in claim order;
/// items without a lane go as they come. Before each item it checks the lease; after each,
/// whether to keep going. Work under way always finishes.
pub async fn work_batch<T, O, E, W, Fut>(
    batch: Vec<T>,
    pass: &Pass<'_>,
    concurrency: usize,
    lane: impl Fn(&T) -> Option<&str>,
    work: W,
    mut settle: impl FnMut(&T, O),
) -> Worked<T, E>
where
    W: Fn(T) -> Fut,
    Fut: Future<Output = (T, Result<O, E>)>,
{
    let mut pending = VecDeque::from(batch);
    // Lanes with an item under way.
    let mut busy: HashSet<String> = HashSet::new();
    let mut in_flight = FuturesUnordered::new();
    let (mut stopping, mut lease_ran_out, mut failure) = (false, false, None);
    loop {
        while in_flight.len() < concurrency && !stopping && !lease_ran_out {
            let Some(next) = pending
                .iter()
                .position(|item| lane(item).is_none_or(|l| !busy.contains(l)))
            else {
                break;
            };
            // The batch shares one lease, renewed while it is worked. Once it has run out
            // anyway (the store away too long), the rest may be another worker's already.
            if !pass.lease_held() {
                lease_ran_out = true;
                break;
            }
            let Some(item) = pending.remove(next) else {
                break;
            };
            if let Some(lane) = lane(&item) {
                busy.insert(lane.to_owned());
            }
            in_flight.push(work(item));
        }
        let Some((item, outcome)) = in_flight.next().await else {
            break;
        };
        if let Some(lane) = lane(&item) {
            busy.remove(lane);
        }
        match outcome {
            Ok(outcome) => settle(&item, outcome),
            // Start nothing more; what is under way finishes.
            Err(error) => {
                stopping = true;
                failure.get_or_insert(error);
            }
        }
        if !pass.keep_going() {
            stopping = true;
        }
    }
    Worked {
        unattempted: pending.into(),
        lease_ran_out,
        failure,
    }
}

/// Exponential backoff between attempts at one item, with jitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Delay after the first failure; doubled after each further one.
    pub base_delay: Duration,
    /// Cap on the delay.
    pub max_delay: Duration,
}

/// ±20% on retry delays, so items that failed together do not come back together.
const JITTER: f64 = 0.2;

impl Backoff {
    /// Delay before the next attempt after `attempts` failed ones (at least 1):
    /// `min(max_delay, base_delay * 2^(attempts-1))`, scaled by `jitter` (near 1.0).
    pub fn delay(&self, attempts: i32, jitter: f64) -> Duration {
        let doublings = u32::try_from(attempts.saturating_sub(1))
            .unwrap_or(0)
            .min(31);
        let delay = self
            .base_delay
            .saturating_mul(1_u32 << doublings)
            .min(self.max_delay);
        Duration::try_from_secs_f64(delay.as_secs_f64() * jitter).unwrap_or(delay)
    }

    /// When to try again after `attempts` failed ones, from `now`, with a random jitter;
    /// and the delay in milliseconds, for the log.
    pub fn next_attempt(&self, now: Millis, attempts: i32) -> (Millis, i64) {
        let jitter = rand::rng().random_range(1.0 - JITTER..=1.0 + JITTER);
        let delay = self.delay(attempts, jitter);
        let delay_ms = i64::try_from(delay.as_millis()).unwrap_or(i64::MAX);
        (now.saturating_add(delay_ms), delay_ms)
    }
}

/// At most `max` bytes of `text`, cut at a character boundary: a failure's summary for
/// operators (a row's `last_error`), not a log.
pub fn error_summary(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::worker::TestPass;

    /// Works `batch` one at a time without lanes, failing on `fail_on`; the ids started.
    async fn run(
        batch: Vec<i64>,
        test_pass: &TestPass,
        fail_on: Option<i64>,
    ) -> (Vec<i64>, Worked<i64, &'static str>) {
        let started = Mutex::new(Vec::new());
        let worked = work_batch(
            batch,
            &test_pass.pass(),
            1,
            |_: &i64| None,
            |id| {
                let started = &started;
                async move {
                    started.lock().expect("not poisoned").push(id);
                    tokio::task::yield_now().await;
                    let outcome = if Some(id) == fail_on {
                        Err("store away")
                    } else {
                        Ok(())
                    };
                    (id, outcome)
                }
            },
            |_, ()| {},
        )
        .await;
        (started.into_inner().expect("not poisoned"), worked)
    }

    #[tokio::test]
    async fn a_failure_starts_nothing_more_and_the_rest_is_released() {
        let (started, worked) = run((1..=6).collect(), &TestPass::new(), Some(2)).await;
        assert_eq!(started, [1, 2]);
        assert_eq!(worked.failure, Some("store away"));
        assert_eq!(worked.unattempted, [3, 4, 5, 6]);
        assert_eq!(worked.to_release(|id| *id), [3, 4, 5, 6]);
    }

    #[tokio::test]
    async fn a_lapsed_lease_starts_nothing_and_releases_nothing() {
        let (started, worked) = run((1..=3).collect(), &TestPass::held_for(-1), None).await;
        assert!(started.is_empty());
        assert!(worked.lease_ran_out);
        assert_eq!(worked.unattempted, [1, 2, 3]);
        assert!(worked.to_release(|id| *id).is_empty());
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let backoff = Backoff {
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(5),
        };
        let delays: Vec<u64> = (1..=5).map(|n| backoff.delay(n, 1.0).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 5, 5]);
        let (at, delay_ms) = backoff.next_attempt(1_000, 2);
        assert!((1_600..=2_400).contains(&delay_ms), "{delay_ms}");
        assert_eq!(at, 1_000 + delay_ms);
    }

    #[test]
    fn summaries_are_cut_at_a_character_boundary() {
        assert_eq!(error_summary("ééé", 3), "é");
        assert_eq!(error_summary("short", 300), "short");
    }
}

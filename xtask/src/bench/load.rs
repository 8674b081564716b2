//! The load generator: a fixed number of keep-alive connections, each sending its next
//! request as soon as the previous answer is in (or, paced, on a fixed schedule), for a
//! warmup and then a measured window; latencies into an HDR histogram.
//!
//! A request counts for the window when its answer arrives inside it. Requests still in
//! flight when the window ends are awaited (so the server is idle when the next scenario
//! starts) but not counted. Errors are counted whenever they happen, warmup included.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hdrhistogram::Histogram;
use tokio::time::Instant;

use super::http::{Connection, PreparedRequest};

/// A single request that takes longer than this is an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Error descriptions kept for the report (the count is exact).
const ERROR_SAMPLES: usize = 5;

/// Where each connection takes its next request from.
pub trait Workload: Send + Sync {
    /// `None`: nothing left to send (a pool of single-use tokens ran out).
    fn next(&self) -> Option<PreparedRequest>;
}

/// The same requests over and over, in turn.
pub struct Cycle {
    requests: Vec<PreparedRequest>,
    next: AtomicUsize,
}

impl Cycle {
    pub fn new(requests: Vec<PreparedRequest>) -> Self {
        Cycle {
            requests,
            next: AtomicUsize::new(0),
        }
    }
}

impl Workload for Cycle {
    fn next(&self) -> Option<PreparedRequest> {
        if self.requests.is_empty() {
            return None;
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.requests.len();
        Some(self.requests[i].clone())
    }
}

/// Each request once (single-use tokens), then nothing.
pub struct Once {
    requests: Vec<PreparedRequest>,
    next: AtomicUsize,
}

impl Once {
    pub fn new(requests: Vec<PreparedRequest>) -> Self {
        Once {
            requests,
            next: AtomicUsize::new(0),
        }
    }

    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        self.requests.len()
    }

    /// How many were handed out (a connection that found none left still counts one).
    pub fn taken(&self) -> usize {
        self.next.load(Ordering::Relaxed).min(self.requests.len())
    }
}

impl Workload for Once {
    fn next(&self) -> Option<PreparedRequest> {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        self.requests.get(i).cloned()
    }
}

/// How to drive the server.
#[derive(Debug, Clone, Copy)]
pub struct LoadPlan {
    pub connections: usize,
    pub warmup: Duration,
    pub window: Duration,
    /// `Some(interval)`: each connection sends on a fixed schedule (open loop) and a
    /// request's latency counts from when it was due, so a stalled server is not hidden by
    /// the client waiting for it (coordinated omission).
    pub pace: Option<Duration>,
}

/// Errors: an exact count and the first few descriptions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorTally {
    pub count: u64,
    pub samples: Vec<String>,
}

impl ErrorTally {
    pub fn record(&mut self, what: String) {
        self.count += 1;
        if self.samples.len() < ERROR_SAMPLES && !self.samples.contains(&what) {
            self.samples.push(what);
        }
    }

    pub fn merge(&mut self, other: ErrorTally) {
        self.count += other.count;
        for sample in other.samples {
            if self.samples.len() < ERROR_SAMPLES && !self.samples.contains(&sample) {
                self.samples.push(sample);
            }
        }
    }
}

/// What a load run measured.
#[derive(Debug, Clone)]
pub struct LoadResult {
    /// Latencies of the requests answered inside the window, in microseconds.
    pub latencies: Histogram<u64>,
    pub window: Duration,
    /// Successful answers, warmup and tail included (what the server accepted).
    pub succeeded_total: u64,
    pub errors: ErrorTally,
    /// The workload ran out before the window ended.
    pub exhausted: bool,
}

impl LoadResult {
    /// Successful requests per second of window.
    pub fn rate(&self) -> f64 {
        per_second(self.latencies.len(), self.window)
    }

    /// `other` counted in with this one, as if its window had followed this one's.
    pub fn absorb(&mut self, other: LoadResult) {
        // Both histograms have the same bounds (`latency_histogram`), so adding cannot fail.
        let _ = self.latencies.add(&other.latencies);
        self.window += other.window;
        self.succeeded_total += other.succeeded_total;
        self.errors.merge(other.errors);
        self.exhausted |= other.exhausted;
    }
}

pub fn per_second(count: u64, window: Duration) -> f64 {
    if window.is_zero() {
        0.0
    } else {
        count as f64 / window.as_secs_f64()
    }
}

/// A histogram for latencies in microseconds, from 1 µs to 100 s at 3 significant digits.
pub fn latency_histogram() -> Histogram<u64> {
    match Histogram::new_with_bounds(1, 100_000_000, 3) {
        Ok(histogram) => histogram,
        // Constant, valid bounds.
        Err(_) => unreachable!("valid histogram bounds"),
    }
}

/// Runs `workload` against `addr` as `plan` says.
pub async fn run(addr: SocketAddr, plan: LoadPlan, workload: Arc<dyn Workload>) -> LoadResult {
    let start = Instant::now();
    let window_start = start + plan.warmup;
    let end = window_start + plan.window;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..plan.connections {
        let workload = workload.clone();
        // Paced connections start spread over one interval rather than all at once.
        let first = match plan.pace {
            Some(interval) => start + interval.mul_f64(i as f64 / plan.connections as f64),
            None => start,
        };
        tasks.spawn(connection(
            addr,
            workload,
            plan.pace,
            first,
            window_start,
            end,
        ));
    }
    let mut result = LoadResult {
        latencies: latency_histogram(),
        window: plan.window,
        succeeded_total: 0,
        errors: ErrorTally::default(),
        exhausted: false,
    };
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(one) => {
                // Same bounds on both sides: adding cannot fail.
                let _ = result.latencies.add(&one.latencies);
                result.succeeded_total += one.succeeded_total;
                result.errors.merge(one.errors);
                result.exhausted |= one.exhausted;
            }
            Err(panicked) => result
                .errors
                .record(format!("load task failed: {panicked}")),
        }
    }
    result
}

async fn connection(
    addr: SocketAddr,
    workload: Arc<dyn Workload>,
    pace: Option<Duration>,
    first: Instant,
    window_start: Instant,
    end: Instant,
) -> LoadResult {
    let mut out = LoadResult {
        latencies: latency_histogram(),
        window: end - window_start,
        succeeded_total: 0,
        errors: ErrorTally::default(),
        exhausted: false,
    };
    let mut conn: Option<Connection> = None;
    let mut due = first;
    loop {
        let sent_at = match pace {
            Some(interval) => {
                tokio::time::sleep_until(due).await;
                let at = due;
                due += interval;
                at
            }
            None => Instant::now(),
        };
        if sent_at >= end {
            break;
        }
        let Some(request) = workload.next() else {
            out.exhausted = true;
            break;
        };
        let open = match conn.as_mut() {
            Some(open) => open,
            None => match Connection::open(addr).await {
                Ok(opened) => conn.insert(opened),
                Err(err) => {
                    out.errors.record(err.to_string());
                    // Do not spin on a server that refuses connections.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let answer = tokio::time::timeout(REQUEST_TIMEOUT, open.send(&request)).await;
        let done = Instant::now();
        let checked = match answer {
            Ok(Ok((status, body))) => request
                .expect
                .check(status, &body)
                .map_err(|e| format!("{} {}: {e}", request.method, route(&request.path))),
            Ok(Err(err)) => {
                conn = None;
                Err(format!(
                    "{} {}: {err}",
                    request.method,
                    route(&request.path)
                ))
            }
            Err(_) => {
                conn = None;
                Err(format!(
                    "{} {}: no answer within {REQUEST_TIMEOUT:?}",
                    request.method,
                    route(&request.path)
                ))
            }
        };
        match checked {
            Ok(()) => {
                out.succeeded_total += 1;
                if done >= window_start && done <= end {
                    let micros = (done - sent_at).as_micros().max(1);
                    out.latencies
                        .saturating_record(u64::try_from(micros).unwrap_or(u64::MAX));
                }
            }
            Err(what) => out.errors.record(what),
        }
    }
    out
}

/// The route a path belongs to, for error messages: Cloudreve's path carries a user id,
/// which would make every sample distinct.
fn route(path: &str) -> &str {
    match path.strip_prefix("/user/reset/") {
        Some(_) => "/user/reset/{user_id}",
        None => path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::http::Expect;

    fn requests(n: usize) -> Vec<PreparedRequest> {
        (0..n)
            .map(|i| PreparedRequest::get(format!("/{i}"), Expect::Status(200)))
            .collect()
    }

    #[test]
    fn a_cycle_goes_round_and_once_runs_out() {
        let cycle = Cycle::new(requests(2));
        let paths: Vec<String> = (0..5)
            .filter_map(|_| cycle.next())
            .map(|r| r.path)
            .collect();
        assert_eq!(paths, ["/0", "/1", "/0", "/1", "/0"]);
        assert!(Cycle::new(Vec::new()).next().is_none());

        let once = Once::new(requests(2));
        assert_eq!(once.next().map(|r| r.path).as_deref(), Some("/0"));
        assert_eq!(once.next().map(|r| r.path).as_deref(), Some("/1"));
        assert!(once.next().is_none());
        assert!(once.next().is_none());
        assert_eq!(once.taken(), 2);
    }

    #[test]
    fn the_error_tally_counts_everything_and_keeps_a_few_distinct_samples() {
        let mut tally = ErrorTally::default();
        for i in 0..10 {
            tally.record(format!("error {}", i % 7));
            tally.record("same".to_owned());
        }
        assert_eq!(tally.count, 20);
        assert_eq!(tally.samples.len(), ERROR_SAMPLES);
        let mut other = ErrorTally::default();
        other.record("late".to_owned());
        tally.merge(other);
        assert_eq!(tally.count, 21);
        assert_eq!(tally.samples.len(), ERROR_SAMPLES);
    }

    #[test]
    fn rates_are_per_second_of_window() {
        assert_eq!(per_second(300, Duration::from_millis(1500)), 200.0);
        assert_eq!(per_second(5, Duration::ZERO), 0.0);
    }

    #[test]
    fn user_ids_stay_out_of_error_messages() {
        assert_eq!(route("/user/reset/AbC123"), "/user/reset/{user_id}");
        assert_eq!(route("/healthz"), "/healthz");
    }
}

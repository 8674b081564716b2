//! The six scenarios, run in order against one server and database:
//!
//! | scenario | load |
//! | --- | --- |
//! | `floor-http` | `GET /healthz`: what the HTTP stack alone can answer here |
//! | `request` | reset requests for seeded accounts, the four dialects in turn |
//! | `request-unknown` | the same for emails with no account |
//! | `floor-argon2` | the redemptions' argon2id hashes, in the bench process, no server |
//! | `redeem` | redemptions of fresh tokens (one argon2id hash each), dialects in turn |
//! | `health-under-hash` | `GET /healthz`, paced, while `redeem` load runs beside it |
//!
//! `floor-argon2` and `redeem` take turns, several windows each (`turns.rs`).
//!
//! After each request scenario the bench waits until the reset issuer has worked off the
//! queue (see [`wait_for_drain`]), so that no scenario pays for the previous one's
//! background work.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::argon2_floor;
use super::cli::Timing;
use super::dialects::Dialect;
use super::error::BenchError;
use super::http::{Connection, Expect, PreparedRequest};
use super::load::{self, LoadPlan, LoadResult, Once, Workload};
use super::report::{Row, Scenario};
use super::seed::{Account, Admin};
use super::server::{own_cpu_time, Argon2Config, Server};

/// The new password of every redemption: passes all four dialects' rules and the
/// common-password list.
pub const NEW_PASSWORD: &str = "Bench-run 7 horses, 3 staples";
/// Redemption connections per hash the server may run at once: enough that a finished
/// hash always finds the next request waiting.
const REDEEM_CONNECTIONS_PER_HASH: usize = 4;
/// `health-under-hash` asks `/healthz` this often (200 per second), on one connection.
pub const HEALTH_PROBE_INTERVAL: Duration = Duration::from_millis(5);
/// How often the mail directory is looked at while the queue drains.
const DRAIN_POLL: Duration = Duration::from_millis(200);

/// What the scenarios share.
pub struct Scenarios<'a> {
    pub server: &'a Server,
    pub admin: Admin,
    pub mail_dir: &'a Path,
    pub timing: Timing,
    pub connections: usize,
    pub argon2: Argon2Config,
    /// What each scenario observed beyond its row: drain times, token counts.
    pub notes: Vec<String>,
}

/// Seeded accounts for the request scenarios.
pub struct Seeded {
    pub known: Vec<Account>,
    /// Asked for a reset after each request scenario: its mail marks the queue worked off.
    pub sentinel: Account,
}

impl Scenarios<'_> {
    pub async fn seed(&self) -> Result<Seeded, BenchError> {
        let mut emails: Vec<String> = (0..self.timing.accounts)
            .map(|i| format!("known-{i}@bench.example.com"))
            .collect();
        emails.push("sentinel@bench.example.com".to_owned());
        let mut known = self.admin.create_accounts(emails).await?;
        let sentinel = known
            .pop()
            .ok_or_else(|| BenchError::unexpected("seeding", "no sentinel account"))?;
        Ok(Seeded { known, sentinel })
    }

    pub async fn floor_http(&mut self) -> Row {
        let workload = Arc::new(load::Cycle::new(vec![health()]));
        let plan = self.plan(self.connections, self.timing.floor_http);
        self.measure(Scenario::FloorHttp, plan, workload).await.0
    }

    /// `request` (known emails) or `request-unknown`.
    pub async fn request(&mut self, seeded: &Seeded, known: bool) -> Result<Row, BenchError> {
        let scenario = if known {
            Scenario::Request
        } else {
            Scenario::RequestUnknown
        };
        let requests = (0..seeded.known.len())
            .map(|i| {
                let email = if known {
                    seeded.known[i].email.clone()
                } else {
                    format!("unknown-{i}@bench.example.com")
                };
                Dialect::nth(i).request(&email)
            })
            .collect();
        let mails_before = count_mails(self.mail_dir);
        let cpu_before = self.server.cpu_time();
        let plan = self.plan(self.connections, self.timing.request);
        let (row, result) = self
            .measure(scenario, plan, Arc::new(load::Cycle::new(requests)))
            .await;
        let load_ended = Instant::now();

        // Every accepted request for an account becomes one mail; the sentinel's comes
        // last, as the issuer takes the queue in order.
        let issued = if known {
            usize::try_from(result.succeeded_total).unwrap_or(usize::MAX)
        } else {
            0
        };
        let expected = mails_before + issued + 1;
        let sentinel = Dialect::Strapi.request(&seeded.sentinel.email);
        let drained = match send_one(self.server, &sentinel, "the sentinel request").await {
            Ok(()) => wait_for_drain(self.mail_dir, expected, self.timing.drain_timeout).await,
            Err(err) => Err(err),
        };
        let mut row = row;
        // The work the requests caused in the background (the issuer, the outbox) is theirs.
        row.cpu_per_request_us = per_request_us(
            used(cpu_before, self.server.cpu_time()),
            result.succeeded_total + 1,
        );
        match drained {
            Ok(drained) => {
                let drain = drained.duration_since(load_ended);
                let busy = (self.timing.warmup + plan.window + drain).as_secs_f64();
                self.notes.push(format!(
                    "`{}`: {} requests accepted; the issuer {} and the queue was empty {:.1} s \
                     after the window (about {:.0} requests/s issued end to end).",
                    scenario.name(),
                    result.succeeded_total,
                    if known {
                        format!("turned them into {issued} mails")
                    } else {
                        "dropped them (no account), writing no mail".to_owned()
                    },
                    drain.as_secs_f64(),
                    result.succeeded_total as f64 / busy,
                ));
            }
            Err(err) => {
                // The next scenarios then share the machine with the rest of the queue.
                row.errors += 1;
                self.notes.push(format!("`{}`: {err}", scenario.name()));
            }
        }
        Ok(row)
    }

    /// One `floor-argon2` window; its CPU is the bench's own.
    pub async fn floor_argon2(&self) -> Result<(LoadResult, Spent), BenchError> {
        let (argon2, warmup, window) = (self.argon2, self.timing.warmup, self.timing.floor_argon2);
        let cpu_before = own_cpu_time();
        let started = Instant::now();
        let result = tokio::task::spawn_blocking(move || {
            argon2_floor::measure(argon2, NEW_PASSWORD, warmup, window)
        })
        .await
        .map_err(|e| BenchError::unexpected("floor-argon2", e.to_string()))??;
        let spent = Spent {
            elapsed: started.elapsed(),
            bench_cpu: used(cpu_before, own_cpu_time()),
            ..Spent::default()
        };
        Ok((result, spent))
    }

    /// Fresh tokens for `redeem` and `health-under-hash`: what the floor says the
    /// server could redeem in both windows, with room to spare, one account each
    /// (redeeming a token burns the account's other tokens).
    pub async fn mint_tokens(&mut self, floor_rate: f64) -> Result<Arc<Once>, BenchError> {
        let t = self.timing;
        let seconds = (t.warmup * (t.turns + 1) + t.redeem + t.health_under_hash).as_secs_f64();
        let in_flight = self.redeem_connections() * 2;
        let count = (floor_rate * seconds * 1.5).ceil() as usize + in_flight + 16;
        let started = Instant::now();
        let emails = (0..count)
            .map(|i| format!("redeem-{i}@bench.example.com"))
            .collect();
        let accounts = self.admin.create_accounts(emails).await?;
        let wanted = accounts
            .into_iter()
            .enumerate()
            .map(|(i, account)| (account, Dialect::nth(i)))
            .collect();
        let recoveries = self.admin.issue_recoveries(wanted).await?;
        self.notes.push(format!(
            "{count} accounts and tokens for `redeem` and `health-under-hash` were made \
             through the admin API before the windows, in {:.1} s.",
            started.elapsed().as_secs_f64()
        ));
        let requests = recoveries
            .iter()
            .map(|r| {
                r.dialect
                    .redeem(&r.account.id, &r.account.email, &r.code, NEW_PASSWORD)
            })
            .collect();
        Ok(Arc::new(Once::new(requests)))
    }

    /// One `redeem` window of `window` (a run has several, see `turns.rs`); the caller
    /// notes what went wrong, once for all of them.
    pub async fn redeem(&self, tokens: Arc<Once>, window: Duration) -> (LoadResult, Spent) {
        let plan = self.plan(self.redeem_connections(), window);
        self.measure_load(plan, tokens).await
    }

    /// `/healthz`, paced, beside a full `redeem` load; the row is the probe's, and a note
    /// gives the redemptions.
    pub async fn health_under_hash(&mut self, tokens: Arc<Once>) -> Row {
        let pool = tokens.clone();
        let redeem_plan = self.plan(self.redeem_connections(), self.timing.health_under_hash);
        let probe_plan = LoadPlan {
            connections: 1,
            pace: Some(HEALTH_PROBE_INTERVAL),
            ..redeem_plan
        };
        let probe = Arc::new(load::Cycle::new(vec![health()]));
        let addr = self.server.addr;
        let before = Usage::now(self.server);
        let (health, redeemed) = tokio::join!(
            load::run(addr, probe_plan, probe),
            load::run(addr, redeem_plan, pool)
        );
        let mut row = Row::from_load(Scenario::HealthUnderHash, &health);
        before
            .finish(self.server)
            .fill_server(&mut row, health.succeeded_total + redeemed.succeeded_total);
        row.errors += redeemed.errors.count;
        self.note_exhausted(Scenario::HealthUnderHash, &redeemed);
        self.notes.push(format!(
            "`health-under-hash`: beside the probe, {} redemption connections completed \
             {:.1} redemptions/s with {} errors (p99 {}).",
            redeem_plan.connections,
            redeemed.rate(),
            redeemed.errors.count,
            super::report::format_ms(redeemed.latencies.value_at_quantile(0.99)),
        ));
        self.note_errors(Scenario::HealthUnderHash, &redeemed);
        self.notes.push(format!(
            "{} of the {} tokens were used.",
            tokens.taken(),
            tokens.len()
        ));
        row
    }

    fn redeem_connections(&self) -> usize {
        self.argon2.max_concurrent.max(1) * REDEEM_CONNECTIONS_PER_HASH
    }

    fn plan(&self, connections: usize, window: Duration) -> LoadPlan {
        LoadPlan {
            connections,
            warmup: self.timing.warmup,
            window,
            pace: None,
        }
    }

    /// Runs one load with the server's peak memory and both processes' CPU time measured
    /// around it.
    async fn measure(
        &mut self,
        scenario: Scenario,
        plan: LoadPlan,
        workload: Arc<dyn Workload>,
    ) -> (Row, LoadResult) {
        let (result, spent) = self.measure_load(plan, workload).await;
        let row = spent.server_row(scenario, &result);
        self.note_errors(scenario, &result);
        (row, result)
    }

    /// Runs one load, and what it cost the server and the bench.
    async fn measure_load(
        &self,
        plan: LoadPlan,
        workload: Arc<dyn Workload>,
    ) -> (LoadResult, Spent) {
        let before = Usage::now(self.server);
        let result = load::run(self.server.addr, plan, workload).await;
        (result, before.finish(self.server))
    }

    pub(super) fn note_exhausted(&mut self, scenario: Scenario, result: &LoadResult) {
        if result.exhausted {
            self.notes.push(format!(
                "`{}`: the pool of fresh tokens ran out before the window ended; its rate \
                 is too low.",
                scenario.name()
            ));
        }
    }

    pub(super) fn note_errors(&mut self, scenario: Scenario, result: &LoadResult) {
        if result.errors.count > 0 {
            self.notes.push(format!(
                "`{}`: {} errors, such as: {}.",
                scenario.name(),
                result.errors.count,
                result.errors.samples.join("; ")
            ));
        }
    }
}

/// CPU times and a fresh peak-memory mark at a scenario's start.
struct Usage {
    started: Instant,
    server_cpu: Option<Duration>,
    hashing_cpu: Option<Duration>,
    bench_cpu: Option<Duration>,
}

impl Usage {
    fn now(server: &Server) -> Usage {
        server.reset_peak_rss();
        Usage {
            started: Instant::now(),
            server_cpu: server.cpu_time(),
            hashing_cpu: server.hashing_cpu_time(),
            bench_cpu: own_cpu_time(),
        }
    }

    fn finish(&self, server: &Server) -> Spent {
        Spent {
            elapsed: self.started.elapsed(),
            server_cpu: used(self.server_cpu, server.cpu_time()),
            hashing_cpu: used(self.hashing_cpu, server.hashing_cpu_time()),
            bench_cpu: used(self.bench_cpu, own_cpu_time()),
            peak_rss_kib: server.peak_rss_kib(),
        }
    }
}

/// What a load cost: its wall time, the CPU time each process used in it, and the server's
/// peak memory. `None` where a reading failed.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Spent {
    pub elapsed: Duration,
    pub server_cpu: Option<Duration>,
    /// The part of `server_cpu` on resetd's hashing threads.
    pub hashing_cpu: Option<Duration>,
    pub bench_cpu: Option<Duration>,
    pub peak_rss_kib: Option<u64>,
}

impl Spent {
    /// Both loads together, as if they had run back to back.
    pub fn add(self, other: Spent) -> Spent {
        let sum = |a: Option<Duration>, b: Option<Duration>| Some(a? + b?);
        Spent {
            elapsed: self.elapsed + other.elapsed,
            server_cpu: sum(self.server_cpu, other.server_cpu),
            hashing_cpu: sum(self.hashing_cpu, other.hashing_cpu),
            bench_cpu: sum(self.bench_cpu, other.bench_cpu),
            peak_rss_kib: self.peak_rss_kib.max(other.peak_rss_kib),
        }
    }

    /// The row of a server scenario whose requests are `result`'s answers.
    pub fn server_row(&self, scenario: Scenario, result: &LoadResult) -> Row {
        let mut row = Row::from_load(scenario, result);
        self.fill_server(&mut row, result.succeeded_total);
        row
    }

    /// A server scenario's row: the server's CPU per request, both processes' in cores.
    pub fn fill_server(&self, row: &mut Row, requests: u64) {
        row.peak_rss_kib = self.peak_rss_kib;
        row.server_cpu = busy_cores(self.server_cpu, self.elapsed);
        row.bench_cpu = busy_cores(self.bench_cpu, self.elapsed);
        row.cpu_per_request_us = per_request_us(self.server_cpu, requests);
        row.hashing_cpu_per_request_us = per_request_us(self.hashing_cpu, requests);
    }

    /// The row of work done in the bench process itself (`floor-argon2`): its CPU per
    /// request.
    pub fn bench_row(&self, scenario: Scenario, result: &LoadResult) -> Row {
        let mut row = Row::from_load(scenario, result);
        row.bench_cpu = busy_cores(self.bench_cpu, self.elapsed);
        row.cpu_per_request_us = per_request_us(self.bench_cpu, result.succeeded_total);
        row
    }
}

/// CPU time used between two readings.
fn used(before: Option<Duration>, after: Option<Duration>) -> Option<Duration> {
    after?.checked_sub(before?)
}

/// CPU time used, in microseconds per request.
fn per_request_us(used: Option<Duration>, requests: u64) -> Option<f64> {
    let used = used?;
    (requests > 0).then(|| used.as_secs_f64() * 1e6 / requests as f64)
}

/// CPU time used, in cores kept busy on average over `wall`.
fn busy_cores(used: Option<Duration>, wall: Duration) -> Option<f64> {
    let used = used?;
    (!wall.is_zero()).then(|| used.as_secs_f64() / wall.as_secs_f64())
}

fn health() -> PreparedRequest {
    PreparedRequest::get("/healthz", Expect::Status(200))
}

async fn send_one(
    server: &Server,
    request: &PreparedRequest,
    step: &str,
) -> Result<(), BenchError> {
    let mut conn = Connection::open(server.addr)
        .await
        .map_err(BenchError::http(step))?;
    let (status, body) = conn.send(request).await.map_err(BenchError::http(step))?;
    request
        .expect
        .check(status, &body)
        .map_err(|e| BenchError::unexpected(step, e))
}

/// Mails written so far by resetd's `file://` transport (one `.eml` file each).
pub fn count_mails(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".eml"))
            .count()
    })
}

/// Waits until `expected` mails are written; more than that is an error too (a request
/// issued twice), as is not getting there within `timeout`.
async fn wait_for_drain(
    mail_dir: &Path,
    expected: usize,
    timeout: Duration,
) -> Result<Instant, BenchError> {
    let deadline = Instant::now() + timeout;
    loop {
        let mails = count_mails(mail_dir);
        if mails == expected {
            return Ok(Instant::now());
        }
        if mails > expected || Instant::now() >= deadline {
            return Err(BenchError::Drain {
                seconds: timeout.as_secs(),
                mails,
                expected,
            });
        }
        tokio::time::sleep(DRAIN_POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_cores_is_cpu_time_over_wall_time() {
        let s = Duration::from_secs;
        assert_eq!(busy_cores(used(Some(s(10)), Some(s(13))), s(2)), Some(1.5));
        assert_eq!(busy_cores(used(None, Some(s(13))), s(2)), None);
        assert_eq!(
            busy_cores(used(Some(s(1)), Some(s(2))), Duration::ZERO),
            None
        );
        assert_eq!(
            per_request_us(used(Some(s(1)), Some(s(3))), 4),
            Some(500_000.0)
        );
        assert_eq!(per_request_us(used(Some(s(1)), Some(s(3))), 0), None);
        // A reading that went backwards (a restarted process) is no figure.
        assert_eq!(used(Some(s(3)), Some(s(1))), None);
    }

    #[test]
    fn counts_only_mail_files() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert_eq!(count_mails(dir.path()), 0);
        for name in ["a.eml", "b.eml", "notes.txt"] {
            std::fs::write(dir.path().join(name), "x").expect("write");
        }
        assert_eq!(count_mails(dir.path()), 2);
        assert_eq!(count_mails(&dir.path().join("missing")), 0);
    }

    #[tokio::test]
    async fn a_drain_with_too_many_mails_fails_at_once() {
        let dir = tempfile::tempdir().expect("temp dir");
        for name in ["a.eml", "b.eml"] {
            std::fs::write(dir.path().join(name), "x").expect("write");
        }
        assert!(wait_for_drain(dir.path(), 2, Duration::ZERO).await.is_ok());
        let started = Instant::now();
        let err = wait_for_drain(dir.path(), 1, Duration::from_secs(30))
            .await
            .expect_err("extra mail accepted");
        assert!(started.elapsed() < Duration::from_secs(1));
        assert!(
            matches!(
                err,
                BenchError::Drain {
                    mails: 2,
                    expected: 1,
                    ..
                }
            ),
            "{err:?}"
        );
    }
}

//! `cargo xtask bench`: resetd under load on this machine, measured against the floors the
//! machine sets (the HTTP stack answering `/healthz`, the argon2id hashes alone), in one
//! run, so the ratios hold whatever the machine.
//!
//! One module per job: `cli` (arguments), `binaries` (build, find, re-run in release),
//! `server` (the resetd process), `postgres` (a fresh database), `seed` (accounts and
//! tokens through the admin API), `dialects` (the four APIs' requests), `http` and `load`
//! (the load generator), `argon2_floor`, `scenarios`, `ceiling` (how close `redeem` can come
//! to its floor), `import` and `import_file` (`resetd user import` of a large file, without
//! the server), `machine` and `report`.

mod argon2_floor;
mod binaries;
mod ceiling;
mod cli;
mod dialects;
mod error;
mod http;
mod import;
mod import_file;
mod load;
mod machine;
mod postgres;
mod report;
mod scenarios;
mod seed;
mod server;
mod turns;
mod webhooks;

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use self::cli::Db;
use self::error::BenchError;
use self::machine::Machine;
use self::report::{DbReport, Memory, Report, Row, Scenario, Setup};
use self::scenarios::{Scenarios, HEALTH_PROBE_INTERVAL};
use self::server::{Argon2Config, Server, ServerSetup};

pub use self::cli::{BenchArgs, BenchCli};

/// resetd's default argon2id parameters (OWASP's minimum), set explicitly so that the
/// floor hashes with exactly what the server does.
const ARGON2_MEMORY_KIB: u32 = 19_456;
const ARGON2_ITERATIONS: u32 = 2;
const ARGON2_PARALLELISM: u32 = 1;

/// Runs `cargo xtask bench ARGS`.
pub fn main(root: &Path, args: BenchArgs) -> ExitCode {
    let resetd = match binaries::prepare(root, &args) {
        Ok(binaries::Next::RunHere { resetd }) => resetd,
        Ok(binaries::Next::RanElsewhere(status)) => {
            return if status.success() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            };
        }
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::FAILURE;
        }
    };
    // One thread for the load generator: it shares the machine with resetd, and a single
    // thread keeps its own share small and visible (the `bench CPU` column).
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(root, &args, &resetd)) {
        Ok(0) => ExitCode::SUCCESS,
        Ok(errors) => {
            eprintln!("error: {errors} errors during the run (see the notes in the report)");
            ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Runs every store's scenarios, writes the report and returns the number of errors.
async fn run(root: &Path, args: &BenchArgs, resetd: &Path) -> Result<u64, BenchError> {
    let machine = Machine::describe(root);
    let argon2 = Argon2Config {
        memory_kib: ARGON2_MEMORY_KIB,
        iterations: ARGON2_ITERATIONS,
        parallelism: ARGON2_PARALLELISM,
        // resetd's default (`max_concurrent = 0`): one per core.
        max_concurrent: machine.cores,
    };
    let mut reports = Vec::new();
    for &db in &args.dbs {
        eprintln!("bench: {} ...", db.title());
        let report = run_db(db, resetd, args, argon2).await?;
        eprintln!("{}", report::table(&report.rows));
        if !report.imports.is_empty() {
            eprintln!("{}", import::table(&report.imports));
        }
        reports.push(report);
    }
    let setup = setup(args, argon2);
    let text = report::markdown(&Report {
        machine: &machine,
        setup: &setup,
        dbs: &reports,
    });
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| root.join("bench").join("results.md"));
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(BenchError::io(dir))?;
    }
    std::fs::write(&out, &text).map_err(BenchError::io(&out))?;
    println!("{text}");
    eprintln!("bench: written to {}", out.display());
    Ok(reports.iter().map(DbReport::errors).sum())
}

async fn run_db(
    db: Db,
    resetd: &Path,
    args: &BenchArgs,
    argon2: Argon2Config,
) -> Result<DbReport, BenchError> {
    let dir = tempfile::Builder::new()
        .prefix("resetd-bench-")
        .tempdir()
        .map_err(BenchError::io(std::env::temp_dir()))?;
    let mut report = if args.runs_server() {
        serve_and_measure(db, resetd, args, argon2, dir.path()).await?
    } else {
        DbReport {
            db,
            rows: Vec::new(),
            memory: None,
            server_errors: 0,
            notes: Vec::new(),
            imports: Vec::new(),
        }
    };
    if args.runs("import") {
        // After the server has stopped: the importer has the machine to itself.
        report.imports = import::measure(db, resetd, dir.path(), args.import_accounts()).await?;
        for run in &report.imports {
            if let Some(failure) = &run.failure {
                report
                    .notes
                    .push(format!("`import` of {} accounts: {failure}", run.accounts));
            }
        }
    }
    Ok(report)
}

/// The HTTP scenarios, against `resetd serve` on a fresh database.
async fn serve_and_measure(
    db: Db,
    resetd: &Path,
    args: &BenchArgs,
    argon2: Argon2Config,
    dir: &Path,
) -> Result<DbReport, BenchError> {
    let fresh = match db {
        Db::Postgres => Some(postgres::FreshDatabase::create().await?),
        Db::Sqlite => None,
    };
    let database_url = match &fresh {
        Some(fresh) => fresh.url.clone(),
        None => format!("sqlite://{}", dir.join("resetd.db").display()),
    };
    let mail = mail_on_tmpfs();
    let setup = ServerSetup {
        binary: resetd.to_path_buf(),
        dir: dir.to_path_buf(),
        mail_dir: mail
            .as_ref()
            .map_or_else(|| dir.join("mail"), |m| m.path().to_path_buf()),
        database_url,
        admin_token: random_hex(32)?,
        secret: random_hex(32)?,
        argon2,
        extra_config: String::new(),
    };
    let mut measured = measure_db(db, &setup, args).await;
    if args.runs("webhooks") {
        if let Ok(report) = &mut measured {
            let with_webhooks = webhooks::measure_on_its_own_database(db, &setup, args).await?;
            report.rows.extend(with_webhooks.request);
            report.notes.extend(with_webhooks.notes);
        }
    }
    if let Some(fresh) = fresh {
        if let Err(err) = fresh.drop_database().await {
            eprintln!("warning: could not drop the bench database: {err}");
        }
    }
    measured
}

async fn measure_db(db: Db, setup: &ServerSetup, args: &BenchArgs) -> Result<DbReport, BenchError> {
    let start_setup = setup.clone();
    let server = tokio::task::spawn_blocking(move || Server::start(&start_setup))
        .await
        .map_err(|e| BenchError::unexpected("starting resetd", e.to_string()))??;
    let mail_dir = setup.mail_dir.clone();
    let mut s = Scenarios {
        server: &server,
        admin: seed::Admin::new(server.addr, &setup.admin_token)?,
        mail_dir: &mail_dir,
        timing: args.timing(),
        connections: args.connections,
        argon2: setup.argon2,
        notes: Vec::new(),
    };
    let mut rows: Vec<Row> = Vec::new();
    if args.runs("request") || args.runs("request-unknown") {
        let seeded = s.seed().await?;
        if args.runs("floor-http") {
            rows.push(s.floor_http().await);
        }
        for known in [true, false] {
            if args.runs(if known { "request" } else { "request-unknown" }) {
                rows.push(s.request(&seeded, known).await?);
            }
        }
    } else if args.runs("floor-http") {
        rows.push(s.floor_http().await);
    }
    let mut idle_kib = None;
    let hashing = args.runs("redeem") || args.runs("health-under-hash");
    if args.runs("floor-argon2") || hashing {
        let first = s.floor_argon2().await?;
        let tokens = if hashing {
            let tokens = s.mint_tokens(first.0.rate()).await?;
            idle_kib = server.rss_kib();
            Some(tokens)
        } else {
            None
        };
        let redeeming = tokens.clone().filter(|_| args.runs("redeem"));
        let (floor, redeem) = turns::floor_and_redeem(&mut s, first, redeeming).await?;
        rows.extend(redeem);
        if let Some(tokens) = tokens.filter(|_| args.runs("health-under-hash")) {
            rows.push(s.health_under_hash(tokens).await);
        }
        if args.runs("floor-argon2") {
            rows.push(floor);
        }
    }
    let mut notes = std::mem::take(&mut s.notes);
    notes.extend(ceiling::note(&rows));

    let server_errors = server.logged_errors();
    if let Some(first) = server_errors.first() {
        notes.push(format!(
            "resetd logged {} errors, the first: {first}",
            server_errors.len()
        ));
    }
    notes.push(format!(
        "resetd wrote {:.1} MiB of log at level info.",
        server.log_bytes() as f64 / (1024.0 * 1024.0)
    ));
    let status = tokio::task::spawn_blocking(move || server.stop())
        .await
        .map_err(|e| BenchError::unexpected("stopping resetd", e.to_string()))??;
    if !status.success() {
        notes.push(format!("resetd did not stop cleanly: {status}"));
    }

    let peak_kib = rows.iter().filter_map(|r| r.peak_rss_kib).max();
    let memory = idle_kib.zip(peak_kib).map(|(idle_kib, peak_kib)| Memory {
        idle_kib,
        peak_kib,
        bound_kib: idle_kib
            + setup.argon2.max_concurrent as u64 * u64::from(setup.argon2.memory_kib)
            + report::OTHER_MEMORY_KIB,
    });
    let order = [
        Scenario::FloorHttp,
        Scenario::Request,
        Scenario::RequestUnknown,
        Scenario::Redeem,
        Scenario::FloorArgon2,
        Scenario::HealthUnderHash,
        Scenario::RequestWebhooks,
    ];
    rows.sort_by_key(|r| order.iter().position(|s| *s == r.scenario));
    Ok(DbReport {
        db,
        rows,
        memory,
        server_errors: server_errors.len() + usize::from(!status.success()),
        notes,
        imports: Vec::new(),
    })
}

/// The report's description of how the run was done.
fn setup(args: &BenchArgs, argon2: Argon2Config) -> Setup {
    let t = args.timing();
    let secs = |d: std::time::Duration| format!("{:.1} s", d.as_secs_f64());
    let command = std::iter::once("cargo xtask".to_owned())
        .chain(args.to_args())
        .collect::<Vec<_>>()
        .join(" ");
    Setup {
        command,
        profile: args.profile.name().to_owned(),
        quick: args.quick,
        lines: vec![
            format!(
                "resetd `serve` on 127.0.0.1 with a fresh database per store (SQLite: a file in a \
                 temp directory; PostgreSQL: a new database on the server of \
                 `RESETD_BENCH_PG_URL`/`RESETD_TEST_PG_URL`, dropped afterwards), default \
                 configuration except: rate limits off (`RESETD_RATE_LIMITS=off`: a load from \
                 one address meets the per-IP limits at once), log as JSON at `info`, mail to \
                 `file://` in a new directory on `/dev/shm` (tmpfs) where there is one, else in \
                 the temp directory (on an ext4 without a journal, a file made beside an \
                 earlier run's deleted mail cost 250 µs of CPU, against 10 µs on tmpfs)."
            ),
            format!(
                "argon2id m = {} KiB, t = {}, p = {} (resetd's defaults); `[argon2] \
                 max_concurrent` = {} (the default, one per core).",
                argon2.memory_kib, argon2.iterations, argon2.parallelism, argon2.max_concurrent
            ),
            format!(
                "Load generator: this program on the same machine (hyper's HTTP/1.1 client on one \
                 tokio thread), {} keep-alive connections, closed loop (each sends its next \
                 request when the answer is in). Each scenario: {} warmup, then the window \
                 (floor-http {}, request and request-unknown {} each, redeem {} in {} windows \
                 taking turns with {} floor-argon2 windows of {} each, health-under-hash {}). \
                 Latencies in an HDR histogram (1 µs to 100 s, 3 significant digits) for the \
                 answers that arrive inside the window; errors counted from the first request \
                 to the last.",
                args.connections,
                secs(t.warmup),
                secs(t.floor_http),
                secs(t.request),
                secs(t.redeem),
                t.turns,
                t.turns + 1,
                secs(t.floor_argon2),
                secs(t.health_under_hash),
            ),
            format!(
                "Accounts: {} seeded through `POST /admin/users` (no password, so no hash); \
                 `request` cycles through them, the four dialects in turn; `request-unknown` \
                 through as many addresses that have no account.",
                t.accounts
            ),
            format!(
                "`redeem`: {} connections ({} per hash slot), each request a fresh token from \
                 `POST /admin/users/{{id}}/recovery` (issued before the window, one account \
                 each), the four dialects in turn. `floor-argon2`: {} threads in the bench \
                 process hashing the same password with the same parameters back to back, as \
                 resetd's hashing threads do (argon2 0.6, a fresh salt, the memory kept from \
                 one hash to the next, the PHC string, nice 10).",
                argon2.max_concurrent.max(1) * 4,
                4,
                argon2.max_concurrent.max(1)
            ),
            format!(
                "`health-under-hash`: `GET /healthz` every {} ms on one more connection (open \
                 loop, latency from the scheduled send time, so a stall is not hidden), beside \
                 the same load as `redeem`.",
                HEALTH_PROBE_INTERVAL.as_millis()
            ),
            "Server CPU and bench CPU: CPU time over the scenario's wall time, in cores. Server \
             peak RSS: `VmHWM` of `/proc/PID/status`, reset before each scenario."
                .to_owned(),
            format!(
                "`import`: after the server has stopped, `resetd user import FILE` (the same \
                 binary, `RESETD_LOG=warn`, no terminal so no progress bar) on a fresh database \
                 migrated beforehand by `resetd migrate`, for a JSON Lines file of {} accounts \
                 and one of {} (written to disk line by line beforehand), each line a distinct \
                 email and numeric `external_id` and the same real bcrypt hash (`$2b$10$`, \
                 from tests/fixtures/legacy_hashes.jsonl). Accounts/s: accounts over the \
                 importer's wall time (start to exit, connecting included); its CPU and peak \
                 RSS (`ru_maxrss`) from `wait4`. The run fails unless the importer exits 0 \
                 having created every account.",
                args.import_accounts(),
                (args.import_accounts() / 10).max(1)
            ),
        ],
    }
}

/// A new directory for the server's mail on `/dev/shm` (tmpfs), where there is one.
///
/// A run writes thousands of `.eml` files and deletes them at its end. On an ext4 without a
/// journal (the root file system where this was measured) the kernel then skips recently
/// deleted inodes one by one when it makes a new file near them: creating a file in a
/// directory beside an earlier run's deleted mail was measured at 250 µs of CPU, against
/// 17 µs elsewhere on the same disk and 10 µs on tmpfs. That cost is the file system's and
/// the bench's own earlier runs', not resetd's, yet it landed on every mail. The database
/// stays on disk: its commits and syncs are resetd's to pay.
fn mail_on_tmpfs() -> Option<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix("resetd-bench-mail-")
        .tempdir_in("/dev/shm")
        .ok()
}

/// `bytes` random bytes as hex, from the kernel.
fn random_hex(bytes: usize) -> Result<String, BenchError> {
    let path = PathBuf::from("/dev/urandom");
    let mut buf = vec![0u8; bytes];
    std::fs::File::open(&path)
        .and_then(|mut f| f.read_exact(&mut buf))
        .map_err(BenchError::io(&path))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

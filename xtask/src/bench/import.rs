//! The `import` scenario: `resetd user import FILE` (the release binary, as an operator runs
//! it) on a fresh database, for a file of N accounts and one of N/10, with the importer's
//! wall time and CPU time from `wait4` and its peak resident memory from the kernel's
//! high-water mark ([`PeakRss`]). Two sizes show whether memory grows with the file; the larger is imported
//! again with its emails scattered through the index (reported, not a target).

use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::cli::Db;
use super::error::BenchError;
use super::import_file::{self, EmailOrder};
use super::machine::format_kib;
use super::postgres::FreshDatabase;
use super::report::{format_rate, Target};
use super::server::proc_status_kib;

/// The SQLite target, in accounts per second (issue 16).
const SQLITE_TARGET_RATE: f64 = 50_000.0;
/// How much more memory the larger file may take than the smaller: bounded memory means
/// none, this leaves room for allocator noise.
const RSS_GROWTH_LIMIT: f64 = 1.2;

/// One import, measured.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportRun {
    pub accounts: u64,
    pub emails: EmailOrder,
    pub file_bytes: u64,
    pub wall: Duration,
    pub cpu: Duration,
    pub peak_rss_kib: u64,
    /// `/proc/loadavg` as the import started.
    pub load: String,
    /// Why the import did not bring every account in; `None` when it did.
    pub failure: Option<String>,
}

impl ImportRun {
    pub fn rate(&self) -> f64 {
        self.accounts as f64 / self.wall.as_secs_f64().max(1e-9)
    }
}

/// Imports `accounts / 10` then `accounts` accounts, then `accounts` with scattered emails,
/// each into a database of its own.
pub async fn measure(
    db: Db,
    resetd: &Path,
    dir: &Path,
    accounts: u64,
) -> Result<Vec<ImportRun>, BenchError> {
    let hash = import_file::bcrypt_hash()?;
    let mut runs = Vec::new();
    let sizes = [
        ((accounts / 10).max(1), EmailOrder::Ordered),
        (accounts, EmailOrder::Ordered),
        (accounts, EmailOrder::Scattered),
    ];
    for (n, emails) in sizes {
        eprintln!(
            "bench: import of {n} accounts, emails {} ({}) ...",
            emails.name(),
            db.title()
        );
        let name = format!("import-{n}-{}", emails.name());
        let file = dir.join(format!("{name}.jsonl"));
        let (path, hash) = (file.clone(), hash.clone());
        let file_bytes = blocking("the import file", move || {
            import_file::write(&path, n, &hash, emails)
        })
        .await?;
        let fresh = match db {
            Db::Postgres => Some(FreshDatabase::create().await?),
            Db::Sqlite => None,
        };
        let database_url = match &fresh {
            Some(fresh) => fresh.url.clone(),
            None => format!("sqlite://{}", dir.join(format!("{name}.db")).display()),
        };
        let job = Job {
            resetd: resetd.to_path_buf(),
            database_url,
            file: file.clone(),
            accounts: n,
            emails,
            file_bytes,
            log: dir.join(format!("{name}.log")),
        };
        let run = blocking("the import", move || job.run()).await;
        if let Some(fresh) = fresh {
            if let Err(err) = fresh.drop_database().await {
                eprintln!("warning: could not drop the import's database: {err}");
            }
        }
        // A million lines take some 130 MB: not kept for the next size.
        let _ = std::fs::remove_file(&file);
        runs.push(run?);
    }
    Ok(runs)
}

async fn blocking<T: Send + 'static>(
    step: &str,
    work: impl FnOnce() -> Result<T, BenchError> + Send + 'static,
) -> Result<T, BenchError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| BenchError::unexpected(step, e.to_string()))?
}

/// One import to run.
struct Job {
    resetd: PathBuf,
    database_url: String,
    file: PathBuf,
    accounts: u64,
    emails: EmailOrder,
    file_bytes: u64,
    /// The importer's standard error.
    log: PathBuf,
}

impl Job {
    fn command(&self, args: &[&str]) -> Result<Command, BenchError> {
        let log = std::fs::File::create(&self.log).map_err(BenchError::io(&self.log))?;
        let mut command = Command::new(&self.resetd);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("RESETD_") {
                command.env_remove(key);
            }
        }
        command
            .args(args)
            .env("RESETD_DATABASE_URL", &self.database_url)
            .env("RESETD_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log);
        Ok(command)
    }

    /// Migrates first, so that the import's time is the import's alone.
    fn run(self) -> Result<ImportRun, BenchError> {
        let migrate = self
            .command(&["migrate"])?
            .output()
            .map_err(|source| BenchError::Spawn {
                command: "resetd migrate".to_owned(),
                source,
            })?;
        if !migrate.status.success() {
            return Err(BenchError::CommandFailed {
                command: format!("resetd migrate (its log: {})", self.log.display()),
                status: migrate.status,
            });
        }
        let file = self.file.display().to_string();
        let mut command = self.command(&["user", "import", &file])?;
        // The summary is one short line: a file, not a pipe nobody reads while it runs.
        let summary_path = self.log.with_extension("out");
        let summary_file =
            std::fs::File::create(&summary_path).map_err(BenchError::io(&summary_path))?;
        command.stdout(summary_file);
        let load = load_average();
        let measured = run_measured(&mut command)?;
        let summary = std::fs::read_to_string(&summary_path).unwrap_or_default();
        let expected = format!(
            "created {}, updated 0, unchanged 0, refused 0",
            self.accounts
        );
        let failure = if !measured.status.success() {
            Some(format!(
                "exited with {} (its log: {})",
                measured.status,
                self.log.display()
            ))
        } else if summary.trim() != expected {
            Some(format!("said {:?}, not {expected:?}", summary.trim()))
        } else {
            None
        };
        Ok(ImportRun {
            accounts: self.accounts,
            emails: self.emails,
            file_bytes: self.file_bytes,
            wall: measured.wall,
            cpu: measured.cpu,
            peak_rss_kib: measured.peak_rss_kib,
            load,
            failure,
        })
    }
}

struct Measured {
    status: ExitStatus,
    wall: Duration,
    cpu: Duration,
    peak_rss_kib: u64,
}

/// Runs `command` to its end; its resource use from `wait4`.
fn run_measured(command: &mut Command) -> Result<Measured, BenchError> {
    let started = Instant::now();
    let child = command.spawn().map_err(|source| BenchError::Spawn {
        command: "resetd user import".to_owned(),
        source,
    })?;
    let pid = child.id() as libc::pid_t;
    let peak = PeakRss::watch(pid);
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain old data, for which all zeroes is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is our child, not waited for yet (std's `Child` waits only when
        // asked); both pointers are to live locals.
        let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if waited == pid {
            break;
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            return Err(BenchError::unexpected(
                "waiting for the import",
                error.to_string(),
            ));
        }
    }
    let wall = started.elapsed();
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    Ok(Measured {
        status: ExitStatus::from_raw(status),
        wall,
        cpu: time(usage.ru_utime) + time(usage.ru_stime),
        peak_rss_kib: peak.stop(),
    })
}

/// A process's peak resident memory, from the `VmHWM` line of `/proc/PID/status` (the
/// kernel's high-water mark of the process's own memory since its exec), read every 10 ms
/// until told to stop. Not `wait4`'s `ru_maxrss`: a child that std starts with vfork and
/// exec takes the parent's high-water mark at exec, so under the whole bench (whose process
/// holds some 550 MiB by the time of the import) every import read 551.8 MiB.
struct PeakRss {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<u64>,
}

impl PeakRss {
    fn watch(pid: libc::pid_t) -> PeakRss {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let path = format!("/proc/{pid}/status");
        let thread = std::thread::spawn(move || {
            let mut peak = 0;
            // What grows in the last 10 ms before the exit is missed.
            loop {
                let done = stopped.load(Ordering::SeqCst);
                if let Some(kib) = std::fs::read_to_string(&path)
                    .ok()
                    .as_deref()
                    .and_then(|status| proc_status_kib(status, "VmHWM:"))
                {
                    peak = peak.max(kib);
                }
                if done {
                    return peak;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        PeakRss { stop, thread }
    }

    /// The highest mark read, in KiB (0 if none was).
    fn stop(self) -> u64 {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.join().unwrap_or(0)
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The runs as a markdown table.
pub fn table(runs: &[ImportRun]) -> String {
    let mut out = String::from(
        "| `import` accounts | emails | file | accounts/s | wall | importer CPU | importer peak RSS | load average at start |\n\
         | ---: | --- | ---: | ---: | ---: | ---: | ---: | --- |\n",
    );
    for r in runs {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {:.1} s | {:.2} | {} | {} |\n",
            r.accounts,
            r.emails.name(),
            format_kib(r.file_bytes / 1024),
            format_rate(r.rate()),
            r.wall.as_secs_f64(),
            r.cpu.as_secs_f64() / r.wall.as_secs_f64().max(1e-9),
            format_kib(r.peak_rss_kib),
            r.load,
        ));
    }
    out
}

/// The rate of the largest import with ordered emails (a target on SQLite), and its memory
/// against the smallest's; the scattered one's rate, reported.
pub fn targets(db: Db, runs: &[ImportRun]) -> Vec<Target> {
    let ordered = || runs.iter().filter(|r| r.emails == EmailOrder::Ordered);
    let (Some(small), Some(large)) = (
        ordered().min_by_key(|r| r.accounts),
        ordered().max_by_key(|r| r.accounts),
    ) else {
        return Vec::new();
    };
    let rate = large.rate();
    let growth = large.peak_rss_kib as f64 / small.peak_rss_kib.max(1) as f64;
    let mut targets = vec![
        Target {
            what: format!("`import` accounts/s ({} accounts)", large.accounts),
            measured: format_rate(rate),
            target: match db {
                Db::Sqlite => format!("≥ {SQLITE_TARGET_RATE:.0}"),
                Db::Postgres => "—".to_owned(),
            },
            met: (db == Db::Sqlite).then_some(rate >= SQLITE_TARGET_RATE),
        },
        Target {
            what: format!(
                "`import` peak RSS, {} / {} accounts",
                large.accounts, small.accounts
            ),
            measured: format!(
                "{} / {} = {growth:.2}",
                format_kib(large.peak_rss_kib),
                format_kib(small.peak_rss_kib)
            ),
            target: format!("≤ {RSS_GROWTH_LIMIT:.2}"),
            met: Some(growth <= RSS_GROWTH_LIMIT),
        },
    ];
    let scattered = runs.iter().filter(|r| r.emails == EmailOrder::Scattered);
    if let Some(run) = scattered.max_by_key(|r| r.accounts) {
        targets.push(Target {
            what: format!(
                "`import` accounts/s ({} accounts, emails scattered)",
                run.accounts
            ),
            measured: format_rate(run.rate()),
            target: "—".to_owned(),
            met: None,
        });
    }
    targets
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(accounts: u64, secs: f64, peak_rss_kib: u64) -> ImportRun {
        ImportRun {
            accounts,
            emails: EmailOrder::Ordered,
            file_bytes: accounts * 120,
            wall: Duration::from_secs_f64(secs),
            cpu: Duration::from_secs_f64(secs * 1.5),
            peak_rss_kib,
            load: "1.00 2.00 3.00".to_owned(),
            failure: None,
        }
    }

    #[test]
    fn the_rate_target_holds_on_sqlite_and_memory_must_not_grow() {
        let scattered = ImportRun {
            emails: EmailOrder::Scattered,
            ..run(1_000_000, 40.0, 60_000)
        };
        let runs = [
            run(100_000, 1.5, 20_000),
            run(1_000_000, 16.0, 21_000),
            scattered,
        ];
        let sqlite = targets(Db::Sqlite, &runs);
        assert_eq!(sqlite.len(), 3);
        assert_eq!(
            (sqlite[2].measured.as_str(), sqlite[2].met),
            ("25000", None)
        );
        assert_eq!(sqlite[0].measured, "62500");
        assert_eq!(sqlite[0].met, Some(true));
        assert_eq!(sqlite[1].met, Some(true));
        assert!(
            sqlite[1].measured.ends_with("= 1.05"),
            "{}",
            sqlite[1].measured
        );

        let slow_and_growing = [run(100_000, 3.0, 20_000), run(1_000_000, 40.0, 90_000)];
        let missed = targets(Db::Sqlite, &slow_and_growing);
        assert_eq!((missed[0].met, missed[1].met), (Some(false), Some(false)));
        // PostgreSQL's rate is reported only.
        assert_eq!(targets(Db::Postgres, &slow_and_growing)[0].met, None);
        assert!(targets(Db::Sqlite, &[]).is_empty());
    }

    #[test]
    fn the_peak_is_read_from_vm_hwm() {
        let status = "Name:\tresetd\nVmPeak:\t  900000 kB\nVmHWM:\t   20480 kB\nVmRSS:\t 1 kB\n";
        assert_eq!(proc_status_kib(status, "VmHWM:"), Some(20480));
        assert_eq!(proc_status_kib("Name:\tzombie\n", "VmHWM:"), None);
        // This process's own mark: some memory, and not more than a machine has.
        let own = std::fs::read_to_string("/proc/self/status").expect("status");
        assert!(proc_status_kib(&own, "VmHWM:").is_some_and(|kib| kib > 0));
    }

    #[test]
    fn the_table_shows_rate_memory_and_load() {
        let text = table(&[run(1_000_000, 16.0, 21_000)]);
        assert!(
            text.contains(
                "| 1000000 | ordered | 114.4 MiB | 62500 | 16.0 s | 1.50 | 20.5 MiB | 1.00 2.00 3.00 |"
            ),
            "{text}"
        );
    }
}

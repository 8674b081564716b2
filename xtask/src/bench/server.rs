//! The resetd under test: `resetd serve` as a child process on 127.0.0.1 (port 0), its log
//! in a file, its peak memory and CPU time read from `/proc`.

use std::fs::File;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::error::BenchError;

/// How long resetd may take to migrate and listen.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a stopping resetd may take to drain before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(20);
/// The message of the log line that carries the bound address.
const LISTENING: &str = "resetd listening";
/// A command to run resetd under, for profiling the server under the bench's load:
/// `RESETD_BENCH_WRAPPER='valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.%p'`.
/// Its figures (and peak memory) are then the wrapper's.
const WRAPPER_VAR: &str = "RESETD_BENCH_WRAPPER";
/// TOML appended to the server's configuration, for experiments (`[issuer] enabled =
/// false` to see the request path alone, say). A run with it measures something else
/// than resetd's defaults: the report says so.
pub const EXTRA_CONFIG_VAR: &str = "RESETD_BENCH_EXTRA_CONFIG";

/// How resetd names its hashing threads (`resetd-argon2-0`, ...; `security/password_hash.rs`).
const HASHING_THREAD_PREFIX: &str = "resetd-argon2-";

/// How to run it.
#[derive(Debug, Clone)]
pub struct ServerSetup {
    pub binary: PathBuf,
    /// Holds the log and the config file (and the SQLite file).
    pub dir: PathBuf,
    /// Where the `file://` mail transport writes.
    pub mail_dir: PathBuf,
    pub database_url: String,
    pub admin_token: String,
    pub secret: String,
    /// The `[argon2]` table of the config file.
    pub argon2: Argon2Config,
    /// More of the config file (the `webhooks` scenario's endpoints).
    pub extra_config: String,
}

/// argon2id as configured for the server, and as the `floor-argon2` scenario hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Config {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    /// `[argon2] max_concurrent`: hashes in flight at once.
    pub max_concurrent: usize,
}

impl ServerSetup {
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("resetd.log")
    }

    fn config_toml(&self) -> String {
        let a = self.argon2;
        let extra = std::env::var(EXTRA_CONFIG_VAR).unwrap_or_default();
        let own = &self.extra_config;
        format!(
            "{extra}\n{own}\n[argon2]\nmemory_kib = {}\niterations = {}\nparallelism = {}\nmax_concurrent = {}\n",
            a.memory_kib, a.iterations, a.parallelism, a.max_concurrent
        )
    }
}

/// A running `resetd serve`; killed if dropped without [`Server::stop`].
pub struct Server {
    child: Child,
    pub pid: u32,
    pub addr: SocketAddr,
    log_path: PathBuf,
}

impl Server {
    pub fn start(setup: &ServerSetup) -> Result<Server, BenchError> {
        let mail = &setup.mail_dir;
        std::fs::create_dir_all(mail).map_err(BenchError::io(mail))?;
        let config_path = setup.dir.join("resetd.toml");
        std::fs::write(&config_path, setup.config_toml()).map_err(BenchError::io(&config_path))?;
        let log_path = setup.log_path();
        let log = File::create(&log_path).map_err(BenchError::io(&log_path))?;

        let wrapper = std::env::var(WRAPPER_VAR).unwrap_or_default();
        let mut wrapper = wrapper.split_whitespace();
        let mut command = match wrapper.next() {
            Some(program) => {
                let mut command = Command::new(program);
                command.args(wrapper).arg(&setup.binary);
                command
            }
            None => Command::new(&setup.binary),
        };
        command.arg("--config").arg(&config_path).arg("serve");
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("RESETD_") {
                command.env_remove(key);
            }
        }
        command
            .env("RESETD_BIND", "127.0.0.1:0")
            .env("RESETD_DATABASE_URL", &setup.database_url)
            .env("RESETD_MAIL_URL", format!("file://{}", mail.display()))
            .env("RESETD_SECRET", &setup.secret)
            .env("RESETD_ADMIN_TOKEN", &setup.admin_token)
            // A load test from one address would meet the per-IP limits at once.
            .env("RESETD_RATE_LIMITS", "off")
            .env("RESETD_LOG", "info")
            .env("RESETD_LOG_FORMAT", "json")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        let child = command.spawn().map_err(|source| BenchError::Spawn {
            command: format!("{} serve", setup.binary.display()),
            source,
        })?;
        let pid = child.id();
        let mut server = Server {
            child,
            pid,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            log_path,
        };
        server.addr = server.wait_listening()?;
        Ok(server)
    }

    fn wait_listening(&mut self) -> Result<SocketAddr, BenchError> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let log = std::fs::read_to_string(&self.log_path).unwrap_or_default();
            if let Some(addr) = log.lines().find_map(listening_address) {
                return Ok(addr);
            }
            let failed = |reason: String| BenchError::ServerStart {
                reason,
                log: self.log_path.clone(),
            };
            match self.child.try_wait() {
                Ok(Some(status)) => return Err(failed(format!("it exited with {status}"))),
                Ok(None) => {}
                Err(err) => return Err(failed(err.to_string())),
            }
            if Instant::now() >= deadline {
                return Err(failed(format!(
                    "no {LISTENING:?} line in {START_TIMEOUT:?}"
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Peak resident memory since start or the last [`Server::reset_peak_rss`], in KiB
    /// (`VmHWM` in `/proc/PID/status`).
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        proc_status_kib(&status, "VmHWM:")
    }

    /// Current resident memory in KiB (`VmRSS`).
    pub fn rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        proc_status_kib(&status, "VmRSS:")
    }

    /// Starts a new peak-memory measurement (`5` to `/proc/PID/clear_refs` sets `VmHWM` to
    /// the current RSS). `false` when the kernel does not allow it.
    pub fn reset_peak_rss(&self) -> bool {
        std::fs::OpenOptions::new()
            .write(true)
            .open(format!("/proc/{}/clear_refs", self.pid))
            .and_then(|mut f| f.write_all(b"5"))
            .is_ok()
    }

    /// CPU time used so far (user + system), from `/proc/PID/stat`.
    pub fn cpu_time(&self) -> Option<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).ok()?;
        proc_stat_cpu(&stat)
    }

    /// CPU time resetd's hashing threads have used so far (user + system), from each one's
    /// `/proc/PID/task/TID/stat`: the share of a redemption that is its argon2 hash.
    pub fn hashing_cpu_time(&self) -> Option<Duration> {
        let tasks = std::fs::read_dir(format!("/proc/{}/task", self.pid)).ok()?;
        let mut total = Duration::ZERO;
        for task in tasks.flatten() {
            let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
            if comm.starts_with(HASHING_THREAD_PREFIX) {
                let stat = std::fs::read_to_string(task.path().join("stat")).ok()?;
                total += proc_stat_cpu(&stat)?;
            }
        }
        Some(total)
    }

    /// Lines the server logged at ERROR level.
    pub fn logged_errors(&self) -> Vec<String> {
        let log = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        log.lines()
            .filter(|line| line.contains(r#""level":"ERROR""#))
            .map(str::to_owned)
            .collect()
    }

    pub fn log_bytes(&self) -> u64 {
        std::fs::metadata(&self.log_path).map_or(0, |m| m.len())
    }

    /// SIGTERM, then waits for the clean shutdown (SIGKILL after [`STOP_TIMEOUT`]).
    pub fn stop(mut self) -> Result<ExitStatus, BenchError> {
        let kill = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        if !matches!(kill, Ok(status) if status.success()) {
            let _ = self.child.kill();
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return Ok(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Ok(None) => {
                    let _ = self.child.kill();
                    return self.child.wait().map_err(BenchError::io(&self.log_path));
                }
                Err(err) => return Err(BenchError::io(&self.log_path)(err)),
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn listening_address(line: &str) -> Option<SocketAddr> {
    let record: serde_json::Value = serde_json::from_str(line).ok()?;
    if record.get("message")?.as_str()? != LISTENING {
        return None;
    }
    record.get("address")?.as_str()?.parse().ok()
}

/// A `Key:   1234 kB` line of `/proc/PID/status`.
pub(super) fn proc_status_kib(status: &str, key: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].split_whitespace().next()?.parse().ok()
}

/// utime + stime (fields 14 and 15) of `/proc/PID/stat`, in clock ticks of 1/100 s (what
/// Linux reports to user space on every architecture it runs on).
fn proc_stat_cpu(stat: &str) -> Option<Duration> {
    // The command name (field 2) is in parentheses and may contain spaces.
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // `after_name` starts at field 3 (state).
    let utime: u64 = fields.get(14 - 3)?.parse().ok()?;
    let stime: u64 = fields.get(15 - 3)?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 10))
}

/// CPU time this process has used so far.
pub fn own_cpu_time() -> Option<Duration> {
    proc_stat_cpu(&std::fs::read_to_string("/proc/self/stat").ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_address_in_the_json_log() {
        let log = concat!(
            r#"{"timestamp":"x","level":"WARN","message":"rate limits are off"}"#,
            "\n",
            r#"{"timestamp":"x","level":"INFO","message":"resetd listening","address":"127.0.0.1:4321"}"#,
        );
        assert_eq!(
            log.lines().find_map(listening_address),
            Some(SocketAddr::from(([127, 0, 0, 1], 4321)))
        );
        assert_eq!(listening_address("not json"), None);
    }

    #[test]
    fn reads_proc_status_and_stat() {
        let status = "Name:\tresetd\nVmHWM:\t   81234 kB\nVmRSS:\t   40000 kB\n";
        assert_eq!(proc_status_kib(status, "VmHWM:"), Some(81234));
        assert_eq!(proc_status_kib(status, "VmRSS:"), Some(40000));
        assert_eq!(proc_status_kib(status, "VmSwap:"), None);

        let stat = "4242 (tokio runtime) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 8";
        assert_eq!(proc_stat_cpu(stat), Some(Duration::from_millis(3250)));
        assert!(own_cpu_time().is_some());
    }
}

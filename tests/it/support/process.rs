//! The real `resetd` binary run as a child process (`resetd serve`), for fault tests: killed
//! with SIGKILL, stopped with SIGTERM, restarted on the same database.
//!
//! ```ignore
//! const BIN: &str = env!("CARGO_BIN_EXE_resetd"); // only defined in resetd's own tests
//! let server = ResetdProcess::start(BIN.as_ref(), Some(&config_file), &env).await;
//! reqwest::get(format!("{}/healthz", server.base_url)).await?;
//! server.kill9();                        // or server.sigterm() + server.wait_exit(..)
//! ```
//!
//! The child gets a clean environment as far as resetd is concerned (every inherited
//! `RESETD_*` variable removed, then the given ones set), stdout discarded and stderr read
//! line by line by a thread of its own, so the pipe never fills; the lines are kept for the
//! test to inspect ([`ResetdProcess::log_lines`], [`ResetdProcess::json_logs`]). Every wait
//! here is bounded.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long `start` waits for the "resetd listening" line.
pub const START_TIMEOUT: Duration = Duration::from_secs(20);

/// The message of the log line that carries the bound address (`app::serve`).
const LISTENING: &str = "resetd listening";

/// A running `resetd serve`. Dropping it kills the process (SIGKILL) and reaps it.
pub struct ResetdProcess {
    child: Child,
    pid: u32,
    /// Where it listens (learnt from its log).
    pub addr: SocketAddr,
    /// `http://ADDR`, without a trailing slash.
    pub base_url: String,
    log: Arc<Mutex<Vec<String>>>,
    reader: Option<JoinHandle<()>>,
    exit: Option<ExitStatus>,
}

impl ResetdProcess {
    /// Runs `bin serve` (with `--config FILE` when given) with `env` on top of a clean
    /// `RESETD_*` environment, and waits for it to log the address it listens on. The log
    /// must be JSON (`RESETD_LOG_FORMAT=json`) at level info or finer. Panics, with the
    /// log so far, if the process exits or stays silent for [`START_TIMEOUT`].
    pub async fn start(
        bin: &Path,
        config_file: Option<&Path>,
        env: &[(String, String)],
    ) -> ResetdProcess {
        let mut command = Command::new(bin);
        if let Some(file) = config_file {
            command.arg("--config").arg(file);
        }
        command.arg("serve");
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("RESETD_") {
                command.env_remove(key);
            }
        }
        for (key, value) in env {
            command.env(key, value);
        }
        command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
        let pid = child.id();
        let stderr = child.stderr.take().expect("stderr is piped");
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&log);
        let reader = std::thread::Builder::new()
            .name(format!("resetd-{pid}-stderr"))
            .spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    match line {
                        Ok(line) => lock(&sink).push(line),
                        Err(_) => break,
                    }
                }
            })
            .expect("spawn the stderr reader");

        let mut process = ResetdProcess {
            child,
            pid,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            base_url: String::new(),
            log,
            reader: Some(reader),
            exit: None,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(addr) = process.listening_address() {
                process.addr = addr;
                process.base_url = format!("http://{addr}");
                return process;
            }
            if let Some(status) = process.try_exit() {
                // Let the reader catch the last lines before showing them.
                process.join_reader(Duration::from_secs(2));
                panic!(
                    "resetd (pid {pid}) exited with {status} before listening:\n{}",
                    process.log_text()
                );
            }
            if Instant::now() >= deadline {
                panic!(
                    "resetd (pid {pid}) did not log {LISTENING:?} within {START_TIMEOUT:?}:\n{}",
                    process.log_text()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The `address` field of the "resetd listening" line, once logged.
    fn listening_address(&self) -> Option<SocketAddr> {
        self.json_logs().iter().find_map(|line| {
            if line.get("message")?.as_str()? != LISTENING {
                return None;
            }
            line.get("address")?.as_str()?.parse().ok()
        })
    }

    /// SIGKILL, then reaps the process. No-op if it has already exited.
    pub fn kill9(&mut self) -> ExitStatus {
        if let Some(status) = self.try_exit() {
            return status;
        }
        // `Child::kill` is SIGKILL on Unix.
        let _ = self.child.kill();
        let status = self.child.wait().expect("reap resetd");
        self.exit = Some(status);
        status
    }

    /// Sends SIGTERM (through `kill(1)`: the crate does not depend on libc) and returns at
    /// once; see [`wait_exit`](Self::wait_exit).
    pub fn sigterm(&mut self) {
        if self.try_exit().is_some() {
            return;
        }
        let status = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .expect("run kill -TERM");
        assert!(status.success(), "kill -TERM {} failed: {status}", self.pid);
    }

    /// Waits for the process to exit and returns its status; panics, with the log, after
    /// `timeout` (the process is then killed by `Drop`).
    pub async fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_exit() {
                self.join_reader(Duration::from_secs(2));
                return status;
            }
            if Instant::now() >= deadline {
                panic!(
                    "resetd (pid {}) still running {timeout:?} after it was asked to stop:\n{}",
                    self.pid,
                    self.log_text()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The exit status if the process has exited (reaping it), else `None`.
    pub fn try_exit(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            self.exit = self.child.try_wait().expect("poll resetd");
        }
        self.exit
    }

    /// Every stderr line so far.
    pub fn log_lines(&self) -> Vec<String> {
        lock(&self.log).clone()
    }

    /// The stderr lines that are JSON objects (the log records), parsed.
    pub fn json_logs(&self) -> Vec<serde_json::Value> {
        lock(&self.log)
            .iter()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(serde_json::Value::is_object)
            .collect()
    }

    /// The log records whose `message` is `message`.
    pub fn logs_with_message(&self, message: &str) -> Vec<serde_json::Value> {
        self.json_logs()
            .into_iter()
            .filter(|line| line.get("message").and_then(|m| m.as_str()) == Some(message))
            .collect()
    }

    /// The whole stderr so far, for failure messages.
    pub fn log_text(&self) -> String {
        lock(&self.log).join("\n")
    }

    /// The log records once `done` holds for them, or as they are after `timeout` (the
    /// caller's assertions then say what is missing). For records of background work: the
    /// effect (a delivered mail, a settled row) can be seen before its log line is read.
    pub async fn records_when(
        &self,
        timeout: Duration,
        done: impl Fn(&[serde_json::Value]) -> bool,
    ) -> Vec<serde_json::Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let records = self.json_logs();
            if done(&records) || Instant::now() >= deadline {
                return records;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits (bounded) for the reader thread, which ends when the pipe closes.
    fn join_reader(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while self.reader.as_ref().is_some_and(|r| !r.is_finished()) {
            if Instant::now() >= deadline {
                // A grandchild holding the pipe open; leave the thread detached.
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

impl Drop for ResetdProcess {
    fn drop(&mut self) {
        if self.try_exit().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        // The reader ends once the pipe closes with the process; it is not waited for here.
        let _ = self.reader.take();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

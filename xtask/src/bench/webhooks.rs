//! The `webhooks` scenario: resetd with [`ENDPOINTS`] webhook endpoints on a receiver in this
//! process, on a database of its own. The first takes every event, as a product's would; the
//! others only `user.created`, to make the backlog of part 1 larger.
//!
//! 1. Deliveries per second: the seeded accounts' `user.created` events are queued while the
//!    receiver refuses them (`max_attempts = 1`: each is dead after one try); then the
//!    receiver accepts, `resetd webhook retry --all` re-queues the backlog at once, and the
//!    time until the receiver has had every one gives the rate.
//! 2. `request-webhooks`: the `request` load again, with every issued token announced to the
//!    first endpoint (`password.reset_requested`); its rate against `request`'s (webhooks
//!    off) is the cost of webhooks on the request path, and its drain note the cost to the
//!    background.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

use super::cli::{BenchArgs, Db, Timing};
use super::error::BenchError;
use super::report::{Row, Scenario};
use super::scenarios::Scenarios;
use super::seed::Admin;
use super::server::{Argon2Config, Server, ServerSetup};

/// Endpoints on the receiver: each event is delivered this many times.
pub const ENDPOINTS: usize = 4;
/// resetd's background priority (`src/priority.rs`), which the receiver takes too.
const RECEIVER_NICE: i32 = 10;
/// `whsec_` + base64 of 32 bytes.
const SECRET: &str = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

/// Counts POSTs, answering 200, or 503 while refusing; notes when it accepted the first
/// and the last (nanoseconds after `epoch`).
struct Receiver {
    epoch: Instant,
    accepted: AtomicU64,
    refused: AtomicU64,
    refusing: AtomicBool,
    first_ns: AtomicU64,
    last_ns: AtomicU64,
}

impl Receiver {
    fn new() -> Receiver {
        Receiver {
            epoch: Instant::now(),
            accepted: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            refusing: AtomicBool::new(true),
            first_ns: AtomicU64::new(u64::MAX),
            last_ns: AtomicU64::new(0),
        }
    }

    fn accept(&self) {
        let now = u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.first_ns.fetch_min(now, Ordering::SeqCst);
        self.last_ns.fetch_max(now, Ordering::SeqCst);
        self.accepted.fetch_add(1, Ordering::SeqCst);
    }

    /// From the first acceptance since `reset` to the last.
    fn span(&self) -> Duration {
        let first = self.first_ns.load(Ordering::SeqCst);
        let last = self.last_ns.load(Ordering::SeqCst);
        Duration::from_nanos(last.saturating_sub(first))
    }

    fn reset_span(&self) {
        self.first_ns.store(u64::MAX, Ordering::SeqCst);
        self.last_ns.store(0, Ordering::SeqCst);
    }
}

async fn serve(mut stream: TcpStream, receiver: Arc<Receiver>) {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") else {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
            continue;
        };
        let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        while buffer.len() < end + 4 + length {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        }
        buffer.drain(..end + 4 + length);
        let status = if receiver.refusing.load(Ordering::SeqCst) {
            receiver.refused.fetch_add(1, Ordering::SeqCst);
            "503 Service Unavailable"
        } else {
            receiver.accept();
            "200 OK"
        };
        let answer = format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\n\r\n");
        if stream.write_all(answer.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// The receiver's thread; stopped when told, or with the process.
struct Accepting {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Accepting {
    fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Starts the product's receiver on a thread and runtime of its own, at the priority of
/// resetd's background: in a deployment the receiver runs on the product's machine, so
/// here it may take only the CPU that resetd's requests leave, as the deliveries do.
fn start_receiver(receiver: Arc<Receiver>) -> Result<(SocketAddr, Accepting), BenchError> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(BenchError::io("the webhook receiver"))?;
    let addr = listener
        .local_addr()
        .map_err(BenchError::io("the webhook receiver"))?;
    listener
        .set_nonblocking(true)
        .map_err(BenchError::io("the webhook receiver"))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .map_err(BenchError::io("the webhook receiver"))?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("webhook-receiver".to_owned())
        .spawn(move || {
            super::argon2_floor::lower_priority(RECEIVER_NICE);
            runtime.block_on(async move {
                let Ok(listener) = TcpListener::from_std(listener) else {
                    return;
                };
                let accept = async {
                    while let Ok((stream, _)) = listener.accept().await {
                        tokio::spawn(serve(stream, receiver.clone()));
                    }
                };
                tokio::select! {
                    _ = accept => {}
                    _ = stopped => {}
                }
            });
        })
        .map_err(BenchError::io("the webhook receiver"))?;
    Ok((
        addr,
        Accepting {
            stop: Some(stop),
            thread: Some(thread),
        },
    ))
}

/// The `[[webhooks]]` tables for a receiver at `addr`.
fn config(addr: SocketAddr) -> String {
    let mut text = String::new();
    for n in 0..ENDPOINTS {
        let events = if n == 0 {
            ""
        } else {
            "events = [\"user.created\"]\n"
        };
        text.push_str(&format!(
            "[[webhooks]]\nurl = \"http://{addr}/hook/{n}\"\nsecret = \"{SECRET}\"\n{events}\n"
        ));
    }
    text.push_str("[webhook_delivery]\nmax_attempts = 1\npoll_interval_ms = 200\n");
    text
}

/// What the scenario measured.
pub struct Measured {
    pub request: Option<Row>,
    pub notes: Vec<String>,
}

/// How the other scenarios ran, for the request load here.
#[derive(Clone, Copy)]
pub struct Load {
    pub timing: Timing,
    pub connections: usize,
    pub argon2: Argon2Config,
}

/// Runs both parts on a server started from `setup` (its database fresh).
pub async fn run(setup: &ServerSetup, load: Load) -> Result<Measured, BenchError> {
    let receiver = Arc::new(Receiver::new());
    let (addr, accepting) = start_receiver(receiver.clone())?;
    let mut setup = setup.clone();
    setup.extra_config = config(addr);
    let start_setup = setup.clone();
    let server = tokio::task::spawn_blocking(move || Server::start(&start_setup))
        .await
        .map_err(|e| BenchError::unexpected("starting resetd", e.to_string()))??;
    let result = measure(&setup, &server, load, &receiver).await;
    accepting.stop();
    let status = tokio::task::spawn_blocking(move || server.stop())
        .await
        .map_err(|e| BenchError::unexpected("stopping resetd", e.to_string()))??;
    let mut measured = result?;
    if !status.success() {
        measured
            .notes
            .push(format!("`webhooks`: resetd did not stop cleanly: {status}"));
    }
    Ok(measured)
}

async fn measure(
    setup: &ServerSetup,
    server: &Server,
    load: Load,
    receiver: &Receiver,
) -> Result<Measured, BenchError> {
    let mail_dir = setup.mail_dir.clone();
    let mut s = Scenarios {
        server,
        admin: Admin::new(server.addr, &setup.admin_token)?,
        mail_dir: &mail_dir,
        timing: load.timing,
        connections: load.connections,
        argon2: load.argon2,
        notes: Vec::new(),
    };
    let seeded = s.seed().await?;
    let backlog = (seeded.known.len() + 1) as u64 * ENDPOINTS as u64;
    wait_until(s.timing.drain_timeout, "the refused deliveries", || {
        receiver.refused.load(Ordering::SeqCst) >= backlog
    })
    .await?;
    // Let the last refusals be recorded as dead before re-queuing them.
    tokio::time::sleep(Duration::from_millis(500)).await;
    receiver.refusing.store(false, Ordering::SeqCst);
    receiver.reset_span();
    retry_all(setup)?;
    wait_until(s.timing.drain_timeout, "the webhook backlog", || {
        receiver.accepted.load(Ordering::SeqCst) >= backlog
    })
    .await?;
    let span = receiver.span();
    // Deliveries after the first, over the time from the first to the last.
    let rate = (backlog - 1) as f64 / span.as_secs_f64().max(f64::EPSILON);
    let mut notes = vec![format!(
        "`webhooks`: a backlog of {backlog} deliveries ({} accounts × {ENDPOINTS} endpoints, \
         queued while the receiver refused them, re-queued at once by `resetd webhook retry \
         --all`) reached a local receiver in {:.2} s from the first to the last: \
         {rate:.0} deliveries/s (target ≥ 2000 on SQLite).",
        seeded.known.len() + 1,
        span.as_secs_f64()
    )];
    let before = receiver.accepted.load(Ordering::SeqCst);
    // Every mail of this load has a delivery beside it, made by the same background: the
    // queue takes longer to empty than `request`'s (on SQLite, 355,000 mails were not all
    // written after 300 s).
    s.timing.drain_timeout *= 2;
    let mut row = s.request(&seeded, true).await?;
    row.scenario = Scenario::RequestWebhooks;
    let announced = receiver.accepted.load(Ordering::SeqCst) - before;
    notes.push(format!(
        "`request-webhooks`: the `request` load with an endpoint taking every event; \
         {announced} `password.reset_requested` deliveries reached the receiver by the time \
         the mail queue had drained."
    ));
    notes.append(&mut s.notes);
    Ok(Measured {
        request: Some(row),
        notes,
    })
}

/// `resetd webhook retry --all` on the server's database.
fn retry_all(setup: &ServerSetup) -> Result<(), BenchError> {
    let status = std::process::Command::new(&setup.binary)
        .args(["webhook", "retry", "--all"])
        .env("RESETD_DATABASE_URL", &setup.database_url)
        .env("RESETD_SECRET", &setup.secret)
        .env("RESETD_LOG", "error")
        .stdout(std::process::Stdio::null())
        .status()
        .map_err(|source| BenchError::Spawn {
            command: "resetd webhook retry --all".to_owned(),
            source,
        })?;
    if !status.success() {
        return Err(BenchError::CommandFailed {
            command: "resetd webhook retry --all".to_owned(),
            status,
        });
    }
    Ok(())
}

async fn wait_until(
    timeout: Duration,
    what: &str,
    done: impl Fn() -> bool,
) -> Result<(), BenchError> {
    let deadline = Instant::now() + timeout;
    while !done() {
        if Instant::now() >= deadline {
            return Err(BenchError::unexpected(
                what,
                format!("not done within {} s", timeout.as_secs()),
            ));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(())
}

/// The scenario, on a database of its own.
pub(super) async fn measure_on_its_own_database(
    db: Db,
    setup: &ServerSetup,
    args: &BenchArgs,
) -> Result<Measured, BenchError> {
    let fresh = match db {
        Db::Postgres => Some(super::postgres::FreshDatabase::create().await?),
        Db::Sqlite => None,
    };
    let dir = setup.dir.join("webhooks");
    std::fs::create_dir_all(&dir).map_err(BenchError::io(&dir))?;
    let setup = ServerSetup {
        database_url: match &fresh {
            Some(fresh) => fresh.url.clone(),
            None => format!("sqlite://{}", dir.join("resetd.db").display()),
        },
        mail_dir: setup.mail_dir.join("webhooks"),
        dir,
        ..setup.clone()
    };
    let load = Load {
        timing: args.timing(),
        connections: args.connections,
        argon2: setup.argon2,
    };
    let measured = run(&setup, load).await;
    if let Some(fresh) = fresh {
        if let Err(err) = fresh.drop_database().await {
            eprintln!("warning: could not drop the bench database: {err}");
        }
    }
    measured
}

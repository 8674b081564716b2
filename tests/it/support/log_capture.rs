//! What in-process servers log while a test captures it, for SECURITY.md item 19: everything
//! at `trace` through the production filter and both production formats
//! (`resetd::logging::{filter, layer}`, text and JSON), into one buffer.
//!
//! The test binary has one global subscriber, installed on the first capture. Its filter is
//! swapped (`reload`) to the production one at `trace` while a capture is under way and back
//! to `off` when the last one ends, so the rest of the suite formats nothing. While it is on,
//! every server of the binary logs into the buffer, those of tests running at the same time
//! too: no server may log a secret, so that only widens the check.

use std::io::Write;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use resetd::config::{LogConfig, LogFormat};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{reload, EnvFilter, Registry};

/// A capture under way; the filter goes back to `off` when the last one is dropped.
pub struct Capture(());

/// Starts capturing (from an empty buffer unless another capture is under way): call it
/// before starting a server.
pub fn start() -> Capture {
    let shared = shared();
    let mut active = lock(&shared.active);
    if *active == 0 {
        lock(&shared.buffer).clear();
        let config = LogConfig {
            filter: "trace".to_owned(),
            format: LogFormat::Text,
        };
        shared
            .filter
            .reload(resetd::logging::filter(&config))
            .expect("the subscriber is installed");
    }
    *active += 1;
    Capture(())
}

impl Capture {
    /// Everything logged since the capture started.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&lock(&shared().buffer)).into_owned()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        let shared = shared();
        let mut active = lock(&shared.active);
        *active -= 1;
        if *active == 0 {
            // A reload fails only once the subscriber is gone, when nothing logs anyway.
            let _ = shared.filter.reload(EnvFilter::new("off"));
        }
    }
}

struct Shared {
    buffer: Arc<Mutex<Vec<u8>>>,
    filter: reload::Handle<EnvFilter, Registry>,
    /// How many captures are under way.
    active: Mutex<usize>,
}

fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = Writer(buffer.clone());
        let text = writer.clone();
        let (filter, handle) = reload::Layer::new(EnvFilter::new("off"));
        tracing_subscriber::registry()
            .with(filter)
            .with(resetd::logging::layer(
                LogFormat::Text,
                move || text.clone(),
                false,
            ))
            .with(resetd::logging::layer(
                LogFormat::Json,
                move || writer.clone(),
                false,
            ))
            .try_init()
            .expect("this test binary installs the only subscriber");
        Shared {
            buffer,
            filter: handle,
            active: Mutex::new(0),
        }
    })
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[derive(Clone)]
struct Writer(Arc<Mutex<Vec<u8>>>);

impl Write for Writer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        lock(&self.0).extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

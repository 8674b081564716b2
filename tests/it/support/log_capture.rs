//! What a test binary logs, captured for SECURITY.md item 19: everything at `trace` through
//! the production filter and both production formats (`resetd::logging::{filter, layer}`,
//! text and JSON), into one buffer.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use resetd::config::{LogConfig, LogFormat};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// Starts capturing, once per test binary: call it before starting a server.
pub fn install() {
    captured();
}

/// Everything logged since [`install`].
pub fn log_text() -> String {
    String::from_utf8_lossy(&captured().lock().expect("log buffer")).into_owned()
}

fn captured() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = Capture(buffer.clone());
        let config = LogConfig {
            filter: "trace".to_owned(),
            format: LogFormat::Text,
        };
        let text = writer.clone();
        tracing_subscriber::registry()
            .with(resetd::logging::filter(&config))
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
        buffer
    })
}

#[derive(Clone)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

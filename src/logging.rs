//! One log stream: `tracing`, with dropshot's slog records bridged into it.
//!
//! dropshot logs every request's URI; reset links carry their secret in the query string, so
//! the bridge logs URIs without their query.

use std::fmt::{self, Write as _};

use slog::{Drain, Key, OwnedKVList, Record, KV};

use crate::config::{LogConfig, LogFormat};

/// Libraries that log what they send to the database or the network at debug and trace
/// level: statement parameters are token and password hashes, so these stay at `info`
/// whatever `log.filter` says.
const CLAMPED: [&str; 4] = [
    "tokio_postgres=info",
    "postgres_protocol=info",
    "hyper=info",
    "h2=info",
];

/// The filter for `log.filter`, with the clamps above.
pub fn filter(config: &LogConfig) -> tracing_subscriber::EnvFilter {
    let mut filter = tracing_subscriber::EnvFilter::try_new(&config.filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    for directive in CLAMPED {
        if let Ok(directive) = directive.parse() {
            filter = filter.add_directive(directive);
        }
    }
    filter
}

/// Installs the global subscriber. Safe to call twice (the second call is a no-op), which
/// tests that start several servers rely on.
pub fn init(config: &LogConfig) {
    let filter = filter(config);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, never in files or collectors.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = match config.format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// A slog logger for dropshot whose records become `tracing` events.
pub fn dropshot_logger() -> slog::Logger {
    slog::Logger::root(TracingDrain.fuse(), slog::o!())
}

struct TracingDrain;

impl Drain for TracingDrain {
    type Ok = ();
    type Err = slog::Never;

    fn log(&self, record: &Record<'_>, values: &OwnedKVList) -> Result<(), slog::Never> {
        let mut fields = Fields(String::new());
        let _ = record.kv().serialize(record, &mut fields);
        let _ = values.serialize(record, &mut fields);
        let message = record.msg();
        let fields = fields.0;
        match record.level() {
            slog::Level::Critical | slog::Level::Error => {
                tracing::error!(target: "dropshot", "{message}{fields}")
            }
            slog::Level::Warning => tracing::warn!(target: "dropshot", "{message}{fields}"),
            slog::Level::Info => tracing::info!(target: "dropshot", "{message}{fields}"),
            slog::Level::Debug => tracing::debug!(target: "dropshot", "{message}{fields}"),
            slog::Level::Trace => tracing::trace!(target: "dropshot", "{message}{fields}"),
        }
        Ok(())
    }
}

struct Fields(String);

impl slog::Serializer for Fields {
    fn emit_arguments(&mut self, key: Key, val: &fmt::Arguments<'_>) -> slog::Result {
        let value = val.to_string();
        let value = if key == "uri" {
            without_query(&value)
        } else {
            &value
        };
        let _ = write!(self.0, " {key}={value}");
        Ok(())
    }
}

fn without_query(uri: &str) -> &str {
    uri.split_once('?').map_or(uri, |(path, _)| path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_are_dropped() {
        assert_eq!(
            without_query("/session/reset?id=1&secret=abc"),
            "/session/reset"
        );
        assert_eq!(without_query("/healthz"), "/healthz");
    }
}

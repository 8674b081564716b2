//! One log stream: `tracing`, as `log.filter` and `log.format` say. dropshot's slog records
//! are bridged into it, one line per request, by `server::access_log`.
//!
//! Handlers run inside a `request` span carrying `request_id` ([`request_span`]), so whatever
//! they log carries the id too; with `log.format = "json"` it is the `span.request_id` of
//! each line.

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::Layer;

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

/// Installs the global subscriber, writing to stderr. Safe to call twice (the second call is
/// a no-op), which tests that start several servers rely on.
pub fn init(config: &LogConfig) {
    // Colour codes only for a person at a terminal, never in files or collectors.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::registry()
        .with(filter(config))
        .with(layer(config.format, std::io::stderr, ansi))
        .try_init();
}

/// The formatting layer of `format`, writing to `writer`: what [`init`] installs, for tests
/// that capture the output.
pub fn layer<S, W>(format: LogFormat, writer: W, ansi: bool) -> Box<dyn Layer<S> + Send + Sync>
where
    S: tracing::Subscriber + for<'span> LookupSpan<'span>,
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(ansi);
    match format {
        LogFormat::Text => layer.boxed(),
        // One object per line: the event's fields at the top level, the request's id in
        // `span` (the innermost span only: handlers open no others).
        LogFormat::Json => layer
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .boxed(),
    }
}

/// The span a request's handler runs in, and its `request completed` line is logged in.
/// At `error` level so that it exists whatever `log.filter` lets through: a warning logged by
/// a handler keeps its request id under `RESETD_LOG=warn` too.
pub fn request_span(request_id: &str) -> tracing::Span {
    tracing::error_span!("request", request_id)
}

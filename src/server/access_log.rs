//! The one line and the metrics of each request, from dropshot's slog records.
//!
//! Every request is logged exactly once, at `info`, target `resetd::http`, as
//! `request completed` with `method`, `route` (the path template, absent when no route
//! matched), `operation`, `status` and `latency_ms`, inside a `request` span carrying
//! `request_id` (the `x-request-id` dropshot sends back; [`crate::logging::request_span`]).
//!
//! dropshot 0.18 has no per-request hook, but its "request completed" record is the one
//! place that sees every request (unmatched routes and refused bodies included), with its
//! id, status and latency. The bridge turns that record into the request's line and its
//! metrics (`metrics::HttpMetrics`), instead of passing it on: that is what makes it one
//! line per request. Its other records become `tracing` events.
//!
//! What stays out: query strings (reset links carry their secret there), concrete paths,
//! request bodies, and dropshot's error messages, which may quote the body
//! (`invalid type: integer 12345678`); the handlers log the errors that are resetd's own.

use std::fmt::{self, Write as _};
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use slog::{Drain, Key, OwnedKVList, Record, KV};

use super::{RouteTable, UNMATCHED};
use crate::logging::request_span;
use crate::metrics::HttpMetrics;

/// A slog logger for dropshot whose records become `tracing` events, and whose per-request
/// records become each request's line and metrics (see the module documentation).
pub fn dropshot_logger(routes: RouteTable, metrics: HttpMetrics) -> slog::Logger {
    let drain = TracingDrain {
        // slog wants drains unwind-safe. A panic cannot leave these inconsistent: the route
        // table is read-only, and counters are atomics behind a lock that does not poison.
        observed: AssertUnwindSafe(Observed { routes, metrics }),
    };
    slog::Logger::root(drain.fuse(), slog::o!())
}

/// dropshot's record when it has the answer to a request.
const REQUEST_COMPLETED: &str = "request completed";
/// dropshot's record when the client went away first (the handler still runs to completion:
/// `HandlerTaskMode::Detached`). Logged as status 499, as nginx and dropshot's own probes do.
const CLIENT_DISCONNECTED: &str = "request handling cancelled (client disconnected)";
const CLIENT_CLOSED_REQUEST: u16 = 499;
/// dropshot's record of each new connection, at `info`: as many lines again as requests
/// (every scrape, every probe), with nothing the request's line lacks but the client's
/// address. Demoted to `debug`.
const CONNECTION_ACCEPTED: &str = "accepted connection";

struct TracingDrain {
    observed: AssertUnwindSafe<Observed>,
}

/// Where the requests' lines get their route and their metrics go.
struct Observed {
    routes: RouteTable,
    metrics: HttpMetrics,
}

impl Drain for TracingDrain {
    type Ok = ();
    type Err = slog::Never;

    fn log(&self, record: &Record<'_>, values: &OwnedKVList) -> Result<(), slog::Never> {
        // dropshot's messages are literals, recognised without formatting them; others are
        // formatted to be recognised.
        let formatted;
        let message = match record.msg().as_str() {
            Some(literal) => literal,
            None => {
                formatted = record.msg().to_string();
                formatted.as_str()
            }
        };
        if message == REQUEST_COMPLETED || message == CLIENT_DISCONNECTED {
            let mut request = RequestRecord::default();
            let _ = record.kv().serialize(record, &mut request);
            let _ = values.serialize(record, &mut request);
            let status = if message == CLIENT_DISCONNECTED {
                Some(CLIENT_CLOSED_REQUEST)
            } else {
                request.status
            };
            if let Some(status) = status {
                self.observed.request_done(&request, status);
                return Ok(());
            }
        }
        let level = if message == CONNECTION_ACCEPTED {
            slog::Level::Debug
        } else {
            record.level()
        };
        // Formatted only for the levels `log.filter` lets through: dropshot logs every
        // connection, and the fields cost more than the rest of the line.
        let fields = || {
            let mut fields = Fields(String::with_capacity(256));
            let _ = record.kv().serialize(record, &mut fields);
            let _ = values.serialize(record, &mut fields);
            fields.0
        };
        let message = record.msg();
        match level {
            slog::Level::Critical | slog::Level::Error => {
                if tracing::enabled!(target: "dropshot", tracing::Level::ERROR) {
                    tracing::error!(target: "dropshot", "{message}{}", fields());
                }
            }
            slog::Level::Warning => {
                if tracing::enabled!(target: "dropshot", tracing::Level::WARN) {
                    tracing::warn!(target: "dropshot", "{message}{}", fields());
                }
            }
            slog::Level::Info => {
                if tracing::enabled!(target: "dropshot", tracing::Level::INFO) {
                    tracing::info!(target: "dropshot", "{message}{}", fields());
                }
            }
            slog::Level::Debug => {
                if tracing::enabled!(target: "dropshot", tracing::Level::DEBUG) {
                    tracing::debug!(target: "dropshot", "{message}{}", fields());
                }
            }
            slog::Level::Trace => {
                if tracing::enabled!(target: "dropshot", tracing::Level::TRACE) {
                    tracing::trace!(target: "dropshot", "{message}{}", fields());
                }
            }
        }
        Ok(())
    }
}

impl Observed {
    /// The request's one line and its metrics.
    fn request_done(&self, request: &RequestRecord, status: u16) {
        let method = request.method.as_deref().unwrap_or_default();
        let route = request
            .path()
            .zip(method.parse::<http::Method>().ok())
            .and_then(|(path, method)| self.routes.resolve(&method, &path));
        let operation = route.map_or(UNMATCHED, |r| r.operation);
        let latency = Duration::from_micros(request.latency_us.unwrap_or_default());
        self.metrics.observe(operation, status, latency);
        // Milliseconds with microsecond resolution, as dropshot measured it.
        let latency_ms = latency.as_secs_f64() * 1_000.0;
        request_span(request.id.as_deref().unwrap_or_default()).in_scope(|| {
            tracing::info!(
                target: "resetd::http",
                method,
                route = route.map(|r| r.template),
                operation,
                status,
                latency_ms,
                "request completed"
            );
        });
    }
}

/// What dropshot says of a request: its logger's values (`req_id`, `method`, `uri`) and the
/// completion record's (`response_code`, `latency_us`). Nothing else is kept.
#[derive(Debug, Default)]
struct RequestRecord {
    id: Option<String>,
    method: Option<String>,
    uri: Option<String>,
    status: Option<u16>,
    latency_us: Option<u64>,
}

impl RequestRecord {
    /// The path of the request's URI (origin or absolute form), without its query.
    fn path(&self) -> Option<String> {
        let uri = self.uri.as_deref()?.parse::<http::Uri>().ok()?;
        Some(uri.path().to_owned())
    }
}

impl slog::Serializer for RequestRecord {
    fn emit_arguments(&mut self, key: Key, val: &fmt::Arguments<'_>) -> slog::Result {
        let key: &str = key.as_ref();
        match key {
            "req_id" => self.id = Some(val.to_string()),
            "method" => self.method = Some(val.to_string()),
            "uri" => self.uri = Some(val.to_string()),
            "response_code" => self.status = val.to_string().parse().ok(),
            "latency_us" => self.latency_us = val.to_string().parse().ok(),
            _ => {}
        }
        Ok(())
    }
}

/// dropshot's other records, as `key=value` pairs after the message.
struct Fields(String);

impl slog::Serializer for Fields {
    fn emit_arguments(&mut self, key: Key, val: &fmt::Arguments<'_>) -> slog::Result {
        let key: &str = key.as_ref();
        // `local_addr` is on every record and always the same (logged once, at start).
        if DROPPED_KEYS.contains(&key) || key == "local_addr" {
            return Ok(());
        }
        // Formatted straight into the line; only the URI goes through a string of its own,
        // to cut its query.
        let _ = if key == "uri" {
            write!(self.0, " {key}={}", without_query(&val.to_string()))
        } else {
            write!(self.0, " {key}={val}")
        };
        Ok(())
    }
}

/// dropshot's error messages quote what the client sent (a body's mistyped password, say).
/// Its completion records become request lines without them; this keeps them out of the
/// others (a handler that finished after its client left).
const DROPPED_KEYS: [&str; 2] = ["error_message_internal", "error_message_external"];

fn without_query(uri: &str) -> &str {
    uri.split_once('?').map_or(uri, |(path, _)| path)
}

#[cfg(test)]
mod tests {
    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;
    use crate::config::LogFormat;
    use crate::logging::layer;
    use crate::metrics::KnownLabels;

    #[test]
    fn query_strings_are_dropped() {
        assert_eq!(
            without_query("/session/reset?id=1&secret=abc"),
            "/session/reset"
        );
        assert_eq!(without_query("/healthz"), "/healthz");
        let record = RequestRecord {
            uri: Some("/session/reset?id=1&secret=abc".to_owned()),
            ..RequestRecord::default()
        };
        assert_eq!(record.path().as_deref(), Some("/session/reset"));
        let absolute = RequestRecord {
            uri: Some("http://example.test/user/reset/x?secret=abc".to_owned()),
            ..RequestRecord::default()
        };
        assert_eq!(absolute.path().as_deref(), Some("/user/reset/x"));
    }

    /// What the JSON layer writes, while `run` runs (this thread only).
    fn json_lines(run: impl FnOnce()) -> Vec<serde_json::Value> {
        #[derive(Clone, Default)]
        struct Buffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
        impl std::io::Write for Buffer {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().expect("buffer").extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::registry()
            .with(layer(LogFormat::Json, move || writer.clone(), false))
            .with(tracing_subscriber::filter::LevelFilter::INFO);
        tracing::subscriber::with_default(subscriber, run);
        let text = String::from_utf8(buffer.0.lock().expect("buffer").clone()).expect("UTF-8");
        text.lines()
            .map(|line| serde_json::from_str(line).expect("a JSON line"))
            .collect()
    }

    #[test]
    fn a_client_that_hung_up_is_logged_once_as_499_without_what_it_sent() {
        let metrics = crate::metrics::Metrics::new(&KnownLabels::default());
        let routes = RouteTable::new(crate::app::api_description().expect("the API builds"));
        let log = dropshot_logger(routes, metrics.http.clone());
        // As dropshot logs a request whose client left before the answer, and the answer.
        let request = log.new(slog::o!(
            "req_id" => "req-1",
            "method" => "PATCH",
            "uri" => "/user/reset/aB3?secret=s3cr3t",
        ));
        let lines = json_lines(|| {
            slog::warn!(request, "{}", CLIENT_DISCONNECTED; "latency_us" => 1_500_u128);
            slog::warn!(
                request,
                "request completed after handler was already cancelled";
                "response_code" => 400_u16,
                "error_message_internal" => "invalid type: integer `12345678`",
                "error_message_external" => "invalid type: integer `12345678`",
            );
        });
        assert_eq!(lines.len(), 2, "{lines:?}");
        let request_line = &lines[0];
        assert_eq!(request_line["message"], "request completed");
        assert_eq!(request_line["status"], 499);
        assert_eq!(request_line["route"], "/user/reset/{user_id}");
        assert_eq!(request_line["latency_ms"], 1.5);
        assert_eq!(request_line["span"]["request_id"], "req-1");
        assert_eq!(lines[1]["target"], "dropshot");
        let text = serde_json::to_string(&lines).expect("JSON");
        assert!(
            !text.contains("s3cr3t") && !text.contains("12345678"),
            "{text}"
        );
        assert!(text.contains("uri=/user/reset/aB3"), "{text}");
        let exposition = metrics.encode().expect("encodes");
        assert!(
            exposition.contains(
                "resetd_http_requests_total{operation=\"cloudreve_reset_password\",status=\"499\"} 1"
            ),
            "{exposition}"
        );
    }
}

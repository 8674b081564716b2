//! CORS (the Fetch standard's protocol): the headers that let a product's page on another
//! origin call resetd from a browser, and the answer to its preflight.
//!
//! dropshot 0.18 has no middleware, so every handler adds [`answer_headers`] to its answer
//! (through `resetd_api::responses::Answer`), and a generated unpublished `OPTIONS` endpoint
//! per path calls [`preflight`]. Answers dropshot makes itself (an unreadable body, an
//! unknown path) carry no CORS headers.

use dropshot::Body;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Response, StatusCode};

use crate::config::CorsConfig;

/// How long a browser may reuse a preflight's answer, in seconds (Chromium caps it at 7200).
pub const MAX_AGE_SECS: u32 = 600;
/// The request headers resetd's routes read beyond the CORS-safelisted ones.
const ALLOWED_HEADERS: &str = "content-type, authorization";
/// Answer headers a page's script may read beyond the safelisted ones: when to retry after
/// a 429, and the id that finds the request in resetd's log.
const EXPOSED_HEADERS: &str = "retry-after, x-request-id";

/// The CORS headers of an answer to a request with headers `request`: none when CORS is
/// off; `Vary: Origin` whenever it is on (the answer depends on the Origin); the allowing
/// headers for an allowed origin.
pub fn answer_headers(config: &CorsConfig, request: &HeaderMap) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if config.allowed_origins.is_empty() {
        return headers;
    }
    headers.insert(header::VARY, HeaderValue::from_static("origin"));
    if let Some(origin) = allowed_origin(config, request) {
        allow(config, origin, &mut headers);
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSED_HEADERS),
        );
    }
    headers
}

/// The answer to a preflight for a path whose operations use `methods`: 204 with the
/// allowing headers for an allowed origin, 403 without any CORS header otherwise (the
/// browser then refuses the call).
pub fn preflight(config: &CorsConfig, request: &HeaderMap, methods: &[Method]) -> Response<Body> {
    let mut answer = Response::new(Body::empty());
    let Some(origin) = allowed_origin(config, request) else {
        *answer.status_mut() = StatusCode::FORBIDDEN;
        return answer;
    };
    *answer.status_mut() = StatusCode::NO_CONTENT;
    let headers = answer.headers_mut();
    allow(config, origin, headers);
    let methods = methods
        .iter()
        .map(Method::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    let allowed = [
        (header::ACCESS_CONTROL_ALLOW_METHODS, methods),
        (
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            ALLOWED_HEADERS.to_owned(),
        ),
        (header::ACCESS_CONTROL_MAX_AGE, MAX_AGE_SECS.to_string()),
        (header::VARY, "origin".to_owned()),
    ];
    for (name, value) in allowed {
        // Method names and numbers are always valid header values.
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    answer
}

/// The request's Origin when the configuration allows it.
fn allowed_origin<'a>(config: &CorsConfig, request: &'a HeaderMap) -> Option<&'a HeaderValue> {
    let origin = request.get(header::ORIGIN)?;
    config.allows(origin.to_str().ok()?).then_some(origin)
}

/// `Access-Control-Allow-Origin` (`*` when any origin is allowed, else the origin itself)
/// and, for a named origin when configured, `Access-Control-Allow-Credentials`.
fn allow(config: &CorsConfig, origin: &HeaderValue, headers: &mut HeaderMap) {
    if config.allows_any() {
        // Never with credentials: the configuration refuses `*` with allow_credentials.
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
        return;
    }
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    if config.allow_credentials {
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
}

//! One keep-alive HTTP/1.1 connection (hyper's client, no pool, no redirects, nothing
//! between the timer and the socket) and the requests the bench sends over it.

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("connect: {0}")]
    Connect(std::io::Error),
    #[error("HTTP handshake: {0}")]
    Handshake(hyper::Error),
    #[error("request: {0}")]
    Send(hyper::Error),
    #[error("reading the response body: {0}")]
    Body(hyper::Error),
    #[error("building the request: {0}")]
    Build(#[from] hyper::http::Error),
}

/// A request, built once and sent as often as the workload says.
#[derive(Debug, Clone)]
pub struct PreparedRequest {
    pub method: Method,
    pub path: String,
    /// A JSON body, if any.
    pub body: Option<Bytes>,
    /// `Authorization: Bearer ...` (the admin API).
    pub bearer: Option<HeaderValue>,
    pub expect: Expect,
}

impl PreparedRequest {
    pub fn get(path: impl Into<String>, expect: Expect) -> Self {
        PreparedRequest {
            method: Method::GET,
            path: path.into(),
            body: None,
            bearer: None,
            expect,
        }
    }

    pub fn json(
        method: Method,
        path: impl Into<String>,
        body: &serde_json::Value,
        expect: Expect,
    ) -> Self {
        PreparedRequest {
            method,
            path: path.into(),
            body: Some(Bytes::from(body.to_string())),
            bearer: None,
            expect,
        }
    }

    pub fn with_bearer(mut self, bearer: HeaderValue) -> Self {
        self.bearer = Some(bearer);
        self
    }
}

/// What a successful answer looks like. The envelope dialects (IPCola, Cloudreve) answer
/// errors with HTTP 200 too, so their success is a field in the body.
#[derive(Debug, Clone, PartialEq)]
pub enum Expect {
    Status(u16),
    /// This status, and the JSON body's value at `pointer` (RFC 6901) equal to `value`.
    JsonField {
        status: u16,
        pointer: &'static str,
        value: serde_json::Value,
    },
}

impl Expect {
    /// `Err` describes the mismatch without quoting the body (it may carry a token).
    pub fn check(&self, status: StatusCode, body: &[u8]) -> Result<(), String> {
        let wanted = match self {
            Expect::Status(status) | Expect::JsonField { status, .. } => *status,
        };
        if status.as_u16() != wanted {
            return Err(format!("HTTP {} (expected {wanted})", status.as_u16()));
        }
        let Expect::JsonField { pointer, value, .. } = self else {
            return Ok(());
        };
        let parsed: serde_json::Value = serde_json::from_slice(body)
            .map_err(|_| format!("HTTP {wanted} with a body that is not JSON"))?;
        match parsed.pointer(pointer) {
            Some(found) if found == value => Ok(()),
            Some(found) if found.is_number() || found.is_boolean() => Err(format!(
                "HTTP {wanted} with {pointer} = {found} (expected {value})"
            )),
            Some(_) => Err(format!("HTTP {wanted} with {pointer} not {value}")),
            None => Err(format!("HTTP {wanted} without {pointer}")),
        }
    }
}

/// A keep-alive connection to the server.
pub struct Connection {
    sender: SendRequest<Full<Bytes>>,
    host: HeaderValue,
}

impl Connection {
    pub async fn open(addr: SocketAddr) -> Result<Connection, HttpError> {
        let stream = TcpStream::connect(addr).await.map_err(HttpError::Connect)?;
        // Small requests answered at once: Nagle would only add delay.
        stream.set_nodelay(true).map_err(HttpError::Connect)?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(HttpError::Handshake)?;
        // Drives the socket; ends when the sender is dropped or the server closes.
        tokio::spawn(connection);
        let host = HeaderValue::from_str(&addr.to_string()).map_err(hyper::http::Error::from)?;
        Ok(Connection { sender, host })
    }

    /// Sends `request` and reads the whole answer.
    pub async fn send(
        &mut self,
        request: &PreparedRequest,
    ) -> Result<(StatusCode, Bytes), HttpError> {
        let mut builder = Request::builder()
            .method(request.method.clone())
            .uri(request.path.as_str())
            .header(HOST, self.host.clone());
        if let Some(bearer) = &request.bearer {
            builder = builder.header(AUTHORIZATION, bearer.clone());
        }
        let body = match &request.body {
            Some(body) => {
                builder = builder.header(CONTENT_TYPE, "application/json");
                Full::new(body.clone())
            }
            None => Full::new(Bytes::new()),
        };
        let built = builder.body(body)?;
        self.sender.ready().await.map_err(HttpError::Send)?;
        let response = self
            .sender
            .send_request(built)
            .await
            .map_err(HttpError::Send)?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(HttpError::Body)?
            .to_bytes();
        Ok((status, body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_check_looks_at_the_status_only() {
        let expect = Expect::Status(204);
        assert_eq!(expect.check(StatusCode::NO_CONTENT, b""), Ok(()));
        let err = expect
            .check(StatusCode::TOO_MANY_REQUESTS, b"{}")
            .expect_err("429 passed");
        assert_eq!(err, "HTTP 429 (expected 204)");
    }

    #[test]
    fn an_envelope_error_under_http_200_is_an_error() {
        let expect = Expect::JsonField {
            status: 200,
            pointer: "/code",
            value: serde_json::json!(0),
        };
        assert_eq!(
            expect.check(StatusCode::OK, br#"{"code":0,"msg":""}"#),
            Ok(())
        );
        assert_eq!(
            expect.check(StatusCode::OK, br#"{"code":40001,"msg":"secret abc"}"#),
            Err("HTTP 200 with /code = 40001 (expected 0)".to_owned())
        );
        assert_eq!(
            expect.check(StatusCode::OK, b"not json"),
            Err("HTTP 200 with a body that is not JSON".to_owned())
        );
        assert_eq!(
            expect.check(StatusCode::OK, br#"{"msg":"x"}"#),
            Err("HTTP 200 without /code".to_owned())
        );
    }

    #[test]
    fn a_mismatch_never_quotes_a_string_from_the_body() {
        let expect = Expect::JsonField {
            status: 200,
            pointer: "/token",
            value: serde_json::json!("expected"),
        };
        let err = expect
            .check(StatusCode::OK, br#"{"token":"s3cr3t-value"}"#)
            .expect_err("mismatch");
        assert!(!err.contains("s3cr3t"), "{err}");
    }
}

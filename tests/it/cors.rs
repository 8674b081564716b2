//! CORS at the HTTP level: which headers each answer carries for an Origin, refusals and
//! 429s included, and the preflights of the generated `OPTIONS` endpoints. The browser's
//! own view is `cors_browser.rs`.

use crate::support;

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use rstest::rstest;

use support::{Backend, TestServer};

const APP: &str = "https://app.example.com";
const OTHER: &str = "https://evil.example.net";
const WRONG_CODE: &str = r#"{"code":"abababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababab","password":"N3w-Passw0rd!x","passwordConfirmation":"N3w-Passw0rd!x"}"#;

async fn start(backend: Backend, origins: &[&str], credentials: bool) -> Option<TestServer> {
    let origins: Vec<String> = origins.iter().map(|o| (*o).to_owned()).collect();
    TestServer::start_with(backend, move |config| {
        config.cors.allowed_origins = origins;
        config.cors.allow_credentials = credentials;
        config.security.ip_requests_per_window = 2;
    })
    .await
}

/// A request with `Origin: origin` (none when `None`): status, headers, body.
async fn send(
    server: &TestServer,
    method: Method,
    path: &str,
    origin: Option<&str>,
    body: Option<&str>,
) -> (StatusCode, HeaderMap, String) {
    let mut request = reqwest::Client::new().request(method, format!("{}{path}", server.base_url));
    if let Some(origin) = origin {
        request = request
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type");
    }
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_owned());
    }
    let answer = request.send().await.expect("answer");
    let status = answer.status();
    let headers = answer.headers().clone();
    (status, headers, answer.text().await.expect("body"))
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(|v| v.to_str().expect("ASCII header"))
}

fn cors_headers(headers: &HeaderMap) -> Vec<String> {
    headers
        .keys()
        .map(|k| k.as_str().to_owned())
        .filter(|k| k.starts_with("access-control-"))
        .collect()
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn without_allowed_origins_no_answer_carries_cors_headers(#[case] backend: Backend) {
    let Some(server) = start(backend, &[], false).await else {
        return;
    };
    let forgot = r#"{"email":"nobody@example.com"}"#;
    let (status, headers, _) = send(
        &server,
        Method::POST,
        "/api/auth/forgot-password",
        Some(APP),
        Some(forgot),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(cors_headers(&headers).is_empty(), "{headers:?}");
    assert_eq!(header(&headers, "vary"), None);
    let (status, headers, _) = send(
        &server,
        Method::OPTIONS,
        "/api/auth/forgot-password",
        Some(APP),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(cors_headers(&headers).is_empty(), "{headers:?}");
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn an_allowed_origin_gets_its_preflight_and_every_answer_names_it(#[case] backend: Backend) {
    let Some(server) = start(backend, &[APP], false).await else {
        return;
    };
    // Preflights list each path's own methods.
    for (path, methods) in [
        ("/api/auth/forgot-password", "POST"),
        ("/auth/reset-password", "POST"),
        ("/v1/login", "POST"),
        ("/admin/users/some-id", "GET, DELETE, PATCH"),
        ("/api/v4/user/reset/some-id", "PATCH"),
        ("/api/v2/account/verify/validation_code/", "POST"),
    ] {
        let (status, headers, body) = send(&server, Method::OPTIONS, path, Some(APP), None).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{path}");
        assert!(body.is_empty());
        assert_eq!(
            header(&headers, "access-control-allow-origin"),
            Some(APP),
            "{path}"
        );
        assert_eq!(
            header(&headers, "access-control-allow-methods"),
            Some(methods),
            "{path}"
        );
        let allowed = header(&headers, "access-control-allow-headers").expect("allow-headers");
        assert!(allowed.contains("content-type") && allowed.contains("authorization"));
        assert_eq!(header(&headers, "access-control-max-age"), Some("600"));
        assert_eq!(header(&headers, "access-control-allow-credentials"), None);
        assert_eq!(header(&headers, "vary"), Some("origin"));
    }

    // A success, a refusal in the dialect's own shape, and a 429 all name the origin.
    let forgot = r#"{"email":"nobody@example.com"}"#;
    let (status, headers, body) = send(
        &server,
        Method::POST,
        "/api/auth/forgot-password",
        Some(APP),
        Some(forgot),
    )
    .await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, r#"{"ok":true}"#));
    assert_eq!(header(&headers, "access-control-allow-origin"), Some(APP));
    assert_eq!(header(&headers, "vary"), Some("origin"));
    let exposed = header(&headers, "access-control-expose-headers").expect("expose");
    assert!(exposed.contains("retry-after"), "{exposed}");

    let (status, headers, body) = send(
        &server,
        Method::POST,
        "/api/auth/reset-password",
        Some(APP),
        Some(WRONG_CODE),
    )
    .await;
    let (plain_status, _, plain_body) = send(
        &server,
        Method::POST,
        "/api/auth/reset-password",
        None,
        Some(WRONG_CODE),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        (status, &body),
        (plain_status, &plain_body),
        "the refusal is unchanged"
    );
    let json: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(json["error"]["message"], "Incorrect code provided");
    assert_eq!(header(&headers, "content-type"), Some("application/json"));
    assert_eq!(header(&headers, "access-control-allow-origin"), Some(APP));

    // The per-IP limit is 2 reset requests: one more reaches it.
    let mut refused = None;
    for _ in 0..3 {
        let (status, headers, _) = send(
            &server,
            Method::POST,
            "/api/auth/forgot-password",
            Some(APP),
            Some(forgot),
        )
        .await;
        if status != StatusCode::OK {
            refused = Some((status, headers));
            break;
        }
    }
    let (status, headers) = refused.expect("the per-IP limit is reached");
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(header(&headers, "retry-after").is_some());
    assert_eq!(header(&headers, "access-control-allow-origin"), Some(APP));

    // /v1 routes too.
    let login = r#"{"email":"nobody@example.com","password":"wrong-password-1"}"#;
    let (status, headers, _) =
        send(&server, Method::POST, "/v1/login", Some(APP), Some(login)).await;
    assert!(status.is_client_error(), "{status}");
    assert_eq!(header(&headers, "access-control-allow-origin"), Some(APP));
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn another_origin_is_refused_its_preflight_and_named_nowhere(#[case] backend: Backend) {
    let Some(server) = start(backend, &[APP], false).await else {
        return;
    };
    let (status, headers, _) = send(
        &server,
        Method::OPTIONS,
        "/api/auth/forgot-password",
        Some(OTHER),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(cors_headers(&headers).is_empty(), "{headers:?}");
    // A preflight without Origin is no CORS request at all.
    let (status, _, _) = send(&server, Method::OPTIONS, "/v1/login", None, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let forgot = r#"{"email":"nobody@example.com"}"#;
    let (status, headers, _) = send(
        &server,
        Method::POST,
        "/api/auth/forgot-password",
        Some(OTHER),
        Some(forgot),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(cors_headers(&headers).is_empty(), "{headers:?}");
    // Caches must still keep the answers for different origins apart.
    assert_eq!(header(&headers, "vary"), Some("origin"));
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn a_wildcard_allows_any_origin_never_with_credentials(#[case] backend: Backend) {
    let Some(server) = start(backend, &["*"], false).await else {
        return;
    };
    for origin in [APP, OTHER] {
        let (status, headers, _) = send(
            &server,
            Method::OPTIONS,
            "/v1/introspect",
            Some(origin),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_eq!(header(&headers, "access-control-allow-origin"), Some("*"));
        assert_eq!(header(&headers, "access-control-allow-credentials"), None);
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn credentials_are_allowed_only_to_named_origins_when_configured(#[case] backend: Backend) {
    let Some(server) = start(backend, &[APP], true).await else {
        return;
    };
    let (_, headers, _) = send(
        &server,
        Method::OPTIONS,
        "/auth/forgot-password",
        Some(APP),
        None,
    )
    .await;
    assert_eq!(header(&headers, "access-control-allow-origin"), Some(APP));
    assert_eq!(
        header(&headers, "access-control-allow-credentials"),
        Some("true")
    );
    let forgot = r#"{"email":"nobody@example.com"}"#;
    let (_, headers, _) = send(
        &server,
        Method::POST,
        "/auth/forgot-password",
        Some(APP),
        Some(forgot),
    )
    .await;
    assert_eq!(
        header(&headers, "access-control-allow-credentials"),
        Some("true")
    );
}

//! SECURITY.md item 18: malformed JSON, wrong types, missing fields, oversized or deeply
//! nested bodies, odd Unicode and absurd lengths at every operation get a clear 4xx (or the
//! envelope dialects' HTTP 200 error envelope), never a 5xx, never a panic, and write
//! nothing to the store.
//!
//! Property tests: `PROPTEST_CASES` sets the cases per property (default 64; CI's long run
//! sets more).

use crate::support;

use std::sync::OnceLock;

use proptest::prelude::*;
use reqwest::Method;
use resetd::store::{OutboxStatus, Store};
use serde_json::{json, Value};
use support::{Backend, TestServer};

/// Every operation of the merged spec, with the fields its body has.
const OPERATIONS: &[(&str, &str, &[&str])] = &[
    (
        "POST",
        "/api/user/send_email_vcode",
        &["email", "user_tag", "captcha", "captcha_id"],
    ),
    (
        "POST",
        "/api/user/reset_password",
        &["email", "password", "user_tag", "vcode"],
    ),
    ("GET", "/api/user/captcha", &[]),
    ("POST", "/auth/forgot-password", &["email"]),
    (
        "POST",
        "/auth/reset-password",
        &["code", "password", "passwordConfirmation"],
    ),
    ("POST", "/user/reset", &["email", "captcha", "ticket"]),
    ("PATCH", "/user/reset/{id}", &["password", "secret"]),
    ("GET", "/site/captcha", &[]),
    ("POST", "/api/v2/account/recover/", &["email"]),
    (
        "POST",
        "/api/v2/account/reset/",
        &["validation_code", "password"],
    ),
    ("GET", "/healthz", &[]),
    ("GET", "/readyz", &[]),
    (
        "POST",
        "/v1/login",
        &["email", "password", "client_id", "scope"],
    ),
    ("POST", "/v1/introspect", &["token"]),
    (
        "POST",
        "/admin/users",
        &["email", "password", "nickname", "status", "language"],
    ),
    ("GET", "/admin/users/{id}", &[]),
    ("PATCH", "/admin/users/{id}", &["status", "nickname"]),
    ("POST", "/admin/users/{id}/recovery", &["dialect"]),
];

const EMAIL: &str = "fixed@example.com";
const PASSWORD: &str = "a-fixed-password-1";

/// One server per test binary, shared by every case (started on its own runtime thread so
/// proptest's synchronous cases can reach it).
struct Shared {
    runtime: tokio::runtime::Runtime,
    server: TestServer,
    http: reqwest::Client,
    password_hash: String,
}

fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let (server, password_hash) = runtime.block_on(async {
            let server = TestServer::start_with(Backend::Sqlite, |c| {
                // Hundreds of requests from one address: limits would answer 429 early
                // and hide the parsing under test.
                c.security.rate_limits = resetd::config::Switch::Off;
            })
            .await
            .expect("SQLite is always available");
            server.create_user(EMAIL, PASSWORD).await;
            let hash = stored_hash(&server.store().await).await;
            (server, hash)
        });
        Shared {
            runtime,
            server,
            http: reqwest::Client::new(),
            password_hash,
        }
    })
}

async fn stored_hash(store: &Store) -> String {
    store
        .user_by_email(EMAIL)
        .await
        .expect("lookup")
        .and_then(|u| u.password_hash)
        .expect("the account has a password")
}

/// Sends one request and checks the answer; returns a description on failure.
fn check(
    method: &str,
    path: &str,
    body: Vec<u8>,
    content_type: Option<&str>,
) -> Result<(), String> {
    let s = shared();
    s.runtime.block_on(async {
        let url = format!(
            "{}{}",
            s.server.base_url,
            path.replace("{id}", "no-such-id")
        );
        let method = Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
        // Each protected endpoint with its own token, so the bad input reaches its handler.
        let token = match path {
            "/v1/introspect" => support::INTROSPECTION_TOKEN,
            _ => support::ADMIN_TOKEN,
        };
        let mut request = s
            .http
            .request(method, &url)
            .header("authorization", format!("Bearer {token}"))
            .body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let response = request
            .send()
            .await
            .map_err(|e| format!("{path}: no answer: {e}"))?;
        let status = response.status();
        let text = response.text().await.map_err(|e| e.to_string())?;
        if status.is_server_error() {
            return Err(format!("{path}: {status}: {text}"));
        }
        if !status.is_success() || text.starts_with('{') {
            serde_json::from_str::<Value>(&text)
                .map_err(|_| format!("{path}: {status}: the answer is not JSON: {text:.200}"))?;
        }
        Ok(())
    })
}

/// Nothing the cases sent may have changed an account, queued mail or started a reset.
fn nothing_written() {
    let s = shared();
    s.runtime.block_on(async {
        let store = s.server.store().await;
        assert_eq!(
            stored_hash(&store).await,
            s.password_hash,
            "the password changed"
        );
        for status in [
            OutboxStatus::Pending,
            OutboxStatus::Sending,
            OutboxStatus::Sent,
        ] {
            assert_eq!(
                store.count_outbox(status).await.expect("count"),
                0,
                "mail was queued"
            );
        }
        let audit = store.list_audit(1000).await.expect("audit");
        assert!(
            audit.iter().all(|e| e.kind.as_str() == "redemption_failed"),
            "only failed redemptions may be recorded: {audit:?}"
        );
    });
}

fn operation() -> impl Strategy<Value = (&'static str, &'static str, &'static [&'static str])> {
    proptest::sample::select(OPERATIONS)
}

/// Any JSON value, nested a little.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        odd_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(odd_string(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Strings a client should not send: control characters, combining marks, bidi controls,
/// astral planes, very long runs.
fn odd_string() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[\\x00-\\x1f\\u{202e}\\u{200b}\\u{0301}\\u{1F600}a-z@.]{0,40}",
        (1usize..5000).prop_map(|n| "é".repeat(n)),
        Just(String::new()),
    ]
}

fn cases() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(cases())]

    #[test]
    fn security_18_arbitrary_bytes(
        (method, path, _) in operation(),
        body in prop::collection::vec(any::<u8>(), 0..2048),
        json_type in any::<bool>(),
    ) {
        let content_type = json_type.then_some("application/json");
        prop_assert_eq!(check(method, path, body, content_type), Ok(()));
    }

    #[test]
    fn security_18_any_json_value(
        (method, path, _) in operation(),
        value in json_value(),
    ) {
        let body = serde_json::to_vec(&value).expect("serializable");
        prop_assert_eq!(check(method, path, body, Some("application/json")), Ok(()));
    }

    #[test]
    fn security_18_right_fields_wrong_values(
        (method, path, fields) in operation(),
        values in prop::collection::vec(json_value(), 8),
        keep in prop::collection::vec(any::<bool>(), 8),
    ) {
        let body: serde_json::Map<String, Value> = fields
            .iter()
            .zip(values)
            .zip(keep)
            .filter(|(_, keep)| *keep)
            .map(|((field, value), _)| ((*field).to_owned(), value))
            .collect();
        let body = serde_json::to_vec(&body).expect("serializable");
        prop_assert_eq!(check(method, path, body, Some("application/json")), Ok(()));
    }

    #[test]
    fn security_18_deep_and_huge_bodies(
        (method, path, _) in operation(),
        depth in 1usize..20_000,
        huge in 16_385usize..300_000,
        which in 0u8..3,
    ) {
        let body = match which {
            0 => format!("{}{}", "[".repeat(depth), "]".repeat(depth)).into_bytes(),
            1 => format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth)).into_bytes(),
            _ => format!("{{\"email\":\"{}\"}}", "a".repeat(huge)).into_bytes(),
        };
        prop_assert_eq!(check(method, path, body, Some("application/json")), Ok(()));
    }
}

/// Fixed samples of each kind at every operation (the real account's email only ever with
/// a wrong type, so no sample is a valid request), then the store is checked.
#[test]
fn security_18_bad_input_writes_nothing() {
    let samples: [&[u8]; 6] = [
        b"{not json",
        b"[]",
        br#"{"email": 12}"#,
        br#"{"email": ["fixed@example.com"], "password": 123, "user_tag": "ipcola", "vcode": null}"#,
        br#"{"password": "x", "secret": "y"}"#,
        br#"{"code": "zz", "password": "p", "passwordConfirmation": "p"}"#,
    ];
    for (method, path, _) in OPERATIONS {
        for body in samples {
            assert_eq!(
                check(method, path, body.to_vec(), Some("application/json")),
                Ok(())
            );
        }
    }
    nothing_written();
}

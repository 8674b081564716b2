//! Webhooks end to end (issue 17), on both backends: the events of a reset and of the admin
//! API reach a receiver signed per Standard Webhooks, checked by the `standardwebhooks` npm
//! package (a rotated secret, a wrong one, a tampered body, a stale timestamp); the new
//! password in each product's format, checked the way the product checks it (bcryptjs for
//! Strapi and Cloudreve's published algorithm in node; Python's `bcrypt`, Django's own
//! `check_password` and Cloudreve's algorithm in Python, `tests/python`; argon2id by resetd's
//! own verifier); per-account order; no event for an unknown email; a receiver that is down
//! and comes back gets everything; `resetd webhook list/retry`.
//!
//! The node part needs node and `tests/clients/node_modules` (`npm ci`), the Python part the
//! venv `target/test-python` (see `tests/python/requirements.txt`); without them the test
//! says it skipped that part, unless `RESETD_TEST_REQUIRE_CLIENTS=1` /
//! `RESETD_TEST_REQUIRE_PYTHON=1` (see `support::verifiers`).

use crate::support;

use std::time::Duration;

use base64::Engine as _;
use resetd::config::{Config, ProductHashFormat, Secret, WebhookConfig, WebhookEventName};
use resetd::store::WebhookStatus;
use rstest::rstest;
use serde_json::{json, Value};

use support::dialects::{assert_accepted, assert_redeemed, emailed_secret, redeem_with};
use support::dialects::{request_reset, Dialect};
use support::verifiers;
use support::webhook_receiver::{Received, Receiver};
use support::{Backend, TestServer};

const WAIT: Duration = Duration::from_secs(60);
const NEW_PASSWORD: &str = "Tr0ub4dor-and-3";
const BIN: &str = env!("CARGO_BIN_EXE_resetd");

/// `whsec_` + base64 of 32 bytes of `fill`.
fn secret(fill: u8) -> String {
    let key = base64::engine::general_purpose::STANDARD.encode([fill; 32]);
    format!("whsec_{key}")
}

fn endpoint(url: String, format: Option<ProductHashFormat>) -> WebhookConfig {
    WebhookConfig {
        url: url.parse().expect("url"),
        // The old secret and the new one, as during a rotation.
        secret: vec![Secret::new(secret(1)), Secret::new(secret(2))],
        events: WebhookEventName::ALL.to_vec(),
        password_hash: format,
    }
}

fn quick_retries(config: &mut Config) {
    config.webhook_delivery.base_delay_ms = 50;
    config.webhook_delivery.max_delay_ms = 300;
    config.webhook_delivery.poll_interval_ms = 50;
    config.webhook_delivery.max_attempts = 100;
}

/// Each webhook-id once, in the order first received.
fn first_receipts(received: &[Received]) -> Vec<Received> {
    let mut seen = std::collections::HashSet::new();
    received
        .iter()
        .filter(|r| seen.insert(r.webhook_id().to_owned()))
        .cloned()
        .collect()
}

fn types(received: &[Received]) -> Vec<String> {
    received
        .iter()
        .map(|r| r.json()["type"].as_str().unwrap_or("?").to_owned())
        .collect()
}

const FORMATS: [(&str, ProductHashFormat); 4] = [
    ("/bcrypt", ProductHashFormat::Bcrypt),
    ("/django", ProductHashFormat::DjangoPbkdf2Sha256),
    ("/cloudreve", ProductHashFormat::CloudreveV4),
    ("/argon2id", ProductHashFormat::Argon2id),
];

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn a_reset_reaches_the_product_signed_in_order_with_its_own_hash(#[case] backend: Backend) {
    let receiver = Receiver::start().await;
    let Some(server) = TestServer::start_with(backend, |config| {
        config.webhooks = FORMATS
            .iter()
            .map(|(path, format)| endpoint(receiver.url(path), Some(*format)))
            .collect();
        quick_retries(config);
    })
    .await
    else {
        return;
    };
    let email = "ann@example.test";
    let user = server.create_user(email, "first-password-1").await;
    let unknown = request_reset(&server, Dialect::Strapi, "nobody@example.test", None).await;
    assert_accepted(Dialect::Strapi, &unknown);
    let code = emailed_secret(&server, Dialect::Strapi, email).await;
    let answer = redeem_with(
        &server,
        Dialect::Strapi,
        (email, &user.id),
        &code,
        NEW_PASSWORD,
        None,
    );
    assert_redeemed(Dialect::Strapi, &answer.await);
    server
        .set_status(&user.id, resetd_client::types::ResetdUserStatus::Inactive)
        .await;

    let expected = [
        "user.created",
        "password.reset_requested",
        "password.reset_completed",
        "password.changed",
        "user.updated",
    ];
    let received = receiver
        .wait_for(WAIT, |r| {
            first_receipts(r).len() >= expected.len() * FORMATS.len()
        })
        .await;
    let mut hashes = Vec::new();
    for (path, format) in FORMATS {
        let mine: Vec<Received> = first_receipts(&received)
            .into_iter()
            .filter(|r| r.path == path)
            .collect();
        assert_eq!(types(&mine), expected, "{path}: in the order they happened");
        for delivery in &mine {
            let body = delivery.json();
            assert_eq!(body["data"]["id"], user.id.as_str());
            assert_eq!(body["data"]["email"], email);
            assert!(body["data"].get("external_id").is_some(), "{body}");
            let carries =
                body["type"] == "password.reset_completed" || body["type"] == "password.changed";
            let hash = body["data"].get("password_hash").and_then(Value::as_str);
            assert_eq!(hash.is_some(), carries, "{path}: {}", body["type"]);
            if let Some(hash) = hash {
                hashes.push((format, hash.to_owned()));
            }
        }
    }
    // Nothing about the unknown email, anywhere.
    assert!(received
        .iter()
        .all(|r| !String::from_utf8_lossy(&r.body).contains("nobody@")));

    // argon2id: resetd's own PHC verifier (what a product on argon2id runs).
    for (format, hash) in &hashes {
        if *format == ProductHashFormat::Argon2id {
            let stored = resetd::security::stored_hash::StoredHash::parse(hash).expect("PHC");
            assert!(stored.verify(NEW_PASSWORD) && !stored.verify("wrong"));
        }
    }
    let bcrypt_deliveries: Vec<Received> = first_receipts(&received)
        .into_iter()
        .filter(|r| r.path == "/bcrypt")
        .collect();
    verify_in_node(&bcrypt_deliveries, &hashes);
    verify_in_python(&hashes);
    list_and_check_the_cli(&server, expected.len() * FORMATS.len(), &hashes).await;
    server.stop().await;
}

/// The hashes in the products' formats as the verifiers read them: `{format, password, hash}`
/// for the formats in `formats`.
fn hash_items(hashes: &[(ProductHashFormat, String)], formats: &[ProductHashFormat]) -> Vec<Value> {
    hashes
        .iter()
        .filter(|(f, _)| formats.contains(f))
        .map(|(f, h)| {
            json!({
                "format": serde_json::to_value(f).expect("format"),
                "password": NEW_PASSWORD,
                "hash": h,
            })
        })
        .collect()
}

/// Each checked hash verifies with the new password and not with a wrong one.
fn assert_right_not_wrong(checked: &[Value]) {
    for h in checked {
        assert_eq!(
            (&h["right"], &h["wrong"]),
            (&json!(true), &json!(false)),
            "{h}"
        );
    }
}

/// The signatures, bcrypt and Cloudreve, judged by node's libraries (`standardwebhooks`, and
/// `bcryptjs`, Strapi's own).
fn verify_in_node(deliveries: &[Received], hashes: &[(ProductHashFormat, String)]) {
    let Some(node) = verifiers::node("the node checks") else {
        return;
    };
    let input = json!({
        "secrets": [secret(1), secret(2)],
        "wrong_secret": secret(3),
        "deliveries": deliveries.iter().map(|d| json!({
            "id": d.webhook_id(),
            "timestamp": d.header("webhook-timestamp"),
            "signature": d.header("webhook-signature"),
            "body": String::from_utf8_lossy(&d.body),
        })).collect::<Vec<_>>(),
        "hashes": hash_items(hashes, &[ProductHashFormat::Bcrypt, ProductHashFormat::CloudreveV4]),
    });
    let result = node.run_json("verify-webhooks.mjs", &input);
    let signatures = result["signatures"].as_array().expect("signatures");
    assert_eq!(signatures.len(), deliveries.len());
    for s in signatures {
        assert_eq!(
            s["each"],
            json!([true, true]),
            "each secret of the rotation: {s}"
        );
        assert_eq!(s["wrong"], false, "{s}");
        assert_eq!(s["tampered"], false, "{s}");
        assert_eq!(s["stale"], false, "{s}");
    }
    let checked = result["hashes"].as_array().expect("hashes");
    // bcrypt and Cloudreve, on both events that carry the password.
    assert_eq!(checked.len(), 4, "{result}");
    assert_right_not_wrong(checked);
}

/// The hashes judged by the products' own verifiers in Python: `bcrypt.checkpw`, Django's
/// `check_password` (which must not want to rehash it: Django's current iterations) and
/// Cloudreve v4's algorithm.
fn verify_in_python(hashes: &[(ProductHashFormat, String)]) {
    let Some(python) = verifiers::python("the Python checks") else {
        return;
    };
    let formats = [
        ProductHashFormat::Bcrypt,
        ProductHashFormat::DjangoPbkdf2Sha256,
        ProductHashFormat::CloudreveV4,
    ];
    let result = python.run_json(
        "verify_product_hashes.py",
        &Value::Array(hash_items(hashes, &formats)),
    );
    let checked = result.as_array().expect("a list");
    // bcrypt, Django and Cloudreve, on both events that carry the password.
    let mut seen: Vec<&str> = checked
        .iter()
        .map(|h| h["format"].as_str().expect("format"))
        .collect();
    seen.sort_unstable();
    assert_eq!(
        seen,
        [
            "bcrypt",
            "bcrypt",
            "cloudreve_v4",
            "cloudreve_v4",
            "django_pbkdf2_sha256",
            "django_pbkdf2_sha256"
        ],
        "{result}"
    );
    assert_right_not_wrong(checked);
    for h in checked
        .iter()
        .filter(|h| h["format"] == "django_pbkdf2_sha256")
    {
        assert_eq!(h["must_update"], false, "Django would rehash it: {h}");
    }
}

/// `resetd webhook list` shows every delivery delivered, and no hash.
async fn list_and_check_the_cli(
    server: &TestServer,
    count: usize,
    hashes: &[(ProductHashFormat, String)],
) {
    let out = resetd_cli(server, &["webhook", "list", "--status", "delivered"]);
    assert_eq!(out.lines().count(), count, "{out}");
    for (_, hash) in hashes {
        assert!(!out.contains(hash.as_str()));
    }
    let store = server.store().await;
    for row in store.list_webhooks(None).await.expect("list") {
        assert_eq!(row.status, WebhookStatus::Delivered);
        assert_eq!(row.password_hash, None, "cleared once delivered");
    }
}

fn resetd_cli(server: &TestServer, args: &[&str]) -> String {
    let output = std::process::Command::new(BIN)
        .args(args)
        .env("RESETD_DATABASE_URL", &server.config.database_url)
        .env(
            "RESETD_SECRET",
            server.config.secret.as_ref().expect("secret").expose(),
        )
        .env("RESETD_LOG", "error")
        .output()
        .expect("resetd runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn a_receiver_down_then_up_gets_every_event_in_order(#[case] backend: Backend) {
    let port = Receiver::free_port().await;
    let url = format!("http://127.0.0.1:{port}/hook");
    let Some(server) = TestServer::start_with(backend, |config| {
        config.webhooks = vec![endpoint(url, None)];
        quick_retries(config);
    })
    .await
    else {
        return;
    };
    let mut users = Vec::new();
    for n in 0..3 {
        let user = server
            .create_user(&format!("u{n}@example.test"), "first-password-1")
            .await;
        server
            .set_status(&user.id, resetd_client::types::ResetdUserStatus::Banned)
            .await;
        users.push(user);
    }
    // Nobody listens: the deliveries fail and are retried.
    let store = server.store().await;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let rows = store.list_webhooks(None).await.expect("list");
        if rows.iter().any(|r| r.attempts >= 2) {
            assert!(rows.iter().all(|r| r.status != WebhookStatus::Delivered));
            assert!(rows.iter().any(|r| r.last_error.is_some()));
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no retry seen");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let receiver = Receiver::start_on(port).await;
    let received = receiver
        .wait_for(WAIT, |r| first_receipts(r).len() >= 6)
        .await;
    for user in &users {
        let mine: Vec<Received> = first_receipts(&received)
            .into_iter()
            .filter(|r| r.json()["data"]["id"] == user.id.as_str())
            .collect();
        assert_eq!(types(&mine), ["user.created", "user.updated"]);
    }
    server.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn dead_deliveries_are_retried_by_the_cli(#[case] backend: Backend) {
    let receiver = Receiver::start().await;
    receiver.set_failing(true);
    let Some(server) = TestServer::start_with(backend, |config| {
        config.webhooks = vec![endpoint(receiver.url("/hook"), None)];
        quick_retries(config);
        config.webhook_delivery.max_attempts = 2;
    })
    .await
    else {
        return;
    };
    server
        .create_user("dee@example.test", "first-password-1")
        .await;
    let store = server.store().await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while store
        .count_webhooks(WebhookStatus::Dead)
        .await
        .expect("count")
        == 0
    {
        assert!(tokio::time::Instant::now() < deadline, "never dead");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let dead = resetd_cli(&server, &["webhook", "list", "--status", "dead"]);
    assert!(
        dead.contains("HTTP 503") && dead.contains("attempts=2"),
        "{dead}"
    );
    receiver.set_failing(false);
    let out = resetd_cli(&server, &["webhook", "retry", "--all"]);
    assert!(out.contains("1 dead webhook deliveries queued"), "{out}");
    let received = receiver.wait_for(WAIT, |r| !r.is_empty()).await;
    assert_eq!(types(&received), ["user.created"]);
    server.stop().await;
}

//! The log as an operator's collector sees it: the real `resetd serve` with
//! `RESETD_LOG_FORMAT=json`, its stderr read line by line. Every line is one JSON object;
//! every request is logged exactly once, with its method, route template, operation, status,
//! latency and the request id its response carried in `x-request-id`; what a handler logs
//! carries the same id; no query string, concrete path or request body gets in.

use crate::support;

use std::collections::BTreeMap;
use std::time::Duration;

use rstest::rstest;
use serde_json::{json, Value};

use support::process::ResetdProcess;
use support::{postgres, Backend, PgDatabase, SmtpSink, ADMIN_TOKEN, MAIL_WAIT, PUBLIC_BASE_URL};

const BIN: &str = env!("CARGO_BIN_EXE_resetd");
const SECRET: &str = "logging-test-secret-0123456789abcdef";
const EMAIL: &str = "logged@example.com";
const NEW_PASSWORD: &str = "new-Password-2";
/// Sent where it must not be logged: in a query string, and as a mistyped password.
const QUERY_SECRET: &str = "query-secret-5f3a9c";
const MISTYPED_PASSWORD: i64 = 13_572_468;
const LINK_PREFIX: &str = "https://accounts.example.test/session/reset?";

/// What the test knows of one request it sent.
#[derive(Debug)]
struct Sent {
    method: &'static str,
    /// The route template, `None` where no route matches.
    route: Option<&'static str>,
    operation: &'static str,
    status: u16,
    request_id: String,
}

struct Client {
    http: reqwest::Client,
    base_url: String,
    sent: Vec<Sent>,
}

impl Client {
    /// Sends a request and records what its log line must say.
    async fn send(
        &mut self,
        method: &'static str,
        path: &str,
        body: Option<Value>,
        expect: (Option<&'static str>, &'static str, u16),
    ) -> Value {
        let (route, operation, status) = expect;
        let mut request = self
            .http
            .request(
                method.parse().expect("method"),
                format!("{}{path}", self.base_url),
            )
            .bearer_auth(ADMIN_TOKEN);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request sent");
        assert_eq!(response.status().as_u16(), status, "{method} {path}");
        let request_id = response
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("{method} {path}: no x-request-id"))
            .to_owned();
        self.sent.push(Sent {
            method,
            route,
            operation,
            status,
            request_id,
        });
        let text = response.text().await.expect("body");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn json_logs_have_one_line_per_request_with_its_id(#[case] backend: Backend) {
    let dir = tempfile::tempdir().expect("temp dir");
    let pg = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => {
            let Some(admin) = postgres::admin_url() else {
                return;
            };
            Some(PgDatabase::create(&admin).await)
        }
    };
    let database_url = match &pg {
        Some(db) => db.url.clone(),
        None => format!("sqlite://{}", dir.path().join("resetd.db").display()),
    };
    let config_file = dir.path().join("resetd.toml");
    std::fs::write(
        &config_file,
        "[argon2]\nmemory_kib = 1024\niterations = 1\n\n[outbox]\npoll_interval_ms = 100\n",
    )
    .expect("write the config file");
    let sink = SmtpSink::start().await;
    let env: Vec<(String, String)> = [
        ("RESETD_BIND", "127.0.0.1:0"),
        ("RESETD_DATABASE_URL", database_url.as_str()),
        ("RESETD_MAIL_URL", sink.url().as_str()),
        ("RESETD_PUBLIC_BASE_URL", PUBLIC_BASE_URL),
        ("RESETD_SECRET", SECRET),
        ("RESETD_ADMIN_TOKEN", ADMIN_TOKEN),
        ("RESETD_LOG_FORMAT", "json"),
        ("RESETD_LOG", "info"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let mut server = ResetdProcess::start(BIN.as_ref(), Some(&config_file), &env).await;
    let mut client = Client {
        http: reqwest::Client::new(),
        base_url: server.base_url.clone(),
        sent: Vec::new(),
    };

    client
        .send(
            "GET",
            &format!("/healthz?secret={QUERY_SECRET}"),
            None,
            (Some("/healthz"), "resetd_healthz", 200),
        )
        .await;
    let user = client
        .send(
            "POST",
            "/admin/users",
            Some(json!({ "email": EMAIL, "password": "old-Password-1" })),
            (Some("/admin/users"), "resetd_admin_create_user", 201),
        )
        .await;
    let user_id = user["id"].as_str().expect("user id").to_owned();
    client
        .send(
            "POST",
            "/user/reset",
            Some(json!({ "email": EMAIL })),
            (Some("/user/reset"), "cloudreve_send_reset_email", 200),
        )
        .await;
    let mails = sink.wait_for(1, MAIL_WAIT).await;
    let link = mails[0].find_link(LINK_PREFIX).expect("a reset link");
    let link_secret = url::Url::parse(&link)
        .expect("link")
        .query_pairs()
        .find(|(k, _)| k == "secret")
        .map(|(_, v)| v.into_owned())
        .expect("secret");
    let reset_path = format!("/user/reset/{user_id}");
    let answer = client
        .send(
            "PATCH",
            &reset_path,
            Some(json!({ "password": NEW_PASSWORD, "secret": link_secret })),
            (
                Some("/user/reset/{user_id}"),
                "cloudreve_reset_password",
                200,
            ),
        )
        .await;
    assert_eq!(answer["code"], 0, "{answer}");
    let reset_request_id = client.sent.last().expect("sent").request_id.clone();
    // Refused by dropshot before any handler: a body of the wrong shape, an unknown path, a
    // method the path does not have.
    client
        .send(
            "POST",
            "/auth/reset-password",
            Some(json!({
                "code": "0".repeat(128),
                "password": MISTYPED_PASSWORD,
                "passwordConfirmation": MISTYPED_PASSWORD,
            })),
            (Some("/auth/reset-password"), "strapi_reset_password", 400),
        )
        .await;
    client
        .send(
            "GET",
            &format!("/no/such/route?secret={QUERY_SECRET}"),
            None,
            (None, "unmatched", 404),
        )
        .await;
    client
        .send("DELETE", "/user/reset", None, (None, "unmatched", 405))
        .await;
    let _ = sink.wait_for(2, MAIL_WAIT).await;

    server.sigterm();
    let status = server.wait_exit(Duration::from_secs(20)).await;
    assert_eq!(status.code(), Some(0), "exit status {status}");

    // Every line is one JSON object with the basics.
    let lines = server.log_lines();
    assert!(!lines.is_empty());
    let records: Vec<Value> = lines
        .iter()
        .map(|line| {
            let record: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
            assert!(record.is_object(), "not an object: {line}");
            for field in ["timestamp", "level", "target"] {
                assert!(record[field].is_string(), "no {field}: {line}");
            }
            record
        })
        .collect();

    // Each request exactly once, as sent; nothing else logged as a request (dropshot's own
    // record would read `request completed remote_addr=...`).
    let request_lines: Vec<&Value> = records
        .iter()
        .filter(|r| {
            r["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("request completed"))
        })
        .collect();
    let mut by_id: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
    for line in &request_lines {
        assert_eq!(line["message"], "request completed", "{line}");
        assert_eq!(line["target"], "resetd::http", "{line}");
        assert_eq!(line["level"], "INFO", "{line}");
        let id = line["span"]["request_id"]
            .as_str()
            .unwrap_or_else(|| panic!("request line without span.request_id: {line}"));
        by_id.entry(id).or_default().push(line);
    }
    assert_eq!(
        request_lines.len(),
        client.sent.len(),
        "one line per request: {request_lines:#?}"
    );
    for sent in &client.sent {
        let lines = by_id
            .get(sent.request_id.as_str())
            .unwrap_or_else(|| panic!("{sent:?} was not logged"));
        assert_eq!(lines.len(), 1, "{sent:?} logged {} times", lines.len());
        let line = lines[0];
        assert_eq!(line["method"], sent.method, "{line}");
        assert_eq!(line["status"], sent.status, "{line}");
        assert_eq!(line["operation"], sent.operation, "{line}");
        match sent.route {
            Some(route) => assert_eq!(line["route"], route, "{line}"),
            None => assert!(line.get("route").is_none(), "{line}"),
        }
        let latency = line["latency_ms"]
            .as_f64()
            .unwrap_or_else(|| panic!("latency_ms is not a number: {line}"));
        assert!((0.0..60_000.0).contains(&latency), "{line}");
    }

    // What the handler logged carries its request's id.
    let completed: Vec<&Value> = records
        .iter()
        .filter(|r| r["message"] == "password reset completed")
        .collect();
    assert_eq!(completed.len(), 1, "{completed:?}");
    assert_eq!(
        completed[0]["span"]["request_id"],
        reset_request_id.as_str()
    );
    // Work outside any request carries none.
    let listening = records
        .iter()
        .find(|r| r["message"] == "resetd listening")
        .expect("the listening line");
    assert!(listening.get("span").is_none(), "{listening}");

    let log = lines.join("\n");
    for (what, secret) in [
        ("a query-string secret", QUERY_SECRET.to_owned()),
        ("a reset link's secret", link_secret),
        ("a concrete path", reset_path),
        ("a mistyped password", MISTYPED_PASSWORD.to_string()),
        ("a new password", NEW_PASSWORD.to_owned()),
    ] {
        assert!(!log.contains(&secret), "{what} is in the log");
    }

    drop(server);
    if let Some(db) = pg {
        db.drop_database().await;
    }
}

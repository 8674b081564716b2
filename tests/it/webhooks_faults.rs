//! Webhooks and a crash (issue 17): the real `resetd serve` killed with SIGKILL while it
//! delivers, then started again on the same database, on both backends. Every event is
//! delivered; a duplicate comes only with the `webhook-id` (and body) of the first; one
//! account's events arrive in the order they happened.

use crate::support;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use resetd::store::Store;
use rstest::rstest;
use serde_json::json;

use support::process::ResetdProcess;
use support::webhook_receiver::Receiver;
use support::{postgres, Backend, PgDatabase, SmtpSink, ADMIN_TOKEN, PUBLIC_BASE_URL};

const BIN: &str = env!("CARGO_BIN_EXE_resetd");
const WAIT: Duration = Duration::from_secs(60);
const ACCOUNTS: usize = 20;
/// Each account: created, then changed twice.
const EVENTS: usize = ACCOUNTS * 3;
const KILL_AFTER: usize = 10;

async fn admin(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    body: serde_json::Value,
) -> serde_json::Value {
    let answer = http
        .request(method, url)
        .bearer_auth(ADMIN_TOKEN)
        .json(&body)
        .send()
        .await
        .expect("the admin API answers");
    assert!(answer.status().is_success(), "{}", answer.status());
    answer.json().await.expect("JSON")
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn kill9_mid_delivery_loses_nothing_and_keeps_each_accounts_order(#[case] backend: Backend) {
    let dir = tempfile::tempdir().expect("temp dir");
    let pg = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => match postgres::admin_url() {
            Some(admin_url) => Some(PgDatabase::create(&admin_url).await),
            None => return,
        },
    };
    let db_url = match &pg {
        Some(db) => db.url.clone(),
        None => format!("sqlite://{}", dir.path().join("resetd.db").display()),
    };
    let receiver = Receiver::start().await;
    // Slow enough that the kill comes mid-way.
    receiver.set_delay(Duration::from_millis(40));
    let key = base64::engine::general_purpose::STANDARD.encode([9u8; 32]);
    let config_file = dir.path().join("resetd.toml");
    std::fs::write(
        &config_file,
        format!(
            "[argon2]\nmemory_kib = 1024\niterations = 1\n\n\
             [[webhooks]]\nurl = \"{}\"\nsecret = \"whsec_{key}\"\n\n\
             [webhook_delivery]\nbase_delay_ms = 50\nmax_delay_ms = 200\n\
             poll_interval_ms = 50\nlease_ms = 1000\n",
            receiver.url("/hook")
        ),
    )
    .expect("config file");
    let sink = SmtpSink::start().await;
    let env: Vec<(String, String)> = [
        ("RESETD_BIND", "127.0.0.1:0"),
        ("RESETD_DATABASE_URL", db_url.as_str()),
        ("RESETD_MAIL_URL", sink.url().as_str()),
        ("RESETD_PUBLIC_BASE_URL", PUBLIC_BASE_URL),
        ("RESETD_SECRET", "webhook-faults-secret-0123456789abcdef"),
        ("RESETD_ADMIN_TOKEN", ADMIN_TOKEN),
        ("RESETD_LOG_FORMAT", "json"),
        ("RESETD_LOG", "info"),
        ("RESETD_RATE_LIMITS", "off"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let mut server = ResetdProcess::start(Path::new(BIN), Some(&config_file), &env).await;
    let http = reqwest::Client::new();
    for n in 0..ACCOUNTS {
        let base = &server.base_url;
        let email = format!("k{n}@example.test");
        let user = admin(
            &http,
            reqwest::Method::POST,
            format!("{base}/admin/users"),
            json!({ "email": email }),
        )
        .await;
        let id = user["id"].as_str().expect("id").to_owned();
        for status in ["banned", "active"] {
            let url = format!("{base}/admin/users/{id}");
            admin(
                &http,
                reqwest::Method::PATCH,
                url,
                json!({ "status": status }),
            )
            .await;
        }
    }
    receiver.wait_for(WAIT, |r| r.len() >= KILL_AFTER).await;
    server.kill9();
    let at_kill = receiver.received().len();
    assert!(
        at_kill < EVENTS,
        "the kill came part-way through ({at_kill} delivered)"
    );

    let restarted = ResetdProcess::start(Path::new(BIN), Some(&config_file), &env).await;
    let store = Store::open(&db_url).await.expect("open");
    let rows = store.list_webhooks(None).await.expect("list");
    assert_eq!(rows.len(), EVENTS, "every change queued its event");
    let received = receiver
        .wait_for(WAIT, |r| {
            let ids: std::collections::HashSet<&str> = r.iter().map(|d| d.webhook_id()).collect();
            ids.len() >= EVENTS
        })
        .await;

    // Duplicates only with the first's id and body.
    let mut bodies: HashMap<&str, &[u8]> = HashMap::new();
    let mut first_at: HashMap<&str, usize> = HashMap::new();
    for (at, delivery) in received.iter().enumerate() {
        let id = delivery.webhook_id();
        let body = bodies.entry(id).or_insert(&delivery.body);
        assert_eq!(
            *body,
            delivery.body.as_slice(),
            "a duplicate of {id} differs"
        );
        first_at.entry(id).or_insert(at);
    }
    // None lost, and each account's in the order the store queued them.
    let mut by_account: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
    for row in &rows {
        let at = first_at
            .get(row.webhook_id.as_str())
            .unwrap_or_else(|| panic!("{} was never delivered", row.webhook_id));
        by_account.entry(row.user_id).or_default().push(*at);
    }
    for (account, order) in &by_account {
        assert!(
            order.windows(2).all(|w| w[0] < w[1]),
            "account {account}: {order:?}"
        );
    }
    // Never logged: the secret, a signature, a body.
    let logs = format!("{}\n{}", server.log_text(), restarted.log_text());
    assert!(!logs.contains(&key), "the secret was logged");
    for delivery in &received {
        let signature = delivery.header("webhook-signature").expect("signed");
        let mac = signature.trim_start_matches("v1,");
        assert!(!logs.contains(mac), "a signature was logged");
        assert!(
            !logs.contains(&*String::from_utf8_lossy(&delivery.body)),
            "a body was logged"
        );
    }
    println!(
        "webhooks kill -9 ({backend:?}): {EVENTS} events, {at_kill} received before the kill, \
         {} receipts in all ({} duplicates)",
        received.len(),
        received.len() - EVENTS
    );
    drop(restarted);
    drop(store);
    if let Some(db) = pg {
        db.drop_database().await;
    }
}

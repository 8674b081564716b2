//! The products' published npm clients against a real resetd: `node --test` runs the suite in
//! `tests/clients/` (strapi-sdk-js, strapi-sdk-javascript, @strapi/client,
//! @selfcommunity/api-services, versions pinned in its lockfile) with resetd's URL. The suite
//! reads the codes resetd emails through a small mailbox served here from the SMTP sink.
//!
//! Skipped (saying so) when node or `tests/clients/node_modules` is missing, unless
//! `RESETD_TEST_REQUIRE_CLIENTS=1` (CI, after `npm ci`), which turns the skip into a failure.

use crate::support;

use std::sync::Arc;

use rstest::rstest;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

use support::dialects::{reset_subject, secret_of, Dialect};
use support::{Backend, TestServer, ADMIN_TOKEN, INTROSPECTION_TOKEN};

/// Small per-IP limits so the suite reaches them; every test in it has its own client IP.
const IP_REQUESTS_PER_WINDOW: u32 = 4;
const IP_FAILURES_PER_WINDOW: u32 = 4;
/// The longest window the configuration allows.
const WEEK_SECS: u64 = 7 * 24 * 3_600;

/// The length of the per-IP windows while the suite runs. Limits count in fixed windows
/// (`now - now % window`): with the default minute, a window that ended between a test's
/// requests let the one that should have been refused through (a CI run saw Strapi's SDK's
/// fifth `forgotPassword` answered). So: a week, or a week less one second, whichever ends
/// later from now. The two end some 49 minutes apart (a second for every week since 1970),
/// so the chosen one ends at least 24 minutes from now, and the suite takes a minute or two.
fn window_that_ends_after_the_suite() -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    let left = |window: u64| window - now % window;
    if left(WEEK_SECS) >= left(WEEK_SECS - 1) {
        WEEK_SECS
    } else {
        WEEK_SECS - 1
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn the_products_npm_clients_work_unchanged(#[case] backend: Backend) {
    if support::verifiers::node("the real clients' suite").is_none() {
        return;
    }
    let Some(server) = TestServer::start_with(backend, |config| {
        // The suite's requests come from loopback, naming their own client in
        // X-Forwarded-For, so each test has its own rate-limit budget.
        config.security.trusted_proxies = vec!["127.0.0.1/32".parse().expect("cidr")];
        config.security.ip_requests_per_window = IP_REQUESTS_PER_WINDOW;
        config.security.ip_failed_redemptions_per_window = IP_FAILURES_PER_WINDOW;
        let window = window_that_ends_after_the_suite();
        config.security.ip_window_secs = window;
        config.security.ip_failed_window_secs = window;
    })
    .await
    else {
        return;
    };
    let server = Arc::new(server);
    let mailbox = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("mailbox binds");
    let mailbox_url = format!("http://{}", mailbox.local_addr().expect("address"));
    let serving = tokio::spawn(serve_mailbox(mailbox, server.clone()));

    let output = tokio::process::Command::new("node")
        .arg("--test")
        .current_dir(support::verifiers::clients_dir())
        .env("RESETD_URL", &server.base_url)
        .env("RESETD_MAILBOX_URL", &mailbox_url)
        .env("RESETD_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("RESETD_INTROSPECTION_TOKEN", INTROSPECTION_TOKEN)
        .env(
            "RESETD_IP_REQUESTS_PER_WINDOW",
            IP_REQUESTS_PER_WINDOW.to_string(),
        )
        .env(
            "RESETD_IP_FAILURES_PER_WINDOW",
            IP_FAILURES_PER_WINDOW.to_string(),
        )
        .kill_on_drop(true)
        .output()
        .await
        .expect("node runs");
    serving.abort();
    let report = String::from_utf8_lossy(&output.stdout);
    println!("{report}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "the node suite failed:\n{report}");
    // A suite that found no tests would pass too.
    assert!(
        report.contains("# pass ") && !report.contains("# pass 0"),
        "{report}"
    );
}

/// `GET /count`: how many mails the sink holds. `GET /secret?to=&len=&since=`: the secret
/// of the first reset mail to `to` after the first `since` mails, waiting for it.
async fn serve_mailbox(listener: TcpListener, server: Arc<TestServer>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        tokio::spawn(answer_mailbox(stream, server.clone()));
    }
}

async fn answer_mailbox(mut stream: TcpStream, server: Arc<TestServer>) {
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    let request = String::from_utf8_lossy(&request);
    let target = request.split_whitespace().nth(1).unwrap_or("/");
    let url = url::Url::parse(&format!("http://mailbox{target}")).expect("target");
    let param = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let (status, body) = match url.path() {
        "/count" => ("200 OK", server.sink.messages().len().to_string()),
        "/secret" => {
            let dialect = match param("len").as_str() {
                "128" => Dialect::Strapi,
                _ => Dialect::Selfcommunity,
            };
            let since = param("since").parse().unwrap_or(0);
            let mail = server
                .mail_to_after(&param("to"), &reset_subject(&server), since)
                .await;
            ("200 OK", secret_of(dialect, &mail))
        }
        _ => ("404 Not Found", String::new()),
    };
    let answer = format!(
        "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(answer.as_bytes()).await;
}

//! SECURITY.md item 19 for the reset pages: a page's URL carries the link's secret in its
//! query, and the request log names the path only. Everything is logged at `trace` through
//! the production filter, and opening the pages (GET and HEAD, complete links or not) must
//! leave no secret or validation code in it.

use crate::support;
use crate::support::reset_links;

use rstest::rstest;

use reset_links::{local, param, LinkDialect, OLD_PASSWORD};
use support::{log_capture, Backend, TestServer};

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn security_19_opening_a_reset_page_logs_no_secret(#[case] backend: Backend) {
    let capture = log_capture::start();
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let email = "logan@example.com";
    server.create_user(email, OLD_PASSWORD).await;
    let http = reqwest::Client::new();
    let mut secrets = Vec::new();
    for (dialect, name) in [
        (LinkDialect::Cloudreve, "secret"),
        (LinkDialect::Selfcommunity, "validation_code"),
    ] {
        let link = dialect.request_link(&server, email).await;
        secrets.push(param(&link, name));
        let url = local(&link, &server);
        for _ in 0..2 {
            let get = http.get(&url).send().await.expect("GET");
            assert_eq!(get.status(), 200);
            let head = http.head(&url).send().await.expect("HEAD");
            assert_eq!(head.status(), 200);
        }
    }
    // Half a Cloudreve link (no `id`): the part that is there is a secret too.
    let half = format!("{}/session/reset?secret={}", server.base_url, secrets[0]);
    let get = http.get(&half).send().await.expect("GET");
    assert_eq!(get.status(), 400);
    server.stop().await;

    let log = capture.text();
    for path in ["/session/reset", "/account/recover/password"] {
        assert!(
            log.contains(path),
            "the page requests were logged at all ({path})"
        );
    }
    for secret in &secrets {
        assert!(
            !log.contains(secret.as_str()),
            "a link's secret is in the log"
        );
    }
}

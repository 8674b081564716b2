//! SECURITY.md item 11: opening an emailed link (GET, HEAD, a mail scanner's prefetch)
//! never consumes it; only submitting the new password does.

use crate::support;

use rstest::rstest;
use support::{Backend, TestServer, PUBLIC_BASE_URL};

const EMAIL: &str = "opened@example.com";

/// The link in the newest reset mail, pointed at the test server instead of the public
/// base URL (which names a host the test cannot reach).
fn local(link: &str, server: &TestServer) -> String {
    link.replacen(PUBLIC_BASE_URL.trim_end_matches('/'), &server.base_url, 1)
}

/// Opens `url` the ways scanners and browsers do, several times.
async fn open_like_a_scanner(url: &str) {
    let http = reqwest::Client::new();
    for _ in 0..3 {
        let get = http.get(url).send().await.expect("GET answers");
        assert!(
            !get.status().is_server_error(),
            "GET {url}: {}",
            get.status()
        );
        let head = http.head(url).send().await.expect("HEAD answers");
        assert!(
            !head.status().is_server_error(),
            "HEAD {url}: {}",
            head.status()
        );
    }
}

fn param(link: &str, name: &str) -> String {
    url::Url::parse(link)
        .expect("link is a URL")
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no {name} in {link}"))
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn security_11_opening_a_cloudreve_link_does_not_consume_it(#[case] backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    server.create_user(EMAIL, "first-password-1").await;
    reqwest::Client::new()
        .post(format!("{}/user/reset", server.base_url))
        .json(&serde_json::json!({ "email": EMAIL }))
        .send()
        .await
        .expect("requested");
    let link = server
        .mail_to_after(EMAIL, "Reset your resetd password", 0)
        .await
        .find_link(PUBLIC_BASE_URL)
        .expect("the mail carries a link");
    open_like_a_scanner(&local(&link, &server)).await;

    let answer = server
        .reset_cloudreve_password(
            &param(&link, "id"),
            &param(&link, "secret"),
            "second-password-2",
        )
        .await;
    assert_eq!(answer.code, 0, "the opened link still works: {answer:?}");
    assert!(server.login(EMAIL, "second-password-2").await.is_some());
    server.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn security_11_opening_a_selfcommunity_link_does_not_consume_it(#[case] backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    server.create_user(EMAIL, "first-password-1").await;
    reqwest::Client::new()
        .post(format!("{}/api/v2/account/recover/", server.base_url))
        .json(&serde_json::json!({ "email": EMAIL }))
        .send()
        .await
        .expect("requested");
    let link = server
        .mail_to_after(EMAIL, "Reset your resetd password", 0)
        .await
        .find_link(PUBLIC_BASE_URL)
        .expect("the mail carries a link");
    open_like_a_scanner(&local(&link, &server)).await;

    let answer = reqwest::Client::new()
        .post(format!("{}/api/v2/account/reset/", server.base_url))
        .json(&serde_json::json!({
            "validation_code": param(&link, "validation_code"),
            "password": "Second-Password-2",
        }))
        .send()
        .await
        .expect("answer");
    assert_eq!(answer.status(), 200, "the opened link still works");
    assert!(server.login(EMAIL, "Second-Password-2").await.is_some());
    server.stop().await;
}

//! CORS as a browser sees it: a page served from one origin calls resetd on another with
//! `fetch()`. From an allowed origin the answers are readable, refusals included (Strapi's
//! 400 envelope, `/v1/login`'s 401); from any other origin the browser blocks the call.
//! The headers themselves are checked in `cors.rs`.

use std::net::SocketAddr;

use rstest::rstest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::support::browser::{self, Browser};
use crate::support::{Backend, TestServer};

const EMAIL: &str = "ann@example.com";
const PASSWORD: &str = "an old passphrase 1";

/// A product's single-page app: one empty page on a port of its own (another origin than
/// resetd's), answering every request with it.
async fn serve_page() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                // The request itself does not matter: every path is the page.
                let _ = stream.read(&mut request).await;
                let page = "<!doctype html><title>app</title><p>app";
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\n\
                     connection: close\r\n\r\n{page}",
                    page.len()
                );
                let _ = stream.write_all(answer.as_bytes()).await;
            });
        }
    });
    addr
}

/// Runs `fetch(url, init)` in the page: `{status, body}` of the answer, or `{blocked}` with
/// the browser's error when the call is refused (CORS gives scripts no detail).
async fn fetch_in_page(browser: &Browser, url: &str, body: serde_json::Value) -> serde_json::Value {
    let script = r#"
        const [url, body, done] = arguments;
        fetch(url, {
            method: 'POST',
            headers: {'content-type': 'application/json'},
            body: JSON.stringify(body),
        })
            .then(async (answer) => done({status: answer.status, body: await answer.json()}))
            .catch((error) => done({blocked: String(error)}));
    "#;
    browser
        .client
        .execute_async(script, vec![url.into(), body])
        .await
        .expect("script runs")
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn a_page_on_an_allowed_origin_reads_resetds_answers_and_others_are_blocked(
    #[case] backend: Backend,
) {
    let app = serve_page().await;
    let stranger = serve_page().await;
    let app_origin = format!("http://{app}");
    let Some(server) = TestServer::start_with(backend, {
        let app_origin = app_origin.clone();
        move |config| config.cors.allowed_origins = vec![app_origin]
    })
    .await
    else {
        return;
    };
    let _one = browser::ONE_BROWSER.lock().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    server.create_user(EMAIL, PASSWORD).await;
    let forgot = format!("{}/api/auth/forgot-password", server.base_url);
    let reset = format!("{}/api/auth/reset-password", server.base_url);
    let login = format!("{}/v1/login", server.base_url);
    let wrong_code = serde_json::json!({
        "code": "ab".repeat(64),
        "password": "a new passphrase 2",
        "passwordConfirmation": "a new passphrase 2",
    });

    browser
        .client
        .goto(&format!("{app_origin}/"))
        .await
        .expect("page");
    let answer = fetch_in_page(&browser, &forgot, serde_json::json!({"email": EMAIL})).await;
    assert_eq!(answer["status"], 200, "{answer}");
    assert_eq!(answer["body"]["ok"], true, "{answer}");
    // A refusal is readable too: Strapi's envelope, as its clients read it.
    let answer = fetch_in_page(&browser, &reset, wrong_code.clone()).await;
    assert_eq!(answer["status"], 400, "{answer}");
    assert_eq!(
        answer["body"]["error"]["name"], "ValidationError",
        "{answer}"
    );
    assert_eq!(
        answer["body"]["error"]["message"],
        "Incorrect code provided"
    );
    let answer = fetch_in_page(
        &browser,
        &login,
        serde_json::json!({"email": EMAIL, "password": "not it"}),
    )
    .await;
    assert_eq!(answer["status"], 401, "{answer}");
    assert_eq!(
        answer["body"]["message"], "invalid email or password",
        "{answer}"
    );
    // The one reset mail so far: the allowed page's request.
    let mail_before = server.settled_mail().await.len();
    assert_eq!(mail_before, 1);

    // The same calls from a page on an origin resetd does not name: the browser refuses
    // them before any answer reaches the script.
    browser
        .client
        .goto(&format!("http://{stranger}/"))
        .await
        .expect("page");
    for (url, body) in [
        (&reset, wrong_code),
        (&login, serde_json::json!({"email": EMAIL, "password": "x"})),
    ] {
        let answer = fetch_in_page(&browser, url, body).await;
        assert!(
            answer["blocked"]
                .as_str()
                .is_some_and(|e| e.contains("Failed to fetch")),
            "{url}: {answer}"
        );
    }
    // A JSON POST is not a simple request: refused at the preflight, so the reset request
    // itself never reaches resetd and no mail is queued for it.
    let answer = fetch_in_page(&browser, &forgot, serde_json::json!({"email": EMAIL})).await;
    assert!(answer["blocked"].is_string(), "{answer}");
    assert_eq!(
        server.settled_mail().await.len(),
        mail_before,
        "a blocked request mailed"
    );
    server.stop().await;
}

//! SECURITY.md item 19 for the reset pages: a page's URL carries the link's secret in its
//! query, and the request log names the path only. Everything is logged at `trace` through
//! the production filter, and opening the pages (GET and HEAD, complete links or not) must
//! leave no secret or validation code in it.

mod reset_links;
mod support;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use resetd::config::{LogConfig, LogFormat};
use rstest::rstest;

use reset_links::{local, param, LinkDialect, OLD_PASSWORD};
use support::{Backend, TestServer};

/// Everything any test of this binary logged.
fn captured() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = Capture(buffer.clone());
        let config = LogConfig {
            filter: "trace".to_owned(),
            format: LogFormat::Text,
        };
        tracing_subscriber::fmt()
            .with_env_filter(resetd::logging::filter(&config))
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .try_init()
            .expect("this test binary installs the only subscriber");
        buffer
    })
}

#[derive(Clone)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn security_19_opening_a_reset_page_logs_no_secret(#[case] backend: Backend) {
    captured();
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

    let log = String::from_utf8_lossy(&captured().lock().expect("log")).into_owned();
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

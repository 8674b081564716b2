//! Queued mail holds no usable token: the reset core seals a mail's bodies when it queues
//! them and the outbox worker opens them to send (`security::sealing`), so a reset link
//! waiting in the outbox (its mail server down, say) is not readable from the database.

use crate::support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use rstest::rstest;

use resetd::app;
use resetd::config::Secret;
use resetd::store::OutboxStatus;
use support::{Backend, TestServer, MAIL_WAIT};

const EMAIL: &str = "ann@example.com";

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn a_reset_link_waiting_in_the_outbox_is_sealed(#[case] backend: Backend) {
    // Port 1 on loopback refuses: every delivery fails and the mail stays queued.
    let Some(mut server) = TestServer::start_with(backend, |c| {
        c.mail.url = Secret::new("smtp://127.0.0.1:1");
    })
    .await
    else {
        return;
    };
    server.create_user(EMAIL, "an-old-password-1").await;
    let answer = server.request_cloudreve_reset(EMAIL).await;
    assert_eq!(answer.code, 0);

    let store = server.store().await;
    let deadline = Instant::now() + MAIL_WAIT;
    let queued = loop {
        let rows = store.list_outbox(None).await.expect("outbox");
        if let Some(row) = rows.into_iter().find(|r| r.last_error.is_some()) {
            break row;
        }
        assert!(Instant::now() < deadline, "no delivery was attempted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // An attempt failed (the next may already be under way); nothing was delivered.
    assert_ne!(queued.status, OutboxStatus::Sent);
    assert!(
        queued.body_text.starts_with("sealed:v1:"),
        "{}",
        queued.body_text
    );
    assert!(
        queued.body_html.starts_with("sealed:v1:"),
        "{}",
        queued.body_html
    );

    // The same database, now with a mail server: the mail goes out whole, link included.
    server.halt().await;
    let mut config = server.config.clone();
    config.mail.url = Secret::new(server.sink.url());
    let restarted = app::serve(config, Arc::new(server.clock.clone()))
        .await
        .expect("restarts");
    let mail = server.mail(1).await;
    let link = mail
        .find_link("https://accounts.example.test/session/reset?")
        .expect("the mail carries its link");
    let secret = url::Url::parse(&link)
        .expect("a URL")
        .query_pairs()
        .find(|(k, _)| k == "secret")
        .map(|(_, v)| v.into_owned())
        .expect("a secret");
    assert_eq!(secret.len(), 32);
    assert!(
        !queued.body_text.contains(&secret) && !queued.body_html.contains(&secret),
        "the queued row held the secret"
    );
    restarted.shutdown().await.expect("clean shutdown");
    server.stop().await;
}

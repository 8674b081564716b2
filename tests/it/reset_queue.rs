//! SECURITY.md items 1 and 2 through a running server: the request path only queues, the
//! issuer decides. With the issuer off, requests for a known, an unknown, a banned and an
//! inactive email are answered alike and each leaves exactly one `reset_requests` row and
//! nothing else; a server started later on the same database processes them (an answered
//! request survives a restart), leaving the queue empty and mail only for the known account.
//!
//! The issuer itself (claims, leases, the account limit, order) is tested in the library:
//! `reset::issuer` and `store::reset_requests`.

use crate::support;

use std::sync::Arc;

use rstest::rstest;

use resetd::app;
use resetd_client::types;
use support::{Backend, TestServer};

const KNOWN: &str = "known@example.com";
const PASSWORD: &str = "old-password-1";

async fn forgot_password(server: &TestServer, email: &str) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(format!("{}/auth/forgot-password", server.base_url))
        .json(&serde_json::json!({ "email": email }))
        .send()
        .await
        .expect("an answer");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn security_02_requests_queue_alike_and_survive_a_restart(#[case] backend: Backend) {
    let Some(mut server) = TestServer::start_with(backend, |c| c.issuer.enabled = false).await
    else {
        return;
    };
    server.create_user(KNOWN, PASSWORD).await;
    let banned = "banned@example.com";
    let inactive = "inactive@example.com";
    server
        .create_user_with_status(banned, PASSWORD, types::ResetdUserStatus::Banned)
        .await;
    server
        .create_user_with_status(inactive, PASSWORD, types::ResetdUserStatus::Inactive)
        .await;
    let emails = [KNOWN, "nobody@example.com", banned, inactive];

    let first = forgot_password(&server, emails[0]).await;
    assert_eq!(first, (200, r#"{"ok":true}"#.to_owned()));
    for email in &emails[1..] {
        assert_eq!(forgot_password(&server, email).await, first, "{email}");
    }

    // What the requests wrote: one queued row each, alike but for the email; no token, no
    // mail, no audit event for anyone yet.
    let store = server.store().await;
    let queued = store.list_reset_requests().await.expect("queue");
    let queued_emails: Vec<&str> = queued.iter().map(|r| r.email.as_str()).collect();
    assert_eq!(queued_emails, emails);
    for row in &queued {
        assert_eq!(row.dialect, "strapi");
        assert_eq!(row.client_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(row.lease_until, None);
    }
    assert!(store.list_outbox(None).await.expect("outbox").is_empty());
    let audit = store.list_audit(100).await.expect("audit");
    assert!(audit.is_empty(), "{audit:?}");

    // A server with an issuer, on the same database (and the same mail sink).
    server.halt().await;
    let mut config = server.config.clone();
    config.issuer.enabled = true;
    let restarted = app::serve(config, Arc::new(server.clock.clone()))
        .await
        .expect("restarts");
    // The queue drained, and all the mail its rows made delivered.
    let mails = server.settled_mail().await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0].to(), KNOWN);
    assert_eq!(mails[0].subject(), "Reset your resetd password");
    let audit = store.list_audit(100).await.expect("audit");
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0].client_ip.as_deref(), Some("127.0.0.1"));

    restarted.shutdown().await.expect("clean shutdown");
    server.stop().await;
}

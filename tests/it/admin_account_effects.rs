//! What the admin API's account changes (issue 16) do to what the account had before: a
//! delete, a change of email and a password hash set by the product each end the reset
//! secrets already mailed (in all four dialects) and the sessions already open; a delete
//! also drops the mail still queued and leaves its audit events without the account.
//! Observed only through the dialects' calls, login, introspection, the mail that arrives
//! and the `resetd` CLI; both backends.

use std::process::Command;

use resetd_client::types::{ResetdChangeEmailRequest, ResetdSetPasswordHashRequest};
use rstest::rstest;

use crate::support::dialects::{
    assert_invalid_secret, assert_redeemed, emailed_secret, redeem_with, request_reset, Dialect,
    DIALECTS,
};
use crate::support::{Backend, TestServer};

const BIN: &str = env!("CARGO_BIN_EXE_resetd");
const ANN: &str = "ann@example.com";
const ANN_NEW: &str = "ann.new@example.org";
const BOB: &str = "bob@example.com";
/// Passwords every dialect's rule accepts.
const OLD_PASSWORD: &str = "Old-passw0rd-1";
const NEW_PASSWORD: &str = "New-passw0rd-2";
/// A bcrypt hash made by Python's `bcrypt` (tests/fixtures/legacy_hashes.jsonl) and its
/// password.
const BCRYPT: &str = "$2b$10$XYhQPPhMrRo8o6lxiVlTOuOK9hFG6spHXSNuh06zDrwRsQe2XV5l.";
const BCRYPT_PASSWORD: &str = "correct horse battery";

/// A server on which one account may ask for a reset in every dialect and then fail to
/// redeem each secret, without a rate limit getting in the way of what is tested.
async fn start(backend: Backend) -> Option<TestServer> {
    TestServer::start_with(backend, |config| {
        config.security.account_requests_per_window = 20;
        config.security.ip_failed_redemptions_per_window = 50;
    })
    .await
}

/// `resetd ARGS` on the server's database: its standard output.
fn cli(server: &TestServer, args: &[&str]) -> String {
    let mut command = Command::new(BIN);
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("RESETD_")) {
        command.env_remove(key);
    }
    let output = command
        .current_dir(server.temp_dir())
        .env("RESETD_LOG", "error")
        .env("RESETD_DATABASE_URL", &server.config.database_url)
        .args(args)
        .output()
        .expect("resetd runs");
    assert!(
        output.status.success(),
        "resetd {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8")
}

/// The secret of each dialect, mailed to `email`, in dialect order.
async fn mailed_secrets(server: &TestServer, email: &str) -> Vec<(Dialect, String)> {
    let mut secrets = Vec::new();
    for dialect in DIALECTS {
        secrets.push((dialect, emailed_secret(server, dialect, email).await));
    }
    secrets
}

/// Every secret is refused as spent, by the dialect's usual answer.
async fn assert_secrets_refused(
    server: &TestServer,
    account: (&str, &str),
    secrets: &[(Dialect, String)],
) {
    for (dialect, secret) in secrets {
        let answer = redeem_with(server, *dialect, account, secret, NEW_PASSWORD, None).await;
        assert_invalid_secret(*dialect, &answer);
    }
}

/// The `resetd audit list` lines, as (event id, kind, user column), oldest first.
fn audit_events(server: &TestServer) -> Vec<(String, String, String)> {
    let text = cli(server, &["audit", "list", "--limit", "1000"]);
    let mut events: Vec<_> = text
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            (
                fields[0].to_owned(),
                fields[2].to_owned(),
                fields[3].to_owned(),
            )
        })
        .collect();
    events.reverse();
    events
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_account_leaves_no_live_secret_session_or_queued_mail(#[case] backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let admin = server.admin_client();
    let ann = server.create_user(ANN, OLD_PASSWORD).await;
    server.create_user(BOB, OLD_PASSWORD).await;
    let secrets = mailed_secrets(&server, ANN).await;
    let session = server.login(ANN, OLD_PASSWORD).await.expect("login");
    let bob_session = server.login(BOB, OLD_PASSWORD).await.expect("login");

    // One more reset mail, held in the outbox: the SMTP server is down.
    server.sink.stop().await;
    let answer = request_reset(&server, Dialect::Ipcola, ANN, None).await;
    assert_eq!(answer.status, 200);
    let queued = || {
        cli(&server, &["outbox", "list"])
            .lines()
            .filter(|l| l.contains(ANN) && !l.contains("\tsent\t"))
            .count()
    };
    let deadline = std::time::Instant::now() + crate::support::MAIL_WAIT;
    while queued() == 0 {
        assert!(std::time::Instant::now() < deadline, "no mail was queued");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let before = audit_events(&server);
    let ann_events: Vec<_> = before.iter().filter(|e| e.2 != "user=-").collect();
    assert!(
        ann_events.iter().any(|e| e.1 == "reset_requested"),
        "{before:?}"
    );

    admin
        .resetd_admin_delete_user()
        .id(&ann.id)
        .send()
        .await
        .expect("delete");

    assert_eq!(queued(), 0, "the queued mail went with the account");
    let since = server.sink.messages().len();
    server.sink.restart().await;
    let mails = server.settled_mail().await;
    assert!(
        mails[since..].iter().all(|m| m.to() != ANN),
        "no mail reaches the deleted account"
    );
    assert_secrets_refused(&server, (ANN, &ann.id), &secrets).await;
    assert!(!server.introspect(&session.access_token).await.active);
    assert!(server.login(ANN, OLD_PASSWORD).await.is_none());
    assert!(
        server.introspect(&bob_session.access_token).await.active,
        "another account's session stays"
    );

    // Every event stays, under the same id, tied to no account; none names the email.
    let after = audit_events(&server);
    for (id, kind, _) in ann_events {
        assert!(
            after
                .iter()
                .any(|e| &e.0 == id && &e.1 == kind && e.2 == "user=-"),
            "event {id} ({kind}) kept without its account: {after:?}"
        );
    }
    let text = cli(&server, &["audit", "list", "--limit", "1000"]);
    assert!(!text.contains("example.com"), "{text}");
    server.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn a_changed_email_ends_old_secrets_and_sessions(#[case] backend: Backend) {
    let Some(server) = start(backend).await else {
        return;
    };
    let ann = server.create_user(ANN, OLD_PASSWORD).await;
    let secrets = mailed_secrets(&server, ANN).await;
    let session = server.login(ANN, OLD_PASSWORD).await.expect("login");
    let before = server.settled_mail().await.len();

    let moved = server
        .admin_client()
        .resetd_admin_change_email()
        .id(&ann.id)
        .body(ResetdChangeEmailRequest {
            email: ANN_NEW.to_owned(),
        })
        .send()
        .await
        .expect("change email");
    assert_eq!(moved.email, ANN_NEW);

    let notice = server
        .mail_to_after(
            ANN,
            "The email address of your resetd account was changed",
            before,
        )
        .await;
    assert!(!notice.text_body().contains(ANN_NEW));
    assert_secrets_refused(&server, (ANN, &ann.id), &secrets).await;
    assert_secrets_refused(&server, (ANN_NEW, &ann.id), &secrets).await;
    assert!(!server.introspect(&session.access_token).await.active);
    assert!(server.login(ANN, OLD_PASSWORD).await.is_none());
    let fresh = server.login(ANN_NEW, OLD_PASSWORD).await.expect("login");
    let seen = server.introspect(&fresh.access_token).await;
    assert!(seen.active);
    assert_eq!(seen.email.as_deref(), Some(ANN_NEW));

    // A reset now goes to the new address and works there.
    let secret = emailed_secret(&server, Dialect::Ipcola, ANN_NEW).await;
    let answer = redeem_with(
        &server,
        Dialect::Ipcola,
        (ANN_NEW, &ann.id),
        &secret,
        NEW_PASSWORD,
        None,
    )
    .await;
    assert_redeemed(Dialect::Ipcola, &answer);
    assert!(server.login(ANN_NEW, NEW_PASSWORD).await.is_some());
    server.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn a_password_hash_set_by_the_product_logs_in_and_ends_old_sessions(
    #[case] backend: Backend,
) {
    let Some(server) = start(backend).await else {
        return;
    };
    let admin = server.admin_client();
    let ann = server.create_user(ANN, OLD_PASSWORD).await;
    let secrets = mailed_secrets(&server, ANN).await;
    let session = server.login(ANN, OLD_PASSWORD).await.expect("login");

    let set = admin
        .resetd_admin_set_password_hash()
        .id(&ann.id)
        .body(ResetdSetPasswordHashRequest {
            password_hash: BCRYPT.to_owned(),
        })
        .send()
        .await
        .expect("set hash");
    assert!(set.legacy_hash, "a bcrypt hash is legacy");

    assert!(!server.introspect(&session.access_token).await.active);
    assert_secrets_refused(&server, (ANN, &ann.id), &secrets).await;
    assert!(server.login(ANN, OLD_PASSWORD).await.is_none());
    let fresh = server.login(ANN, BCRYPT_PASSWORD).await.expect("login");
    assert!(server.introspect(&fresh.access_token).await.active);
    let upgraded = admin
        .resetd_admin_get_user()
        .id(&ann.id)
        .send()
        .await
        .expect("get");
    assert!(!upgraded.legacy_hash, "the login replaced the bcrypt hash");
    assert!(server.login(ANN, BCRYPT_PASSWORD).await.is_some());
    server.stop().await;
}

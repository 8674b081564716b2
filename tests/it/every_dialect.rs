//! What every dialect does alike with a reset secret, written once and run as a matrix: the
//! four dialects on both backends. Filter by test and case, e.g.
//! `cargo test --test it every_dialect::a_secret_is_single_use::dialect_3`.
//!
//! Each dialect's own answers come from `support::dialects`; what only one product does (its
//! envelope, its field names, its extra calls) stays in that product's module.

use std::time::Duration;

use rstest::rstest;

use crate::support::dialects::{
    assert_invalid_secret, assert_redeemed, emailed_secret, made_up_secret, redeem_with,
    session_token, Dialect,
};
use crate::support::{Backend, TestServer};

const ANN: &str = "ann@example.com";
const BOB: &str = "bob@example.com";
/// Passwords every dialect's rule accepts (SelfCommunity's wants three character classes).
const OLD_PASSWORD: &str = "Old-passw0rd-1";
const NEW_PASSWORD: &str = "New-passw0rd-2";
const THIRD_PASSWORD: &str = "Third-passw0rd-3";

#[rstest]
#[tokio::test(flavor = "multi_thread")]
async fn a_secret_is_single_use(
    #[values(
        Dialect::Ipcola,
        Dialect::Strapi,
        Dialect::Cloudreve,
        Dialect::Selfcommunity
    )]
    dialect: Dialect,
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let ann = server.create_user(ANN, OLD_PASSWORD).await;
    let account = (ANN, ann.id.as_str());
    let secret = emailed_secret(&server, dialect, ANN).await;

    let first = redeem_with(&server, dialect, account, &secret, NEW_PASSWORD, None).await;
    assert_redeemed(dialect, &first);
    let again = redeem_with(&server, dialect, account, &secret, THIRD_PASSWORD, None).await;
    assert_invalid_secret(dialect, &again);

    assert!(server.login(ANN, NEW_PASSWORD).await.is_some());
    assert!(server.login(ANN, THIRD_PASSWORD).await.is_none());
    if let Some(token) = session_token(dialect, &first) {
        assert!(
            server.introspect(&token).await.active,
            "{dialect:?}: a refused second use revokes nothing"
        );
    }
    server.stop().await;
}

#[rstest]
#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_secret_is_refused_and_changes_nothing(
    #[values(
        Dialect::Ipcola,
        Dialect::Strapi,
        Dialect::Cloudreve,
        Dialect::Selfcommunity
    )]
    dialect: Dialect,
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let ann = server.create_user(ANN, OLD_PASSWORD).await;
    let bob = server.create_user(BOB, OLD_PASSWORD).await;
    let account = (ANN, ann.id.as_str());
    let secret = emailed_secret(&server, dialect, ANN).await;

    // Four failures against Ann's token: one fewer than the burn limit.
    let mut other = made_up_secret(dialect, 1);
    if other == secret {
        other = made_up_secret(dialect, 2);
    }
    let upper = secret.to_uppercase();
    assert_ne!(upper, secret, "{dialect:?}: a secret with letters");
    let short = &secret[..secret.len() - 1];
    for bad in [other.as_str(), upper.as_str(), short, ""] {
        let answer = redeem_with(&server, dialect, account, bad, NEW_PASSWORD, None).await;
        assert_invalid_secret(dialect, &answer);
    }
    // The dialects that name the account beside the secret refuse the right secret naming
    // another account, or none.
    if matches!(dialect, Dialect::Ipcola | Dialect::Cloudreve) {
        for named in [
            (BOB, bob.id.as_str()),
            ("nobody@example.com", "no-such-user"),
        ] {
            let answer = redeem_with(&server, dialect, named, &secret, NEW_PASSWORD, None).await;
            assert_invalid_secret(dialect, &answer);
        }
        assert!(server.login(BOB, OLD_PASSWORD).await.is_some());
    }

    assert!(server.login(ANN, OLD_PASSWORD).await.is_some());
    assert!(server.login(ANN, NEW_PASSWORD).await.is_none());
    // The right secret still works afterwards.
    let answer = redeem_with(&server, dialect, account, &secret, NEW_PASSWORD, None).await;
    assert_redeemed(dialect, &answer);
    assert!(server.login(ANN, NEW_PASSWORD).await.is_some());
    server.stop().await;
}

#[rstest]
#[tokio::test(flavor = "multi_thread")]
async fn an_expired_secret_is_refused(
    #[values(
        Dialect::Ipcola,
        Dialect::Strapi,
        Dialect::Cloudreve,
        Dialect::Selfcommunity
    )]
    dialect: Dialect,
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let ann = server.create_user(ANN, OLD_PASSWORD).await;
    let bob = server.create_user(BOB, OLD_PASSWORD).await;
    let lifetime = dialect.secret_lifetime();
    let expiring = emailed_secret(&server, dialect, ANN).await;
    server.clock.advance(lifetime - Duration::from_secs(60));
    let live = emailed_secret(&server, dialect, BOB).await;
    server.clock.advance(Duration::from_secs(60 + 1));

    // Ann's secret is its lifetime and a second old, Bob's a minute and a second.
    let answer = redeem_with(
        &server,
        dialect,
        (ANN, &ann.id),
        &expiring,
        NEW_PASSWORD,
        None,
    )
    .await;
    assert_invalid_secret(dialect, &answer);
    assert!(server.login(ANN, OLD_PASSWORD).await.is_some());
    assert!(server.login(ANN, NEW_PASSWORD).await.is_none());

    let answer = redeem_with(&server, dialect, (BOB, &bob.id), &live, NEW_PASSWORD, None).await;
    assert_redeemed(dialect, &answer);
    server.stop().await;
}

#[rstest]
#[tokio::test(flavor = "multi_thread")]
async fn a_new_request_replaces_the_earlier_secret(
    #[values(
        Dialect::Ipcola,
        Dialect::Strapi,
        Dialect::Cloudreve,
        Dialect::Selfcommunity
    )]
    dialect: Dialect,
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let ann = server.create_user(ANN, OLD_PASSWORD).await;
    let account = (ANN, ann.id.as_str());
    let first = emailed_secret(&server, dialect, ANN).await;
    let second = emailed_secret(&server, dialect, ANN).await;
    assert_ne!(first, second);

    let answer = redeem_with(&server, dialect, account, &first, NEW_PASSWORD, None).await;
    assert_invalid_secret(dialect, &answer);
    let answer = redeem_with(&server, dialect, account, &second, NEW_PASSWORD, None).await;
    assert_redeemed(dialect, &answer);
    server.stop().await;
}

#[rstest]
#[tokio::test(flavor = "multi_thread")]
async fn of_twenty_concurrent_redemptions_exactly_one_wins(
    #[values(
        Dialect::Ipcola,
        Dialect::Strapi,
        Dialect::Cloudreve,
        Dialect::Selfcommunity
    )]
    dialect: Dialect,
    #[values(Backend::Sqlite, Backend::Postgres)] backend: Backend,
) {
    // Twenty redemptions in flight at once from one address hold twenty units of the IP's
    // failure allowance until each has looked its secret up (security index item 22); this
    // test is about single use, not that limit.
    let Some(server) = TestServer::start_with(backend, |c| {
        c.security.ip_failed_redemptions_per_window = 20
    })
    .await
    else {
        return;
    };
    let ann = server.create_user(ANN, OLD_PASSWORD).await;
    let secret = emailed_secret(&server, dialect, ANN).await;

    let password = |i: usize| format!("Concurrent-pw-{i:02}");
    let attempts = (0..20).map(|i| {
        let (server, secret, id, password) = (&server, &secret, &ann.id, password(i));
        async move { redeem_with(server, dialect, (ANN, id), secret, &password, None).await }
    });
    let answers = futures_util::future::join_all(attempts).await;
    let winners: Vec<usize> = (0..20)
        .filter(|&i| dialect.is_redeemed(&answers[i]))
        .collect();
    assert_eq!(winners.len(), 1, "{answers:?}");
    for (i, answer) in answers.iter().enumerate() {
        if i != winners[0] {
            assert_invalid_secret(dialect, answer);
        }
    }
    assert!(server.login(ANN, &password(winners[0])).await.is_some());
    let audit = server
        .store()
        .await
        .list_audit(50)
        .await
        .expect("audit rows");
    let count = |kind: &str| audit.iter().filter(|e| e.kind.as_str() == kind).count();
    assert_eq!(count("reset_completed"), 1);
    assert_eq!(count("redemption_failed"), 19);
    server.stop().await;
}

//! Logging in with a password hash a product stored (issue 16): every format of
//! `tests/fixtures/legacy_hashes.jsonl` (made by the real tools, see `legacy_hashes.py`)
//! opens a session with its password and only with it, and is replaced by resetd's own
//! argon2id the first time it does; a reset replaces it too.

use crate::support;

use rstest::rstest;

use support::{Backend, TestServer};

/// The configured argon2 parameters of the test servers, as their PHC strings start.
const CURRENT_ARGON2: &str = "$argon2id$v=19$m=1024,t=1,p=1$";

#[derive(serde::Deserialize)]
struct Fixture {
    scheme: String,
    password: String,
    hash: String,
}

/// The first fixture of each scheme.
fn one_per_scheme() -> Vec<Fixture> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/legacy_hashes.jsonl"
    );
    let text = std::fs::read_to_string(path).expect("fixtures");
    let mut seen = std::collections::BTreeSet::new();
    text.lines()
        .map(|line| serde_json::from_str::<Fixture>(line).expect("fixture line"))
        .filter(|f| seen.insert(f.scheme.clone()))
        .collect()
}

/// An account for `email` whose stored hash is `hash`, written as an import writes it.
async fn account_with_hash(server: &TestServer, email: &str, hash: &str) {
    server.create_user(email, "placeholder-password-1").await;
    server.set_stored_hash(email, hash).await;
}

async fn stored_hash(server: &TestServer, email: &str) -> String {
    let store = server.store().await;
    let user = store
        .user_by_email(email)
        .await
        .expect("read")
        .expect("user");
    user.password_hash.expect("a hash")
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn each_legacy_format_logs_in_once_and_is_upgraded(#[case] backend: Backend) {
    // Fourteen accounts' wrong passwords from one address would meet the failed-login limit.
    let server = TestServer::start_with(backend, |c| {
        c.security.rate_limits = resetd::config::Switch::Off;
    });
    let Some(server) = server.await else {
        return;
    };
    let fixtures = one_per_scheme();
    assert!(fixtures.len() >= 14, "every scheme has a fixture");
    for (n, fixture) in fixtures.iter().enumerate() {
        let email = format!("legacy{n}@example.com");
        let scheme = &fixture.scheme;
        account_with_hash(&server, &email, &fixture.hash).await;

        let wrong = format!("{}x", fixture.password);
        assert!(
            server.login(&email, &wrong).await.is_none(),
            "{scheme}: wrong password"
        );
        assert_eq!(
            stored_hash(&server, &email).await,
            fixture.hash,
            "{scheme}: kept"
        );

        let session = server.login(&email, &fixture.password).await;
        let session = session.unwrap_or_else(|| panic!("{scheme}: right password refused"));
        assert!(
            server.introspect(&session.access_token).await.active,
            "{scheme}"
        );
        let upgraded = stored_hash(&server, &email).await;
        assert!(upgraded.starts_with(CURRENT_ARGON2), "{scheme}: {upgraded}");

        // The new hash is the same password's, and the old one is gone.
        assert!(
            server.login(&email, &fixture.password).await.is_some(),
            "{scheme}"
        );
        assert!(server.login(&email, &wrong).await.is_none(), "{scheme}");
        assert_eq!(
            stored_hash(&server, &email).await,
            upgraded,
            "{scheme}: once"
        );
    }
    server.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn a_reset_replaces_a_legacy_hash(#[case] backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let fixture = one_per_scheme()
        .into_iter()
        .find(|f| f.scheme == "cloudreve_v4")
        .expect("a cloudreve_v4 fixture");
    let email = "imported@example.com";
    account_with_hash(&server, email, &fixture.hash).await;

    server.request_cloudreve_reset(email).await;
    let mail = server.mail(1).await;
    let link = mail
        .find_link(support::PUBLIC_BASE_URL)
        .expect("a reset link");
    let param = |name: &str| support::reset_links::param(&link, name);
    let answer = server
        .reset_cloudreve_password(&param("id"), &param("secret"), "brand-new-password-3")
        .await;
    assert_eq!(answer.code, 0, "{answer:?}");

    assert!(stored_hash(&server, email)
        .await
        .starts_with(CURRENT_ARGON2));
    assert!(server.login(email, &fixture.password).await.is_none());
    assert!(server.login(email, "brand-new-password-3").await.is_some());
    server.stop().await;
}

//! Rate limits, end to end (SECURITY.md items 3 and 10): per account (silent), per client IP
//! for requests and for failed redemptions and logins (each dialect's "too many requests"),
//! `X-Forwarded-For` from trusted proxies only, and `rate_limits = "off"`.
//!
//! That replicas share the counters is shown in the store's own tests
//! (`store::rate_limits::security_03_two_store_handles_share_one_counter`): the harness gives
//! every server a database of its own.

use crate::support;

use std::time::Duration;

use rstest::rstest;

use resetd::clock::Clock as _;
use resetd::config::Switch;
use resetd::security::keyed_hash::TokenHasher;
use resetd_client::types;
use support::dialects::{
    self, assert_accepted, assert_invalid_secret, assert_too_many, made_up_secret, request_reset,
    secret_of, send, Answer, Dialect, DIALECTS,
};
use support::{Backend, ReceivedMail, TestServer};

const ANN: &str = "ann@example.com";
const OLD_PASSWORD: &str = "old-password-1";
const NEW_PASSWORD: &str = "New-password-2";

/// The longest default window (15 minutes); the shorter one (1 minute) divides it.
const LONG_WINDOW: Duration = Duration::from_secs(15 * 60);

/// Redeems `secret` in `dialect` for Ann (by email or id, as the dialect names her), setting
/// [`NEW_PASSWORD`].
async fn redeem(
    server: &TestServer,
    dialect: Dialect,
    account: (&str, &str),
    secret: &str,
) -> Answer {
    dialects::redeem_with(server, dialect, account, secret, NEW_PASSWORD, None).await
}

async fn login(server: &TestServer, email: &str, password: &str) -> Answer {
    send(
        server,
        reqwest::Method::POST,
        "/v1/login",
        serde_json::json!({ "email": email, "password": password }),
        None,
    )
    .await
}

/// Moves the server's clock to just past the start of the next 15-minute window, so that
/// no window (1 or 15 minutes, both aligned to the epoch) ends while the test counts.
fn start_of_a_fresh_window(server: &TestServer) {
    let now = u64::try_from(server.clock.now_ms()).expect("after 1970");
    let window = u64::try_from(LONG_WINDOW.as_millis()).expect("small");
    server
        .clock
        .advance(Duration::from_millis(window - now % window + 50));
}

/// The stored count of reset requests for `email` in the current 15-minute window, read
/// the way the server keys it: the keyed hash of the email, never the email.
async fn account_count(server: &TestServer, email: &str) -> i64 {
    let secret = server
        .config
        .secret
        .as_ref()
        .expect("the harness sets a secret");
    let hash = TokenHasher::from_secret(secret.expose()).hash("ratelimit", email);
    let window = i64::try_from(LONG_WINDOW.as_millis()).expect("small");
    let now = server.clock.now_ms();
    server
        .store()
        .await
        .rate_limit_count(&format!("account_requests:{hash}"), now - now % window)
        .await
        .expect("count")
}

/// Waits until the mail has settled (`TestServer::settled_mail`) and checks that exactly `n`
/// messages came.
async fn exactly_mails(server: &TestServer, n: usize) -> Vec<ReceivedMail> {
    let mails = server.settled_mail().await;
    assert_eq!(mails.len(), n, "{mails:?}");
    mails
}

/// Whether `mail` is a Cloudreve reset mail (every reset mail has the same subject).
fn is_cloudreve_reset(mail: &ReceivedMail) -> bool {
    mail.text_body().contains("/session/reset?")
}

/// SECURITY.md 3: past 3 requests in 15 minutes for one email, in any dialect, the answer is
/// exactly the usual one, and no token or mail comes of it; unknown emails are counted
/// the same way; the next window gives the account its requests back.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn security_03_account_limit_answers_alike_and_sends_no_fourth_mail(
    #[case] backend: Backend,
) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    server.create_user(ANN, OLD_PASSWORD).await;
    start_of_a_fresh_window(&server);

    let first = request_reset(&server, Dialect::Strapi, ANN, None).await;
    assert_accepted(Dialect::Strapi, &first);
    for _ in 0..2 {
        let answer = request_reset(&server, Dialect::Strapi, ANN, None).await;
        assert_eq!(answer.comparable(), first.comparable());
    }
    // The fourth, and further ones in every dialect: the same answer as a request that
    // issues a token (for Strapi: byte for byte the first one's).
    let fourth = request_reset(&server, Dialect::Strapi, ANN, None).await;
    assert_eq!(fourth.comparable(), first.comparable());
    for dialect in DIALECTS {
        let normal = request_reset(&server, dialect, "fresh@example.com", None).await;
        assert_accepted(dialect, &normal);
        let limited = request_reset(&server, dialect, ANN, None).await;
        assert_eq!(limited.comparable(), normal.comparable(), "{dialect:?}");
    }

    let mails = exactly_mails(&server, 3).await;
    assert!(mails.iter().all(|m| m.to() == ANN), "{mails:?}");
    let store = server.store().await;
    assert_eq!(store.list_outbox(None).await.expect("outbox").len(), 3);
    // Counted: 4 + 4 for Ann; the unknown email like any other (4 requests, no account).
    assert_eq!(account_count(&server, ANN).await, 8);
    assert_eq!(account_count(&server, "fresh@example.com").await, 4);

    // Quietly dropped requests issued nothing: the third token is still the live one.
    let third = secret_of(Dialect::Strapi, &mails[2]);
    let answer = redeem(&server, Dialect::Strapi, (ANN, ""), &third).await;
    assert_eq!(answer.status, 200, "{}", answer.body);

    // Next window: Ann may ask again.
    server.clock.advance(LONG_WINDOW);
    let answer = request_reset(&server, Dialect::Cloudreve, ANN, None).await;
    assert_accepted(Dialect::Cloudreve, &answer);
    let mails = exactly_mails(&server, 5).await;
    assert_eq!(mails.iter().filter(|m| is_cloudreve_reset(m)).count(), 1);
    server.stop().await;
}

/// SECURITY.md 3: past 20 reset requests a minute from one client IP, each dialect answers
/// its own "too many requests", issues nothing, and a minute later answers again.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn security_03_ip_request_limit_answers_in_each_dialects_form(#[case] backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    server.create_user(ANN, OLD_PASSWORD).await;
    start_of_a_fresh_window(&server);

    // 20 requests from this test's address, in all dialects, each for another email (the
    // per-account limit stays out of the way); all accepted.
    for n in 0..20 {
        let dialect = DIALECTS[n % 4];
        let answer = request_reset(&server, dialect, &format!("n{n}@example.com"), None).await;
        assert_accepted(dialect, &answer);
    }
    // The 21st and on: refused in each dialect's form, also for a real account.
    for dialect in DIALECTS {
        assert_too_many(
            dialect,
            &request_reset(&server, dialect, "other@example.com", None).await,
        );
        assert_too_many(dialect, &request_reset(&server, dialect, ANN, None).await);
    }
    exactly_mails(&server, 0).await;
    assert_eq!(
        account_count(&server, ANN).await,
        0,
        "a request refused for its IP is not counted against the account"
    );

    // The IP's window is a minute.
    server.clock.advance(Duration::from_secs(60));
    for dialect in DIALECTS {
        let answer = request_reset(&server, dialect, "later@example.com", None).await;
        assert_accepted(dialect, &answer);
    }
    let answer = request_reset(&server, Dialect::Ipcola, ANN, None).await;
    assert_accepted(Dialect::Ipcola, &answer);
    exactly_mails(&server, 1).await;
    server.stop().await;
}

/// SECURITY.md 10: after 10 failed redemptions from one IP in 15 minutes, its redemptions are
/// refused in every dialect's form before the token is looked up: the right token is
/// refused too, and neither spent nor counted; it works once the window is over.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn security_10_failed_redemptions_per_ip_are_refused_before_lookup(#[case] backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let ann = server.create_user(ANN, OLD_PASSWORD).await;
    start_of_a_fresh_window(&server);
    let answer = request_reset(&server, Dialect::Strapi, ANN, None).await;
    assert_accepted(Dialect::Strapi, &answer);
    let code = secret_of(Dialect::Strapi, &server.mail(1).await);

    // Ten guesses, spread over the dialects (Ann's Cloudreve and IPCola tokens do not
    // exist, so nothing is burned).
    for n in 0..10 {
        let dialect = DIALECTS[n % 4];
        let guess = made_up_secret(dialect, n + 1);
        let answer = redeem(&server, dialect, (ANN, &ann.id), &guess).await;
        assert_invalid_secret(dialect, &answer);
    }
    // The eleventh attempt, with the right code: refused before the lookup.
    assert_too_many(
        Dialect::Strapi,
        &redeem(&server, Dialect::Strapi, (ANN, ""), &code).await,
    );
    for dialect in DIALECTS {
        let guess = made_up_secret(dialect, 99);
        assert_too_many(
            dialect,
            &redeem(&server, dialect, (ANN, &ann.id), &guess).await,
        );
    }
    // Logins are counted apart: the account still logs in.
    let answer = login(&server, ANN, OLD_PASSWORD).await;
    assert_eq!(answer.status, 200, "{}", answer.body);

    // The code was neither spent nor burned by the refused attempts.
    server.clock.advance(LONG_WINDOW);
    let answer = redeem(&server, Dialect::Strapi, (ANN, ""), &code).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    server.stop().await;
}

/// SECURITY.md 10 counts guesses: a secret the server did issue, presented again after it
/// was spent (a second click, a lost race), is refused as usual without using up the IP's
/// allowance.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn security_10_spent_secrets_are_not_counted_as_guesses(#[case] backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let ann = server.create_user(ANN, OLD_PASSWORD).await;
    start_of_a_fresh_window(&server);
    request_reset(&server, Dialect::Cloudreve, ANN, None).await;
    let secret = secret_of(Dialect::Cloudreve, &server.mail(1).await);
    let answer = redeem(&server, Dialect::Cloudreve, (ANN, &ann.id), &secret).await;
    assert_eq!(answer.json()["code"], 0, "{}", answer.body);
    for _ in 0..12 {
        let answer = redeem(&server, Dialect::Cloudreve, (ANN, &ann.id), &secret).await;
        assert_invalid_secret(Dialect::Cloudreve, &answer);
    }
    // Guesses still count from here.
    for n in 0..10 {
        let guess = made_up_secret(Dialect::Cloudreve, n);
        let answer = redeem(&server, Dialect::Cloudreve, (ANN, &ann.id), &guess).await;
        assert_invalid_secret(Dialect::Cloudreve, &answer);
    }
    let guess = made_up_secret(Dialect::Cloudreve, 10);
    assert_too_many(
        Dialect::Cloudreve,
        &redeem(&server, Dialect::Cloudreve, (ANN, &ann.id), &guess).await,
    );
    server.stop().await;
}

/// `/v1/login`: after 10 failed logins from one IP in 15 minutes, 429 in resetd's error
/// form, before the password is checked (the right one is refused too).
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn failed_logins_per_ip_are_limited(#[case] backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    server.create_user(ANN, OLD_PASSWORD).await;
    start_of_a_fresh_window(&server);
    // Successes are not counted.
    for _ in 0..12 {
        assert_eq!(login(&server, ANN, OLD_PASSWORD).await.status, 200);
    }
    for n in 0..10 {
        let email = if n % 2 == 0 {
            ANN
        } else {
            "nobody@example.com"
        };
        let answer = login(&server, email, "wrong-password").await;
        assert_eq!(answer.status, 401, "{}", answer.body);
    }
    let answer = login(&server, ANN, OLD_PASSWORD).await;
    assert_eq!(answer.status, 429, "{}", answer.body);
    assert_eq!(
        answer.json(),
        serde_json::json!({
            "code": 429,
            "message": "too many failed logins from this client, try again later"
        })
    );
    // The generated client sees the documented 429.
    let refused = server
        .client
        .resetd_login()
        .body(types::ResetdLoginRequest {
            email: ANN.to_owned(),
            password: OLD_PASSWORD.to_owned(),
            client_id: None,
            scope: None,
        })
        .send()
        .await
        .expect_err("refused");
    match refused {
        resetd_client::Error::ErrorResponse(response) => {
            assert_eq!(response.status().as_u16(), 429);
            assert_eq!(response.code, 429);
        }
        other => panic!("not the documented error: {other}"),
    }
    // Redemptions are counted apart.
    let answer = request_reset(&server, Dialect::Strapi, ANN, None).await;
    assert_accepted(Dialect::Strapi, &answer);
    let code = secret_of(Dialect::Strapi, &server.mail(1).await);
    let answer = redeem(&server, Dialect::Strapi, (ANN, ""), &code).await;
    assert_eq!(answer.status, 200, "{}", answer.body);

    server.clock.advance(LONG_WINDOW);
    let answer = login(&server, ANN, NEW_PASSWORD).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    server.stop().await;
}

/// `X-Forwarded-For` names the client only when the socket peer is a trusted proxy, and
/// then only its right-most untrusted entry: what a client wrote there itself is ignored.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn x_forwarded_for_is_honoured_only_from_a_trusted_proxy(#[case] backend: Backend) {
    let Some(proxied) = TestServer::start_with(backend, |c| {
        c.security.trusted_proxies = vec!["127.0.0.1/32".parse().expect("network")];
        c.security.ip_requests_per_window = 2;
    })
    .await
    else {
        return;
    };
    start_of_a_fresh_window(&proxied);
    let strapi = |xff: &'static str, email: &'static str| {
        let server = &proxied;
        async move { request_reset(server, Dialect::Strapi, email, Some(xff)).await }
    };
    // Each forwarded client has its own count.
    for _ in 0..2 {
        assert_accepted(
            Dialect::Strapi,
            &strapi("203.0.113.7", "a@example.com").await,
        );
    }
    assert_too_many(
        Dialect::Strapi,
        &strapi("203.0.113.7", "b@example.com").await,
    );
    assert_accepted(
        Dialect::Strapi,
        &strapi("203.0.113.8", "c@example.com").await,
    );
    // A client's own entry on the left changes nothing: the proxy's entry is the client.
    assert_too_many(
        Dialect::Strapi,
        &strapi("198.51.100.1, 203.0.113.7", "d@example.com").await,
    );
    assert_too_many(
        Dialect::Strapi,
        &strapi("198.51.100.2, 203.0.113.7", "e@example.com").await,
    );
    // The audit trail shows the forwarded address too. The event is written when the
    // queued request is processed, in the transaction that queues its mail.
    proxied.create_user(ANN, OLD_PASSWORD).await;
    assert_accepted(Dialect::Strapi, &strapi("203.0.113.9", ANN).await);
    proxied.mail(1).await;
    let audit = proxied.store().await.list_audit(1).await.expect("audit");
    assert_eq!(audit[0].client_ip.as_deref(), Some("203.0.113.9"));
    proxied.stop().await;

    // Without trusted proxies the header is the client's word: ignored.
    let Some(direct) =
        TestServer::start_with(backend, |c| c.security.ip_requests_per_window = 2).await
    else {
        return;
    };
    start_of_a_fresh_window(&direct);
    for (n, xff) in ["203.0.113.1", "203.0.113.2"].into_iter().enumerate() {
        let email = format!("f{n}@example.com");
        let answer = request_reset(&direct, Dialect::Strapi, &email, Some(xff)).await;
        assert_accepted(Dialect::Strapi, &answer);
    }
    let answer = request_reset(
        &direct,
        Dialect::Strapi,
        "g@example.com",
        Some("203.0.113.3"),
    )
    .await;
    assert_too_many(Dialect::Strapi, &answer);
    direct.clock.advance(Duration::from_secs(60));
    direct.create_user(ANN, OLD_PASSWORD).await;
    let answer = request_reset(&direct, Dialect::Strapi, ANN, Some("203.0.113.9")).await;
    assert_accepted(Dialect::Strapi, &answer);
    direct.mail(1).await;
    let audit = direct.store().await.list_audit(1).await.expect("audit");
    assert_eq!(audit[0].client_ip.as_deref(), Some("127.0.0.1"));
    direct.stop().await;
}

/// `[security] rate_limits = "off"` disables every limit, however low the numbers.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn rate_limits_off_disables_every_limit(#[case] backend: Backend) {
    let Some(server) = TestServer::start_with(backend, |c| {
        c.security.rate_limits = Switch::Off;
        c.security.account_requests_per_window = 1;
        c.security.ip_requests_per_window = 1;
        c.security.ip_failed_redemptions_per_window = 1;
    })
    .await
    else {
        return;
    };
    let ann = server.create_user(ANN, OLD_PASSWORD).await;
    start_of_a_fresh_window(&server);

    for dialect in DIALECTS {
        let answer = request_reset(&server, dialect, ANN, None).await;
        assert_accepted(dialect, &answer);
        let answer = request_reset(&server, dialect, "nobody@example.com", None).await;
        assert_accepted(dialect, &answer);
    }
    let mails = exactly_mails(&server, 4).await;
    assert_eq!(account_count(&server, ANN).await, 0, "nothing counted");

    for n in 0..3 {
        let guess = made_up_secret(Dialect::Strapi, n);
        let answer = redeem(&server, Dialect::Strapi, (ANN, ""), &guess).await;
        assert_invalid_secret(Dialect::Strapi, &answer);
        assert_eq!(login(&server, ANN, "wrong-password").await.status, 401);
    }
    let cloudreve = mails
        .iter()
        .find(|m| is_cloudreve_reset(m))
        .expect("the Cloudreve mail");
    let secret = secret_of(Dialect::Cloudreve, cloudreve);
    let answer = redeem(&server, Dialect::Cloudreve, (ANN, &ann.id), &secret).await;
    assert_eq!(answer.json()["code"], 0, "{}", answer.body);
    assert_eq!(login(&server, ANN, NEW_PASSWORD).await.status, 200);
    server.stop().await;
}

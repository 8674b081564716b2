//! The Cloudreve v4 reset flow, end to end: a real server, the generated client, real mail.

use crate::support;

use rstest::rstest;

use resetd_client::types;
use support::{Backend, ReceivedMail, TestServer, PUBLIC_BASE_URL};

const EMAIL: &str = "ann@example.com";
const OLD_PASSWORD: &str = "old-password-1";
const NEW_PASSWORD: &str = "new-password-2";
const LINK_PREFIX: &str = "https://accounts.example.test/session/reset?";

/// Cloudreve's codes this suite checks.
const OK: i64 = 0;
const BAD_PARAMETERS: i64 = 40001;
const USER_NOT_FOUND: i64 = 40021;

async fn request_reset(server: &TestServer, email: &str) -> types::CloudreveResponse {
    server.request_cloudreve_reset(email).await
}

/// The `id` and `secret` of the link in a reset email.
fn link_params(mail: &ReceivedMail) -> (String, String) {
    let link = mail
        .find_link(LINK_PREFIX)
        .expect("the email carries a link on the public base URL");
    let url = url::Url::parse(&link).expect("link is a URL");
    let param = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_else(|| panic!("link has no {name}: {link}"))
    };
    (param("id"), param("secret"))
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn full_reset_flow_through_an_emailed_link(#[case] backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let user = server.create_user(EMAIL, OLD_PASSWORD).await;
    let session = server
        .login(EMAIL, OLD_PASSWORD)
        .await
        .expect("old password logs in before the reset");
    assert!(server.introspect(&session.access_token).await.active);

    let answer = request_reset(&server, EMAIL).await;
    assert_eq!(answer.code, OK);
    assert_eq!(answer.msg.as_deref(), Some(""));
    assert_eq!(
        answer.correlation_id, None,
        "only failed requests carry one"
    );

    let mail = server.mail(1).await;
    assert_eq!(mail.to(), EMAIL);
    assert_eq!(mail.subject(), "Reset your resetd password");
    assert!(
        mail.text_body().contains("expires in 1 hour"),
        "{}",
        mail.text_body()
    );
    assert!(mail.html_body().contains("Choose a new password"));
    let (id, secret) = link_params(&mail);
    assert_eq!(id, user.id, "the link names the account's opaque id");
    assert_eq!(secret.len(), 32);
    assert!(secret.chars().all(|c| c.is_ascii_alphanumeric()));

    let answer = server
        .reset_cloudreve_password(&id, &secret, NEW_PASSWORD)
        .await;
    assert_eq!(answer.code, OK, "{answer:?}");
    let data = answer.data.expect("the user comes back in data");
    assert_eq!(data.id, user.id);
    assert_eq!(data.email.as_deref(), Some(EMAIL));
    assert_eq!(data.nickname.as_deref(), Some("Test User"));
    assert_eq!(data.anonymous, Some(false));
    assert_eq!(data.status, Some(types::CloudreveUserStatus::Active));
    assert_eq!(data.language, "en-US");

    assert!(
        !server.introspect(&session.access_token).await.active,
        "sessions opened before the reset are revoked"
    );
    assert!(!server.introspect(&session.refresh_token).await.active);
    assert!(server.login(EMAIL, OLD_PASSWORD).await.is_none());
    let fresh = server
        .login(EMAIL, NEW_PASSWORD)
        .await
        .expect("new password logs in");
    assert!(server.introspect(&fresh.access_token).await.active);

    let store = server.store().await;
    let kinds: Vec<String> = store
        .list_audit(10)
        .await
        .expect("audit rows")
        .iter()
        .map(|e| {
            format!(
                "{} {} {}",
                e.kind,
                e.dialect.as_deref().unwrap_or("-"),
                e.client_ip.as_deref().unwrap_or("-")
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "reset_completed cloudreve 127.0.0.1",
            "reset_requested cloudreve 127.0.0.1"
        ]
    );

    let notice = server.mail(2).await;
    assert_eq!(notice.to(), EMAIL);
    assert_eq!(notice.subject(), "Your resetd password was changed");
    assert!(!notice.raw().contains(&secret));
    server.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_email_is_answered_like_a_known_one_and_gets_no_mail(#[case] backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    server.create_user(EMAIL, OLD_PASSWORD).await;
    let banned = "banned@example.com";
    server
        .create_user_with_status(banned, OLD_PASSWORD, types::ResetdUserStatus::Banned)
        .await;

    let send = |email: &'static str| {
        server
            .client
            .cloudreve_send_reset_email()
            .body(types::CloudreveSendResetEmailRequest {
                email: email.to_owned(),
                captcha: None,
                ticket: None,
            })
            .send()
    };
    let known = send(EMAIL).await.expect("answer");
    let unknown = send("nobody@example.com").await.expect("answer");
    let blocked = send(banned).await.expect("answer");
    for other in [&unknown, &blocked] {
        assert_eq!(other.status(), known.status());
        assert_eq!(
            other.headers().get("content-type"),
            known.headers().get("content-type")
        );
        assert_eq!(
            other.headers().get("content-length"),
            known.headers().get("content-length")
        );
        assert_eq!(
            serde_json::to_value(&**other).expect("json"),
            serde_json::to_value(&*known).expect("json")
        );
    }

    // Exactly one message is queued and delivered: the known account's.
    let mails = server.settled_mail().await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0].to(), EMAIL);
    let store = server.store().await;
    let queued = store.list_outbox(None).await.expect("outbox rows");
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].recipient, EMAIL);
    let audit = store.list_audit(10).await.expect("audit rows");
    assert_eq!(
        audit.len(),
        1,
        "only the known account's request is audited: {audit:?}"
    );
    server.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn revealing_mode_answers_like_cloudreve(#[case] backend: Backend) {
    let Some(server) =
        TestServer::start_with(backend, |c| c.security.reveal_unknown_accounts = true).await
    else {
        return;
    };
    assert_eq!(
        request_reset(&server, "nobody@example.com").await.code,
        USER_NOT_FOUND
    );
    server.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_answered_inside_the_envelope(#[case] backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let user = server.create_user(EMAIL, OLD_PASSWORD).await;
    let http = reqwest::Client::new();
    let patch = |body: &'static str| {
        http.patch(format!("{}/user/reset/{}", server.base_url, user.id))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    for body in [
        "{not json",
        "[]",
        r#"{"password": 12345678, "secret": "x"}"#,
        r#"{"secret": "abc"}"#,
        r#"{"password": "short", "secret": "abc"}"#,
        r#"{"password": "ééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé", "secret": "abc"}"#,
    ] {
        let response = patch(body).await.expect("answer");
        assert_eq!(response.status(), 200, "{body}");
        let json: serde_json::Value = response.json().await.expect("JSON envelope");
        assert_eq!(json["code"], BAD_PARAMETERS, "{body}: {json}");
        assert!(json["data"].is_null(), "{json}");
        assert!(
            json["msg"].as_str().is_some_and(|m| !m.is_empty()),
            "{json}"
        );
    }
    let response = http
        .post(format!("{}/user/reset", server.base_url))
        .header("content-type", "application/json")
        .body(r#"{"email": "not an address"}"#)
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status(), 200);
    let json: serde_json::Value = response.json().await.expect("JSON envelope");
    assert_eq!(json["code"], BAD_PARAMETERS);

    let store = server.store().await;
    assert!(
        store.list_outbox(None).await.expect("rows").is_empty(),
        "nothing queued"
    );
    assert!(
        server.login(EMAIL, OLD_PASSWORD).await.is_some(),
        "nothing changed"
    );
    server.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn links_come_from_the_configured_base_url_not_the_host_header(#[case] backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    server.create_user(EMAIL, OLD_PASSWORD).await;
    let response = reqwest::Client::new()
        .post(format!("{}/user/reset", server.base_url))
        .header("host", "evil.example")
        .header("x-forwarded-host", "evil.example")
        .json(&serde_json::json!({ "email": EMAIL }))
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status(), 200);
    let mail = server.mail(1).await;
    assert!(mail.find_link(PUBLIC_BASE_URL).is_some());
    assert!(!mail.raw().contains("evil.example"));
    server.stop().await;
}

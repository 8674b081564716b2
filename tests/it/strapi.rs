//! The Strapi users-permissions reset flow, end to end: a real server, the generated client,
//! real mail.

use crate::support;

use rstest::rstest;

use resetd_client::types;
use support::dialects::{self, JSON};
use support::{Backend, ReceivedMail, TestServer, PUBLIC_BASE_URL};

const EMAIL: &str = "ann@example.com";
const OLD_PASSWORD: &str = "old-password-1";
const NEW_PASSWORD: &str = "new-password-2";
const RESET_SUBJECT: &str = "Reset your resetd password";

/// The 128 lowercase hex characters of the code in a reset email.
fn code_of(mail: &ReceivedMail) -> String {
    let code = mail
        .find_code(|w| w.len() == 128)
        .unwrap_or_else(|| panic!("no 128-character code in {}", mail.text_body()));
    assert!(
        code.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "code is lowercase hex: {code}"
    );
    code
}

async fn forgot_password(server: &TestServer, email: &str) -> types::StrapiOkResponse {
    server
        .client
        .strapi_forgot_password()
        .body(types::StrapiForgotPasswordRequest {
            email: email.to_owned(),
        })
        .send()
        .await
        .expect("200 {ok: true}")
        .into_inner()
}

/// The first reset mail to `email` among the messages after the first `since`, waiting for it
/// (other mail, e.g. a "password changed" notice still on its way, is skipped).
async fn reset_mail_after(server: &TestServer, email: &str, since: usize) -> ReceivedMail {
    server.mail_to_after(email, RESET_SUBJECT, since).await
}

/// Asks for a code for `email` and returns the one its reset mail carries.
async fn fresh_code(server: &TestServer, email: &str) -> String {
    let since = server.sink.messages().len();
    let ok = forgot_password(server, email).await;
    assert!(ok.ok);
    code_of(&reset_mail_after(server, email, since).await)
}

/// `POST /auth/reset-password`: the `{jwt, user}` or the error status and body.
async fn reset(
    server: &TestServer,
    code: &str,
    password: &str,
    confirmation: &str,
) -> Result<types::StrapiAuthResponse, (u16, types::StrapiError)> {
    match server
        .client
        .strapi_reset_password()
        .body(types::StrapiResetPasswordRequest {
            code: code.to_owned(),
            password: password.to_owned(),
            password_confirmation: confirmation.to_owned(),
        })
        .send()
        .await
    {
        Ok(answer) => {
            assert_eq!(answer.status(), 200);
            Ok(answer.into_inner())
        }
        Err(resetd_client::Error::ErrorResponse(answer)) => {
            let status = answer.status().as_u16();
            Err((status, answer.into_inner()))
        }
        Err(other) => panic!("reset-password failed unexpectedly: {other}"),
    }
}

/// A reset with `password` as its own confirmation.
async fn reset_with(
    server: &TestServer,
    code: &str,
    password: &str,
) -> Result<types::StrapiAuthResponse, (u16, types::StrapiError)> {
    reset(server, code, password, password).await
}

/// Asserts a Strapi error: `status`, `code == status`, and the message (if given).
#[track_caller]
fn assert_error<T: std::fmt::Debug>(
    answer: Result<T, (u16, types::StrapiError)>,
    status: u16,
    message: Option<&str>,
) {
    let (got, body) = answer.expect_err("an error answer");
    assert_eq!(got, status, "{body:?}");
    assert_eq!(body.code, i64::from(status), "code equals the HTTP status");
    // Strapi 4/5's envelope rides along: the same status and message, data null.
    assert_eq!(body.error.status, body.code, "{body:?}");
    assert_eq!(body.error.message, body.message, "{body:?}");
    assert!(body.data.is_none(), "{body:?}");
    match message {
        Some(message) => assert_eq!(body.message, message),
        None => assert!(!body.message.is_empty()),
    }
}

/// A raw JSON `POST`: status, content type and the parsed body.
async fn post_raw(server: &TestServer, path: &str, body: &str) -> (u16, serde_json::Value) {
    let answer = dialects::post_raw(server, path, Some(JSON), body.to_owned()).await;
    (answer.status, answer.json())
}

/// `n` characters cycling through lower, upper, digit and other (no common password).
fn password_of(n: usize) -> String {
    "kQ7#vX2!mZ9$".chars().cycle().take(n).collect()
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn full_reset_flow_logs_the_user_in_and_revokes_old_sessions(#[case] backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    server.create_user(EMAIL, OLD_PASSWORD).await;
    let account = server
        .store()
        .await
        .user_by_email(EMAIL)
        .await
        .expect("lookup")
        .expect("account row");
    let session = server
        .login(EMAIL, OLD_PASSWORD)
        .await
        .expect("old password logs in before the reset");
    assert!(server.introspect(&session.access_token).await.active);

    let answer = server
        .client
        .strapi_forgot_password()
        .body(types::StrapiForgotPasswordRequest {
            email: EMAIL.to_owned(),
        })
        .send()
        .await
        .expect("200");
    assert_eq!(answer.status(), 200);
    assert_eq!(
        serde_json::to_value(&*answer).expect("json"),
        serde_json::json!({ "ok": true })
    );

    let mail = server.mail(1).await;
    assert_eq!(mail.to(), EMAIL);
    assert_eq!(mail.rcpt_to, vec![EMAIL.to_owned()]);
    assert_eq!(mail.subject(), RESET_SUBJECT);
    assert!(
        mail.text_body().contains("expires in 1 hour"),
        "{}",
        mail.text_body()
    );
    assert!(
        mail.find_link(PUBLIC_BASE_URL).is_none(),
        "Strapi mails carry a code, not a link"
    );
    let code = code_of(&mail);
    assert!(
        mail.html_body().contains(&code),
        "the HTML part shows it too"
    );

    let auth = reset_with(&server, &code, NEW_PASSWORD)
        .await
        .expect("the reset succeeds");
    assert_eq!(auth.user.id, account.id);
    assert_eq!(auth.user.email, EMAIL);
    assert_eq!(auth.user.username, "Test User");
    assert_eq!(auth.user.provider, "local");
    assert!(!auth.user.blocked);
    assert!(auth.user.confirmed);
    assert!(auth.user.updated_at >= auth.user.created_at);

    let jwt = server.introspect(&auth.jwt).await;
    assert!(jwt.active, "the jwt is a live bearer token");
    assert_eq!(jwt.email.as_deref(), Some(EMAIL));
    assert_eq!(jwt.client_id.as_deref(), Some("strapi"));

    let old = server.introspect(&session.access_token).await;
    assert!(!old.active, "sessions opened before the reset are revoked");
    assert_eq!(old.email, None, "an inactive token tells nothing");
    assert!(!server.introspect(&session.refresh_token).await.active);
    assert!(server.login(EMAIL, OLD_PASSWORD).await.is_none());
    let fresh = server
        .login(EMAIL, NEW_PASSWORD)
        .await
        .expect("new password logs in");
    assert!(server.introspect(&fresh.access_token).await.active);
    assert!(
        server.introspect(&auth.jwt).await.active,
        "a later login does not revoke the reset's jwt"
    );

    let notice = server.mail(2).await;
    assert_eq!(notice.to(), EMAIL);
    assert_eq!(notice.subject(), "Your resetd password was changed");
    assert!(!notice.raw().contains(&code));
    assert!(!notice.raw().contains(NEW_PASSWORD));
    server.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn mismatched_confirmation_is_refused_without_spending_the_code(#[case] backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    server.create_user(EMAIL, OLD_PASSWORD).await;
    let code = fresh_code(&server, EMAIL).await;

    let answer = reset(&server, &code, NEW_PASSWORD, "new-password-3").await;
    assert_error(answer, 400, Some("Passwords do not match"));
    // Differing only in case or trailing space is still a mismatch.
    let answer = reset(&server, &code, NEW_PASSWORD, &format!("{NEW_PASSWORD} ")).await;
    assert_error(answer, 400, Some("Passwords do not match"));
    // Checked before the code: a wrong code with a mismatch is a mismatch.
    let answer = reset(&server, &"0".repeat(128), NEW_PASSWORD, "x").await;
    assert_error(answer, 400, Some("Passwords do not match"));

    assert!(server.login(EMAIL, OLD_PASSWORD).await.is_some());
    reset_with(&server, &code, NEW_PASSWORD)
        .await
        .expect("the code was not spent");
    server.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn password_length_edges_are_six_to_128_code_points(#[case] backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    // A fresh account (and code) per edge: each success spends its code.
    for email in ["min@example.com", "max@example.com", "wide@example.com"] {
        server.create_user(email, OLD_PASSWORD).await;
    }

    // Lower edge: 5 refused, exactly 6 accepted (on the same code: a refusal does not spend it).
    let code = fresh_code(&server, "min@example.com").await;
    let answer = reset_with(&server, &code, &password_of(5)).await;
    assert_error(answer, 400, Some("password must be at least 6 characters"));
    assert!(server
        .login("min@example.com", OLD_PASSWORD)
        .await
        .is_some());
    reset_with(&server, &code, &password_of(6))
        .await
        .expect("exactly 6 characters are accepted");
    assert!(server
        .login("min@example.com", &password_of(6))
        .await
        .is_some());

    // Upper edge: 129 refused (not truncated), exactly 128 accepted.
    let code = fresh_code(&server, "max@example.com").await;
    let answer = reset_with(&server, &code, &password_of(129)).await;
    assert_error(answer, 400, Some("password must be at most 128 characters"));
    reset_with(&server, &code, &password_of(128))
        .await
        .expect("exactly 128 characters are accepted");
    assert!(server
        .login("max@example.com", &password_of(128))
        .await
        .is_some());
    assert!(
        server
            .login("max@example.com", &password_of(127))
            .await
            .is_none(),
        "no truncation"
    );

    // Code points, not bytes: 128 two-byte characters (256 bytes) are 128 characters, and
    // 6 four-byte characters are 6.
    let code = fresh_code(&server, "wide@example.com").await;
    let wide = "é".repeat(129);
    assert_error(reset_with(&server, &code, &wide).await, 400, None);
    let wide = "éè".repeat(64);
    reset_with(&server, &code, &wide)
        .await
        .expect("128 two-byte characters are accepted");
    assert!(server.login("wide@example.com", &wide).await.is_some());
    server.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn short_multibyte_passwords_are_counted_in_code_points(#[case] backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    server.create_user(EMAIL, OLD_PASSWORD).await;
    let code = fresh_code(&server, EMAIL).await;
    // 5 emoji are 20 bytes but 5 characters: too short.
    let answer = reset_with(&server, &code, &"🔑".repeat(5)).await;
    assert_error(answer, 400, Some("password must be at least 6 characters"));
    reset_with(&server, &code, "🔑🗝🔑🗝🔑🗝")
        .await
        .expect("6 emoji are 6 characters");
    server.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn the_accounts_email_is_refused_as_password(#[case] backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    server.create_user(EMAIL, OLD_PASSWORD).await;
    let code = fresh_code(&server, EMAIL).await;
    for password in [EMAIL, "Ann@Example.COM"] {
        let answer = reset_with(&server, &code, password).await;
        assert_error(
            answer,
            400,
            Some("password must not be the account's email address"),
        );
    }
    reset_with(&server, &code, NEW_PASSWORD)
        .await
        .expect("the code was not spent");
    server.stop().await;
}

/// SECURITY.md 12: a blocklist of common passwords on top of the length rule.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn common_passwords_are_refused(#[case] backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    server.create_user(EMAIL, OLD_PASSWORD).await;
    let code = fresh_code(&server, EMAIL).await;
    for common in ["123456", "password", "12345678", "qwerty"] {
        let answer = reset_with(&server, &code, common).await;
        assert_error(answer, 400, None);
    }
    assert!(server.login(EMAIL, OLD_PASSWORD).await.is_some());
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
    let inactive = "inactive@example.com";
    server
        .create_user_with_status(inactive, OLD_PASSWORD, types::ResetdUserStatus::Inactive)
        .await;

    let send = |email: &'static str| {
        server
            .client
            .strapi_forgot_password()
            .body(types::StrapiForgotPasswordRequest {
                email: email.to_owned(),
            })
            .send()
    };
    let known = send(EMAIL).await.expect("answer");
    assert_eq!(known.status(), 200);
    for email in ["nobody@example.com", banned, inactive] {
        let other = send(email).await.expect("answer");
        assert_eq!(other.status(), known.status(), "{email}");
        assert_eq!(
            other.headers().get("content-type"),
            known.headers().get("content-type"),
            "{email}"
        );
        assert_eq!(
            other.headers().get("content-length"),
            known.headers().get("content-length"),
            "{email}"
        );
        assert_eq!(
            serde_json::to_value(&*other).expect("json"),
            serde_json::to_value(&*known).expect("json"),
            "{email}"
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
    server.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn revealing_mode_still_answers_ok_like_strapi(#[case] backend: Backend) {
    let Some(server) =
        TestServer::start_with(backend, |c| c.security.reveal_unknown_accounts = true).await
    else {
        return;
    };
    let ok = forgot_password(&server, "nobody@example.com").await;
    assert!(ok.ok);
    assert!(server.settled_mail().await.is_empty());
    let queued = server.store().await.list_outbox(None).await.expect("rows");
    assert!(queued.is_empty(), "{queued:?}");
    server.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_a_400_in_strapis_shape_and_writes_nothing(#[case] backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    server.create_user(EMAIL, OLD_PASSWORD).await;
    let code = fresh_code(&server, EMAIL).await;

    let good = format!(r#""code": "{code}", "password": "{NEW_PASSWORD}""#);
    let bodies = [
        "{not json".to_owned(),
        String::new(),
        "[]".to_owned(),
        "null".to_owned(),
        format!("{{{good}}}"), // no passwordConfirmation
        format!(r#"{{"password": "{NEW_PASSWORD}", "passwordConfirmation": "{NEW_PASSWORD}"}}"#),
        format!(
            r#"{{"code": 12, "password": "{NEW_PASSWORD}", "passwordConfirmation": "{NEW_PASSWORD}"}}"#
        ),
        format!(r#"{{"code": "{code}", "password": 123456, "passwordConfirmation": 123456}}"#),
        format!(r#"{{{good}, "passwordConfirmation": null}}"#),
    ];
    for body in &bodies {
        let (status, json) = post_raw(&server, "/auth/reset-password", body).await;
        assert_eq!(status, 400, "{body}: {json}");
        assert_eq!(json["code"], 400, "{body}: {json}");
        assert!(
            json["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{body}: {json}"
        );
        assert!(
            !json.to_string().contains(&code),
            "the code is never echoed: {json}"
        );
    }
    for body in [
        "{not json",
        "{}",
        r#"{"email": 5}"#,
        r#"{"email": "not an address"}"#,
    ] {
        let (status, json) = post_raw(&server, "/auth/forgot-password", body).await;
        assert_eq!(status, 400, "{body}: {json}");
        assert_eq!(json["code"], 400, "{body}: {json}");
        assert!(
            json["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{json}"
        );
    }
    let (_, json) = post_raw(
        &server,
        "/auth/forgot-password",
        r#"{"email": "not an address"}"#,
    )
    .await;
    assert_eq!(json["message"], "email must be a valid email");

    // An oversized body is refused in the same shape, never a 500; 413 since the declared
    // length is over the limit (SECURITY 28).
    let huge = format!(
        r#"{{"code": "{code}", "password": "{pw}", "passwordConfirmation": "{pw}"}}"#,
        pw = "x".repeat(20 * 1024)
    );
    let (status, json) = post_raw(&server, "/auth/reset-password", &huge).await;
    assert_eq!(status, 413, "{json}");
    assert_eq!(json["code"], 413, "{json}");

    let store = server.store().await;
    let queued = store.list_outbox(None).await.expect("rows");
    assert_eq!(queued.len(), 1, "only the reset mail: {queued:?}");
    assert!(server.login(EMAIL, OLD_PASSWORD).await.is_some());
    reset_with(&server, &code, NEW_PASSWORD)
        .await
        .expect("the code survived the bad requests");
    server.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn a_code_of_a_banned_account_is_refused(#[case] backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let user = server.create_user(EMAIL, OLD_PASSWORD).await;
    let code = fresh_code(&server, EMAIL).await;
    server
        .set_status(&user.id, types::ResetdUserStatus::Banned)
        .await;

    let store = server.store().await;
    let before = store.user_by_email(EMAIL).await.expect("lookup");
    let before = before.expect("row");

    let answer = reset_with(&server, &code, NEW_PASSWORD).await;
    assert_error(answer, 403, None);
    let after = store.user_by_email(EMAIL).await.expect("lookup");
    let after = after.expect("row");
    assert_eq!(after.password_hash, before.password_hash, "nothing changed");
    assert_eq!(
        store.list_outbox(None).await.expect("rows").len(),
        1,
        "no \"password changed\" mail"
    );
    server.stop().await;
}

/// SECURITY.md 19: no password in an error message, also when it was sent with the wrong type.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn a_refused_body_never_echoes_the_password(#[case] backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    for body in [
        r#"{"code": "abc", "password": 98765432, "passwordConfirmation": 98765432}"#,
        r#"{"code": "abc", "password": true, "passwordConfirmation": "hunter2hunter2"}"#,
    ] {
        let (status, json) = post_raw(&server, "/auth/reset-password", body).await;
        assert_eq!(status, 400);
        let message = json["message"].as_str().expect("message");
        assert!(
            !message.contains("98765432") && !message.contains("hunter2"),
            "{message}"
        );
    }
    server.stop().await;
}

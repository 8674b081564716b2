//! The SelfCommunity v2 account-recovery flow, end to end: a real server, the generated
//! client, real mail.

use crate::support;

use rstest::rstest;

use std::time::Duration;

use resetd_client::types;
use support::dialects::{self, JSON};
use support::{Backend, ReceivedMail, TestServer};

const EMAIL: &str = "ann@example.com";
const OLD_PASSWORD: &str = "Old-passw0rd-1";
const NEW_PASSWORD: &str = "New-passw0rd-2";
const LINK_PREFIX: &str = "https://accounts.example.test/account/recover/password?";
const RESET_SUBJECT: &str = "Reset your resetd password";
const TOO_WEAK: &str = "password_too_weak";

/// The validation code of the link in a recovery email, checking the link's shape.
fn code_of(mail: &ReceivedMail) -> String {
    let link = mail
        .find_link(LINK_PREFIX)
        .unwrap_or_else(|| panic!("no link on the public base URL in {}", mail.text_body()));
    let url = url::Url::parse(&link).expect("link is a URL");
    assert_eq!(url.scheme(), "https");
    assert_eq!(url.host_str(), Some("accounts.example.test"));
    assert_eq!(url.path(), "/account/recover/password");
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    assert_eq!(pairs.len(), 3, "{link}");
    assert_eq!(pairs[0].0, "validation_code", "{link}");
    assert_eq!(pairs[1], ("next".to_owned(), "/".to_owned()), "{link}");
    // resetd's own addition, for its reset page: the email's language.
    assert_eq!(pairs[2].0, "lang", "{link}");
    let code = pairs[0].1.clone();
    assert_eq!(code.len(), 34, "{link}");
    assert!(
        code.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "code is lowercase hex: {code}"
    );
    code
}

/// `POST /api/v2/account/recover/` through the client; asserts the bare 204.
async fn recover(server: &TestServer, email: &str) {
    let answer = server
        .client
        .selfcommunity_recover_account()
        .body(types::SelfcommunityRecoverRequest {
            email: email.to_owned(),
        })
        .send()
        .await
        .expect("204");
    assert_eq!(answer.status(), 204);
}

/// The first reset mail to `email` among the messages after the first `since`, waiting for it
/// (other mail, e.g. a "password changed" notice still on its way, is skipped).
async fn reset_mail_after(server: &TestServer, email: &str, since: usize) -> ReceivedMail {
    server.mail_to_after(email, RESET_SUBJECT, since).await
}

/// Asks for a recovery of `email` and returns the validation code its email carries.
async fn fresh_code(server: &TestServer, email: &str) -> String {
    let since = server.sink.messages().len();
    recover(server, email).await;
    code_of(&reset_mail_after(server, email, since).await)
}

/// `POST /api/v2/account/reset/` through the client: the token, or the error status and body.
async fn reset(
    server: &TestServer,
    code: &str,
    password: &str,
) -> Result<types::SelfcommunityToken, (u16, types::SelfcommunityError)> {
    match server
        .client
        .selfcommunity_reset_password()
        .body(types::SelfcommunityResetRequest {
            validation_code: code.to_owned(),
            password: password.parse().expect("password within 8..=128"),
        })
        .send()
        .await
    {
        Ok(answer) => {
            assert_eq!(answer.status(), 200);
            Ok(answer.into_inner().token)
        }
        Err(resetd_client::Error::ErrorResponse(answer)) => {
            let status = answer.status().as_u16();
            Err((status, answer.into_inner()))
        }
        Err(other) => panic!("reset failed unexpectedly: {other}"),
    }
}

/// Asserts a SelfCommunity error: status, machine code and (if given) the detail.
#[track_caller]
fn assert_error<T: std::fmt::Debug>(
    answer: Result<T, (u16, types::SelfcommunityError)>,
    status: u16,
    code: &str,
    detail: Option<&str>,
) {
    let (got, body) = answer.expect_err("an error answer");
    assert_eq!(got, status, "{body:?}");
    assert_eq!(body.code, code, "{body:?}");
    match detail {
        Some(detail) => assert_eq!(body.detail, detail),
        None => assert!(!body.detail.is_empty()),
    }
}

/// A raw JSON `POST`: status and body text.
async fn post_raw(server: &TestServer, path: &str, body: &str) -> (u16, String) {
    let answer = dialects::post_raw(server, path, Some(JSON), body.to_owned()).await;
    (answer.status, answer.body)
}

/// A raw `POST` expected to fail: status and the `{detail, code}` body, checked for shape
/// (beside them, the official SDK's `errors` list: see the selfcommunity source).
async fn post_error(server: &TestServer, path: &str, body: &str) -> (u16, String, String) {
    let (status, text) = post_raw(server, path, body).await;
    let json: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{path} answered {status} with non-JSON {text:?}: {e}"));
    let object = json.as_object().expect("an object");
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["code", "detail", "errors"],
        "detail, code and errors: {json}"
    );
    let errors = json["errors"].as_array().expect("errors is a list");
    assert!(!errors.is_empty(), "{json}");
    // A field error carries `field` and coded `messages`; an error of the whole request `code`.
    for error in errors {
        let coded = match error["messages"].as_array() {
            Some(messages) => {
                error["field"].is_string()
                    && !messages.is_empty()
                    && messages.iter().all(|m| m["code"].is_string())
            }
            None => error["code"].is_string(),
        };
        assert!(coded, "every error has a code: {json}");
    }
    let detail = json["detail"].as_str().expect("detail").to_owned();
    let code = json["code"].as_str().expect("code").to_owned();
    assert!(!detail.is_empty(), "{json}");
    (status, code, detail)
}

/// `n` characters of exactly three classes: lower, upper, digit.
fn three_classes(n: usize) -> String {
    "kQ7v".chars().cycle().take(n).collect()
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn full_recovery_flow_logs_the_user_in_and_revokes_old_sessions(#[case] backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    server.create_user(EMAIL, OLD_PASSWORD).await;
    let session = server
        .login(EMAIL, OLD_PASSWORD)
        .await
        .expect("old password logs in before the reset");
    assert!(server.introspect(&session.access_token).await.active);

    let (status, body) = post_raw(
        &server,
        "/api/v2/account/recover/",
        &serde_json::json!({ "email": EMAIL }).to_string(),
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(body, "", "204 has no body");

    let mail = server.mail(1).await;
    assert_eq!(mail.to(), EMAIL);
    assert_eq!(mail.rcpt_to, vec![EMAIL.to_owned()]);
    assert_eq!(mail.subject(), RESET_SUBJECT);
    assert!(
        mail.text_body().contains("expires in 1 hour"),
        "{}",
        mail.text_body()
    );
    let code = code_of(&mail);
    let link = mail.find_link(LINK_PREFIX).expect("link");
    assert!(
        link.starts_with(&format!("{LINK_PREFIX}validation_code={code}&next=")),
        "{link}"
    );
    assert!(mail.html_body().contains("Choose a new password"));

    let token = reset(&server, &code, NEW_PASSWORD)
        .await
        .expect("the reset succeeds");
    assert_eq!(token.token_type, "Bearer");
    assert_eq!(token.expires_in, 3600, "seconds, the configured default");
    assert_eq!(token.client_id, "selfcommunity");
    assert_eq!(token.scope, "read write");
    assert_ne!(token.access_token, token.refresh_token);

    let access = server.introspect(&token.access_token).await;
    assert!(access.active, "the access token is a live bearer token");
    assert_eq!(access.email.as_deref(), Some(EMAIL));
    assert_eq!(access.client_id.as_deref(), Some("selfcommunity"));
    assert_eq!(access.scope.as_deref(), Some("read write"));
    let (exp, iat) = (access.exp.expect("exp"), access.iat.expect("iat"));
    assert_eq!(exp - iat, 3600, "expires_in matches the token's lifetime");
    assert!(server.introspect(&token.refresh_token).await.active);

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

    let notice = server.mail(2).await;
    assert_eq!(notice.to(), EMAIL);
    assert_eq!(notice.subject(), "Your resetd password was changed");
    assert!(!notice.raw().contains(&code));
    assert!(!notice.raw().contains(NEW_PASSWORD));

    // The next reset revokes the tokens this one handed out.
    let code = fresh_code(&server, EMAIL).await;
    let next = reset(&server, &code, "Third-passw0rd-3")
        .await
        .expect("second reset");
    assert!(!server.introspect(&token.access_token).await.active);
    assert!(!server.introspect(&token.refresh_token).await.active);
    assert!(!server.introspect(&fresh.access_token).await.active);
    assert!(server.introspect(&next.access_token).await.active);
    server.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn expires_in_follows_the_configured_session_lifetime(#[case] backend: Backend) {
    let Some(server) = TestServer::start_with(backend, |c| c.sessions.access_ttl_secs = 600).await
    else {
        return;
    };
    server.create_user(EMAIL, OLD_PASSWORD).await;
    let code = fresh_code(&server, EMAIL).await;
    let token = reset(&server, &code, NEW_PASSWORD).await.expect("reset");
    assert_eq!(token.expires_in, 600);
    server.clock.advance(Duration::from_secs(601));
    assert!(
        !server.introspect(&token.access_token).await.active,
        "the access token dies when expires_in says"
    );
    assert!(server.introspect(&token.refresh_token).await.active);
    server.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn paths_without_the_trailing_slash_work_too(#[case] backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    server.create_user(EMAIL, OLD_PASSWORD).await;
    let (status, body) = post_raw(
        &server,
        "/api/v2/account/recover",
        &serde_json::json!({ "email": EMAIL }).to_string(),
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(body, "");
    let code = code_of(&server.mail(1).await);

    let (status, body) = post_raw(
        &server,
        "/api/v2/account/reset",
        &serde_json::json!({ "validation_code": code, "password": NEW_PASSWORD }).to_string(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let answer: types::SelfcommunityResetResponse =
        serde_json::from_str(&body).expect("the token answer");
    assert_eq!(answer.token.token_type, "Bearer");
    assert!(server.introspect(&answer.token.access_token).await.active);
    assert!(server.login(EMAIL, NEW_PASSWORD).await.is_some());
    server.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn password_rule_edges(#[case] backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    // A fresh account (and code) per accepted edge: each success spends its code.
    for email in ["min@example.com", "max@example.com", "wide@example.com"] {
        server.create_user(email, OLD_PASSWORD).await;
    }
    let path = "/api/v2/account/reset/";
    let raw = |code: &str, password: &str| {
        serde_json::json!({ "validation_code": code, "password": password }).to_string()
    };

    // Lower edge: 7 refused, 8 with only two classes refused, exactly 8 with three accepted.
    let code = fresh_code(&server, "min@example.com").await;
    let (status, _, _) = post_error(&server, path, &raw(&code, &three_classes(7))).await;
    assert_eq!(status, 400);
    for two_classes in ["kqvmXtpz", "kq7vm3tp", "KQ7VM3TP", "kq#vm!tp"] {
        let answer = reset(&server, &code, two_classes).await;
        assert_error(
            answer,
            400,
            TOO_WEAK,
            Some("password must contain at least 3 of: lower case letters, upper case letters, digits, other characters"),
        );
    }
    assert!(server
        .login("min@example.com", OLD_PASSWORD)
        .await
        .is_some());
    let min = three_classes(8);
    reset(&server, &code, &min)
        .await
        .expect("exactly 8 characters of 3 classes are accepted");
    assert!(server.login("min@example.com", &min).await.is_some());

    // Upper edge: 129 refused by the body parser (before the core), 128 accepted.
    let code = fresh_code(&server, "max@example.com").await;
    let (status, _, _) = post_error(&server, path, &raw(&code, &three_classes(129))).await;
    assert_eq!(status, 400);
    let max = three_classes(128);
    reset(&server, &code, &max)
        .await
        .expect("exactly 128 characters are accepted");
    assert!(server.login("max@example.com", &max).await.is_some());
    assert!(
        server
            .login("max@example.com", &three_classes(127))
            .await
            .is_none(),
        "no truncation"
    );

    // Code points, not bytes: `éÉ1x` is lower, upper, digit; 32 of them are 128 characters
    // (192 bytes).
    let code = fresh_code(&server, "wide@example.com").await;
    let wide = "éÉ1x".repeat(32);
    let (status, _, _) = post_error(&server, path, &raw(&code, &format!("{wide}x"))).await;
    assert_eq!(status, 400);
    reset(&server, &code, &wide)
        .await
        .expect("128 characters of 192 bytes are accepted");
    assert!(server.login("wide@example.com", &wide).await.is_some());
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
    let email = "Ann.Smith1@example.com";
    server.create_user(email, OLD_PASSWORD).await;
    let code = fresh_code(&server, &email.to_lowercase()).await;
    let answer = reset(&server, &code, email).await;
    assert_error(
        answer,
        400,
        TOO_WEAK,
        Some("password must not be the account's email address"),
    );
    reset(&server, &code, NEW_PASSWORD)
        .await
        .expect("the code was not spent");
    server.stop().await;
}

/// SECURITY.md 12: a blocklist of common passwords on top of the length and class rule.
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
    for common in ["Password1", "Passw0rd", "P@ssw0rd", "Qwerty123"] {
        let answer = reset(&server, &code, common).await;
        assert_error(answer, 400, TOO_WEAK, None);
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

    let http = reqwest::Client::new();
    let send = |email: &'static str| {
        http.post(format!("{}/api/v2/account/recover/", server.base_url))
            .json(&serde_json::json!({ "email": email }))
            .send()
    };
    let known = send(EMAIL).await.expect("answer");
    assert_eq!(known.status(), 204);
    let known_headers = known.headers().clone();
    assert_eq!(known.text().await.expect("body"), "");
    for email in ["nobody@example.com", banned, inactive] {
        let other = send(email).await.expect("answer");
        assert_eq!(other.status(), 204, "{email}");
        for header in ["content-type", "content-length"] {
            assert_eq!(
                other.headers().get(header),
                known_headers.get(header),
                "{email}: {header}"
            );
        }
        assert_eq!(other.text().await.expect("body"), "", "{email}");
    }

    let mails = server.settled_mail().await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0].to(), EMAIL);
    let queued = server
        .store()
        .await
        .list_outbox(None)
        .await
        .expect("outbox rows");
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].recipient, EMAIL);
    server.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_a_400_in_drf_shape_and_writes_nothing(#[case] backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    server.create_user(EMAIL, OLD_PASSWORD).await;
    let code = fresh_code(&server, EMAIL).await;
    let reset_path = "/api/v2/account/reset/";
    let recover_path = "/api/v2/account/recover/";

    // Malformed JSON: parse_error.
    for (path, body) in [
        (reset_path, "{not json"),
        (reset_path, ""),
        (reset_path, r#"{"validation_code": "abc", "password": "#),
        (recover_path, "{not json"),
        (recover_path, ""),
    ] {
        let (status, code_field, _) = post_error(&server, path, body).await;
        assert_eq!(status, 400, "{path} {body}");
        assert_eq!(code_field, "parse_error", "{path} {body}");
    }
    // Well-formed JSON of the wrong shape: 400 in the same form.
    let missing = format!(r#"{{"validation_code": "{code}"}}"#);
    let wrong_type = format!(r#"{{"validation_code": "{code}", "password": 12345678}}"#);
    let null_code = format!(r#"{{"validation_code": null, "password": "{NEW_PASSWORD}"}}"#);
    for (path, body) in [
        (reset_path, "[]"),
        (reset_path, "{}"),
        (reset_path, missing.as_str()),
        (reset_path, wrong_type.as_str()),
        (reset_path, null_code.as_str()),
        (recover_path, "{}"),
        (recover_path, r#"{"email": 5}"#),
    ] {
        let (status, _, detail) = post_error(&server, path, body).await;
        assert_eq!(status, 400, "{path} {body}");
        assert!(
            !detail.contains(&code),
            "the code is never echoed: {detail}"
        );
    }
    let (status, code_field, detail) =
        post_error(&server, recover_path, r#"{"email": "not an address"}"#).await;
    assert_eq!(
        (status, code_field.as_str(), detail.as_str()),
        (400, "invalid", "Enter a valid email address.")
    );
    // Oversized: refused in the same form, never a 500; 413 since the declared length is
    // over the limit (SECURITY 28).
    let huge = serde_json::json!({ "validation_code": code, "password": "x".repeat(20 * 1024) });
    let (status, _, _) = post_error(&server, reset_path, &huge.to_string()).await;
    assert_eq!(status, 413);

    let queued = server.store().await.list_outbox(None).await.expect("rows");
    assert_eq!(queued.len(), 1, "only the recovery mail: {queued:?}");
    assert!(server.login(EMAIL, OLD_PASSWORD).await.is_some());
    reset(&server, &code, NEW_PASSWORD)
        .await
        .expect("the code survived the bad requests");
    server.stop().await;
}

/// The spec's error table: `parse_error` is malformed JSON, `invalid` a missing or invalid
/// field (its own example for recover is `{"detail": "email: this field is required.",
/// "code": "invalid"}`).
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn a_missing_or_mistyped_field_is_invalid_not_a_parse_error(#[case] backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    for (path, body) in [
        ("/api/v2/account/recover/", "{}"),
        ("/api/v2/account/recover/", r#"{"email": 5}"#),
        ("/api/v2/account/reset/", r#"{"validation_code": "abc"}"#),
        (
            "/api/v2/account/reset/",
            r#"{"validation_code": 7, "password": "kQ7vkQ7v"}"#,
        ),
    ] {
        let (status, code, detail) = post_error(&server, path, body).await;
        assert_eq!(
            (status, code.as_str()),
            (400, "invalid"),
            "{body}: {detail}"
        );
    }
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

    let answer = reset(&server, &code, NEW_PASSWORD).await;
    assert_error(answer, 400, "invalid", None);
    let after = store.user_by_email(EMAIL).await.expect("lookup");
    assert_eq!(after.expect("row").password_hash, before.password_hash);
    assert_eq!(store.list_outbox(None).await.expect("rows").len(), 1);
    server.stop().await;
}

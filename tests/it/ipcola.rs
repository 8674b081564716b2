//! The IPCola reset flow, end to end: a real server, the generated client, real mail. Every
//! answer is HTTP 200 with `{meta_status, meta_message}`.

use crate::support;

use rstest::rstest;

use resetd_client::types;
use support::dialects::{self, JSON};
use support::{Backend, ReceivedMail, TestServer, PUBLIC_BASE_URL};

const EMAIL: &str = "ann@example.com";
const OTHER: &str = "bob@example.com";
const OLD_PASSWORD: &str = "old-password-1";
const NEW_PASSWORD: &str = "new-password-2";
const TAG: &str = "ipcola";
const RESET_SUBJECT: &str = "Reset your resetd password";

/// resetd's `meta_status` table.
const OK: i64 = 1;
const BAD_PARAMETERS: i64 = -1;
const WRONG_USER_TAG: i64 = -2;
const INVALID_VCODE: i64 = -3;
const PASSWORD_REJECTED: i64 = -4;

const INVALID_VCODE_MESSAGE: &str = "vcode is invalid or has expired";

fn is_vcode(word: &str) -> bool {
    word.len() == 16 && word.bytes().all(|b| b.is_ascii_lowercase())
}

/// The 16 lowercase letters of the vcode in a reset email.
fn vcode_of(mail: &ReceivedMail) -> String {
    mail.find_code(is_vcode)
        .unwrap_or_else(|| panic!("no 16-letter vcode in {}", mail.text_body()))
}

/// `POST /api/user/send_email_vcode` through the client, with `tag`.
async fn send_tagged(server: &TestServer, email: &str, tag: &str) -> types::IpcolaResult {
    let answer = server
        .client
        .ipcola_send_email_vcode()
        .body(types::IpcolaSendEmailVcodeRequest {
            email: email.to_owned(),
            user_tag: tag.to_owned(),
            captcha: None,
            captcha_id: None,
        })
        .send()
        .await
        .expect("HTTP 200 envelope");
    assert_eq!(answer.status(), 200);
    answer.into_inner()
}

async fn send_vcode(server: &TestServer, email: &str) -> types::IpcolaResult {
    send_tagged(server, email, TAG).await
}

/// The first reset mail to `email` among the messages after the first `since`, waiting for it
/// (other mail, e.g. a "password changed" notice still on its way, is skipped).
async fn reset_mail_after(server: &TestServer, email: &str, since: usize) -> ReceivedMail {
    server.mail_to_after(email, RESET_SUBJECT, since).await
}

/// Asks for a vcode for `email` and returns the one its email carries.
async fn fresh_vcode(server: &TestServer, email: &str) -> String {
    let since = server.sink.messages().len();
    let answer = send_vcode(server, email).await;
    assert_eq!(
        (answer.meta_status, answer.meta_message.as_str()),
        (OK, "success")
    );
    vcode_of(&reset_mail_after(server, email, since).await)
}

/// `POST /api/user/reset_password` through the client, with `tag`.
async fn reset_tagged(
    server: &TestServer,
    email: &str,
    vcode: &str,
    password: &str,
    tag: &str,
) -> types::IpcolaResult {
    let answer = server
        .client
        .ipcola_reset_password()
        .body(types::IpcolaResetPasswordRequest {
            email: email.to_owned(),
            password: password.to_owned(),
            user_tag: tag.to_owned(),
            vcode: vcode.to_owned(),
        })
        .send()
        .await
        .expect("HTTP 200 envelope");
    assert_eq!(answer.status(), 200);
    answer.into_inner()
}

async fn reset(
    server: &TestServer,
    email: &str,
    vcode: &str,
    password: &str,
) -> types::IpcolaResult {
    reset_tagged(server, email, vcode, password, TAG).await
}

#[track_caller]
fn assert_success(answer: &types::IpcolaResult) {
    assert_eq!(
        (answer.meta_status, answer.meta_message.as_str()),
        (OK, "success")
    );
}

#[track_caller]
fn assert_invalid_vcode(answer: &types::IpcolaResult) {
    assert_eq!(
        (answer.meta_status, answer.meta_message.as_str()),
        (INVALID_VCODE, INVALID_VCODE_MESSAGE)
    );
}

/// A raw JSON `POST`: asserts HTTP 200 and returns the envelope, checked for shape.
async fn post_raw(server: &TestServer, path: &str, body: &str) -> (i64, String) {
    let answer = dialects::post_raw(server, path, Some(JSON), body.to_owned()).await;
    assert_eq!(answer.status, 200, "{path} {body:?}: {}", answer.body);
    let json = answer.json();
    assert_eq!(json.as_object().map(|o| o.len()), Some(2), "{json}");
    let message = json["meta_message"].as_str().expect("meta_message");
    assert!(!message.is_empty(), "{json}");
    (
        json["meta_status"].as_i64().expect("meta_status"),
        message.to_owned(),
    )
}

/// `n` characters cycling through lower, upper, digit and other (no common password).
fn password_of(n: usize) -> String {
    "kQ7#vX2!mZ9$".chars().cycle().take(n).collect()
}

/// A well-formed vcode that is not `vcode`.
fn other_vcode(vcode: &str) -> String {
    let wrong: String = vcode.chars().rev().collect();
    if wrong == vcode {
        vcode
            .chars()
            .map(|c| if c == 'z' { 'a' } else { 'z' })
            .collect()
    } else {
        wrong
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn full_reset_flow_through_an_emailed_vcode(#[case] backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    server.create_user(EMAIL, OLD_PASSWORD).await;
    let session = server
        .login(EMAIL, OLD_PASSWORD)
        .await
        .expect("old password logs in before the reset");
    assert!(server.introspect(&session.access_token).await.active);

    assert_success(&send_vcode(&server, EMAIL).await);
    let mail = server.mail(1).await;
    assert_eq!(mail.to(), EMAIL);
    assert_eq!(mail.rcpt_to, vec![EMAIL.to_owned()]);
    assert_eq!(mail.subject(), RESET_SUBJECT);
    assert!(
        mail.text_body().contains("expires in 15 minutes"),
        "{}",
        mail.text_body()
    );
    assert!(
        mail.find_link(PUBLIC_BASE_URL).is_none(),
        "IPCola mails carry a code, not a link"
    );
    let vcode = vcode_of(&mail);
    assert!(mail.html_body().contains(&vcode));

    assert_success(&reset(&server, EMAIL, &vcode, NEW_PASSWORD).await);

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
    assert!(!notice.raw().contains(&vcode));
    assert!(!notice.raw().contains(NEW_PASSWORD));
    server.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn the_email_is_matched_case_insensitively(#[case] backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    server.create_user(EMAIL, OLD_PASSWORD).await;
    let since = server.sink.messages().len();
    assert_success(&send_vcode(&server, " Ann@Example.COM ").await);
    let vcode = vcode_of(&reset_mail_after(&server, EMAIL, since).await);
    assert_success(&reset(&server, "ANN@example.com", &vcode, NEW_PASSWORD).await);
    assert!(server.login(EMAIL, NEW_PASSWORD).await.is_some());
    server.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn a_vcode_only_resets_the_account_it_was_sent_to(#[case] backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    server.create_user(EMAIL, OLD_PASSWORD).await;
    server.create_user(OTHER, OLD_PASSWORD).await;
    let vcode = fresh_vcode(&server, EMAIL).await;

    // Ann's vcode with Bob's email.
    assert_invalid_vcode(&reset(&server, OTHER, &vcode, NEW_PASSWORD).await);
    for email in [EMAIL, OTHER] {
        assert!(server.login(email, OLD_PASSWORD).await.is_some(), "{email}");
        assert!(server.login(email, NEW_PASSWORD).await.is_none(), "{email}");
    }
    // Ann's vcode still works for Ann.
    assert_success(&reset(&server, EMAIL, &vcode, NEW_PASSWORD).await);
    assert!(server.login(OTHER, OLD_PASSWORD).await.is_some());
    server.stop().await;
}

/// A vcode is bound to its email: naming no account (an unknown or malformed email) must not
/// let it reset the account it was sent to.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn a_vcode_with_an_unknown_email_resets_nothing(#[case] backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    server.create_user(EMAIL, OLD_PASSWORD).await;
    let vcode = fresh_vcode(&server, EMAIL).await;

    for email in ["nobody@example.com", "not an address"] {
        let answer = reset(&server, email, &vcode, NEW_PASSWORD).await;
        assert_invalid_vcode(&answer);
        assert!(
            server.login(EMAIL, OLD_PASSWORD).await.is_some(),
            "{email}: Ann's password must not change"
        );
    }
    server.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn the_vcode_burns_after_five_failed_attempts_on_its_account(#[case] backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    server.create_user(EMAIL, OLD_PASSWORD).await;
    let vcode = fresh_vcode(&server, EMAIL).await;
    let wrong = other_vcode(&vcode);

    for _ in 0..5 {
        assert_invalid_vcode(&reset(&server, EMAIL, &wrong, NEW_PASSWORD).await);
    }
    // The sixth try has the right vcode, but it is burned.
    assert_invalid_vcode(&reset(&server, EMAIL, &vcode, NEW_PASSWORD).await);
    assert!(server.login(EMAIL, OLD_PASSWORD).await.is_some());
    assert!(server.login(EMAIL, NEW_PASSWORD).await.is_none());

    // A new request gives a working vcode again.
    let vcode = fresh_vcode(&server, EMAIL).await;
    assert_success(&reset(&server, EMAIL, &vcode, NEW_PASSWORD).await);
    server.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn the_right_vcode_under_another_email_counts_against_that_account(#[case] backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    server.create_user(EMAIL, OLD_PASSWORD).await;
    server.create_user(OTHER, OLD_PASSWORD).await;
    let anns = fresh_vcode(&server, EMAIL).await;
    let bobs = fresh_vcode(&server, OTHER).await;

    // Five times Ann's (valid) vcode with Bob's email: failures against Bob's vcode.
    for _ in 0..5 {
        assert_invalid_vcode(&reset(&server, OTHER, &anns, NEW_PASSWORD).await);
    }
    assert_invalid_vcode(&reset(&server, OTHER, &bobs, NEW_PASSWORD).await);
    // Ann's own vcode is untouched by failures counted against Bob.
    assert_success(&reset(&server, EMAIL, &anns, NEW_PASSWORD).await);
    assert!(server.login(OTHER, OLD_PASSWORD).await.is_some());
    server.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_user_tag_is_refused_on_both_calls(#[case] backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    server.create_user(EMAIL, OLD_PASSWORD).await;

    for tag in ["cloudreve", "IPCOLA", "", "ipcola "] {
        let answer = send_tagged(&server, EMAIL, tag).await;
        assert_eq!(
            (answer.meta_status, answer.meta_message.as_str()),
            (WRONG_USER_TAG, "user_tag does not match"),
            "{tag:?}"
        );
    }
    assert!(
        server.settled_mail().await.is_empty(),
        "no mail for a wrong tag"
    );
    assert!(server
        .store()
        .await
        .list_outbox(None)
        .await
        .expect("rows")
        .is_empty());

    let vcode = fresh_vcode(&server, EMAIL).await;
    let answer = reset_tagged(&server, EMAIL, &vcode, NEW_PASSWORD, "cloudreve").await;
    assert_eq!(
        (answer.meta_status, answer.meta_message.as_str()),
        (WRONG_USER_TAG, "user_tag does not match")
    );
    assert!(server.login(EMAIL, OLD_PASSWORD).await.is_some());
    assert_success(&reset(&server, EMAIL, &vcode, NEW_PASSWORD).await);
    server.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn a_configured_user_tag_replaces_the_default(#[case] backend: Backend) {
    let Some(server) =
        TestServer::start_with(backend, |c| c.dialects.ipcola.user_tag = "acme".to_owned()).await
    else {
        return;
    };
    server.create_user(EMAIL, OLD_PASSWORD).await;
    assert_eq!(send_vcode(&server, EMAIL).await.meta_status, WRONG_USER_TAG);
    assert_success(&send_tagged(&server, EMAIL, "acme").await);
    let vcode = vcode_of(&server.mail(1).await);
    assert_eq!(
        reset(&server, EMAIL, &vcode, NEW_PASSWORD)
            .await
            .meta_status,
        WRONG_USER_TAG
    );
    assert_success(&reset_tagged(&server, EMAIL, &vcode, NEW_PASSWORD, "acme").await);
    server.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_answered_inside_the_envelope_and_writes_nothing(#[case] backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    server.create_user(EMAIL, OLD_PASSWORD).await;
    let vcode = fresh_vcode(&server, EMAIL).await;
    let reset_path = "/api/user/reset_password";
    let send_path = "/api/user/send_email_vcode";

    let no_tag =
        format!(r#"{{"email": "{EMAIL}", "password": "{NEW_PASSWORD}", "vcode": "{vcode}"}}"#);
    let no_vcode =
        format!(r#"{{"email": "{EMAIL}", "password": "{NEW_PASSWORD}", "user_tag": "{TAG}"}}"#);
    let number = format!(
        r#"{{"email": "{EMAIL}", "password": 12345678, "user_tag": "{TAG}", "vcode": "{vcode}"}}"#
    );
    let null_vcode = format!(
        r#"{{"email": "{EMAIL}", "password": "{NEW_PASSWORD}", "user_tag": "{TAG}", "vcode": null}}"#
    );
    let huge = serde_json::json!({
        "email": EMAIL,
        "password": "x".repeat(20 * 1024),
        "user_tag": TAG,
        "vcode": vcode,
    })
    .to_string();
    for (path, body) in [
        (reset_path, "{not json"),
        (reset_path, ""),
        (reset_path, "[]"),
        (reset_path, "null"),
        (reset_path, "{}"),
        (reset_path, no_tag.as_str()),
        (reset_path, no_vcode.as_str()),
        (reset_path, number.as_str()),
        (reset_path, null_vcode.as_str()),
        (reset_path, huge.as_str()),
        (send_path, "{not json"),
        (send_path, ""),
        (send_path, "{}"),
        (send_path, r#"{"email": "ann@example.com"}"#),
        (send_path, r#"{"email": 5, "user_tag": "ipcola"}"#),
        (
            send_path,
            r#"{"email": "not an address", "user_tag": "ipcola"}"#,
        ),
    ] {
        let (status, message) = post_raw(&server, path, body).await;
        assert_eq!(status, BAD_PARAMETERS, "{path} {body:.80}: {message}");
        assert!(!message.contains(&vcode), "the vcode is never echoed");
    }

    let queued = server.store().await.list_outbox(None).await.expect("rows");
    assert_eq!(queued.len(), 1, "only the vcode mail: {queued:?}");
    assert!(server.login(EMAIL, OLD_PASSWORD).await.is_some());
    assert_success(&reset(&server, EMAIL, &vcode, NEW_PASSWORD).await);
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
    let body = r#"{"email": "ann@example.com", "password": 98765432, "user_tag": "ipcola", "vcode": "abcdefghijklmnop"}"#;
    let (status, message) = post_raw(&server, "/api/user/reset_password", body).await;
    assert_eq!(status, BAD_PARAMETERS);
    assert!(!message.contains("98765432"), "{message}");
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
    for email in ["min@example.com", "max@example.com", "wide@example.com"] {
        server.create_user(email, OLD_PASSWORD).await;
    }

    // Lower edge: 5 refused (without spending the vcode), exactly 6 accepted.
    let vcode = fresh_vcode(&server, "min@example.com").await;
    let answer = reset(&server, "min@example.com", &vcode, &password_of(5)).await;
    assert_eq!(
        (answer.meta_status, answer.meta_message.as_str()),
        (PASSWORD_REJECTED, "password must be at least 6 characters")
    );
    assert!(server
        .login("min@example.com", OLD_PASSWORD)
        .await
        .is_some());
    assert_success(&reset(&server, "min@example.com", &vcode, &password_of(6)).await);
    assert!(server
        .login("min@example.com", &password_of(6))
        .await
        .is_some());

    // Upper edge: 129 refused (not truncated), exactly 128 accepted.
    let vcode = fresh_vcode(&server, "max@example.com").await;
    let answer = reset(&server, "max@example.com", &vcode, &password_of(129)).await;
    assert_eq!(
        (answer.meta_status, answer.meta_message.as_str()),
        (PASSWORD_REJECTED, "password must be at most 128 characters")
    );
    assert_success(&reset(&server, "max@example.com", &vcode, &password_of(128)).await);
    assert!(server
        .login("max@example.com", &password_of(128))
        .await
        .is_some());
    assert!(server
        .login("max@example.com", &password_of(127))
        .await
        .is_none());

    // Code points, not bytes.
    let vcode = fresh_vcode(&server, "wide@example.com").await;
    let answer = reset(&server, "wide@example.com", &vcode, &"ж".repeat(129)).await;
    assert_eq!(answer.meta_status, PASSWORD_REJECTED);
    let answer = reset(&server, "wide@example.com", &vcode, &"🔑".repeat(5)).await;
    assert_eq!(answer.meta_status, PASSWORD_REJECTED);
    let wide = "жщ".repeat(64);
    assert_success(&reset(&server, "wide@example.com", &vcode, &wide).await);
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
    server.create_user(EMAIL, OLD_PASSWORD).await;
    let vcode = fresh_vcode(&server, EMAIL).await;
    let answer = reset(&server, EMAIL, &vcode, "Ann@Example.com").await;
    assert_eq!(
        (answer.meta_status, answer.meta_message.as_str()),
        (
            PASSWORD_REJECTED,
            "password must not be the account's email address"
        )
    );
    assert_success(&reset(&server, EMAIL, &vcode, NEW_PASSWORD).await);
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
    let vcode = fresh_vcode(&server, EMAIL).await;
    for common in ["123456", "password", "qwerty", "12345678"] {
        let answer = reset(&server, EMAIL, &vcode, common).await;
        assert_eq!(answer.meta_status, PASSWORD_REJECTED, "{common}");
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
            .ipcola_send_email_vcode()
            .body(types::IpcolaSendEmailVcodeRequest {
                email: email.to_owned(),
                user_tag: TAG.to_owned(),
                captcha: None,
                captcha_id: None,
            })
            .send()
    };
    let known = send(EMAIL).await.expect("answer");
    assert_success(&known);
    for email in ["nobody@example.com", banned, inactive] {
        let other = send(email).await.expect("answer");
        assert_eq!(other.status(), known.status(), "{email}");
        for header in ["content-type", "content-length"] {
            assert_eq!(
                other.headers().get(header),
                known.headers().get(header),
                "{email}: {header}"
            );
        }
        assert_eq!(
            serde_json::to_value(&*other).expect("json"),
            serde_json::to_value(&*known).expect("json"),
            "{email}"
        );
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
async fn a_vcode_of_a_banned_account_is_refused(#[case] backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let user = server.create_user(EMAIL, OLD_PASSWORD).await;
    let vcode = fresh_vcode(&server, EMAIL).await;
    server
        .set_status(&user.id, types::ResetdUserStatus::Banned)
        .await;
    let store = server.store().await;
    let before = store.user_by_email(EMAIL).await.expect("lookup");
    let before = before.expect("row");

    let answer = reset(&server, EMAIL, &vcode, NEW_PASSWORD).await;
    assert_eq!(answer.meta_status, INVALID_VCODE);
    let after = store.user_by_email(EMAIL).await.expect("lookup");
    assert_eq!(after.expect("row").password_hash, before.password_hash);
    assert_eq!(store.list_outbox(None).await.expect("rows").len(), 1);
    server.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn the_captcha_is_not_available_when_disabled(#[case] backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let answer = server
        .client
        .ipcola_get_captcha()
        .send()
        .await
        .expect("HTTP 200 envelope");
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.meta_status, -7);
    assert!(answer.id.is_none());
    assert!(answer.content.is_none());
    server.stop().await;
}

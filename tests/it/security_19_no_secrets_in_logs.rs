//! SECURITY.md item 19: no secret (token, password, hash) in any log line.
//!
//! Every flow of every dialect runs with logging at `trace` through the production filter
//! and formats (`resetd::logging::{filter, layer}`, text and JSON both), dropshot's and the
//! database driver's records included; the captured output must contain no password, no
//! token or code, no token hash and no password hash.

use crate::support;

use resetd::security::keyed_hash::TokenHasher;
use resetd_client::types;
use rstest::rstest;
use support::{log_capture, Backend, TestServer};

const RESET_SUBJECT: &str = "Reset your resetd password";
const TEST_SECRET: &str = "test-secret-0123456789abcdef0123456789";

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn security_19_no_secret_reaches_the_log(#[case] backend: Backend) {
    let capture = log_capture::start();
    // Four reset requests for one email below: past the default per-account limit (3 in 15
    // minutes) the fourth would silently send nothing.
    let Some(server) =
        TestServer::start_with(backend, |c| c.security.account_requests_per_window = 10).await
    else {
        return;
    };
    let hasher = TokenHasher::from_secret(TEST_SECRET);
    let email = "logged@example.com";
    let mut passwords = vec!["first-Password-0".to_owned()];
    let mut tokens: Vec<(String, String)> = Vec::new(); // (purpose, token)
    server.create_user(email, &passwords[0]).await;
    let http = reqwest::Client::new();
    let post = |path: &str, body: serde_json::Value| {
        http.post(format!("{}{path}", server.base_url))
            .json(&body)
            .send()
    };

    // Login: access and refresh tokens.
    let session = server
        .client
        .resetd_login()
        .body(types::ResetdLoginRequest {
            email: email.to_owned(),
            password: passwords[0].clone(),
            client_id: None,
            scope: None,
        })
        .send()
        .await
        .expect("login")
        .into_inner();
    tokens.push(("session".to_owned(), session.access_token.clone()));
    tokens.push(("session".to_owned(), session.refresh_token.clone()));

    // Cloudreve: link with a secret. (Every reset mail has one subject: each is looked for
    // among the mails after the request.)
    let seen = server.sink.messages().len();
    post("/user/reset", serde_json::json!({ "email": email }))
        .await
        .expect("request");
    let mail = server.mail_to_after(email, RESET_SUBJECT, seen).await;
    let link = mail.find_link(support::PUBLIC_BASE_URL).expect("link");
    let url = url::Url::parse(&link).expect("url");
    let param = |k: &str| {
        url.query_pairs()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.into_owned())
            .expect("param")
    };
    let (id, secret) = (param("id"), param("secret"));
    tokens.push(("reset:cloudreve".to_owned(), secret.clone()));
    let wrong = "wrong-Password-1".to_owned();
    http.patch(format!("{}/user/reset/{id}", server.base_url))
        .json(&serde_json::json!({ "password": wrong, "secret": "X".repeat(32) }))
        .send()
        .await
        .expect("wrong secret");
    passwords.push(wrong);
    passwords.push("second-Password-2".to_owned());
    http.patch(format!("{}/user/reset/{id}", server.base_url))
        .json(&serde_json::json!({ "password": passwords[2], "secret": secret }))
        .send()
        .await
        .expect("reset");

    // Strapi: code, then a JWT-named session token.
    let seen = server.sink.messages().len();
    post(
        "/auth/forgot-password",
        serde_json::json!({ "email": email }),
    )
    .await
    .expect("forgot");
    let mail = server.mail_to_after(email, RESET_SUBJECT, seen).await;
    let code = mail
        .find_code(|w| w.len() == 128 && w.bytes().all(|b| b.is_ascii_hexdigit()))
        .expect("strapi code");
    tokens.push(("reset:strapi".to_owned(), code.clone()));
    // A password of the wrong JSON type: dropshot refuses the body with a message quoting it.
    post(
        "/auth/reset-password",
        serde_json::json!({ "code": code, "password": 24681357, "passwordConfirmation": 24681357 }),
    )
    .await
    .expect("mistyped");
    passwords.push("24681357".to_owned());
    passwords.push("third-Password-3".to_owned());
    let answer: serde_json::Value = post(
        "/auth/reset-password",
        serde_json::json!({ "code": code, "password": passwords[4], "passwordConfirmation": passwords[4] }),
    )
    .await
    .expect("reset")
    .json()
    .await
    .expect("json");
    tokens.push((
        "session".to_owned(),
        answer["jwt"].as_str().expect("jwt").to_owned(),
    ));

    // SelfCommunity: validation code, then tokens.
    let seen = server.sink.messages().len();
    http.post(format!("{}/api/v2/account/recover/", server.base_url))
        .json(&serde_json::json!({ "email": email }))
        .send()
        .await
        .expect("recover");
    let mail = server.mail_to_after(email, RESET_SUBJECT, seen).await;
    let link = mail
        .find_link("https://accounts.example.test/account/recover/password?")
        .expect("link");
    let url = url::Url::parse(&link).expect("url");
    let code = url
        .query_pairs()
        .find(|(n, _)| n == "validation_code")
        .map(|(_, v)| v.into_owned())
        .expect("code");
    tokens.push(("reset:selfcommunity".to_owned(), code.clone()));
    passwords.push("Fourth-Password-4".to_owned());
    let answer: serde_json::Value = post(
        "/api/v2/account/reset/",
        serde_json::json!({ "validation_code": code, "password": passwords[5] }),
    )
    .await
    .expect("reset")
    .json()
    .await
    .expect("json");
    for key in ["access_token", "refresh_token"] {
        tokens.push((
            "session".to_owned(),
            answer["token"][key].as_str().expect("token").to_owned(),
        ));
    }

    // IPCola: vcode bound to the email; a mistyped password field too.
    let seen = server.sink.messages().len();
    post(
        "/api/user/send_email_vcode",
        serde_json::json!({ "email": email, "user_tag": "ipcola" }),
    )
    .await
    .expect("send");
    let mail = server.mail_to_after(email, RESET_SUBJECT, seen).await;
    let vcode = mail
        .find_code(|w| w.len() == 16 && w.bytes().all(|b| b.is_ascii_lowercase()))
        .expect("vcode");
    tokens.push(("reset:ipcola".to_owned(), vcode.clone()));
    post(
        "/api/user/reset_password",
        serde_json::json!({ "email": email, "password": 987654321, "user_tag": "ipcola", "vcode": vcode }),
    )
    .await
    .expect("mistyped");
    passwords.push("987654321".to_owned());
    passwords.push("fifth-Password-5".to_owned());
    post(
        "/api/user/reset_password",
        serde_json::json!({ "email": email, "password": passwords[7], "user_tag": "ipcola", "vcode": vcode }),
    )
    .await
    .expect("reset");

    // Introspection of every session token, and an operator's recovery.
    for (_, token) in tokens.iter().filter(|(p, _)| p == "session") {
        http.post(format!("{}/v1/introspect", server.base_url))
            .bearer_auth(support::INTROSPECTION_TOKEN)
            .json(&serde_json::json!({ "token": token }))
            .send()
            .await
            .expect("introspect");
    }
    let user = server
        .store()
        .await
        .user_by_email(email)
        .await
        .expect("lookup")
        .expect("user");
    let recovery = server
        .admin_client()
        .resetd_admin_issue_recovery()
        .id(&user.public_id)
        .body(types::ResetdRecoveryRequest {
            dialect: types::ResetdDialect::Cloudreve,
        })
        .send()
        .await
        .expect("recovery");
    tokens.push(("reset:cloudreve".to_owned(), recovery.code.clone()));
    let _ = server.sink.wait_for(8, support::MAIL_WAIT).await;
    server.stop().await;

    let log = capture.text();
    assert!(
        log.contains("reset requested") && log.contains("password reset completed"),
        "the capture sees the flows' log lines"
    );
    assert!(
        log.contains(r#""message":"request completed""#) && log.contains(" request completed "),
        "the capture has both formats"
    );
    let mut secrets: Vec<(String, String)> = Vec::new();
    for p in &passwords {
        secrets.push(("password".to_owned(), p.clone()));
    }
    for (purpose, token) in &tokens {
        secrets.push((format!("{purpose} token"), token.clone()));
        secrets.push((format!("{purpose} token hash"), hasher.hash(purpose, token)));
    }
    let phc = user.password_hash.expect("a password is set");
    secrets.push(("password hash".to_owned(), phc.clone()));
    if let Some(digest) = phc.rsplit('$').next() {
        secrets.push(("password hash digest".to_owned(), digest.to_owned()));
    }
    secrets.push(("admin token".to_owned(), support::ADMIN_TOKEN.to_owned()));
    secrets.push((
        "introspection token".to_owned(),
        support::INTROSPECTION_TOKEN.to_owned(),
    ));
    secrets.push(("server secret".to_owned(), TEST_SECRET.to_owned()));
    for (what, secret) in secrets {
        assert!(
            !log.contains(&secret),
            "a {what} appears in the log ({} bytes of log)",
            log.len()
        );
        // Drivers print bound parameters as byte lists (`[116, 101, 115, ...]`).
        let bytes = secret
            .bytes()
            .map(|b| b.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        assert!(
            !log.contains(&bytes),
            "a {what} appears in the log as bytes ({} bytes of log)",
            log.len()
        );
    }
}

//! Emails through the real server: each account gets its mail in its own language, as
//! multipart/alternative (text + HTML) with a working link; operators' templates replace the
//! built-in ones; a broken template stops the start.

use crate::support;
use crate::support::reset_links;

use std::sync::Arc;

use rstest::rstest;

use resetd::app::{self, StartError};
use resetd::clock::OffsetClock;
use resetd::config::{Config, Secret};
use resetd::mail::TemplateError;
use resetd_client::types;
use support::{Backend, ReceivedMail, TestServer, PUBLIC_BASE_URL};

const LINK_PREFIX: &str = "https://accounts.example.test/session/reset?";
const NEW_PASSWORD: &str = "a-new-password-9";

async fn create_user(
    server: &TestServer,
    email: &str,
    nickname: &str,
    language: Option<&str>,
) -> types::ResetdUser {
    server
        .admin_client()
        .resetd_admin_create_user()
        .body(types::ResetdCreateUserRequest {
            email: email.to_owned(),
            password: Some("the-old-password-1".to_owned()),
            nickname: Some(nickname.to_owned()),
            status: None,
            language: language.map(str::to_owned),
        })
        .send()
        .await
        .expect("account created")
        .into_inner()
}

async fn request_cloudreve_reset(server: &TestServer, email: &str) {
    let answer = server.request_cloudreve_reset(email).await;
    assert_eq!(answer.code, 0, "{answer:?}");
}

/// Both parts are there, as alternatives of one message.
fn assert_multipart_alternative(mail: &ReceivedMail) {
    let content_type = mail.header("Content-Type").unwrap_or_default();
    assert!(
        content_type.starts_with("multipart/alternative"),
        "{content_type}: {}",
        mail.raw()
    );
    assert!(!mail.text_body().is_empty(), "{}", mail.raw());
    assert!(!mail.html_body().is_empty(), "{}", mail.raw());
}

/// The reset link, which the text part shows as is and the HTML part both as an anchor and
/// as text; then redeemed through Cloudreve's API.
async fn follow_link(server: &TestServer, mail: &ReceivedMail, user: &types::ResetdUser) {
    let link = mail
        .find_link(LINK_PREFIX)
        .expect("a link in the text part");
    let in_html = link.replace('&', "&amp;");
    let html = mail.html_body();
    assert!(html.contains(&format!("<a href=\"{in_html}\"")), "{html}");
    assert_eq!(html.matches(&in_html).count(), 2, "{html}");

    let url = url::Url::parse(&link).expect("a URL");
    let param = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_else(|| panic!("no {name} in {link}"))
    };
    assert_eq!(param("id"), user.id);
    // The page the link opens is told the mail's language.
    let lang = if user.language.starts_with("zh") {
        "zh-CN"
    } else {
        "en"
    };
    assert_eq!(param("lang"), lang, "{link}");
    let answer = server
        .reset_cloudreve_password(&param("id"), &param("secret"), NEW_PASSWORD)
        .await;
    assert_eq!(answer.code, 0, "{answer:?}");
    let email = user.email.as_str();
    assert!(server.login(email, NEW_PASSWORD).await.is_some());
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn each_account_gets_its_mail_in_its_language(#[case] backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let li = create_user(&server, "li@example.com", "李雷", Some("zh-CN")).await;
    let ann = create_user(&server, "ann@example.com", "Ann", None).await;
    assert_eq!(ann.language, "en-US");
    request_cloudreve_reset(&server, "li@example.com").await;
    request_cloudreve_reset(&server, "ann@example.com").await;

    let zh = server
        .mail_to_after("li@example.com", "重置您的 resetd 密码", 0)
        .await;
    assert_multipart_alternative(&zh);
    let text = zh.text_body();
    assert!(text.starts_with("李雷，您好：\n"), "{text}");
    assert!(
        text.contains("该链接只能使用一次，1 小时内有效。"),
        "{text}"
    );
    assert!(
        text.contains("如果您没有申请重置密码，请忽略此邮件"),
        "{text}"
    );
    let html = zh.html_body();
    assert!(html.contains("<html lang=\"zh-CN\">"), "{html}");
    assert!(html.contains(">设置新密码</a>"), "{html}");

    let en = server
        .mail_to_after("ann@example.com", "Reset your resetd password", 0)
        .await;
    assert_multipart_alternative(&en);
    let text = en.text_body();
    assert!(text.starts_with("Hello Ann,\n"), "{text}");
    assert!(text.contains("expires in 1 hour."), "{text}");
    assert!(
        text.contains("If you did not ask for this, ignore this email"),
        "{text}"
    );
    assert!(en.html_body().contains("<html lang=\"en\">"));

    follow_link(&server, &zh, &li).await;
    follow_link(&server, &en, &ann).await;

    // The notice is in the account's language too, and carries nothing secret.
    let notice = server
        .mail_to_after("li@example.com", "您的 resetd 密码已修改", 0)
        .await;
    assert_multipart_alternative(&notice);
    let secret = reset_links::param(&zh.find_link(LINK_PREFIX).expect("link"), "secret");
    assert_eq!(secret.len(), 32);
    for part in [notice.text_body(), notice.html_body()] {
        assert!(part.contains("的密码已于"), "{part}");
        assert!(!part.contains(&secret), "{part}");
        assert!(!part.contains(NEW_PASSWORD), "{part}");
        assert!(!part.contains(PUBLIC_BASE_URL), "{part}");
    }
    let notice = server
        .mail_to_after("ann@example.com", "Your resetd password was changed", 0)
        .await;
    assert!(notice.text_body().contains("was changed at"));
    server.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn operator_templates_replace_the_built_in_ones(#[case] backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("cloudreve_reset.en.subject.j2"),
        "Your Acme Drive link\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("cloudreve_reset.en.txt.j2"),
        "Acme Drive: {{ link }} (valid for {{ valid_for }})\n",
    )
    .expect("write");
    let templates_dir = dir.path().to_path_buf();
    let Some(server) =
        TestServer::start_with(backend, |c| c.mail.templates_dir = Some(templates_dir)).await
    else {
        return;
    };
    let ann = create_user(&server, "ann@example.com", "Ann", Some("en-GB")).await;
    request_cloudreve_reset(&server, "ann@example.com").await;

    let mail = server
        .mail_to_after("ann@example.com", "Your Acme Drive link", 0)
        .await;
    assert_multipart_alternative(&mail);
    let text = mail.text_body();
    assert!(
        text.starts_with(&format!("Acme Drive: {LINK_PREFIX}")),
        "{text}"
    );
    assert!(text.ends_with(" (valid for 1 hour)\n"), "{text}");
    // The HTML part is still the built-in one.
    assert!(mail.html_body().contains("Choose a new password"));
    follow_link(&server, &mail, &ann).await;
    server.stop().await;
}

/// A template with a syntax error stops the server before it listens (or opens the
/// database), with a message naming the file.
#[tokio::test(flavor = "multi_thread")]
async fn a_broken_template_stops_the_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let templates = dir.path().join("templates");
    std::fs::create_dir(&templates).expect("mkdir");
    let broken = templates.join("strapi_reset.zh-CN.html.j2");
    std::fs::write(
        &broken,
        "{% extends \"layout.html.j2\" %}{% block content %}",
    )
    .expect("write");
    let database = dir.path().join("resetd.db");
    let mut config = Config {
        bind: "127.0.0.1:0".parse().expect("address"),
        database_url: format!("sqlite://{}", database.display()),
        secret: Some(Secret::new("test-secret-0123456789abcdef0123456789")),
        ..Config::default()
    };
    config.mail.url = Secret::new(format!("file://{}", dir.path().join("mail").display()));
    config.mail.templates_dir = Some(templates);
    let err = match app::serve(config, Arc::new(OffsetClock::new())).await {
        Ok(_) => panic!("started with a broken template"),
        Err(err) => err,
    };
    assert!(
        matches!(err, StartError::Templates(TemplateError::Syntax { .. })),
        "{err:?}"
    );
    let shown = err.to_string();
    assert!(shown.contains(&broken.display().to_string()), "{shown}");
    assert!(shown.contains("syntax error"), "{shown}");
    assert!(!database.exists(), "the database was not touched");
}

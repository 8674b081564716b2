//! The reset pages in the reader's language, in headless Chromium: the language of the email
//! the link came from (its `lang`), else the browser's, else English; and an operator's
//! override of a page's template. Both pages (Cloudreve's and SelfCommunity's).

use crate::reset_pages_browser::{eval, fill_in, form_shown};
use crate::support;
use crate::support::browser;
use crate::support::reset_links;

use fantoccini::Locator;
use rstest::rstest;

use browser::Browser;
use reset_links::{local, param, LinkDialect, NEW_PASSWORD, OLD_PASSWORD};
use support::{Backend, TestServer};

const EMAIL: &str = "li@example.com";
const PRODUCT: &str = "Acme Drive";
/// The subject of a zh-CN reset email.
const ZH_SUBJECT: &str = "重置您的 Acme Drive 密码";

/// What the zh-CN form says, as its template has it.
const ZH_HEADING: &str = "设置新密码";
const ZH_DONE_HEADING: &str = "密码已修改";
const ZH_MISMATCH: &str = "两次输入的密码不一致。请在两个输入框中输入相同的密码。";
const ZH_SUCCESS: &str = "您的密码已修改。现在可以使用新密码登录了。";
const EN_HEADING: &str = "Choose a new password";

async fn server_with(backend: Backend, pages_dir: Option<&std::path::Path>) -> Option<TestServer> {
    TestServer::start_with(backend, |config| {
        config.product_name = PRODUCT.to_owned();
        config.pages.templates_dir = pages_dir.map(std::path::Path::to_path_buf);
    })
    .await
}

/// An account whose language is `language`, through the admin API.
async fn create_user(server: &TestServer, language: &str) {
    server
        .admin_client()
        .resetd_admin_create_user()
        .body(resetd_client::types::ResetdCreateUserRequest {
            email: EMAIL.to_owned(),
            password: Some(OLD_PASSWORD.to_owned()),
            nickname: Some("李雷".to_owned()),
            status: None,
            language: Some(language.to_owned()),
        })
        .send()
        .await
        .expect("account created");
}

/// The link of a real zh-CN reset email.
async fn zh_link(server: &TestServer, dialect: LinkDialect) -> String {
    create_user(server, "zh-CN").await;
    let link = dialect.request_link_in(server, EMAIL, ZH_SUBJECT).await;
    assert_eq!(param(&link, "lang"), "zh-CN", "{link}");
    link
}

/// `url` with its `lang` replaced by `lang`, or removed.
fn with_lang(url: &str, lang: Option<&str>) -> String {
    let mut url = url::Url::parse(url).expect("a URL");
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != "lang")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    {
        let mut query = url.query_pairs_mut();
        query.clear().extend_pairs(pairs);
        if let Some(lang) = lang {
            query.append_pair("lang", lang);
        }
    }
    url.to_string()
}

async fn text(browser: &Browser, css: &str) -> String {
    browser
        .client
        .find(Locator::Css(css))
        .await
        .expect("element")
        .text()
        .await
        .expect("text")
}

/// Opens `url` and returns the page's `<html lang>` and heading.
async fn open(browser: &Browser, url: &str) -> (String, String) {
    browser.client.goto(url).await.expect("page opens");
    let lang = eval(browser, "document.documentElement.lang").await;
    (
        lang.as_str().expect("a string").to_owned(),
        text(browser, "h1").await,
    )
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn a_zh_cn_browser_resets_the_password_from_a_zh_cn_email(
    #[case] backend: Backend,
    #[values(LinkDialect::Cloudreve, LinkDialect::Selfcommunity)] dialect: LinkDialect,
) {
    let Some(server) = server_with(backend, None).await else {
        return;
    };
    let _one = browser::ONE_BROWSER.lock().await;
    let Some(browser) = Browser::start_in("zh-CN").await else {
        return;
    };
    let url = local(&zh_link(&server, dialect).await, &server);

    assert_eq!(
        open(&browser, &url).await,
        ("zh-CN".to_owned(), ZH_HEADING.to_owned())
    );
    assert_eq!(
        browser.client.title().await.expect("title"),
        format!("{ZH_HEADING} · {PRODUCT}")
    );
    for (css, label) in [
        ("label[for=password]", "新密码"),
        ("label[for=confirm]", "再次输入新密码"),
        ("label[for=show]", "显示密码"),
        ("button[type=submit]", "修改密码"),
    ] {
        assert_eq!(text(&browser, css).await, label, "{css}");
    }
    let min_chars = match dialect {
        LinkDialect::Cloudreve => 6,
        LinkDialect::Selfcommunity => 8,
    };
    assert!(
        text(&browser, "#rules")
            .await
            .starts_with(&format!("请使用 {min_chars} 到 ")),
        "the dialect's rule, in Chinese"
    );

    // The script's own sentences are the page's.
    fill_in(&browser, NEW_PASSWORD, "something else").await;
    browser.wait_for_text("status", |t| t == ZH_MISMATCH).await;
    fill_in(&browser, "短", "短").await;
    let too_short = format!("密码至少需要 {min_chars} 个字符。");
    browser.wait_for_text("status", |t| t == too_short).await;
    if backend == Backend::Sqlite {
        let png = browser.client.screenshot().await.expect("screenshot");
        let name = format!("reset-page-zh-CN-{dialect:?}.png").to_lowercase();
        let path = browser::artifact_path(&name);
        std::fs::write(&path, png).expect("write screenshot");
        println!("screenshot of the zh-CN page: {}", path.display());
    }

    fill_in(&browser, NEW_PASSWORD, NEW_PASSWORD).await;
    browser.wait_for_text("status", |t| t == ZH_SUCCESS).await;
    assert!(!form_shown(&browser).await);
    assert_eq!(text(&browser, "h1").await, ZH_DONE_HEADING);
    assert_eq!(
        browser.client.title().await.expect("title"),
        format!("{ZH_DONE_HEADING} · {PRODUCT}")
    );
    assert!(server.login(EMAIL, NEW_PASSWORD).await.is_some());
    browser.close().await;
    server.stop().await;
}

/// The link's `lang` comes first; without one, the browser's language; a language resetd
/// does not have, from either, gives English.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn the_link_then_the_browser_choose_the_language_else_english(
    #[case] backend: Backend,
    #[values(LinkDialect::Cloudreve, LinkDialect::Selfcommunity)] dialect: LinkDialect,
) {
    let Some(server) = server_with(backend, None).await else {
        return;
    };
    let _one = browser::ONE_BROWSER.lock().await;
    let url = local(&zh_link(&server, dialect).await, &server);
    let zh = ("zh-CN".to_owned(), ZH_HEADING.to_owned());
    let en = ("en".to_owned(), EN_HEADING.to_owned());

    let Some(english) = Browser::start_in("en-US").await else {
        return;
    };
    assert_eq!(
        open(&english, &url).await,
        zh,
        "an en browser, a lang=zh-CN link"
    );
    assert_eq!(open(&english, &with_lang(&url, None)).await, en);
    assert_eq!(open(&english, &with_lang(&url, Some("fr"))).await, en);
    english.close().await;

    let Some(chinese) = Browser::start_in("zh-CN").await else {
        return;
    };
    assert_eq!(
        open(&chinese, &with_lang(&url, None)).await,
        zh,
        "by Accept-Language"
    );
    assert_eq!(
        open(&chinese, &with_lang(&url, Some("en"))).await,
        en,
        "the link first"
    );
    chinese.close().await;

    let Some(french) = Browser::start_in("fr-FR").await else {
        return;
    };
    assert_eq!(open(&french, &with_lang(&url, Some("fr"))).await, en);
    // The page still works: the script's messages came along.
    fill_in(&french, NEW_PASSWORD, "something else").await;
    french
        .wait_for_text("status", |t| {
            t.starts_with("The two passwords do not match.")
        })
        .await;
    french.close().await;
    assert!(
        dialect.redeem(&server, &url, NEW_PASSWORD).await,
        "opening the pages left the link usable"
    );
    server.stop().await;
}

/// An operator's copy of a page's template, reworded, is what the browser shows; the other
/// language keeps the built-in page.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn an_operator_override_changes_a_heading(
    #[case] backend: Backend,
    #[values(LinkDialect::Cloudreve, LinkDialect::Selfcommunity)] dialect: LinkDialect,
) {
    let dir = tempfile::tempdir().expect("tempdir");
    let built_in = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("src/pages/templates/form.zh-CN.html.j2"),
    )
    .expect("the built-in template");
    let reworded = built_in.replace(
        "\"设置新密码\"",
        "\"为您的 \" ~ product ~ \" 账户设置新密码\"",
    );
    assert_ne!(reworded, built_in);
    std::fs::write(dir.path().join("form.zh-CN.html.j2"), reworded).expect("write");
    let Some(server) = server_with(backend, Some(dir.path())).await else {
        return;
    };
    let _one = browser::ONE_BROWSER.lock().await;
    let Some(browser) = Browser::start_in("zh-CN").await else {
        return;
    };
    let url = local(&zh_link(&server, dialect).await, &server);
    let heading = format!("为您的 {PRODUCT} 账户设置新密码");
    assert_eq!(
        open(&browser, &url).await,
        ("zh-CN".to_owned(), heading.clone())
    );
    fill_in(&browser, NEW_PASSWORD, NEW_PASSWORD).await;
    browser.wait_for_text("status", |t| t == ZH_SUCCESS).await;
    assert_eq!(
        browser.client.title().await.expect("title"),
        format!("{ZH_DONE_HEADING} · {PRODUCT}"),
        "the script finds the reworded heading in the title too"
    );
    let (lang, english) = open(&browser, &with_lang(&url, Some("en"))).await;
    assert_eq!((lang.as_str(), english.as_str()), ("en", EN_HEADING));
    browser.close().await;
    server.stop().await;
}

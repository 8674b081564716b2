//! The reset pages in a real browser: ask for a reset through `resetd-client`, open the link
//! from the real email in headless Chromium, type a new password, and see the page say it
//! was changed; then check through `/v1/login` that it was. On the way, the page's own
//! check (the two fields must match), the server's rejection of a weak password in plain
//! words, and a used link reading as expired.

use crate::support;
use crate::support::browser;
use crate::support::reset_links;

use std::time::Instant;

use fantoccini::Locator;
use rstest::rstest;

use browser::Browser;
use reset_links::{local, LinkDialect, NEW_PASSWORD, OLD_PASSWORD};
use support::{Backend, TestServer};

const EMAIL: &str = "bree@example.com";
const PRODUCT: &str = "Acme Drive";

const SUCCESS: &str = "Your password has been changed. You can now sign in with your new password.";
const MISMATCH: &str = "The two passwords do not match. Type the same password in both fields.";
const EXPIRED: &str = "This link has expired or has already been used. Ask for a new password \
                       reset email and use the link in it.";

/// A password the dialect's policy refuses, and the page's sentence for it (ours, then the
/// server's reason).
fn weak_password(dialect: LinkDialect) -> (&'static str, &'static str) {
    match dialect {
        LinkDialect::Cloudreve => (
            "iloveyou",
            "This password was not accepted. Password is too common: choose one that is harder \
             to guess.",
        ),
        LinkDialect::Selfcommunity => (
            "onlylowercase",
            "This password was not accepted. Password must contain at least 3 of: lower case \
             letters, upper case letters, digits, other characters.",
        ),
    }
}

pub(crate) async fn fill_in(browser: &Browser, password: &str, confirmation: &str) {
    for (id, value) in [("password", password), ("confirm", confirmation)] {
        let field = browser
            .client
            .find(Locator::Id(id))
            .await
            .expect("password field");
        field.clear().await.expect("clear");
        field.send_keys(value).await.expect("type");
    }
    browser
        .client
        .find(Locator::Css("button[type=submit]"))
        .await
        .expect("submit button")
        .click()
        .await
        .expect("submit");
}

async fn attribute(browser: &Browser, id: &str, name: &str) -> Option<String> {
    browser
        .client
        .find(Locator::Id(id))
        .await
        .expect("element")
        .attr(name)
        .await
        .expect("attribute")
}

pub(crate) async fn form_shown(browser: &Browser) -> bool {
    browser
        .client
        .find(Locator::Id("reset-form"))
        .await
        .expect("form")
        .is_displayed()
        .await
        .expect("visibility")
}

/// Evaluates a JavaScript expression in the page.
pub(crate) async fn eval(browser: &Browser, expression: &str) -> serde_json::Value {
    browser
        .client
        .execute(&format!("return {expression};"), vec![])
        .await
        .expect("script runs")
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn a_reset_link_from_a_real_email_changes_the_password_in_a_browser(
    #[case] backend: Backend,
    #[values(LinkDialect::Cloudreve, LinkDialect::Selfcommunity)] dialect: LinkDialect,
) {
    let Some(server) = TestServer::start_with(backend, |config| {
        config.product_name = PRODUCT.to_owned();
    })
    .await
    else {
        return;
    };
    let _one = browser::ONE_BROWSER.lock().await;
    let started = Instant::now();
    let Some(browser) = Browser::start().await else {
        return;
    };
    server.create_user(EMAIL, OLD_PASSWORD).await;
    let link = dialect.request_link(&server, EMAIL).await;
    let url = local(&link, &server);

    browser.client.goto(&url).await.expect("page opens");
    assert_eq!(
        browser.client.title().await.expect("title"),
        format!("Choose a new password · {PRODUCT}")
    );
    // Each field is named by its label, and the live region is there before anything is
    // said in it.
    for id in ["password", "confirm", "show"] {
        assert_eq!(
            eval(
                &browser,
                &format!("document.getElementById('{id}').labels[0].htmlFor")
            )
            .await,
            id
        );
    }
    assert_eq!(
        attribute(&browser, "password", "autocomplete")
            .await
            .as_deref(),
        Some("new-password")
    );
    assert_eq!(
        attribute(&browser, "status", "aria-live").await.as_deref(),
        Some("polite")
    );

    // The page's own check: nothing is sent while the fields differ.
    fill_in(&browser, NEW_PASSWORD, "something else").await;
    browser.wait_for_text("status", |t| t == MISMATCH).await;
    assert_eq!(
        attribute(&browser, "confirm", "aria-invalid")
            .await
            .as_deref(),
        Some("true")
    );

    // The dialect's length rule, checked by the page, counted in code points: four
    // characters that are more than eight UTF-16 units are still too short.
    let min_chars = match dialect {
        LinkDialect::Cloudreve => 6,
        LinkDialect::Selfcommunity => 8,
    };
    fill_in(&browser, "😀😀😀a", "😀😀😀a").await;
    browser
        .wait_for_text("status", |t| {
            t == format!("Use at least {min_chars} characters.")
        })
        .await;

    // The server's rule, in its own words; the link survives a refused password.
    let (weak, refusal) = weak_password(dialect);
    fill_in(&browser, weak, weak).await;
    browser.wait_for_text("status", |t| t == refusal).await;
    assert_eq!(
        attribute(&browser, "password", "aria-invalid")
            .await
            .as_deref(),
        Some("true")
    );
    if dialect == LinkDialect::Cloudreve && backend == Backend::Sqlite {
        let png = browser.client.screenshot().await.expect("screenshot");
        let path = browser::artifact_path("reset-page.png");
        std::fs::write(&path, png).expect("write screenshot");
        println!("screenshot of the Cloudreve reset page: {}", path.display());
    }

    fill_in(&browser, NEW_PASSWORD, NEW_PASSWORD).await;
    browser.wait_for_text("status", |t| t == SUCCESS).await;
    assert!(
        !form_shown(&browser).await,
        "the form is put away once the password is changed"
    );
    assert_eq!(
        browser.client.title().await.expect("title"),
        format!("Password changed · {PRODUCT}")
    );
    assert!(
        server.login(EMAIL, NEW_PASSWORD).await.is_some(),
        "the new password logs in"
    );
    assert!(
        server.login(EMAIL, OLD_PASSWORD).await.is_none(),
        "the old one no longer does"
    );

    // The same link again: used, and the page says so in plain words.
    browser.client.goto(&url).await.expect("page opens again");
    fill_in(&browser, "Third-passw0rd-3", "Third-passw0rd-3").await;
    browser.wait_for_text("status", |t| t == EXPIRED).await;
    assert!(!form_shown(&browser).await, "a used link offers no form");
    assert!(server.login(EMAIL, NEW_PASSWORD).await.is_some());

    browser.close().await;
    println!(
        "{dialect:?} on {backend:?} in the browser: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    server.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn a_reset_page_fits_a_320_pixel_wide_screen(#[case] backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let _one = browser::ONE_BROWSER.lock().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    browser
        .client
        .set_window_size(320, 640)
        .await
        .expect("window size");
    let url = format!(
        "{}{}?validation_code=0f1e&next=%2F",
        server.base_url,
        LinkDialect::Selfcommunity.page_path()
    );
    browser.client.goto(&url).await.expect("page opens");
    let width = eval(&browser, "window.innerWidth").await;
    assert!(
        width.as_u64().is_some_and(|w| w <= 360),
        "the viewport is narrow: {width}"
    );
    assert_eq!(
        eval(
            &browser,
            "document.documentElement.scrollWidth <= window.innerWidth"
        )
        .await,
        true,
        "nothing scrolls sideways"
    );
    if backend == Backend::Sqlite {
        let png = browser.client.screenshot().await.expect("screenshot");
        let path = browser::artifact_path("reset-page-320px.png");
        std::fs::write(&path, png).expect("write screenshot");
        println!("screenshot at 320 px: {}", path.display());
    }
    browser.close().await;
    server.stop().await;
}

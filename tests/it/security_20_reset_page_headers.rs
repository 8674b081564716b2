//! SECURITY.md item 20: the pages emailed links open are sent with `Referrer-Policy:
//! no-referrer`, `Cache-Control: no-store`, a strict Content-Security-Policy and
//! `X-Frame-Options: DENY`, whether the link is complete or not, on GET and HEAD; and
//! opening them leaves the token usable (item 11).

use crate::support;
use crate::support::reset_links;

use base64::Engine as _;
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use rstest::rstest;
use sha2::{Digest, Sha256};

use reset_links::{local, LinkDialect, NEW_PASSWORD, OLD_PASSWORD};
use support::{Backend, TestServer};

const EMAIL: &str = "paige@example.com";

/// Every header the pages must carry, and its exact value; the policy is checked apart.
const FIXED_HEADERS: [(&str, &str); 6] = [
    ("content-type", "text/html; charset=utf-8"),
    ("cache-control", "no-store"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    ("cross-origin-opener-policy", "same-origin"),
];

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    let values: Vec<_> = headers.get_all(name).iter().collect();
    assert_eq!(values.len(), 1, "{name} is sent once: {headers:?}");
    values[0].to_str().expect("ASCII header")
}

/// The fixed headers, exactly; the policy's value.
fn assert_page_headers(headers: &HeaderMap) -> String {
    for (name, value) in FIXED_HEADERS {
        assert_eq!(header(headers, name), value, "{name}");
    }
    assert_eq!(header(headers, "vary"), "Accept-Language");
    let policy = header(headers, "content-security-policy").to_owned();
    for forbidden in [
        "unsafe-inline",
        "unsafe-eval",
        "unsafe-hashes",
        "*",
        "data:",
        "http",
    ] {
        assert!(!policy.contains(forbidden), "{forbidden} in {policy}");
    }
    policy
}

/// What a CSP hash source for an inline element with this content is.
fn hash_source(content: &str) -> String {
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(content.as_bytes()))
    )
}

/// The content of the one `<tag>` element in `html`.
fn inline(html: &str, tag: &str) -> String {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    assert_eq!(html.matches(&open).count(), 1, "one <{tag}>: {html}");
    let start = html.find(&open).expect("opening tag") + open.len();
    let len = html[start..].find(&close).expect("closing tag");
    html[start..start + len].to_owned()
}

/// The policy a form page must carry: nothing but its own inline style and script (by the
/// hashes of the bytes it was served with) and calls to its own origin.
fn expected_policy(html: &str) -> String {
    format!(
        "default-src 'none'; script-src {}; style-src {}; connect-src 'self'; img-src 'none'; \
         form-action 'none'; frame-ancestors 'none'; base-uri 'none'; \
         require-trusted-types-for 'script'",
        hash_source(&inline(html, "script")),
        hash_source(&inline(html, "style")),
    )
}

/// Nothing from elsewhere, not even from this origin: no `src`, no `href`, no `style=`.
fn assert_self_contained(html: &str) {
    for attribute in ["src=", "href=", "style=", "action="] {
        assert!(!html.contains(attribute), "{attribute} in {html}");
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn security_20_a_reset_page_sends_the_strict_headers_and_leaves_the_link_usable(
    #[case] backend: Backend,
    #[values(LinkDialect::Cloudreve, LinkDialect::Selfcommunity)] dialect: LinkDialect,
) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    server.create_user(EMAIL, OLD_PASSWORD).await;
    let link = dialect.request_link(&server, EMAIL).await;
    let url = local(&link, &server);
    let http = reqwest::Client::new();

    let get = http.get(&url).send().await.expect("GET answers");
    assert_eq!(get.status(), StatusCode::OK);
    let policy = assert_page_headers(get.headers());
    let length = get.content_length();
    let html = get.text().await.expect("body");
    assert_eq!(policy, expected_policy(&html));
    assert_self_contained(&html);
    assert!(html.contains("<h1>Choose a new password</h1>"), "{html}");
    assert!(html.contains("<title>Choose a new password · resetd</title>"));
    assert!(html.contains("autocomplete=\"new-password\""));

    let head = http.head(&url).send().await.expect("HEAD answers");
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(assert_page_headers(head.headers()), policy);
    assert_eq!(
        header(head.headers(), "content-length").parse::<u64>().ok(),
        length,
        "HEAD describes the GET body"
    );
    assert_eq!(
        head.bytes().await.expect("HEAD body"),
        "",
        "HEAD has no body"
    );

    assert!(
        dialect.redeem(&server, &link, NEW_PASSWORD).await,
        "opening the page twice did not consume the link"
    );
    assert!(server.login(EMAIL, NEW_PASSWORD).await.is_some());
    server.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn security_20_an_incomplete_link_gets_a_page_with_the_same_headers(
    #[case] backend: Backend,
) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let http = reqwest::Client::new();
    let form = http
        .get(format!(
            "{}/session/reset?id=lpua&secret=a-secret",
            server.base_url
        ))
        .send()
        .await
        .expect("form page");
    let form_policy = assert_page_headers(form.headers());

    let incomplete = [
        "/session/reset",
        "/session/reset?id=lpua",
        "/session/reset?secret=a-secret",
        "/session/reset?id=&secret=a-secret",
        "/session/reset?id=%ZZ&secret",
        "/account/recover/password",
        "/account/recover/password?next=%2F",
        "/account/recover/password?validation_code=&next=%2F",
    ];
    for path in incomplete {
        let url = format!("{}{path}", server.base_url);
        let get = http.get(&url).send().await.expect("GET answers");
        assert_eq!(get.status(), StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(assert_page_headers(get.headers()), form_policy, "{path}");
        let html = get.text().await.expect("body");
        assert!(
            html.contains("<h1>This link is incomplete</h1>"),
            "{path}: {html}"
        );
        assert!(!html.contains("<form"), "{path}");
        assert_self_contained(&html);
        assert!(
            form_policy.contains(&format!(
                "style-src {};",
                hash_source(&inline(&html, "style"))
            )),
            "the policy allows this page's style too"
        );
        let head = http.head(&url).send().await.expect("HEAD answers");
        assert_eq!(head.status(), StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(assert_page_headers(head.headers()), form_policy, "{path}");
    }
    server.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn security_20_the_product_name_is_escaped_and_a_disabled_dialect_has_the_headers_too(
    #[case] backend: Backend,
) {
    let Some(server) = TestServer::start_with(backend, |config| {
        config.product_name = "Acme <Drive> & \"Co\"".to_owned();
        config.dialects.cloudreve.enabled = false;
    })
    .await
    else {
        return;
    };
    let http = reqwest::Client::new();

    let page = http
        .get(format!(
            "{}/account/recover/password?validation_code=0f1e&next=%2F",
            server.base_url
        ))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), StatusCode::OK);
    assert_page_headers(page.headers());
    let html = page.text().await.expect("body");
    assert!(
        html.contains(
            "<title>Choose a new password · Acme &lt;Drive&gt; &amp; &quot;Co&quot;</title>"
        ),
        "{html}"
    );
    assert!(html.contains("<p class=\"product\">Acme &lt;Drive&gt; &amp; &quot;Co&quot;</p>"));
    assert!(!html.contains("<Drive>"));

    let url = format!("{}/session/reset?id=lpua&secret=a-secret", server.base_url);
    let disabled = http.get(&url).send().await.expect("page");
    assert_eq!(disabled.status(), StatusCode::NOT_FOUND);
    assert_page_headers(disabled.headers());
    let html = disabled.text().await.expect("body");
    assert!(
        html.contains("<h1>Password reset is not available here</h1>"),
        "{html}"
    );
    assert!(!html.contains("<form"));
    assert_self_contained(&html);
    let head = http.head(&url).send().await.expect("HEAD answers");
    assert_eq!(head.status(), StatusCode::NOT_FOUND);
    assert_page_headers(head.headers());
    server.stop().await;
}

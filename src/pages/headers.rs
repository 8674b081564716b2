//! The headers every reset page is sent with (SECURITY.md 20): no referrer (the link's
//! secret is in the page's URL), no caching, no framing, and a Content-Security-Policy that
//! allows nothing but the page's own inline style and script, by hash, and calls to its own
//! origin.

use std::sync::LazyLock;

use base64::Engine as _;
use dropshot::{Body, HttpError};
use http::{header, HeaderName, Response, StatusCode};
use sha2::{Digest, Sha256};

use super::render::{SCRIPT, STYLE};

/// The policy, with the hashes of the exact bytes the pages inline. `form-action 'none'`:
/// the form is only ever sent by the script, never by the browser's own submission.
pub static CONTENT_SECURITY_POLICY: LazyLock<String> = LazyLock::new(|| {
    format!(
        "default-src 'none'; script-src '{}'; style-src '{}'; connect-src 'self'; \
         img-src 'none'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'; \
         require-trusted-types-for 'script'",
        hash_source(SCRIPT),
        hash_source(STYLE),
    )
});

/// The fixed headers besides the policy.
pub const FIXED: [(HeaderName, &str); 6] = [
    (header::CONTENT_TYPE, "text/html; charset=utf-8"),
    (header::CACHE_CONTROL, "no-store"),
    (header::REFERRER_POLICY, "no-referrer"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    ),
];

/// A CSP hash source (`sha256-<base64>`) for an inline element's content.
fn hash_source(content: &str) -> String {
    let digest = Sha256::digest(content.as_bytes());
    format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// A page with its headers. HEAD gets the same response; the server leaves the body out.
pub fn page_response(status: StatusCode, html: String) -> Result<Response<Body>, HttpError> {
    let mut builder = Response::builder().status(status).header(
        header::CONTENT_SECURITY_POLICY,
        CONTENT_SECURITY_POLICY.as_str(),
    );
    for (name, value) in FIXED {
        builder = builder.header(name, value);
    }
    // The language is chosen by `Accept-Language` when the link names none.
    builder = builder.header(header::VARY, "Accept-Language");
    builder
        .body(html.into())
        .map_err(|err| HttpError::for_internal_error(err.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_sources_are_base64_sha256() {
        // `echo -n abc | openssl dgst -sha256 -binary | base64`
        assert_eq!(
            hash_source("abc"),
            "sha256-ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="
        );
    }

    #[test]
    fn the_policy_allows_nothing_inline_but_the_hashed_assets() {
        let policy = CONTENT_SECURITY_POLICY.as_str();
        assert!(policy.starts_with("default-src 'none';"), "{policy}");
        assert!(policy.contains(&format!("script-src '{}';", hash_source(SCRIPT))));
        assert!(policy.contains(&format!("style-src '{}';", hash_source(STYLE))));
        assert!(!policy.contains("unsafe"), "{policy}");
        assert!(!policy.contains('*'), "{policy}");
    }
}

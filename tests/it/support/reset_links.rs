//! The two dialects whose emails carry a link to a reset page: asking for the email through
//! `resetd-client`, finding the link in the real mail, and redeeming it through the API.

use resetd_client::types;

use crate::support::{TestServer, PUBLIC_BASE_URL};

/// Passwords that every link dialect's policy accepts.
pub const OLD_PASSWORD: &str = "Old-passw0rd-1";
pub const NEW_PASSWORD: &str = "New-passw0rd-2";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkDialect {
    Cloudreve,
    Selfcommunity,
}

impl LinkDialect {
    /// The page's path, as the emails link it.
    pub fn page_path(self) -> &'static str {
        match self {
            LinkDialect::Cloudreve => "/session/reset",
            LinkDialect::Selfcommunity => "/account/recover/password",
        }
    }

    /// Asks for a reset email through the dialect's own call and returns the link it
    /// carries, as sent (on the public base URL).
    pub async fn request_link(self, server: &TestServer, email: &str) -> String {
        self.request_link_in(server, email, &subject(server)).await
    }

    /// [`LinkDialect::request_link`] for an account whose emails have `subject` (another
    /// language's).
    pub async fn request_link_in(self, server: &TestServer, email: &str, subject: &str) -> String {
        let since = server.sink.messages().len();
        match self {
            LinkDialect::Cloudreve => {
                let answer = server.request_cloudreve_reset(email).await;
                assert_eq!(answer.code, 0, "{answer:?}");
            }
            LinkDialect::Selfcommunity => {
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
        }
        let prefix = format!(
            "{}{}?",
            PUBLIC_BASE_URL.trim_end_matches('/'),
            self.page_path()
        );
        server
            .mail_to_after(email, subject, since)
            .await
            .find_link(&prefix)
            .unwrap_or_else(|| panic!("the {self:?} email links to {prefix}"))
    }

    /// Sets the password through the dialect's API call with the link's token; whether it
    /// was accepted.
    pub async fn redeem(self, server: &TestServer, link: &str, password: &str) -> bool {
        match self {
            LinkDialect::Cloudreve => {
                let answer = server
                    .reset_cloudreve_password(&param(link, "id"), &param(link, "secret"), password)
                    .await;
                answer.code == 0
            }
            LinkDialect::Selfcommunity => server
                .client
                .selfcommunity_reset_password()
                .body(types::SelfcommunityResetRequest {
                    validation_code: param(link, "validation_code"),
                    password: password.parse().expect("within 8..=128"),
                })
                .send()
                .await
                .is_ok(),
        }
    }
}

/// The emailed link pointed at the test server instead of the public base URL, which names
/// a host the test cannot reach (a proxy in front of resetd would do this in production).
pub fn local(link: &str, server: &TestServer) -> String {
    link.replacen(PUBLIC_BASE_URL.trim_end_matches('/'), &server.base_url, 1)
}

pub fn param(link: &str, name: &str) -> String {
    url::Url::parse(link)
        .expect("link is a URL")
        .query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
        .unwrap_or_else(|| panic!("no {name} in the link"))
}

/// The subject of every reset email (English, the harness's accounts' language).
fn subject(server: &TestServer) -> String {
    format!("Reset your {} password", server.config.product_name)
}

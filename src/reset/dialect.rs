//! The four reset dialects and what the core needs to know of each: token format, lifetime
//! key, password policy, and the email (code or link) it sends.

use std::fmt;
use std::str::FromStr;

use super::policy::PasswordPolicy;
use super::token_format::TokenFormat;
use crate::mail::{Language, ResetKind};

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[strum(serialize_all = "snake_case")]
pub enum Dialect {
    Ipcola,
    Strapi,
    Cloudreve,
    Selfcommunity,
}

impl Dialect {
    pub const ALL: &'static [Dialect] = <Dialect as strum::VariantArray>::VARIANTS;

    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The original product's name.
    pub fn product_name(self) -> &'static str {
        match self {
            Dialect::Ipcola => "IPCola",
            Dialect::Strapi => "Strapi",
            Dialect::Cloudreve => "Cloudreve",
            Dialect::Selfcommunity => "SelfCommunity",
        }
    }

    /// Whether the product's reset request carries a captcha answer (and so can be made to
    /// require one).
    pub fn carries_captcha(self) -> bool {
        matches!(self, Dialect::Ipcola | Dialect::Cloudreve)
    }

    /// The reset email each product's clients expect: a code or a link.
    pub fn reset_mail(self) -> ResetKind {
        match self {
            Dialect::Ipcola => ResetKind::Ipcola,
            Dialect::Strapi => ResetKind::Strapi,
            Dialect::Cloudreve => ResetKind::Cloudreve,
            Dialect::Selfcommunity => ResetKind::Selfcommunity,
        }
    }

    /// The shape of the secret each product's clients expect (DIALECTS.md).
    pub fn token_format(self) -> TokenFormat {
        match self {
            Dialect::Ipcola => TokenFormat::LowercaseLetters(16),
            Dialect::Strapi => TokenFormat::Hex(128),
            Dialect::Cloudreve => TokenFormat::Alphanumeric(32),
            Dialect::Selfcommunity => TokenFormat::Hex(34),
        }
    }

    /// Each product's own rule for new passwords (from the seeds; where a seed is silent,
    /// resetd's choice, documented in the spec).
    pub fn password_policy(self) -> PasswordPolicy {
        match self {
            Dialect::Ipcola => PasswordPolicy::length(6, 128),
            Dialect::Strapi => PasswordPolicy::length(6, 128),
            Dialect::Cloudreve => PasswordPolicy::length(6, 64),
            Dialect::Selfcommunity => PasswordPolicy::length(8, 128).with_classes(3),
        }
    }

    /// The link the product's clients expect in the email, built on `base` (the configured
    /// public base URL, never the request's Host). `None`: the email carries a code only.
    ///
    /// It ends in `lang=<the email's language>`, so that resetd's reset page is in the
    /// language of the email it was opened from; the products' own pages read their
    /// parameters by name and ignore it.
    pub fn reset_link(
        self,
        base: &url::Url,
        user_public_id: &str,
        token: &str,
        language: Language,
    ) -> Option<String> {
        let mut url = base.clone();
        match self {
            Dialect::Cloudreve => {
                url.set_path(&join_path(base, "session/reset"));
                url.query_pairs_mut()
                    .append_pair("id", user_public_id)
                    .append_pair("secret", token)
                    .append_pair("lang", language.tag());
            }
            Dialect::Selfcommunity => {
                url.set_path(&join_path(base, "account/recover/password"));
                url.query_pairs_mut()
                    .append_pair("validation_code", token)
                    .append_pair("next", "/")
                    .append_pair("lang", language.tag());
            }
            Dialect::Ipcola | Dialect::Strapi => return None,
        }
        Some(url.to_string())
    }
}

/// Appends `tail` to the base URL's path, so a base such as `https://x.example/accounts`
/// keeps its prefix.
fn join_path(base: &url::Url, tail: &str) -> String {
    format!("{}/{tail}", base.path().trim_end_matches('/'))
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown dialect (expected ipcola, strapi, cloudreve or selfcommunity)")]
pub struct UnknownDialect;

impl FromStr for Dialect {
    type Err = UnknownDialect;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Dialect::ALL
            .iter()
            .copied()
            .find(|d| d.as_str() == s)
            .ok_or(UnknownDialect)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_keep_the_base_path_and_escape_values() {
        let base = url::Url::parse("https://acc.example/portal/").expect("url");
        assert_eq!(
            Dialect::Cloudreve
                .reset_link(&base, "u1", "a+c", Language::English)
                .as_deref(),
            Some("https://acc.example/portal/session/reset?id=u1&secret=a%2Bc&lang=en")
        );
        assert_eq!(
            Dialect::Selfcommunity
                .reset_link(&base, "u1", "0f", Language::ChineseSimplified)
                .as_deref(),
            Some(
                "https://acc.example/portal/account/recover/password?validation_code=0f&next=%2F\
                 &lang=zh-CN"
            )
        );
        assert_eq!(
            Dialect::Strapi.reset_link(&base, "u1", "x", Language::English),
            None
        );
    }

    #[test]
    fn names_round_trip() {
        for &d in Dialect::ALL {
            assert_eq!(d.as_str().parse::<Dialect>().ok(), Some(d));
        }
        assert!("nope".parse::<Dialect>().is_err());
    }
}

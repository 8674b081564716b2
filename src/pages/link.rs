//! What an emailed reset link carries in its query, read without judging the token: opening
//! a link never checks or consumes it (SECURITY.md 11), only submitting the form does.

/// Longest value taken from a link, in characters: far above every token format, so a
/// damaged link still gets a page without its whole query echoed back into it.
const MAX_VALUE_CHARS: usize = 256;

/// A link complete enough to show the new-password form for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResetLink {
    /// `/session/reset?id=<user_id>&secret=<secret>`
    Cloudreve { user_id: String, secret: String },
    /// `/account/recover/password?validation_code=<code>&next=/`. `next` is where the
    /// product would go afterwards; resetd has no site of its own to continue to and
    /// ignores it.
    Selfcommunity { validation_code: String },
}

impl ResetLink {
    /// A Cloudreve link from the raw query string; `None` when a part is missing.
    pub fn cloudreve(query: Option<&str>) -> Option<ResetLink> {
        let query = query?;
        Some(ResetLink::Cloudreve {
            user_id: param(query, "id")?,
            secret: param(query, "secret")?,
        })
    }

    /// A SelfCommunity link from the raw query string; `None` when the code is missing.
    pub fn selfcommunity(query: Option<&str>) -> Option<ResetLink> {
        Some(ResetLink::Selfcommunity {
            validation_code: param(query?, "validation_code")?,
        })
    }
}

/// The language the link asks for (`lang=zh-CN`): the one its email was written in.
pub fn lang(query: Option<&str>) -> Option<String> {
    param(query?, "lang")
}

/// The first value of `name`, unless empty or too long. The query is parsed by hand rather
/// than by dropshot's `Query` extractor so that a malformed link still gets an HTML page.
fn param(query: &str, name: &str) -> Option<String> {
    let value = url::form_urlencoded::parse(query.as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.trim().to_owned())?;
    let chars = value.chars().count();
    (chars > 0 && chars <= MAX_VALUE_CHARS).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complete_links_are_read() {
        assert_eq!(
            ResetLink::cloudreve(Some("id=lpua&secret=Zx81b")),
            Some(ResetLink::Cloudreve {
                user_id: "lpua".to_owned(),
                secret: "Zx81b".to_owned(),
            })
        );
        assert_eq!(
            ResetLink::selfcommunity(Some("validation_code=0f1e&next=%2F")),
            Some(ResetLink::Selfcommunity {
                validation_code: "0f1e".to_owned(),
            })
        );
    }

    #[test]
    fn the_language_hint_is_read_beside_the_link() {
        let query = Some("id=lpua&secret=Zx81b&lang=zh-CN");
        assert_eq!(lang(query).as_deref(), Some("zh-CN"));
        assert!(ResetLink::cloudreve(query).is_some());
        assert_eq!(
            lang(Some("validation_code=0f&next=%2F&lang=en")).as_deref(),
            Some("en")
        );
        for query in [None, Some("id=lpua"), Some("lang="), Some("lang=%20")] {
            assert_eq!(lang(query), None, "{query:?}");
        }
    }

    #[test]
    fn values_are_percent_decoded() {
        assert_eq!(
            ResetLink::cloudreve(Some("secret=a%2Bb&id=%3Cx%3E")),
            Some(ResetLink::Cloudreve {
                user_id: "<x>".to_owned(),
                secret: "a+b".to_owned(),
            })
        );
    }

    #[test]
    fn incomplete_or_damaged_links_are_refused() {
        for query in [
            None,
            Some(""),
            Some("id=lpua"),
            Some("secret=Zx81b"),
            Some("id=&secret=Zx81b"),
            Some("id=lpua&secret=%20"),
            Some("id=%ZZ"),
        ] {
            assert_eq!(ResetLink::cloudreve(query), None, "{query:?}");
        }
        let long = format!("validation_code={}", "a".repeat(MAX_VALUE_CHARS + 1));
        for query in [None, Some("next=%2F"), Some(long.as_str())] {
            assert_eq!(ResetLink::selfcommunity(query), None, "{query:?}");
        }
    }
}

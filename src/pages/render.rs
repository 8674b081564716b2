//! The pages' HTML: small templates filled in one pass, every value from outside escaped.

use crate::reset::policy::PasswordPolicy;
use crate::reset::Dialect;

use super::link::ResetLink;

const PAGE: &str = include_str!("assets/page.html");
const FORM: &str = include_str!("assets/form.html");
const INCOMPLETE: &str = include_str!("assets/incomplete.html");
const UNAVAILABLE: &str = include_str!("assets/unavailable.html");

/// The form's script and the pages' style sheet, inlined byte for byte: the
/// Content-Security-Policy allows exactly these by their hashes (`headers.rs`).
pub const SCRIPT: &str = include_str!("assets/reset.js");
pub const STYLE: &str = include_str!("assets/reset.css");

/// Markup safe to insert: escaped text, or one of the templates above.
struct Html(String);

impl Html {
    fn text(text: &str) -> Html {
        Html(crate::html::escape(text))
    }

    fn trusted(markup: &str) -> Html {
        Html(markup.to_owned())
    }
}

/// Replaces each `{{name}}` in `template` by its slot, in one pass, so that a value that
/// happens to contain `{{...}}` is never expanded itself.
fn fill(template: &str, slots: &[(&str, &Html)]) -> String {
    let mut out = String::with_capacity(template.len() * 2);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start + 2..].find("}}") else {
            break;
        };
        let name = &rest[start + 2..start + 2 + len];
        out.push_str(&rest[..start]);
        match slots.iter().find(|(slot, _)| *slot == name) {
            Some((_, value)) => out.push_str(&value.0),
            None => out.push_str(&rest[start..start + 4 + len]),
        }
        rest = &rest[start + 4 + len..];
    }
    out.push_str(rest);
    out
}

fn page(product: &str, heading: &str, content: Html, with_script: bool) -> String {
    let script = if with_script {
        Html(format!("<script>{SCRIPT}</script>"))
    } else {
        Html(String::new())
    };
    fill(
        PAGE,
        &[
            ("product", &Html::text(product)),
            ("heading", &Html::text(heading)),
            ("style", &Html::trusted(STYLE)),
            ("content", &content),
            ("script", &script),
        ],
    )
}

/// The new-password form for a complete link. The link's values travel to the script in
/// `data-` attributes; nothing about them is checked here. The policy's lengths go along so
/// that the page can say "too short" itself: the API's own answer to a length outside its
/// schema is a parser's message, not a sentence for a person.
pub fn form_page(product: &str, link: &ResetLink) -> String {
    let (dialect, data) = match link {
        ResetLink::Cloudreve { user_id, secret } => (
            Dialect::Cloudreve,
            [("user-id", user_id), ("secret", secret)]
                .iter()
                .map(|(name, value)| data_attribute(name, value))
                .collect::<String>(),
        ),
        ResetLink::Selfcommunity { validation_code } => (
            Dialect::Selfcommunity,
            data_attribute("validation-code", validation_code),
        ),
    };
    let policy = dialect.password_policy();
    let form = fill(
        FORM,
        &[
            ("rules", &Html::text(&rules(policy))),
            ("dialect", &Html::text(dialect.as_str())),
            ("min_chars", &Html::text(&policy.min_chars.to_string())),
            ("max_chars", &Html::text(&policy.max_chars.to_string())),
            ("data", &Html(data)),
        ],
    );
    page(product, "Choose a new password", Html(form), true)
}

/// The page for a link that lacks part of its query.
pub fn incomplete_page(product: &str) -> String {
    page(
        product,
        "This link is incomplete",
        Html::trusted(INCOMPLETE),
        false,
    )
}

/// The page for a link of a dialect this server has switched off.
pub fn unavailable_page(product: &str) -> String {
    page(
        product,
        "Password reset is not available here",
        Html::trusted(UNAVAILABLE),
        false,
    )
}

fn data_attribute(name: &str, value: &str) -> String {
    format!(" data-{name}=\"{}\"", Html::text(value).0)
}

/// The dialect's password rule in words, so that a user meets it on the first try; the
/// server still decides.
fn rules(policy: PasswordPolicy) -> String {
    let mut rules = format!(
        "Use {} to {} characters.",
        policy.min_chars, policy.max_chars
    );
    if policy.min_classes > 0 {
        rules.push_str(&format!(
            " Include at least {} of: lower case letters, upper case letters, digits, \
             other characters.",
            policy.min_classes
        ));
    }
    rules.push_str(
        " One character repeated, only spaces, very common passwords and your email address \
         are not accepted.",
    );
    rules
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cloudreve(user_id: &str, secret: &str) -> ResetLink {
        ResetLink::Cloudreve {
            user_id: user_id.to_owned(),
            secret: secret.to_owned(),
        }
    }

    #[test]
    fn every_slot_is_filled() {
        let pages = [
            form_page("Acme", &cloudreve("lpua", "s3cret")),
            form_page(
                "Acme",
                &ResetLink::Selfcommunity {
                    validation_code: "0f".to_owned(),
                },
            ),
            incomplete_page("Acme"),
            unavailable_page("Acme"),
        ];
        for html in pages {
            assert!(!html.contains("{{"), "{html}");
            assert!(html.starts_with("<!doctype html>\n<html lang=\"en\">"));
            assert!(html.contains("<title>"), "{html}");
        }
    }

    #[test]
    fn values_from_outside_are_escaped() {
        let html = form_page(
            "<b>Acme</b> & \"Co\"",
            &cloudreve("\"><script>alert(1)</script>", "{{script}}'"),
        );
        assert!(
            html.contains("<p class=\"product\">&lt;b&gt;Acme&lt;/b&gt; &amp; &quot;Co&quot;</p>")
        );
        assert!(html.contains("<title>Choose a new password · &lt;b&gt;Acme"));
        assert!(html.contains("data-user-id=\"&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\""));
        assert!(
            html.contains("data-secret=\"{{script}}&#39;\""),
            "a value is never expanded as a slot: {html}"
        );
        assert_eq!(html.matches("<script>").count(), 1);
    }

    #[test]
    fn only_the_form_carries_the_script() {
        let form = form_page("Acme", &cloudreve("lpua", "s3cret"));
        assert!(form.contains(&format!("<script>{SCRIPT}</script>")));
        assert!(form.contains(
            "data-dialect=\"cloudreve\" data-min-chars=\"6\" data-max-chars=\"64\" \
             data-user-id=\"lpua\" data-secret=\"s3cret\""
        ));
        assert!(!incomplete_page("Acme").contains("<script"));
        assert!(!unavailable_page("Acme").contains("<script"));
    }

    #[test]
    fn assets_cannot_break_out_of_their_elements() {
        assert!(!SCRIPT.to_ascii_lowercase().contains("</script"));
        assert!(!STYLE.to_ascii_lowercase().contains("</style"));
    }

    #[test]
    fn rules_follow_the_dialect_policy() {
        assert_eq!(
            rules(Dialect::Cloudreve.password_policy()),
            "Use 6 to 64 characters. One character repeated, only spaces, very common passwords \
             and your email address are not accepted."
        );
        assert!(rules(Dialect::Selfcommunity.password_policy())
            .starts_with("Use 8 to 128 characters. Include at least 3 of: lower case letters"));
    }
}

//! The emails resetd sends, as text + HTML. Every value put into HTML is escaped; links come
//! only from the configured public base URL (built by the core).

use std::fmt::Write as _;

use crate::clock::Millis;
use crate::store::NewOutboxMessage;

/// A reset email: the code, and the link when the dialect's product has one.
#[derive(Debug, Clone, Copy)]
pub struct ResetMail<'a> {
    pub product: &'a str,
    pub recipient: &'a str,
    pub code: &'a str,
    pub link: Option<&'a str>,
    pub valid_for_minutes: i64,
}

pub fn reset_message(mail: &ResetMail<'_>) -> NewOutboxMessage {
    let subject = format!("Reset your {} password", mail.product);
    let validity = describe_minutes(mail.valid_for_minutes);
    let mut text = format!(
        "Someone asked to reset the password of your {product} account ({recipient}).\n\n",
        product = mail.product,
        recipient = mail.recipient,
    );
    let mut html = format!(
        "<!doctype html>\n<html><body style=\"font-family:sans-serif\">\n\
         <p>Someone asked to reset the password of your {product} account ({recipient}).</p>\n",
        product = escape(mail.product),
        recipient = escape(mail.recipient),
    );
    match mail.link {
        Some(link) => {
            let _ = write!(
                text,
                "Open this link to choose a new password:\n\n{link}\n\n"
            );
            let _ = write!(
                html,
                "<p><a href=\"{href}\">Choose a new password</a></p>\n\
                 <p>Or copy this address into your browser:<br><code>{href}</code></p>\n",
                href = escape(link),
            );
        }
        None => {
            let _ = write!(
                text,
                "Your password reset code is:\n\n    {code}\n\n",
                code = mail.code
            );
            let _ = write!(
                html,
                "<p>Your password reset code is:</p>\n\
                 <p style=\"font-size:1.4em;letter-spacing:0.1em\"><code>{code}</code></p>\n",
                code = escape(mail.code),
            );
        }
    }
    let _ = write!(
        text,
        "It can be used once and expires in {validity}.\n\
         If you did not ask for this, ignore this email: your password stays as it is.\n"
    );
    let _ = write!(
        html,
        "<p>It can be used once and expires in {validity}.</p>\n\
         <p>If you did not ask for this, ignore this email: your password stays as it is.</p>\n\
         </body></html>\n"
    );
    NewOutboxMessage {
        recipient: mail.recipient.to_owned(),
        subject,
        body_text: text,
        body_html: html,
    }
}

/// The notice sent after a password was changed, so an owner who did not do it notices.
pub fn password_changed_message(product: &str, recipient: &str, at: Millis) -> NewOutboxMessage {
    let when = chrono::DateTime::from_timestamp_millis(at)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| "just now".to_owned());
    let subject = format!("Your {product} password was changed");
    let text = format!(
        "The password of your {product} account ({recipient}) was changed at {when}.\n\
         Every session of the account was signed out.\n\n\
         If you did not do this, reset your password now and contact support.\n"
    );
    let html = format!(
        "<!doctype html>\n<html><body style=\"font-family:sans-serif\">\n\
         <p>The password of your {product} account ({recipient}) was changed at {when}.</p>\n\
         <p>Every session of the account was signed out.</p>\n\
         <p>If you did not do this, reset your password now and contact support.</p>\n\
         </body></html>\n",
        product = escape(product),
        recipient = escape(recipient),
    );
    NewOutboxMessage {
        recipient: recipient.to_owned(),
        subject,
        body_text: text,
        body_html: html,
    }
}

fn describe_minutes(minutes: i64) -> String {
    match minutes {
        m if m >= 120 && m % 60 == 0 => format!("{} hours", m / 60),
        60 => "1 hour".to_owned(),
        1 => "1 minute".to_owned(),
        m => format!("{m} minutes"),
    }
}

/// Escapes text for HTML element content and double-quoted attributes.
fn escape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_email_names_link_and_expiry() {
        let msg = reset_message(&ResetMail {
            product: "Cloudreve",
            recipient: "ann@example.com",
            code: "SECRET",
            link: Some("https://x.example/session/reset?id=1&secret=SECRET"),
            valid_for_minutes: 60,
        });
        assert_eq!(msg.subject, "Reset your Cloudreve password");
        assert!(msg
            .body_text
            .contains("https://x.example/session/reset?id=1&secret=SECRET"));
        assert!(msg.body_text.contains("expires in 1 hour"));
        assert!(msg
            .body_html
            .contains("href=\"https://x.example/session/reset?id=1&amp;secret=SECRET\""));
    }

    #[test]
    fn code_email_shows_code_and_escapes_html() {
        let msg = reset_message(&ResetMail {
            product: "IPCola",
            recipient: "<b>@x.org",
            code: "abcdefghijklmnop",
            link: None,
            valid_for_minutes: 15,
        });
        assert!(msg.body_text.contains("abcdefghijklmnop"));
        assert!(msg.body_text.contains("expires in 15 minutes"));
        assert!(msg.body_html.contains("&lt;b&gt;@x.org"));
        assert!(!msg.body_html.contains("<b>@"));
    }
}

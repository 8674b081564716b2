//! Email addresses as accounts are keyed: trimmed and lowercased, with a sanity check of
//! the shape (deliverability is the mail server's business).

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a valid email address")]
pub struct InvalidEmail;

/// Longest address SMTP can carry (RFC 5321 path limit).
const MAX_EMAIL_LEN: usize = 254;

pub fn normalize(raw: &str) -> Result<String, InvalidEmail> {
    let email = raw.trim().to_lowercase();
    if email.is_empty() || email.len() > MAX_EMAIL_LEN {
        return Err(InvalidEmail);
    }
    if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(InvalidEmail);
    }
    let (local, domain) = email.rsplit_once('@').ok_or(InvalidEmail)?;
    if local.is_empty() || domain.is_empty() || domain.starts_with('.') || domain.ends_with('.') {
        return Err(InvalidEmail);
    }
    Ok(email)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_and_checks() {
        assert_eq!(
            normalize("  Ann@Example.COM ").as_deref(),
            Ok("ann@example.com")
        );
        for bad in [
            "",
            "ann",
            "@x.org",
            "ann@",
            "a b@x.org",
            "ann@.x",
            "a\u{0}@x.org",
        ] {
            assert_eq!(normalize(bad), Err(InvalidEmail), "{bad:?}");
        }
        assert_eq!(
            normalize(&format!("{}@x.org", "a".repeat(260))),
            Err(InvalidEmail)
        );
    }
}

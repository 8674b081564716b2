//! Password rules: lengths in code points (never bytes, never truncated), character
//! classes, the common-password blocklist, and "not the email".

use crate::security::common_passwords;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub min_chars: usize,
    pub max_chars: usize,
    /// How many of lower, upper, digit, other must appear.
    pub min_classes: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyViolation {
    #[error("password must be at least {0} characters")]
    TooShort(usize),
    #[error("password must be at most {0} characters")]
    TooLong(usize),
    #[error("password must contain at least {0} of: lower case letters, upper case letters, digits, other characters")]
    TooFewClasses(usize),
    #[error("password must not be the account's email address")]
    EqualsEmail,
    #[error("password is too common: choose one that is harder to guess")]
    Common,
}

impl PasswordPolicy {
    pub const fn length(min_chars: usize, max_chars: usize) -> Self {
        Self {
            min_chars,
            max_chars,
            min_classes: 0,
        }
    }

    pub const fn with_classes(mut self, min_classes: usize) -> Self {
        self.min_classes = min_classes;
        self
    }

    /// Checks what can be judged without knowing the account.
    pub fn check_shape(&self, password: &str) -> Result<(), PolicyViolation> {
        let chars = password.chars().count();
        if chars < self.min_chars {
            return Err(PolicyViolation::TooShort(self.min_chars));
        }
        if chars > self.max_chars {
            return Err(PolicyViolation::TooLong(self.max_chars));
        }
        if classes(password) < self.min_classes {
            return Err(PolicyViolation::TooFewClasses(self.min_classes));
        }
        if common_passwords::is_common(password) {
            return Err(PolicyViolation::Common);
        }
        Ok(())
    }

    /// Checks what needs the account.
    pub fn check_for_account(&self, password: &str, email: &str) -> Result<(), PolicyViolation> {
        if password.trim().eq_ignore_ascii_case(email) {
            return Err(PolicyViolation::EqualsEmail);
        }
        Ok(())
    }
}

fn classes(password: &str) -> usize {
    let mut seen = [false; 4];
    for c in password.chars() {
        let class = if c.is_lowercase() {
            0
        } else if c.is_uppercase() {
            1
        } else if c.is_numeric() {
            2
        } else {
            3
        };
        seen[class] = true;
    }
    seen.iter().filter(|s| **s).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_are_code_points() {
        let p = PasswordPolicy::length(6, 8);
        assert_eq!(p.check_shape("ééééé"), Err(PolicyViolation::TooShort(6)));
        assert_eq!(p.check_shape("éééééé"), Ok(()));
        assert_eq!(p.check_shape("éééééééé"), Ok(()));
        assert_eq!(p.check_shape("ééééééééé"), Err(PolicyViolation::TooLong(8)));
    }

    #[test]
    fn classes_are_counted() {
        let p = PasswordPolicy::length(8, 128).with_classes(3);
        assert_eq!(
            p.check_shape("abcdefgh"),
            Err(PolicyViolation::TooFewClasses(3))
        );
        assert_eq!(
            p.check_shape("abcdEFGH"),
            Err(PolicyViolation::TooFewClasses(3))
        );
        assert_eq!(p.check_shape("wxyzEF93"), Ok(()));
        assert_eq!(p.check_shape("wxyz93!!"), Ok(()));
    }

    #[test]
    fn common_passwords_are_refused() {
        let p = PasswordPolicy::length(6, 64);
        assert_eq!(p.check_shape("Password1"), Err(PolicyViolation::Common));
        assert_eq!(p.check_shape("qwertyuiop"), Err(PolicyViolation::Common));
        assert_eq!(p.check_shape("qwertyuiop-7a"), Ok(()));
    }

    #[test]
    fn not_the_email() {
        let p = PasswordPolicy::length(6, 64);
        assert_eq!(
            p.check_for_account("Ann@Example.com", "ann@example.com"),
            Err(PolicyViolation::EqualsEmail)
        );
        assert_eq!(
            p.check_for_account("something else", "ann@example.com"),
            Ok(())
        );
    }
}

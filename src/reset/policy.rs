//! Password rules: lengths in code points (never bytes, never truncated), no control
//! characters, something visible, not one character repeated, character classes, the
//! common-password blocklist, and "not the email".

use unicode_properties::{GeneralCategory, GeneralCategoryGroup, UnicodeGeneralCategory};

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
    /// A tab, line break, NUL, DEL or C1 control: invisible, and mangled by many forms,
    /// terminals and clipboards, so a user could not type the password again.
    #[error("password must not contain control characters (tabs, line breaks, NUL, ...)")]
    ControlCharacter,
    /// Only spaces and/or combining marks (and other invisible characters).
    #[error("password must contain a visible character: a letter, digit, punctuation mark or symbol, not only spaces or combining marks")]
    NothingVisible,
    #[error("password must not be a single character repeated")]
    OneCharacterRepeated,
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
        if password
            .chars()
            .any(|c| c.general_category() == GeneralCategory::Control)
        {
            return Err(PolicyViolation::ControlCharacter);
        }
        if !password.chars().any(is_visible_base) {
            return Err(PolicyViolation::NothingVisible);
        }
        let mut chars = password.chars();
        if let Some(first) = chars.next() {
            if chars.all(|c| c == first) {
                return Err(PolicyViolation::OneCharacterRepeated);
            }
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

/// A character that shows on its own: a letter, number, punctuation mark or symbol. Not
/// separators (spaces), marks (which only decorate a base) or other invisible characters
/// (format, private use, unassigned).
fn is_visible_base(c: char) -> bool {
    matches!(
        c.general_category_group(),
        GeneralCategoryGroup::Letter
            | GeneralCategoryGroup::Number
            | GeneralCategoryGroup::Punctuation
            | GeneralCategoryGroup::Symbol
    )
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
        assert_eq!(p.check_shape("éèéèé"), Err(PolicyViolation::TooShort(6)));
        assert_eq!(p.check_shape("éèéèéè"), Ok(()));
        assert_eq!(p.check_shape("éèéèéèéè"), Ok(()));
        assert_eq!(p.check_shape("éèéèéèéèé"), Err(PolicyViolation::TooLong(8)));
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
    fn control_characters_are_refused_anywhere() {
        let p = PasswordPolicy::length(6, 64);
        for password in [
            "\0\0\0\0\0\0",
            "\t\n\r\t\n\r",
            "Aa\0\0\0\0\0\0",
            "good-passw0rd\n",
            "good\u{7f}passw0rd",
            "good\u{85}passw0rd",
            "\u{9f}good-passw0rd",
        ] {
            assert_eq!(
                p.check_shape(password),
                Err(PolicyViolation::ControlCharacter),
                "{password:?}"
            );
        }
        // Format characters are not controls (a ZWJ inside an emoji sequence).
        assert_eq!(p.check_shape("fam\u{200d}ily-9"), Ok(()));
    }

    #[test]
    fn something_must_be_visible() {
        let p = PasswordPolicy::length(6, 64);
        for password in [
            "      ",
            "\u{a0}\u{3000}\u{2003} \u{a0}\u{3000}",
            "\u{301}\u{301}\u{301}\u{301}\u{301}\u{301}",
            " \u{301} \u{308} \u{20dd}",
            "\u{200b}\u{200c}\u{200b}\u{200c}\u{200b}\u{200c}",
        ] {
            assert_eq!(
                p.check_shape(password),
                Err(PolicyViolation::NothingVisible),
                "{password:?}"
            );
        }
        // Spaces and marks are fine beside something visible.
        assert_eq!(p.check_shape("cafe\u{301} au lait"), Ok(()));
        assert_eq!(p.check_shape("  ¿?  "), Ok(()));
    }

    #[test]
    fn one_character_repeated_is_refused() {
        let p = PasswordPolicy::length(6, 64);
        for password in ["aaaaaa", "ZZZZZZZZZZZZ", "😀😀😀😀😀😀", "ééééééé"] {
            assert_eq!(
                p.check_shape(password),
                Err(PolicyViolation::OneCharacterRepeated),
                "{password:?}"
            );
        }
        assert_eq!(p.check_shape("😀😀😀😀😀😁"), Ok(()));
    }

    #[test]
    fn messages_name_no_password() {
        let p = PasswordPolicy::length(6, 64);
        let message = p.check_shape("zzzzzzzz").expect_err("refused").to_string();
        assert!(!message.contains("zz"), "{message}");
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

//! The common-password blocklist shipped in the binary (SECURITY.md item 12): 30,000
//! passwords that guessing attacks try first. Source and licence are in the data file.

use std::collections::HashSet;
use std::sync::LazyLock;

const LIST: &str = include_str!("common_passwords.txt");

/// Built on first use: a set of borrowed lines, no copies.
static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    LIST.lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect()
});

/// Whether `password` is on the list, ignoring case (the list is lower case).
pub fn is_common(password: &str) -> bool {
    COMMON.contains(password.to_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_the_whole_list() {
        assert_eq!(COMMON.len(), 30_000);
    }

    #[test]
    fn common_passwords_are_found_whatever_their_case() {
        for p in [
            "123456",
            "password",
            "Password1",
            "QWERTY",
            "iloveyou",
            "dragon",
        ] {
            assert!(is_common(p), "{p}");
        }
        for p in ["correct horse battery staple", "xk7#Lq!9vB", ""] {
            assert!(!is_common(p), "{p}");
        }
    }
}

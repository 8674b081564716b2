//! Token shapes: generated from a CSPRNG, and checked before any store work so malformed
//! input is rejected cheaply.

use crate::security::random;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenFormat {
    /// `[0-9A-Za-z]{n}` (Cloudreve's secret).
    Alphanumeric(usize),
    /// `[a-z]{n}` (IPCola's vcode).
    LowercaseLetters(usize),
    /// `[0-9a-f]{n}` (Strapi's code, SelfCommunity's validation code).
    Hex(usize),
}

impl TokenFormat {
    pub fn generate(self) -> String {
        match self {
            TokenFormat::Alphanumeric(n) => random::alphanumeric(n),
            TokenFormat::LowercaseLetters(n) => random::lowercase_letters(n),
            TokenFormat::Hex(n) => random::hex_chars(n),
        }
    }

    pub fn matches(self, token: &str) -> bool {
        let (len, ok): (usize, fn(&u8) -> bool) = match self {
            TokenFormat::Alphanumeric(n) => (n, u8::is_ascii_alphanumeric),
            TokenFormat::LowercaseLetters(n) => (n, u8::is_ascii_lowercase),
            TokenFormat::Hex(n) => (n, |b| b.is_ascii_digit() || (b'a'..=b'f').contains(b)),
        };
        token.len() == len && token.as_bytes().iter().all(ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_match_their_format() {
        for format in [
            TokenFormat::Alphanumeric(32),
            TokenFormat::LowercaseLetters(16),
            TokenFormat::Hex(128),
            TokenFormat::Hex(34),
        ] {
            assert!(format.matches(&format.generate()), "{format:?}");
        }
    }

    #[test]
    fn wrong_shapes_are_refused() {
        assert!(!TokenFormat::LowercaseLetters(16).matches("abcdefghijklmnoP"));
        assert!(!TokenFormat::LowercaseLetters(16).matches("abc"));
        assert!(!TokenFormat::Hex(34).matches(&"A".repeat(34)));
        assert!(!TokenFormat::Alphanumeric(32).matches(&"é".repeat(16)));
    }
}

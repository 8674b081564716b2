//! Tokens are stored only as HMAC-SHA256(key, token) and found again by that hash, so a copy
//! of the database alone gives no usable token.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Hashes tokens under a key derived from the server secret.
#[derive(Clone)]
pub struct TokenHasher {
    key: [u8; 32],
}

impl std::fmt::Debug for TokenHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenHasher(<key redacted>)")
    }
}

impl TokenHasher {
    /// Derives the hashing key from the server secret, with a label so the same secret can
    /// key other uses without the hashes being interchangeable.
    pub fn from_secret(secret: &str) -> Self {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(secret.as_bytes())
            .expect("HMAC accepts keys of any length");
        mac.update(b"resetd token hash v1");
        Self {
            key: mac.finalize().into_bytes().into(),
        }
    }

    /// A 32-byte key for `purpose`, derived from the hashing key: other uses of the server
    /// secret (sealing queued mail) get keys of their own.
    pub fn derive_key(&self, purpose: &str) -> [u8; 32] {
        let mut mac =
            <HmacSha256 as Mac>::new_from_slice(&self.key).expect("HMAC accepts a 32-byte key");
        mac.update(b"derive\0");
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Hex HMAC of `token`, tagged with its purpose so a reset code can never be presented
    /// as an access token that happens to hash alike.
    pub fn hash(&self, purpose: &str, token: &str) -> String {
        let mut mac =
            <HmacSha256 as Mac>::new_from_slice(&self.key).expect("HMAC accepts a 32-byte key");
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(token.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_depends_on_secret_purpose_and_token() {
        let a = TokenHasher::from_secret("secret-a");
        let b = TokenHasher::from_secret("secret-b");
        assert_eq!(a.hash("reset", "tok"), a.hash("reset", "tok"));
        assert_ne!(a.hash("reset", "tok"), b.hash("reset", "tok"));
        assert_ne!(a.hash("reset", "tok"), a.hash("access", "tok"));
        assert_ne!(a.hash("reset", "tok"), a.hash("reset", "tok2"));
        assert_eq!(a.hash("reset", "tok").len(), 64);
        assert!(!a.hash("reset", "tok").contains("tok"));
    }
}

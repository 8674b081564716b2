//! Sealing the bodies of queued mail: a reset email's body holds a live link or code, and
//! until the worker has sent it (after which the body is blanked) it sits in the outbox. A
//! copy of the database, or a reader of the `outbox` table, must not get usable tokens from
//! it (SECURITY.md 7: tokens are stored only as keyed hashes).
//!
//! ChaCha20-Poly1305 under a key derived from the server secret, a random 96-bit nonce per
//! body, and the recipient as associated data, so a body moved to another row's recipient
//! does not open. Stored as `sealed:v1:` + base64(nonce ‖ ciphertext). A body without the
//! prefix (queued before sealing existed) is passed through as it is.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::Rng as _;

const PREFIX: &str = "sealed:v1:";
const NONCE_LEN: usize = 12;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("the sealed body is not valid base64 or is too short")]
    Malformed,
    /// Wrong key (was the server `secret` changed while mail was queued?), another row's
    /// body, or a tampered one.
    #[error("the sealed body does not open with this server's secret")]
    Unopenable,
    #[error("the opened body is not UTF-8")]
    NotText,
}

/// Seals and opens mail bodies; cheap to clone.
#[derive(Clone)]
pub struct BodySealer {
    cipher: ChaCha20Poly1305,
}

impl std::fmt::Debug for BodySealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BodySealer(<key redacted>)")
    }
}

impl BodySealer {
    pub fn new(key: [u8; 32]) -> Self {
        BodySealer {
            cipher: ChaCha20Poly1305::new(Key::from_slice(&key)),
        }
    }

    /// `plaintext` sealed for `recipient`.
    pub fn seal(&self, plaintext: &str, recipient: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill(&mut nonce);
        let payload = Payload {
            msg: plaintext.as_bytes(),
            aad: recipient.as_bytes(),
        };
        // Encryption fails only for messages past ChaCha20's 256 GiB limit.
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), payload)
            .expect("a mail body is far below ChaCha20-Poly1305's message limit");
        let mut bytes = Vec::with_capacity(NONCE_LEN + sealed.len());
        bytes.extend_from_slice(&nonce);
        bytes.extend_from_slice(&sealed);
        format!("{PREFIX}{}", BASE64.encode(bytes))
    }

    /// The plaintext of `stored` (sealed for `recipient`), or `stored` itself when it was
    /// never sealed.
    pub fn open(&self, stored: &str, recipient: &str) -> Result<String, SealError> {
        let Some(encoded) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_owned());
        };
        let bytes = BASE64.decode(encoded).map_err(|_| SealError::Malformed)?;
        if bytes.len() < NONCE_LEN {
            return Err(SealError::Malformed);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let payload = Payload {
            msg: sealed,
            aad: recipient.as_bytes(),
        };
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), payload)
            .map_err(|_| SealError::Unopenable)?;
        String::from_utf8(plain).map_err(|_| SealError::NotText)
    }
}

/// Whether `stored` is a sealed body.
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str =
        "Open https://x.test/session/reset?id=1&secret=Zx81bQ0dPq4RkT7s to reset. 你好";

    #[test]
    fn a_sealed_body_hides_its_text_and_opens_for_its_recipient() {
        let sealer = BodySealer::new([7; 32]);
        let sealed = sealer.seal(BODY, "ann@example.com");
        assert!(is_sealed(&sealed));
        assert!(!sealed.contains("Zx81bQ0dPq4RkT7s"));
        assert_ne!(
            sealed,
            sealer.seal(BODY, "ann@example.com"),
            "fresh nonce each time"
        );
        assert_eq!(sealer.open(&sealed, "ann@example.com").as_deref(), Ok(BODY));
    }

    #[test]
    fn another_recipient_key_or_a_changed_byte_does_not_open() {
        let sealer = BodySealer::new([7; 32]);
        let sealed = sealer.seal(BODY, "ann@example.com");
        assert_eq!(
            sealer.open(&sealed, "eve@example.com"),
            Err(SealError::Unopenable)
        );
        assert_eq!(
            BodySealer::new([8; 32]).open(&sealed, "ann@example.com"),
            Err(SealError::Unopenable)
        );
        let mut tampered = sealed.into_bytes();
        let last = tampered.len() - 3;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).expect("ASCII");
        assert_eq!(
            sealer.open(&tampered, "ann@example.com"),
            Err(SealError::Unopenable)
        );
        assert_eq!(
            sealer.open("sealed:v1:!!", "ann@example.com"),
            Err(SealError::Malformed)
        );
    }

    #[test]
    fn a_body_queued_before_sealing_passes_through() {
        let sealer = BodySealer::new([7; 32]);
        assert_eq!(
            sealer.open("plain text", "a@b.c").as_deref(),
            Ok("plain text")
        );
    }
}

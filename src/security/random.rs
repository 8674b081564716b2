//! Random tokens from the operating system's CSPRNG-seeded generator (rand's ThreadRng is
//! ChaCha12 reseeded from the OS).

use rand::distr::{Alphanumeric, Distribution, Uniform};
use rand::Rng;

/// `len` characters of `[0-9A-Za-z]`.
pub fn alphanumeric(len: usize) -> String {
    rand::rng()
        .sample_iter(Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// `len` characters of `[a-z]`.
pub fn lowercase_letters(len: usize) -> String {
    let letters = Uniform::new_inclusive(b'a', b'z').expect("a..=z is a valid range");
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(letters.sample(&mut rng)))
        .collect()
}

/// `len` lowercase hex characters.
pub fn hex_chars(len: usize) -> String {
    let mut bytes = vec![0u8; len.div_ceil(2)];
    rand::rng().fill(bytes.as_mut_slice());
    let mut text = hex::encode(bytes);
    text.truncate(len);
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_lengths() {
        let a = alphanumeric(32);
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        let l = lowercase_letters(16);
        assert_eq!(l.len(), 16);
        assert!(l.chars().all(|c| c.is_ascii_lowercase()));
        let h = hex_chars(34);
        assert_eq!(h.len(), 34);
        assert!(h
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(alphanumeric(32), alphanumeric(32));
    }
}

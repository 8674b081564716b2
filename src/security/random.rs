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

/// Ids of [`IdRun::LEN`] alphanumerics for a batch of new rows: one random prefix, then a
/// base-62 count. Rows of one batch are then neighbours in the ids' unique index, and a
/// transaction inserting them dirties a few index pages instead of one per row (with ids
/// random throughout, a 1,000,000-account SQLite import spent 11.4 s instead of 2.2 s in
/// the kernel writing pages, and ran at 26,000 accounts/s instead of 84,000). Ids of one
/// batch tell each other apart by their count: an id is a name, never a secret, and its
/// rows are found by it only behind a secret (a link's code, the admin token).
pub struct IdRun {
    prefix: String,
    next: u64,
}

impl IdRun {
    pub const LEN: usize = 12;
    const PREFIX: usize = 8;
    /// `[0-9A-Za-z]` in ASCII order, so that ids sort as their counts do.
    const DIGITS: &'static [u8; 62] =
        b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    pub fn new() -> IdRun {
        IdRun {
            prefix: alphanumeric(Self::PREFIX),
            next: 0,
        }
    }

    /// The next id; a new random prefix when the count would outgrow its four digits.
    pub fn next_id(&mut self) -> String {
        let capacity = 62u64.pow((Self::LEN - Self::PREFIX) as u32);
        if self.next == capacity {
            *self = IdRun::new();
        }
        let mut digits = [b'0'; Self::LEN - Self::PREFIX];
        let mut count = self.next;
        for digit in digits.iter_mut().rev() {
            *digit = Self::DIGITS[(count % 62) as usize];
            count /= 62;
        }
        let mut id = self.prefix.clone();
        id.extend(digits.iter().map(|&d| char::from(d)));
        self.next += 1;
        id
    }
}

impl Default for IdRun {
    fn default() -> Self {
        IdRun::new()
    }
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

    #[test]
    fn an_id_run_shares_a_random_prefix_and_counts_in_sort_order() {
        let mut run = IdRun::new();
        let ids: Vec<String> = (0..200).map(|_| run.next_id()).collect();
        assert!(ids
            .iter()
            .all(|id| id.len() == IdRun::LEN && id.chars().all(|c| c.is_ascii_alphanumeric())));
        assert!(ids.iter().all(|id| id[..8] == ids[0][..8]));
        assert_eq!(&ids[0][8..], "0000");
        assert_eq!(&ids[61][8..], "000z");
        assert_eq!(&ids[62][8..], "0010");
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "sorted as counted");
        assert_ne!(IdRun::new().next_id()[..8], ids[0][..8]);

        run.next = 62u64.pow(4) - 1;
        let last = run.next_id();
        assert_eq!(&last[8..], "zzzz");
        let after = run.next_id();
        assert_eq!(&after[8..], "0000");
        assert_ne!(
            after[..8],
            last[..8],
            "a new prefix once the count is used up"
        );
    }
}

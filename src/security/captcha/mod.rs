//! Image captchas generated in-process (issue 5): an answer of a few unambiguous characters,
//! drawn distorted and noisy into a PNG.
//!
//! A captcha is a speed bump for scripted requests, not a wall: the rate limits in the store
//! (`rate_limit`) are what bound abuse. The answers come from a CSPRNG; the picture's
//! distortions only need to be unpredictable, not secret.

mod glyphs;
mod render;

use rand::seq::IndexedRandom;

pub use render::{render_png, RenderError, HEIGHT, WIDTH};

/// Characters an answer is made of: capitals and digits that cannot be taken for one another
/// (no 0/O/Q/D-like pairs such as B/8, G/6, I/1, S/5, Z/2).
pub const ALPHABET: &[u8] = b"ACDEFHJKLMNPRTUVWXY3479";

/// Characters in an answer: 23^5 ≈ 6.4 million answers, so a guess is right once in
/// millions, and each guess costs a fresh captcha.
pub const ANSWER_LEN: usize = 5;

/// Where answers come from. The server uses [`RandomAnswers`]; tests substitute a source that
/// also tells them the answer, so they need not read the picture.
pub trait AnswerSource: Send + Sync + 'static {
    fn next_answer(&self) -> String;
}

/// [`ANSWER_LEN`] characters of [`ALPHABET`] from the thread's CSPRNG.
#[derive(Debug, Default, Clone, Copy)]
pub struct RandomAnswers;

impl AnswerSource for RandomAnswers {
    fn next_answer(&self) -> String {
        let mut rng = rand::rng();
        (0..ANSWER_LEN)
            .filter_map(|_| ALPHABET.choose(&mut rng).map(|&c| char::from(c)))
            .collect()
    }
}

/// The form an answer is compared in: people type captchas in either case and with stray
/// spaces.
pub fn normalize_answer(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_answers_use_the_alphabet() {
        let answers: Vec<String> = (0..50).map(|_| RandomAnswers.next_answer()).collect();
        for answer in &answers {
            assert_eq!(answer.len(), ANSWER_LEN);
            assert!(answer.bytes().all(|c| ALPHABET.contains(&c)), "{answer}");
        }
        let distinct: std::collections::HashSet<_> = answers.iter().collect();
        assert!(distinct.len() > 45, "answers repeat: {answers:?}");
    }

    #[test]
    fn answers_compare_without_case_or_spaces() {
        assert_eq!(normalize_answer(" x7k 4p\t"), "X7K4P");
        assert_eq!(normalize_answer("ACDEF"), "ACDEF");
    }

    #[test]
    fn every_character_has_a_glyph() {
        for &c in ALPHABET {
            assert!(glyphs::glyph(c).is_some(), "no glyph for {}", char::from(c));
        }
    }
}

//! Cryptographic building blocks (keyed token hashes, random tokens, argon2id hashing), and
//! the rate limits with the network lists they need.

pub mod captcha;
pub mod cidr;
pub mod common_passwords;
pub mod keyed_hash;
pub mod password_hash;
pub mod random;
pub mod rate_limit;
pub mod sealing;
pub mod stored_hash;

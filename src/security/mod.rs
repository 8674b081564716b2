//! Cryptographic building blocks: keyed token hashes, random tokens, argon2id hashing.

pub mod common_passwords;
pub mod keyed_hash;
pub mod password_hash;
pub mod random;

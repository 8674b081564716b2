//! Cryptographic building blocks (keyed token hashes, random tokens, argon2id hashing), and
//! the rate limits with the network lists they need.

pub mod captcha;
/// The trusted-proxy networks, parsed by `config` (a leaf): named here too, where the
/// client address is worked out from them.
pub mod cidr {
    pub use crate::config::{Cidr, InvalidCidr};
}
pub mod common_passwords;
pub mod keyed_hash;
pub mod password_hash;
pub mod product_hash;
pub mod random;
pub mod rate_limit;
pub mod sealing;
pub mod stored_hash;
pub mod webhook_signature;

//! What resetd's tests share across crates: its unit tests (`store::test_support`,
//! `mail::delivery_tests`), its integration tests (`tests/it`) and `cargo xtask bench`.
//!
//! - [`postgres`]: a PostgreSQL database per test, empty or cloned from a migrated
//!   template, dropped afterwards (unit tests, integration tests, the bench).
//! - [`smtp_sink`] (feature `smtp-sink`): an SMTP server that records what it receives
//!   (unit and integration tests).
//!
//! A crate of its own, not a feature of resetd: xtask uses it too, and xtask must build (to
//! regenerate `generated/`) even while resetd does not.

pub mod postgres;
#[cfg(feature = "smtp-sink")]
pub mod smtp_sink;

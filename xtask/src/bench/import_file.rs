//! The `import` scenario's input: a JSON Lines file of accounts, each with its own email and
//! external id and the same real bcrypt hash (one made by Python's `bcrypt`, from the test
//! fixtures), written line by line so that a file of millions of accounts never sits in
//! memory.

use std::io::{BufWriter, Write as _};
use std::path::Path;

use super::error::BenchError;

/// The test suite's hashes made by the real tools, with their provenance.
const FIXTURES: &str = include_str!("../../../tests/fixtures/legacy_hashes.jsonl");
/// The fixture whose hash every line carries.
const SCHEME: &str = "bcrypt_2b";

/// The bcrypt hash of the fixtures (`$2b$10$...`).
pub fn bcrypt_hash() -> Result<String, BenchError> {
    FIXTURES
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|fixture| fixture["scheme"] == SCHEME)
        .and_then(|fixture| fixture["hash"].as_str().map(str::to_owned))
        .ok_or_else(|| {
            BenchError::unexpected(
                "the import file",
                format!("no {SCHEME} hash in tests/fixtures/legacy_hashes.jsonl"),
            )
        })
}

/// The order of a file's emails against its lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailOrder {
    /// `user{i}@`: line after line, the emails (and the external ids) are near neighbours in
    /// their indexes, as the accounts of a product that numbered its emails would be.
    Ordered,
    /// `{scrambled i}.{i}@`: each email lands anywhere in the index, as a real product's
    /// emails do when its export runs in the order of its own ids.
    Scattered,
}

impl EmailOrder {
    pub fn name(self) -> &'static str {
        match self {
            EmailOrder::Ordered => "ordered",
            EmailOrder::Scattered => "scattered",
        }
    }

    fn email(self, i: u64) -> String {
        match self {
            EmailOrder::Ordered => format!("user{i}@import.example"),
            EmailOrder::Scattered => format!("{:016x}.{i}@import.example", scramble(i)),
        }
    }
}

/// SplitMix64's finaliser: a fixed bijection of `u64` that spreads neighbours apart, so the
/// file is the same on every run.
fn scramble(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Writes `accounts` lines to `path`; returns the file's size in bytes.
pub fn write(path: &Path, accounts: u64, hash: &str, order: EmailOrder) -> Result<u64, BenchError> {
    let file = std::fs::File::create(path).map_err(BenchError::io(path))?;
    let mut out = BufWriter::with_capacity(1 << 16, file);
    // The hash is JSON-escaped once: it is the same on every line.
    let hash = serde_json::to_string(hash)
        .map_err(|e| BenchError::unexpected("the import file", e.to_string()))?;
    for i in 0..accounts {
        writeln!(
            out,
            r#"{{"email":"{}","external_id":"{i}","password_hash":{hash}}}"#,
            order.email(i)
        )
        .map_err(BenchError::io(path))?;
    }
    out.flush().map_err(BenchError::io(path))?;
    let file = out.into_inner().map_err(|e| BenchError::Io {
        path: path.to_path_buf(),
        source: e.into_error(),
    })?;
    file.sync_all().map_err(BenchError::io(path))?;
    Ok(file.metadata().map_err(BenchError::io(path))?.len())
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn the_hash_is_the_fixtures_bcrypt() {
        let hash = bcrypt_hash().expect("in the fixtures");
        assert!(hash.starts_with("$2b$10$"), "{hash}");
        assert_eq!(hash.len(), 60);
    }

    #[test]
    fn every_line_is_an_account_of_its_own() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("accounts.jsonl");
        let hash = bcrypt_hash().expect("hash");
        let bytes = write(&path, 25, &hash, EmailOrder::Ordered).expect("written");
        let text = std::fs::read_to_string(&path).expect("read back");
        assert_eq!(bytes, text.len() as u64);
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("JSON"))
            .collect();
        assert_eq!(lines.len(), 25);
        assert!(lines.iter().all(|l| l["password_hash"] == hash.as_str()));
        let emails: HashSet<&str> = lines.iter().filter_map(|l| l["email"].as_str()).collect();
        let ids: HashSet<&str> = lines
            .iter()
            .filter_map(|l| l["external_id"].as_str())
            .collect();
        assert_eq!((emails.len(), ids.len()), (25, 25));
        assert!(emails.contains("user24@import.example"));
    }

    #[test]
    fn scattered_emails_are_distinct_and_out_of_order() {
        let emails: Vec<String> = (0..1000).map(|i| EmailOrder::Scattered.email(i)).collect();
        assert_eq!(emails.iter().collect::<HashSet<_>>().len(), 1000);
        let rising = emails.windows(2).filter(|w| w[0] < w[1]).count();
        assert!(
            (300..700).contains(&rising),
            "{rising} of 999 pairs in order"
        );
        assert_eq!(
            emails[7],
            EmailOrder::Scattered.email(7),
            "the same every run"
        );
    }
}

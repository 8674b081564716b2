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

/// Writes `accounts` lines to `path`; returns the file's size in bytes.
pub fn write(path: &Path, accounts: u64, hash: &str) -> Result<u64, BenchError> {
    let file = std::fs::File::create(path).map_err(BenchError::io(path))?;
    let mut out = BufWriter::with_capacity(1 << 16, file);
    // The hash is JSON-escaped once: it is the same on every line.
    let hash = serde_json::to_string(hash)
        .map_err(|e| BenchError::unexpected("the import file", e.to_string()))?;
    for i in 0..accounts {
        writeln!(
            out,
            r#"{{"email":"user{i}@import.example","external_id":"{i}","password_hash":{hash}}}"#
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
        let bytes = write(&path, 25, &hash).expect("written");
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
    }
}

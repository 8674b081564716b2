//! Password hashes as products store them, so a product's accounts can be imported with the
//! hashes it already has (`resetd user import`) and their owners log in unchanged: resetd's
//! own argon2id, other argon2 and scrypt PHC strings, bcrypt (Strapi's bcryptjs), Django's
//! formats (SelfCommunity's backend), passlib's PBKDF2, and Cloudreve's three salted digests
//! (`inventory/user.go`). Everything that is not argon2id with resetd's parameters is
//! *legacy*: replaced by an argon2id hash the first time its password is used.
//!
//! [`StoredHash::parse`] checks a hash completely, so an import refuses a malformed one and a
//! login never meets one; it also refuses work factors past what a login can afford, so an
//! imported hash cannot pin a hashing thread for minutes. Errors name the scheme and the
//! reason, never the hash. [`StoredHash::verify`] is CPU work (up to a second for Django's
//! PBKDF2): run it on the hashing threads.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine as _;
use sha1::Sha1;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

/// Work factors past these are refused at import: a login must stay well under a second.
const MAX_BCRYPT_COST: u32 = 15;
const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;
const MAX_SCRYPT_LOG_N: u8 = 20;
const MAX_ARGON2_MEMORY_KIB: u32 = 262_144;
const MAX_ARGON2_ITERATIONS: u32 = 16;

/// The formats resetd reads, named as `resetd user list --legacy` and the metrics show them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scheme {
    /// `$argon2id$...`: resetd's own format (legacy only when its parameters differ).
    Argon2id,
    Argon2i,
    /// `$2a$`, `$2b$`, `$2y$` (Strapi users-permissions, bcryptjs).
    Bcrypt,
    /// `bcrypt_sha256$$2b$...`: bcrypt of the hex SHA-256 of the password.
    DjangoBcryptSha256,
    /// `bcrypt$$2b$...`: Django's plain bcrypt hasher.
    DjangoBcrypt,
    DjangoPbkdf2Sha256,
    DjangoPbkdf2Sha1,
    /// `argon2$argon2id$...`: Django's prefix before an argon2 PHC string.
    DjangoArgon2,
    /// `$pbkdf2-sha256$ROUNDS$SALT$HASH` in passlib's adapted base64.
    PasslibPbkdf2Sha256,
    /// `$scrypt$ln=..,r=..,p=..$SALT$HASH`.
    Scrypt,
    /// `SALT:HEX(sha256(password + SALT))`.
    CloudreveV4,
    /// `SALT:HEX(sha1(password + SALT))`.
    CloudreveV3,
    /// `md5:HEX(md5(SALT + password)):SALT`.
    CloudreveV2,
}

impl Scheme {
    pub const ALL: [Scheme; 13] = [
        Scheme::Argon2id,
        Scheme::Argon2i,
        Scheme::Bcrypt,
        Scheme::DjangoBcryptSha256,
        Scheme::DjangoBcrypt,
        Scheme::DjangoPbkdf2Sha256,
        Scheme::DjangoPbkdf2Sha1,
        Scheme::DjangoArgon2,
        Scheme::PasslibPbkdf2Sha256,
        Scheme::Scrypt,
        Scheme::CloudreveV4,
        Scheme::CloudreveV3,
        Scheme::CloudreveV2,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Argon2id => "argon2id",
            Scheme::Argon2i => "argon2i",
            Scheme::Bcrypt => "bcrypt",
            Scheme::DjangoBcryptSha256 => "django_bcrypt_sha256",
            Scheme::DjangoBcrypt => "django_bcrypt",
            Scheme::DjangoPbkdf2Sha256 => "django_pbkdf2_sha256",
            Scheme::DjangoPbkdf2Sha1 => "django_pbkdf2_sha1",
            Scheme::DjangoArgon2 => "django_argon2",
            Scheme::PasslibPbkdf2Sha256 => "passlib_pbkdf2_sha256",
            Scheme::Scrypt => "scrypt",
            Scheme::CloudreveV4 => "cloudreve_v4",
            Scheme::CloudreveV3 => "cloudreve_v3",
            Scheme::CloudreveV2 => "cloudreve_v2",
        }
    }
}

/// Why a stored hash was refused. Never carries the hash itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashFormatError {
    #[error("not a password hash format resetd reads")]
    Unknown,
    #[error("malformed {} hash: {reason}", scheme.as_str())]
    Malformed {
        scheme: Scheme,
        reason: &'static str,
    },
    #[error("{} hash with a work factor above resetd's limit ({limit})", scheme.as_str())]
    TooCostly { scheme: Scheme, limit: &'static str },
}

/// A digest over the password and a salt, for the PBKDF2 and Cloudreve forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Digest {
    Sha256,
    Sha1,
    Md5,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Form {
    /// An argon2 PHC string, checked by the `argon2` crate.
    Argon2(String),
    /// A bcrypt hash; `sha256_first`: Django's bcrypt_sha256.
    Bcrypt { hash: String, sha256_first: bool },
    Pbkdf2 {
        digest: Digest,
        iterations: u32,
        salt: Vec<u8>,
        expected: Vec<u8>,
    },
    /// A scrypt PHC string, checked by the `scrypt` crate.
    Scrypt(String),
    /// Cloudreve: one digest of the password and the salt, in the scheme's order.
    Salted {
        digest: Digest,
        salt: String,
        salt_first: bool,
        expected: Vec<u8>,
    },
}

/// A parsed, checked password hash.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredHash {
    scheme: Scheme,
    form: Form,
}

impl std::fmt::Debug for StoredHash {
    // The hash stays out of debug output, as out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredHash")
            .field("scheme", &self.scheme)
            .finish_non_exhaustive()
    }
}

impl StoredHash {
    /// Recognises `text` by its shape and checks every part of it.
    pub fn parse(text: &str) -> Result<StoredHash, HashFormatError> {
        // Django writes "argon2" before the PHC string's own leading `$`.
        let (scheme, form) =
            if let Some(phc) = text.strip_prefix("argon2").filter(|p| p.starts_with('$')) {
                (
                    Scheme::DjangoArgon2,
                    argon2_form(Scheme::DjangoArgon2, phc)?,
                )
            } else if text.starts_with("$argon2id$") {
                (Scheme::Argon2id, argon2_form(Scheme::Argon2id, text)?)
            } else if text.starts_with("$argon2i$") {
                (Scheme::Argon2i, argon2_form(Scheme::Argon2i, text)?)
            } else if ["$2a$", "$2b$", "$2y$"].iter().any(|p| text.starts_with(p)) {
                (Scheme::Bcrypt, bcrypt_form(Scheme::Bcrypt, text, false)?)
            } else if let Some(hash) = text.strip_prefix("bcrypt_sha256$") {
                let scheme = Scheme::DjangoBcryptSha256;
                (scheme, bcrypt_form(scheme, hash, true)?)
            } else if let Some(hash) = text.strip_prefix("bcrypt$") {
                let scheme = Scheme::DjangoBcrypt;
                (scheme, bcrypt_form(scheme, hash, false)?)
            } else if let Some(rest) = text.strip_prefix("pbkdf2_sha256$") {
                let scheme = Scheme::DjangoPbkdf2Sha256;
                (scheme, django_pbkdf2(scheme, Digest::Sha256, rest)?)
            } else if let Some(rest) = text.strip_prefix("pbkdf2_sha1$") {
                let scheme = Scheme::DjangoPbkdf2Sha1;
                (scheme, django_pbkdf2(scheme, Digest::Sha1, rest)?)
            } else if let Some(rest) = text.strip_prefix("$pbkdf2-sha256$") {
                (Scheme::PasslibPbkdf2Sha256, passlib_pbkdf2(rest)?)
            } else if text.starts_with("$scrypt$") {
                (Scheme::Scrypt, scrypt_form(text)?)
            } else {
                cloudreve(text)?
            };
        Ok(StoredHash { scheme, form })
    }

    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// Whether this is resetd's own argon2id hash with exactly `params`: anything else is
    /// replaced after its next successful use.
    pub fn is_current(&self, params: &argon2::Params) -> bool {
        let Form::Argon2(phc) = &self.form else {
            return false;
        };
        if self.scheme != Scheme::Argon2id {
            return false;
        }
        argon2::password_hash::phc::PasswordHash::new(phc)
            .ok()
            .and_then(|hash| argon2::Params::try_from(&hash).ok())
            .is_some_and(|ours| {
                ours.m_cost() == params.m_cost()
                    && ours.t_cost() == params.t_cost()
                    && ours.p_cost() == params.p_cost()
            })
    }

    /// The argon2 PHC string, for hashes the argon2 hashing threads check themselves.
    pub fn argon2_phc(&self) -> Option<&str> {
        match &self.form {
            Form::Argon2(phc) => Some(phc),
            _ => None,
        }
    }

    /// Whether `password` is the one this hash was made from. Blocking CPU work.
    pub fn verify(&self, password: &str) -> bool {
        match &self.form {
            Form::Argon2(phc) => {
                use argon2::PasswordVerifier as _;
                argon2::password_hash::phc::PasswordHash::new(phc).is_ok_and(|hash| {
                    argon2::Argon2::default()
                        .verify_password(password.as_bytes(), &hash)
                        .is_ok()
                })
            }
            Form::Bcrypt { hash, sha256_first } => {
                let verdict = if *sha256_first {
                    bcrypt::verify(hex::encode(Sha256::digest(password.as_bytes())), hash)
                } else {
                    bcrypt::verify(password.as_bytes(), hash)
                };
                verdict.unwrap_or(false)
            }
            Form::Pbkdf2 {
                digest,
                iterations,
                salt,
                expected,
            } => {
                let mut out = vec![0u8; expected.len()];
                match digest {
                    Digest::Sha256 => pbkdf2::pbkdf2_hmac::<Sha256>(
                        password.as_bytes(),
                        salt,
                        *iterations,
                        &mut out,
                    ),
                    Digest::Sha1 => pbkdf2::pbkdf2_hmac::<Sha1>(
                        password.as_bytes(),
                        salt,
                        *iterations,
                        &mut out,
                    ),
                    // Refused by the parser.
                    Digest::Md5 => return false,
                }
                bool::from(out.ct_eq(expected))
            }
            Form::Scrypt(phc) => {
                use scrypt::password_hash::{PasswordHash, PasswordVerifier as _};
                PasswordHash::new(phc).is_ok_and(|hash| {
                    scrypt::Scrypt
                        .verify_password(password.as_bytes(), &hash)
                        .is_ok()
                })
            }
            Form::Salted {
                digest,
                salt,
                salt_first,
                expected,
            } => {
                let (first, second) = if *salt_first {
                    (salt.as_bytes(), password.as_bytes())
                } else {
                    (password.as_bytes(), salt.as_bytes())
                };
                let actual = match digest {
                    Digest::Sha256 => Sha256::new()
                        .chain_update(first)
                        .chain_update(second)
                        .finalize()
                        .to_vec(),
                    Digest::Sha1 => Sha1::new()
                        .chain_update(first)
                        .chain_update(second)
                        .finalize()
                        .to_vec(),
                    Digest::Md5 => md5::Md5::new()
                        .chain_update(first)
                        .chain_update(second)
                        .finalize()
                        .to_vec(),
                };
                bool::from(actual.ct_eq(expected))
            }
        }
    }
}

fn malformed(scheme: Scheme, reason: &'static str) -> HashFormatError {
    HashFormatError::Malformed { scheme, reason }
}

fn argon2_form(scheme: Scheme, phc: &str) -> Result<Form, HashFormatError> {
    let hash = argon2::password_hash::phc::PasswordHash::new(phc)
        .map_err(|_| malformed(scheme, "not a valid PHC string"))?;
    let algorithm = hash.algorithm.as_str();
    let expected = match scheme {
        Scheme::Argon2i => algorithm == "argon2i",
        Scheme::DjangoArgon2 => algorithm == "argon2id" || algorithm == "argon2i",
        _ => algorithm == "argon2id",
    };
    if !expected || hash.hash.is_none() {
        return Err(malformed(scheme, "not an argon2 hash with a digest"));
    }
    let params =
        argon2::Params::try_from(&hash).map_err(|_| malformed(scheme, "invalid parameters"))?;
    if params.m_cost() > MAX_ARGON2_MEMORY_KIB || params.t_cost() > MAX_ARGON2_ITERATIONS {
        return Err(HashFormatError::TooCostly {
            scheme,
            limit: "m=262144, t=16",
        });
    }
    Ok(Form::Argon2(phc.to_owned()))
}

fn bcrypt_form(scheme: Scheme, hash: &str, sha256_first: bool) -> Result<Form, HashFormatError> {
    let parts: bcrypt::HashParts = hash
        .parse()
        .map_err(|_| malformed(scheme, "not a bcrypt hash"))?;
    // `HashParts` accepts `$2x$`, the old buggy variant no product here writes.
    if !["$2a$", "$2b$", "$2y$"].iter().any(|p| hash.starts_with(p)) {
        return Err(malformed(scheme, "unknown bcrypt version"));
    }
    if parts.get_cost() > MAX_BCRYPT_COST {
        return Err(HashFormatError::TooCostly {
            scheme,
            limit: "cost 15",
        });
    }
    Ok(Form::Bcrypt {
        hash: hash.to_owned(),
        sha256_first,
    })
}

fn iterations(scheme: Scheme, text: &str) -> Result<u32, HashFormatError> {
    let n: u32 = text
        .parse()
        .ok()
        .filter(|n| *n > 0 && !text.starts_with('0'))
        .ok_or_else(|| malformed(scheme, "iteration count is not a positive number"))?;
    if n > MAX_PBKDF2_ITERATIONS {
        return Err(HashFormatError::TooCostly {
            scheme,
            limit: "10,000,000 iterations",
        });
    }
    Ok(n)
}

/// `ITERATIONS$SALT$BASE64`; Django uses the salt's text as the PBKDF2 salt.
fn django_pbkdf2(scheme: Scheme, digest: Digest, rest: &str) -> Result<Form, HashFormatError> {
    let [count, salt, hash] =
        split::<3>(rest, '$').ok_or(malformed(scheme, "expected 4 fields"))?;
    let iterations = iterations(scheme, count)?;
    if salt.is_empty() {
        return Err(malformed(scheme, "empty salt"));
    }
    let expected = STANDARD
        .decode(hash)
        .map_err(|_| malformed(scheme, "digest is not base64"))?;
    let len = if digest == Digest::Sha256 { 32 } else { 20 };
    if expected.len() != len {
        return Err(malformed(scheme, "digest has the wrong length"));
    }
    Ok(Form::Pbkdf2 {
        digest,
        iterations,
        salt: salt.as_bytes().to_vec(),
        expected,
    })
}

/// `ROUNDS$SALT$HASH`, salt and hash in passlib's "adapted base64" (`.` for `+`, no padding).
fn passlib_pbkdf2(rest: &str) -> Result<Form, HashFormatError> {
    let scheme = Scheme::PasslibPbkdf2Sha256;
    let [rounds, salt, hash] =
        split::<3>(rest, '$').ok_or(malformed(scheme, "expected 4 fields"))?;
    let iterations = iterations(scheme, rounds)?;
    let ab64 = |text: &str| STANDARD_NO_PAD.decode(text.replace('.', "+"));
    let salt = ab64(salt).map_err(|_| malformed(scheme, "salt is not adapted base64"))?;
    let expected = ab64(hash).map_err(|_| malformed(scheme, "digest is not adapted base64"))?;
    if salt.is_empty() || expected.len() != 32 {
        return Err(malformed(scheme, "salt or digest has the wrong length"));
    }
    Ok(Form::Pbkdf2 {
        digest: Digest::Sha256,
        iterations,
        salt,
        expected,
    })
}

fn scrypt_form(text: &str) -> Result<Form, HashFormatError> {
    let scheme = Scheme::Scrypt;
    let hash = scrypt::password_hash::PasswordHash::new(text)
        .map_err(|_| malformed(scheme, "not a valid PHC string"))?;
    let params =
        scrypt::Params::try_from(&hash).map_err(|_| malformed(scheme, "invalid parameters"))?;
    if hash.hash.is_none() {
        return Err(malformed(scheme, "no digest"));
    }
    // Memory is 128 · r · 2^ln bytes: bound both.
    if params.log_n() > MAX_SCRYPT_LOG_N || params.r() > 16 || params.p() > 16 {
        return Err(HashFormatError::TooCostly {
            scheme,
            limit: "ln=20, r=16, p=16",
        });
    }
    Ok(Form::Scrypt(text.to_owned()))
}

/// Cloudreve's `SALT:HEX` (v4 SHA-256, v3 SHA-1 by the digest's length) and `md5:HEX:SALT` (v2).
fn cloudreve(text: &str) -> Result<(Scheme, Form), HashFormatError> {
    if let Some([md5, hex_digest, salt]) = split::<3>(text, ':').filter(|[tag, ..]| *tag == "md5") {
        let _ = md5;
        let scheme = Scheme::CloudreveV2;
        return Ok((
            scheme,
            salted(scheme, Digest::Md5, salt, true, hex_digest, 32)?,
        ));
    }
    let Some([salt, hex_digest]) = split::<2>(text, ':') else {
        return Err(HashFormatError::Unknown);
    };
    let (scheme, digest, len) = match hex_digest.len() {
        64 => (Scheme::CloudreveV4, Digest::Sha256, 64),
        40 => (Scheme::CloudreveV3, Digest::Sha1, 40),
        _ => return Err(HashFormatError::Unknown),
    };
    Ok((
        scheme,
        salted(scheme, digest, salt, false, hex_digest, len)?,
    ))
}

fn salted(
    scheme: Scheme,
    digest: Digest,
    salt: &str,
    salt_first: bool,
    hex_digest: &str,
    hex_len: usize,
) -> Result<Form, HashFormatError> {
    if salt.is_empty() {
        return Err(malformed(scheme, "empty salt"));
    }
    if hex_digest.len() != hex_len {
        return Err(malformed(scheme, "digest has the wrong length"));
    }
    // Cloudreve compares lowercase hex; an uppercase digest would never match there either.
    if hex_digest.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(malformed(scheme, "digest is not lowercase hex"));
    }
    let expected = hex::decode(hex_digest).map_err(|_| malformed(scheme, "digest is not hex"))?;
    Ok(Form::Salted {
        digest,
        salt: salt.to_owned(),
        salt_first,
        expected,
    })
}

/// `text` split on `sep` into exactly `N` fields.
fn split<const N: usize>(text: &str, sep: char) -> Option<[&str; N]> {
    let fields: Vec<&str> = text.split(sep).collect();
    fields.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hashes made by the products' own tools (`tests/fixtures/legacy_hashes.py` says which).
    const FIXTURES: &str = include_str!("../../tests/fixtures/legacy_hashes.jsonl");

    #[test]
    fn every_hash_made_by_the_real_tools_verifies_its_password_only() {
        let mut seen = std::collections::BTreeSet::new();
        for line in FIXTURES.lines() {
            let fixture: serde_json::Value = serde_json::from_str(line).expect("fixture line");
            let (scheme, password, text) = (
                fixture["scheme"].as_str().expect("scheme"),
                fixture["password"].as_str().expect("password"),
                fixture["hash"].as_str().expect("hash"),
            );
            let hash = StoredHash::parse(text).unwrap_or_else(|e| panic!("{scheme}: {e}"));
            let expected_scheme = match scheme {
                "bcrypt_2a" | "bcrypt_2b" | "bcrypt_2y" => "bcrypt",
                other => other,
            };
            assert_eq!(hash.scheme().as_str(), expected_scheme);
            assert!(hash.verify(password), "{scheme}: right password refused");
            assert!(
                !hash.verify("wrong password"),
                "{scheme}: wrong password accepted"
            );
            assert!(!hash.verify(""), "{scheme}: empty password accepted");
            seen.insert(hash.scheme());
        }
        // Every scheme but Django's plain bcrypt (which no product here uses) is covered.
        for scheme in Scheme::ALL {
            assert!(
                seen.contains(&scheme) || scheme == Scheme::DjangoBcrypt,
                "no fixture for {}",
                scheme.as_str()
            );
        }
    }

    #[test]
    fn bcrypt_reads_the_first_72_bytes_as_bcryptjs_does() {
        let line = FIXTURES
            .lines()
            .find(|l| l.contains("\"bcrypt_2a\"") && l.contains(&"x".repeat(80)))
            .expect("long-password fixture");
        let fixture: serde_json::Value = serde_json::from_str(line).expect("json");
        let hash = StoredHash::parse(fixture["hash"].as_str().expect("hash")).expect("parses");
        assert!(hash.verify(&"x".repeat(72)));
        assert!(hash.verify(&"x".repeat(90)));
        assert!(!hash.verify(&"x".repeat(71)));
    }

    #[test]
    fn malformed_and_unknown_hashes_are_refused_without_quoting_them() {
        let cases = [
            "",
            "plaintext",
            "$2b$10$tooShort",
            "$2x$10$hFxQOypVi7ZGem1C3vk5Q.XwFtFzYdv99bHiV.UkN5Nsmbd18ElIm",
            "$2b$31$hFxQOypVi7ZGem1C3vk5Q.XwFtFzYdv99bHiV.UkN5Nsmbd18ElIm",
            "pbkdf2_sha256$0$salt$AAAA",
            "pbkdf2_sha256$1000$salt$not base64!",
            "pbkdf2_sha256$1000$salt$AAAA",
            "pbkdf2_sha256$99999999999$salt$BowubiVMc0KGRWGzg+JQrNcwzJ6x+37hQ+LJQGUcohY=",
            "pbkdf2_sha256$1000$$BowubiVMc0KGRWGzg+JQrNcwzJ6x+37hQ+LJQGUcohY=",
            "pbkdf2_md5$1000$salt$AAAA",
            "$argon2id$v=19$m=8192,t=1,p=1$rKAL1XZDwjOkEwbQaaeKUA",
            "$argon2id$v=19$m=4194304,t=1,p=1$rKAL1XZDwjOkEwbQaaeKUA$narIRkdcwZciWcAHfNqpHH+QdypcWZ/PmilKZhYMIEA",
            "$argon2d$v=19$m=8192,t=1,p=1$rKAL1XZDwjOkEwbQaaeKUA$narIRkdcwZciWcAHfNqpHH+QdypcWZ/PmilKZhYMIEA",
            "$scrypt$ln=30,r=8,p=1$EmKM0Tqn9L6XklLq3RujlA$iVQabqWpkPoMzzkLJmG+OqAI3UEU2aMoqDG8vs38fvA",
            ":64ec93aaafca65b63aff97f4667e0e34fe5a9d0ffacfbf2321ffae504b9eb8df",
            "salt:64EC93AAAFCA65B63AFF97F4667E0E34FE5A9D0FFACFBF2321FFAE504B9EB8DF",
            "salt:zzzz93aaafca65b63aff97f4667e0e34fe5a9d0ffacfbf2321ffae504b9eb8df",
            "salt:abc",
            "md5:1fbbc06cef58f8f8e6b79d07a71fc328:",
            "md5:1fbbc06cef58:Dd5Vt1XEVfAZsOjY",
            "a:b:c",
        ];
        for text in cases {
            let err = StoredHash::parse(text).expect_err(text);
            let message = err.to_string();
            if text.len() > 8 {
                assert!(!message.contains(text), "{message} quotes the hash");
            }
        }
    }

    #[test]
    fn only_argon2id_with_the_configured_parameters_is_current() {
        let ours = argon2::Params::new(8192, 1, 1, None).expect("params");
        let other = argon2::Params::new(19_456, 2, 1, None).expect("params");
        let argon2id = FIXTURES
            .lines()
            .find(|l| l.contains("\"argon2id\""))
            .and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .and_then(|v| v["hash"].as_str().map(str::to_owned))
            .expect("argon2id fixture");
        let hash = StoredHash::parse(&argon2id).expect("parses");
        assert!(hash.is_current(&ours));
        assert!(!hash.is_current(&other));
        let bcrypt =
            StoredHash::parse("$2b$10$hFxQOypVi7ZGem1C3vk5Q.XwFtFzYdv99bHiV.UkN5Nsmbd18ElIm")
                .expect("parses");
        assert!(!bcrypt.is_current(&ours));
    }
}

//! Each stored format's parser: its fields checked, its work factor bounded, its parts
//! decoded into a [`Form`] that `StoredHash::verify` checks a password against.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine as _;

use super::{Digest, Form, HashFormatError, Scheme};

/// Work factors past these are refused at import: a login must stay well under a second.
const MAX_BCRYPT_COST: u32 = 15;
const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;
const MAX_SCRYPT_LOG_N: u8 = 20;
const MAX_ARGON2_MEMORY_KIB: u32 = 262_144;
const MAX_ARGON2_ITERATIONS: u32 = 16;

fn malformed(scheme: Scheme, reason: &'static str) -> HashFormatError {
    HashFormatError::Malformed { scheme, reason }
}

pub(super) fn argon2_form(scheme: Scheme, phc: &str) -> Result<Form, HashFormatError> {
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

pub(super) fn bcrypt_form(
    scheme: Scheme,
    hash: &str,
    sha256_first: bool,
) -> Result<Form, HashFormatError> {
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
pub(super) fn django_pbkdf2(
    scheme: Scheme,
    digest: Digest,
    rest: &str,
) -> Result<Form, HashFormatError> {
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
pub(super) fn passlib_pbkdf2(rest: &str) -> Result<Form, HashFormatError> {
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

pub(super) fn scrypt_form(text: &str) -> Result<Form, HashFormatError> {
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
pub(super) fn cloudreve(text: &str) -> Result<(Scheme, Form), HashFormatError> {
    if let Some([_, hex_digest, salt]) = split::<3>(text, ':').filter(|[tag, ..]| *tag == "md5") {
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

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

mod formats;
#[cfg(test)]
mod tests;

use sha1::Sha1;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use formats::{argon2_form, bcrypt_form, cloudreve, django_pbkdf2, passlib_pbkdf2, scrypt_form};

/// The formats resetd reads, named as `resetd user list --legacy` and the metrics show them.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[strum(serialize_all = "snake_case")]
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
    pub const ALL: &'static [Scheme] = <Scheme as strum::VariantArray>::VARIANTS;

    pub fn as_str(self) -> &'static str {
        self.into()
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
pub(super) enum Digest {
    Sha256,
    Sha1,
    Md5,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Form {
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

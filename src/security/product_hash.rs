//! A new password in a product's own hash format, for the webhooks that hand it to the
//! product (`data.password_hash`), so its own login keeps working. Run on the hashing threads
//! (`password_hash::PasswordHasher::hash_for_product`): bcrypt and PBKDF2 cost what argon2id
//! costs.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use sha2::{Digest as _, Sha256};

use super::password_hash::HashError;
use super::random;
use crate::config::ProductHashFormat;

/// Strapi's cost (bcryptjs `genSalt(10)` in users-permissions).
pub const BCRYPT_COST: u32 = 10;
/// Django 5.2's `PBKDF2PasswordHasher.iterations`.
pub const DJANGO_PBKDF2_ITERATIONS: u32 = 1_000_000;
/// Django's salts: 22 characters of its 62-character alphabet.
const DJANGO_SALT_CHARS: usize = 22;
/// Cloudreve's `util.RandStringRunes(16)`.
const CLOUDREVE_SALT_CHARS: usize = 16;

/// `password` as `format` stores it; argon2id is the hasher's own and is not handled here.
pub(super) fn hash(format: ProductHashFormat, password: &str) -> Result<String, HashError> {
    match format {
        ProductHashFormat::Bcrypt => bcrypt_2a(password),
        ProductHashFormat::DjangoPbkdf2Sha256 => Ok(django_pbkdf2_sha256(
            password,
            &random::alphanumeric(DJANGO_SALT_CHARS),
            DJANGO_PBKDF2_ITERATIONS,
        )),
        ProductHashFormat::CloudreveV4 => Ok(cloudreve_v4(
            password,
            &random::alphanumeric(CLOUDREVE_SALT_CHARS),
        )),
        ProductHashFormat::Argon2id => Err(HashError::Hashing(
            "argon2id is hashed by the hasher itself".to_owned(),
        )),
    }
}

/// `$2a$10$...`, the version bcryptjs (Strapi) writes.
fn bcrypt_2a(password: &str) -> Result<String, HashError> {
    let parts = bcrypt::hash_with_result(password, BCRYPT_COST)
        .map_err(|e| HashError::Hashing(e.to_string()))?;
    Ok(parts.format_for_version(bcrypt::Version::TwoA))
}

/// `pbkdf2_sha256$ITERATIONS$SALT$BASE64(HASH)`, as Django's `make_password`.
fn django_pbkdf2_sha256(password: &str, salt: &str, iterations: u32) -> String {
    let mut output = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(
        password.as_bytes(),
        salt.as_bytes(),
        iterations,
        &mut output,
    );
    format!(
        "pbkdf2_sha256${iterations}${salt}${}",
        BASE64.encode(output)
    )
}

/// `SALT:HEX(sha256(password + SALT))`, as Cloudreve v4's `digestPassword`.
fn cloudreve_v4(password: &str, salt: &str) -> String {
    let digest = Sha256::digest(format!("{password}{salt}").as_bytes());
    format!("{salt}:{}", hex::encode(digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn django_matches_its_published_vector() {
        // The vector of Django's own hasher tests (`lètmein`, `seasalt`), at the
        // iteration count Django 5.2 uses.
        assert_eq!(
            django_pbkdf2_sha256("lètmein", "seasalt", 1_000_000),
            "pbkdf2_sha256$1000000$seasalt$r1uLUxoxpP2Ued/qxvmje7UH9PUJBkRrvf9gGPL7Cps="
        );
    }

    #[test]
    fn cloudreve_and_bcrypt_shapes() {
        let c = cloudreve_v4("secret-pass", "0123456789abcdef");
        assert_eq!(c.len(), 16 + 1 + 64);
        let b = bcrypt_2a("secret-pass").expect("bcrypt");
        assert!(b.starts_with("$2a$10$"), "{b}");
        assert!(bcrypt::verify("secret-pass", &b).expect("verify"));
    }
}

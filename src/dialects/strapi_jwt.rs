//! The JWT Strapi's users-permissions plugin issues at login and after a reset
//! (`services/jwt.js`: `jwt.sign({ id: user.id }, jwtSecret, { expiresIn: '30d' })` with
//! node's `jsonwebtoken`): HS256 over `{"id", "iat", "exp"}`. Signed with the Strapi
//! project's secret, the Strapi backend behind the same frontend accepts it as its own.

use jsonwebtoken::{Algorithm, EncodingKey, Header};

use crate::clock::Millis;
use crate::config::Secret;

#[derive(serde::Serialize)]
struct Claims {
    /// The account's id in the Strapi database: its external id.
    id: i64,
    iat: i64,
    exp: i64,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot sign the Strapi JWT: {0}")]
pub struct SignError(#[from] jsonwebtoken::errors::Error);

/// The token Strapi would issue for its user `id` at `now`, living `ttl_secs`.
pub fn sign(secret: &Secret, id: i64, now: Millis, ttl_secs: u64) -> Result<String, SignError> {
    let iat = now / 1_000;
    let claims = Claims {
        id,
        iat,
        exp: iat.saturating_add(i64::try_from(ttl_secs).unwrap_or(i64::MAX)),
    };
    let key = EncodingKey::from_secret(secret.expose().as_bytes());
    Ok(jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &key,
    )?)
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{DecodingKey, Validation};

    use super::*;

    #[derive(serde::Deserialize)]
    struct Decoded {
        id: i64,
        iat: i64,
        exp: i64,
    }

    #[test]
    fn strapi_shaped_hs256_token() {
        let secret = Secret::new("strapi-project-secret");
        let now = 1_700_000_000_123;
        let token = sign(&secret, 42, now, 30 * 24 * 3_600).expect("signed");

        let header = jsonwebtoken::decode_header(&token).expect("header");
        assert_eq!(header.alg, Algorithm::HS256);
        assert_eq!(header.typ.as_deref(), Some("JWT"));
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = false;
        let key = DecodingKey::from_secret(b"strapi-project-secret");
        let claims = jsonwebtoken::decode::<Decoded>(&token, &key, &validation).expect("valid");
        assert_eq!(claims.claims.id, 42);
        assert_eq!(claims.claims.iat, 1_700_000_000);
        assert_eq!(claims.claims.exp - claims.claims.iat, 30 * 24 * 3_600);

        let wrong = DecodingKey::from_secret(b"another-secret");
        assert!(jsonwebtoken::decode::<Decoded>(&token, &wrong, &validation).is_err());
    }
}

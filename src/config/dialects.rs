//! `[dialects.*]`: which dialects are served, and how long their tokens live.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Secret;

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct DialectConfig {
    /// Serve this dialect's endpoints; off, they answer the dialect's "not available".
    pub enabled: bool,
    /// Lifetime of a reset link or code, in seconds.
    pub token_ttl_secs: u64,
}

impl Default for DialectConfig {
    /// Links live an hour by default (SECURITY.md item 8).
    fn default() -> Self {
        Self::with_ttl(3_600)
    }
}

impl DialectConfig {
    fn with_ttl(token_ttl_secs: u64) -> Self {
        Self {
            enabled: true,
            token_ttl_secs,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct IpcolaConfig {
    /// Serve IPCola's endpoints; off, they answer `-7` (not available).
    pub enabled: bool,
    /// Lifetime of an emailed vcode, in seconds.
    pub token_ttl_secs: u64,
    /// The `user_tag` every request must carry.
    pub user_tag: String,
}

impl Default for IpcolaConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            token_ttl_secs: 15 * 60,
            user_tag: "ipcola".to_owned(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct StrapiConfig {
    /// Serve Strapi's endpoints; off, they answer Strapi's "not available".
    pub enabled: bool,
    /// Lifetime of an emailed reset code, in seconds.
    pub token_ttl_secs: u64,
    /// The Strapi project's users-permissions JWT secret (its `JWT_SECRET`). Set, a reset
    /// answers with the HS256 token Strapi itself issues, `{"id", "iat", "exp"}`, naming the
    /// account by its numeric external id, so the Strapi backend accepts it; unset, with
    /// resetd's own opaque session token.
    pub jwt_secret: Option<Secret>,
    /// Lifetime of that JWT, in seconds (Strapi's default `jwt.expiresIn` is 30 days).
    pub jwt_ttl_secs: u64,
}

impl Default for StrapiConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            token_ttl_secs: 3_600,
            jwt_secret: None,
            jwt_ttl_secs: 30 * 24 * 3_600,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct DialectsConfig {
    pub ipcola: IpcolaConfig,
    pub strapi: StrapiConfig,
    pub cloudreve: DialectConfig,
    pub selfcommunity: DialectConfig,
}

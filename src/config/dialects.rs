//! `[dialects.*]`: which dialects are served, and how long their tokens live.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct DialectsConfig {
    pub ipcola: IpcolaConfig,
    pub strapi: DialectConfig,
    pub cloudreve: DialectConfig,
    pub selfcommunity: DialectConfig,
}

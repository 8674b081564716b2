//! `[argon2]` and `[sessions]`: how passwords are hashed, and the sessions a login issues.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::clients::{self, ClientConfig};

/// argon2id parameters; the defaults are OWASP's minimum (m=19 MiB, t=2, p=1).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Argon2Config {
    /// Memory per hash in KiB (`m`; OWASP's minimum is 19456).
    pub memory_kib: u32,
    /// Passes over the memory (`t`).
    pub iterations: u32,
    /// Lanes per hash (`p`).
    pub parallelism: u32,
    /// Hashes computed at once; each holds `memory_kib` of memory. 0 = one per core.
    pub max_concurrent: usize,
}

impl Default for Argon2Config {
    fn default() -> Self {
        Self {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
            max_concurrent: 0,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SessionConfig {
    /// Lifetime of an access token (`/v1/login`, the dialects' sessions), in seconds.
    pub access_ttl_secs: u64,
    /// Lifetime of a refresh token, in seconds.
    pub refresh_ttl_secs: u64,
    /// The clients `/v1/login` issues sessions to (`[[sessions.clients]]` tables of `id` and
    /// `scopes`): an unknown `client_id` is refused (`invalid_client`), as is a scope not
    /// listed for the client (`invalid_scope`). A login naming no client is client `resetd`;
    /// one naming no scope gets all of its client's scopes. Setting this list replaces the
    /// built-in client; an empty list refuses every `/v1/login`.
    pub clients: Vec<ClientConfig>,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            access_ttl_secs: 3_600,
            refresh_ttl_secs: 30 * 24 * 3_600,
            clients: clients::default_clients(),
        }
    }
}

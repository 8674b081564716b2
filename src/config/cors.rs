//! `[cors]`: which web origins may call resetd from a browser.

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

use super::ConfigError;

/// The wildcard origin: any page may call, without credentials.
pub const ANY_ORIGIN: &str = "*";

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CorsConfig {
    /// Origins (`https://app.example.com`, scheme, host and port only) whose pages may call
    /// resetd, or `*` for any. Empty: no CORS headers at all, so browsers keep other
    /// origins' pages out. In `RESETD_CORS_ALLOWED_ORIGINS`, separated by commas.
    #[serde(deserialize_with = "list_or_commas")]
    pub allowed_origins: Vec<String>,
    /// Send `Access-Control-Allow-Credentials: true` to the listed origins, so pages may call
    /// with cookies or TLS client certificates. No resetd route reads either; refused with `*`.
    pub allow_credentials: bool,
}

impl CorsConfig {
    /// Whether a page from `origin` (the request's `Origin` header) may call.
    pub fn allows(&self, origin: &str) -> bool {
        self.allowed_origins
            .iter()
            .any(|allowed| allowed == ANY_ORIGIN || allowed == origin)
    }

    /// Whether `*` is listed: the answers say `*` instead of naming the origin.
    pub fn allows_any(&self) -> bool {
        self.allowed_origins.iter().any(|o| o == ANY_ORIGIN)
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        const KEY: &str = "cors.allowed_origins";
        for origin in &self.allowed_origins {
            if origin == ANY_ORIGIN {
                if self.allow_credentials {
                    return Err(ConfigError::invalid(
                        KEY,
                        "`*` cannot be combined with cors.allow_credentials = true \
                         (browsers refuse credentials with a wildcard origin)",
                    ));
                }
                continue;
            }
            // Browsers send the serialised origin (RFC 6454 §6.2): compare against that form.
            let serialised = url::Url::parse(origin)
                .ok()
                .filter(|url| matches!(url.scheme(), "http" | "https"))
                .map(|url| url.origin().ascii_serialization());
            if serialised.as_deref() != Some(origin.as_str()) {
                let hint = serialised.map_or_else(String::new, |s| format!(" (write {s:?})"));
                return Err(ConfigError::invalid(
                    KEY,
                    format!(
                        "{origin:?} is not an origin: http(s)://host[:port], no path or \
                         trailing slash{hint}"
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// A TOML list, or one string of comma-separated origins (what an environment variable holds).
fn list_or_commas<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Origins {
        List(Vec<String>),
        Commas(String),
    }
    Ok(match Origins::deserialize(deserializer)? {
        Origins::List(list) => list,
        Origins::Commas(text) => text
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

//! `sessions.clients`: the clients `/v1/login` issues sessions to, each with the scopes it
//! may ask for (RFC 6749 §2.2, §3.3). Checked at start, naming the key.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ConfigError;

/// The `client_id` a login that names none is recorded under (and the built-in client's).
pub const DEFAULT_CLIENT_ID: &str = "resetd";
/// The built-in client's only scope.
const DEFAULT_SCOPE: &str = "openid";
/// Longest `client_id` and scope token accepted, in bytes (the login body allows 128).
const MAX_ID_BYTES: usize = 128;

/// One client of `/v1/login`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    /// The `client_id` the client sends (printable ASCII, 1 to 128 characters).
    pub id: String,
    /// Scopes it may ask for; a login without `scope` gets all of them.
    pub scopes: Vec<String>,
}

/// The built-in client, so that a login naming no client or scope works out of the box.
pub fn default_clients() -> Vec<ClientConfig> {
    vec![ClientConfig {
        id: DEFAULT_CLIENT_ID.to_owned(),
        scopes: vec![DEFAULT_SCOPE.to_owned()],
    }]
}

/// RFC 6749 §3.3 `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
pub fn is_scope_token(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= MAX_ID_BYTES
        && token
            .bytes()
            .all(|b| matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E))
}

/// Ids unique and printable, every client with at least one well-formed scope.
pub fn validate(clients: &[ClientConfig]) -> Result<(), ConfigError> {
    const KEY: &str = "sessions.clients";
    for (i, client) in clients.iter().enumerate() {
        let printable = client.id.bytes().all(|b| (0x20..=0x7E).contains(&b));
        if client.id.is_empty() || client.id.len() > MAX_ID_BYTES || !printable {
            return Err(ConfigError::invalid(
                format!("{KEY}[{i}].id"),
                format!("must be 1 to {MAX_ID_BYTES} printable ASCII characters"),
            ));
        }
        if clients[..i].iter().any(|c| c.id == client.id) {
            return Err(ConfigError::invalid(
                format!("{KEY}[{i}].id"),
                format!("client `{}` is listed twice", client.id),
            ));
        }
        if client.scopes.is_empty() {
            return Err(ConfigError::invalid(
                format!("{KEY}[{i}].scopes"),
                "must list at least one scope",
            ));
        }
        if let Some(bad) = client.scopes.iter().find(|s| !is_scope_token(s)) {
            return Err(ConfigError::invalid(
                format!("{KEY}[{i}].scopes"),
                format!(
                    "`{bad}` is not a scope: 1 to {MAX_ID_BYTES} printable ASCII characters \
                     without spaces, `\"` or `\\`"
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(id: &str, scopes: &[&str]) -> ClientConfig {
        ClientConfig {
            id: id.to_owned(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn the_default_client_is_valid() {
        assert_eq!(validate(&default_clients()).ok(), Some(()));
    }

    #[test]
    fn bad_clients_name_their_key() {
        let cases = [
            (vec![client("", &["read"])], "sessions.clients[0].id"),
            (vec![client("a\tb", &["read"])], "sessions.clients[0].id"),
            (
                vec![client("app", &["read"]), client("app", &["write"])],
                "sessions.clients[1].id",
            ),
            (vec![client("app", &[])], "sessions.clients[0].scopes"),
            (
                vec![client("app", &["read write"])],
                "sessions.clients[0].scopes",
            ),
            (vec![client("app", &[""])], "sessions.clients[0].scopes"),
            (vec![client("app", &["a\"b"])], "sessions.clients[0].scopes"),
        ];
        for (clients, key) in cases {
            let err = validate(&clients).expect_err(key).to_string();
            assert!(err.contains(&format!("`{key}`")), "{key}: {err}");
        }
    }
}

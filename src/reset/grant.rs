//! What `/v1/login` may issue: only a configured client, only scopes listed for it
//! (`sessions.clients`; RFC 6749 §3.3 and the `invalid_client` / `invalid_scope` errors of
//! §5.2). Decided from the configuration alone, before any password work.

use crate::config::{is_scope_token, ClientConfig, DEFAULT_CLIENT_ID};

use super::ResetCore;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    #[error("invalid_client: unknown client_id")]
    UnknownClient,
    #[error("invalid_scope: the scope is empty, malformed or not allowed for this client")]
    ScopeNotAllowed,
}

/// The client and the scope a session is issued for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub client_id: String,
    /// Space-separated, each scope once, in the order asked for.
    pub scope: String,
}

impl ResetCore {
    /// The grant for a login naming `client_id` and `scope` (`None`: the default client,
    /// all of the client's scopes).
    pub fn grant(&self, client_id: Option<&str>, scope: Option<&str>) -> Result<Grant, GrantError> {
        grant(&self.config().sessions.clients, client_id, scope)
    }
}

fn grant(
    clients: &[ClientConfig],
    client_id: Option<&str>,
    scope: Option<&str>,
) -> Result<Grant, GrantError> {
    let client_id = client_id.unwrap_or(DEFAULT_CLIENT_ID);
    let client = clients
        .iter()
        .find(|c| c.id == client_id)
        .ok_or(GrantError::UnknownClient)?;
    let Some(scope) = scope else {
        return Ok(Grant {
            client_id: client.id.clone(),
            scope: client.scopes.join(" "),
        });
    };
    // Scope tokens are separated by single spaces (§3.3); anything else is malformed.
    let mut granted: Vec<&str> = Vec::new();
    for token in scope.split(' ') {
        if !is_scope_token(token) || !client.scopes.iter().any(|s| s == token) {
            return Err(GrantError::ScopeNotAllowed);
        }
        if !granted.contains(&token) {
            granted.push(token);
        }
    }
    Ok(Grant {
        client_id: client.id.clone(),
        scope: granted.join(" "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clients() -> Vec<ClientConfig> {
        vec![
            ClientConfig {
                id: "resetd".to_owned(),
                scopes: vec!["openid".to_owned()],
            },
            ClientConfig {
                id: "my-app".to_owned(),
                scopes: vec!["read".to_owned(), "write".to_owned()],
            },
        ]
    }

    fn granted(
        client_id: Option<&str>,
        scope: Option<&str>,
    ) -> Result<(String, String), GrantError> {
        grant(&clients(), client_id, scope).map(|g| (g.client_id, g.scope))
    }

    #[test]
    fn defaults_are_the_built_in_client_and_all_its_scopes() {
        assert_eq!(granted(None, None), Ok(("resetd".into(), "openid".into())));
        assert_eq!(
            granted(Some("my-app"), None),
            Ok(("my-app".into(), "read write".into()))
        );
    }

    #[test]
    fn only_listed_scopes_are_granted_once_each() {
        assert_eq!(
            granted(Some("my-app"), Some("write read write")),
            Ok(("my-app".into(), "write read".into()))
        );
        for scope in [
            "admin",
            "read admin",
            "READ",
            "",
            " ",
            "read  write",
            "read\twrite",
        ] {
            assert_eq!(
                granted(Some("my-app"), Some(scope)),
                Err(GrantError::ScopeNotAllowed),
                "{scope:?}"
            );
        }
        assert_eq!(
            granted(None, Some("read")),
            Err(GrantError::ScopeNotAllowed)
        );
    }

    #[test]
    fn unknown_clients_are_refused() {
        for client_id in ["", "My-App", "my-app ", "other"] {
            assert_eq!(
                granted(Some(client_id), Some("read")),
                Err(GrantError::UnknownClient),
                "{client_id:?}"
            );
        }
        assert_eq!(grant(&[], None, None), Err(GrantError::UnknownClient));
    }
}

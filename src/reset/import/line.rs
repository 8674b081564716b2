//! One account of an import, as a JSON Lines line or a CSV record gives it, checked field by
//! field. A refusal names the field and what is wrong with it, never a password or a hash:
//! the parsers' own messages can quote values, so only those naming a field pass through.

use serde::Deserialize;

use super::super::account::AccountStatus;
use super::super::admin::{ADMIN_PASSWORD_POLICY, MAX_NICKNAME_CHARS};
use super::super::email_address;
use crate::clock::Millis;
use crate::security::stored_hash::StoredHash;

/// The longest external id accepted (bytes).
const MAX_EXTERNAL_ID_LEN: usize = 255;
const MAX_LANGUAGE_LEN: usize = 35;

/// The fields of one account, as given: not checked yet.
#[derive(Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRecord {
    pub email: Option<String>,
    pub external_id: Option<String>,
    pub nickname: Option<String>,
    pub status: Option<String>,
    pub language: Option<String>,
    /// RFC 3339.
    pub created_at: Option<String>,
    pub password_hash: Option<String>,
    pub password: Option<String>,
}

impl std::fmt::Debug for RawRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawRecord")
            .field("external_id", &self.external_id)
            .finish_non_exhaustive()
    }
}

/// A JSON line: as [`RawRecord`], with an external id that may be a JSON number too.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonRecord {
    email: Option<String>,
    external_id: Option<JsonId>,
    nickname: Option<String>,
    status: Option<String>,
    language: Option<String>,
    created_at: Option<String>,
    password_hash: Option<String>,
    password: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum JsonId {
    Text(String),
    Number(i64),
}

/// How an account's password comes in.
#[derive(Clone, PartialEq, Eq)]
pub enum Secret {
    /// A product's stored hash, checked by [`StoredHash::parse`] and stored as it is.
    Hash(String),
    /// A plaintext password, checked by the policy and hashed with argon2id.
    Password(String),
}

/// A checked account of an import.
#[derive(Clone, PartialEq, Eq)]
pub struct ImportRecord {
    /// Normalized (lowercased).
    pub email: String,
    pub external_id: Option<String>,
    pub nickname: Option<String>,
    pub status: Option<AccountStatus>,
    pub language: Option<String>,
    pub created_at: Option<Millis>,
    pub secret: Option<Secret>,
}

impl std::fmt::Debug for ImportRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportRecord")
            .field("external_id", &self.external_id)
            .field("has_secret", &self.secret.is_some())
            .finish_non_exhaustive()
    }
}

/// Why a line was refused; the text is what the operator reads after the line number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    #[error("malformed JSON ({0})")]
    Json(String),
    #[error("malformed CSV record ({0})")]
    Csv(String),
    #[error("not valid UTF-8")]
    Utf8,
    #[error("email is missing")]
    MissingEmail,
    #[error("email: not a valid email address")]
    InvalidEmail,
    #[error("external_id: {0}")]
    ExternalId(&'static str),
    #[error("nickname: {0}")]
    Nickname(&'static str),
    #[error("status: must be active, inactive or banned")]
    Status,
    #[error("language: must be a language tag of 1 to 35 characters")]
    Language,
    #[error("created_at: must be an RFC 3339 date-time")]
    CreatedAt,
    #[error("give at most one of password_hash and password")]
    BothSecrets,
    #[error("password_hash: {0}")]
    Hash(String),
    /// The policy's message, which starts with "password".
    #[error("{0}")]
    Password(String),
    /// The store refused it: its email or external id belongs to another account.
    #[error("{0}")]
    Conflict(&'static str),
}

/// Parses one JSON Lines line.
pub fn parse_json(line: &str) -> Result<ImportRecord, LineError> {
    let record: JsonRecord = serde_json::from_str(line)
        .map_err(|e| LineError::Json(safe_message(&e.to_string(), e.column())))?;
    check(RawRecord {
        email: record.email,
        external_id: record.external_id.map(|id| match id {
            JsonId::Text(text) => text,
            JsonId::Number(n) => n.to_string(),
        }),
        nickname: record.nickname,
        status: record.status,
        language: record.language,
        created_at: record.created_at,
        password_hash: record.password_hash,
        password: record.password,
    })
}

/// A parser's message when it names only a field (`unknown field`, `missing field`,
/// `duplicate field`); else where it went wrong, without the message (it may quote a value).
pub(super) fn safe_message(message: &str, column: usize) -> String {
    let names_a_field = ["unknown field", "missing field", "duplicate field"]
        .iter()
        .any(|start| message.starts_with(start));
    if names_a_field {
        // serde's " at line 1 column 7" suffix adds nothing to a line number.
        message
            .split(" at line ")
            .next()
            .unwrap_or(message)
            .to_owned()
    } else {
        format!("at column {column}; expected an object of the import's fields, each a string")
    }
}

/// Checks every field of `raw`. An empty value counts as absent (CSV cannot tell them apart).
pub fn check(raw: RawRecord) -> Result<ImportRecord, LineError> {
    let present = |value: Option<String>| value.filter(|v| !v.is_empty());
    let email = present(raw.email).ok_or(LineError::MissingEmail)?;
    let email = email_address::normalize(&email).map_err(|_| LineError::InvalidEmail)?;
    let external_id = present(raw.external_id);
    if let Some(id) = &external_id {
        if id.len() > MAX_EXTERNAL_ID_LEN {
            return Err(LineError::ExternalId("must be at most 255 bytes"));
        }
        if id.chars().any(char::is_control) || id.trim() != id {
            return Err(LineError::ExternalId(
                "must not contain control characters or surrounding spaces",
            ));
        }
    }
    let nickname = present(raw.nickname);
    if let Some(nickname) = &nickname {
        if nickname.chars().count() > MAX_NICKNAME_CHARS {
            return Err(LineError::Nickname("must be at most 128 characters"));
        }
        if nickname.chars().any(char::is_control) {
            return Err(LineError::Nickname("must not contain control characters"));
        }
    }
    let status = present(raw.status)
        .map(|status| match status.as_str() {
            "active" => Ok(AccountStatus::Active),
            "inactive" => Ok(AccountStatus::Inactive),
            "banned" => Ok(AccountStatus::Banned),
            _ => Err(LineError::Status),
        })
        .transpose()?;
    let language = present(raw.language);
    if language.as_ref().is_some_and(|l| {
        l.len() > MAX_LANGUAGE_LEN || l.chars().any(|c| !(c.is_ascii_alphanumeric() || c == '-'))
    }) {
        return Err(LineError::Language);
    }
    let created_at = present(raw.created_at)
        .map(|at| {
            chrono::DateTime::parse_from_rfc3339(&at)
                .map(|t| t.timestamp_millis())
                .map_err(|_| LineError::CreatedAt)
        })
        .transpose()?;
    let secret = match (present(raw.password_hash), present(raw.password)) {
        (Some(_), Some(_)) => return Err(LineError::BothSecrets),
        (Some(hash), None) => {
            StoredHash::parse(&hash).map_err(|e| LineError::Hash(e.to_string()))?;
            Some(Secret::Hash(hash))
        }
        (None, Some(password)) => {
            ADMIN_PASSWORD_POLICY
                .check_shape(&password)
                .and_then(|()| ADMIN_PASSWORD_POLICY.check_for_account(&password, &email))
                .map_err(|e| LineError::Password(e.to_string()))?;
            Some(Secret::Password(password))
        }
        (None, None) => None,
    };
    Ok(ImportRecord {
        email,
        external_id,
        nickname,
        status,
        language,
        created_at,
        secret,
    })
}

#[cfg(test)]
mod tests;

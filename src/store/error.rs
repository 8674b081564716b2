//! The store's one error type, sorted by what the caller should do about it.

use diesel::result::{DatabaseErrorInformation, DatabaseErrorKind, Error as DieselError};
use diesel_async::pooled_connection::bb8::RunError;

/// Boxed cause of an [`StoreError::Unavailable`] or [`StoreError::Migration`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Errors from [`crate::store::Store`].
///
/// Messages name tables, columns and causes, never values: the database's own messages do
/// not carry bound parameters, and nothing here formats one in.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be reached, or stayed busy past the timeout: answer 503 and let
    /// the client retry.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] BoxError),

    /// A unique constraint refused the write (e.g. the email is already registered).
    #[error("{what} already exists")]
    Conflict { what: &'static str },

    /// Any other query failure: a bug or a corrupt row, not something to retry.
    #[error("database query failed: {0}")]
    Query(#[source] DieselError),

    /// The embedded migrations could not be applied.
    #[error("database migration failed: {0}")]
    Migration(#[source] BoxError),

    /// The database URL is not one this build can open. Says what is wrong, never echoes the
    /// URL (a PostgreSQL URL may carry a password).
    #[error("bad database URL: {0}")]
    BadUrl(&'static str),
}

impl StoreError {
    /// Whether the caller should answer "try again later" rather than "something is broken".
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

impl From<DieselError> for StoreError {
    fn from(error: DieselError) -> Self {
        match error {
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                StoreError::Conflict {
                    what: conflict_target(info.as_ref()),
                }
            }
            DieselError::DatabaseError(
                DatabaseErrorKind::UnableToSendCommand | DatabaseErrorKind::ClosedConnection,
                _,
            ) => StoreError::Unavailable(Box::new(error)),
            DieselError::DatabaseError(DatabaseErrorKind::Unknown, ref info)
                if is_transient_sqlite_failure(info.message()) =>
            {
                StoreError::Unavailable(Box::new(error))
            }
            other => StoreError::Query(other),
        }
    }
}

impl From<RunError> for StoreError {
    fn from(error: RunError) -> Self {
        StoreError::Unavailable(Box::new(error))
    }
}

/// Names what a unique violation was about, from the constraint name (PostgreSQL:
/// `users_email_key`) or the message (SQLite: `UNIQUE constraint failed: users.email`).
fn conflict_target(info: &(dyn DatabaseErrorInformation + Send + Sync)) -> &'static str {
    const TARGETS: [(&str, &str); 6] = [
        ("users.email", "email"),
        ("users_email", "email"),
        ("users.public_id", "public_id"),
        ("users_public_id", "public_id"),
        ("token_hash", "token"),
        ("message_id", "message"),
    ];
    let haystack = info.constraint_name().unwrap_or_else(|| info.message());
    TARGETS
        .iter()
        .find(|(needle, _)| haystack.contains(needle))
        .map_or("record", |(_, what)| what)
}

/// SQLite reports these with a generic error code that diesel maps to `Unknown`; they are
/// conditions of the moment (lock held past `busy_timeout`, disk trouble), not bad queries.
fn is_transient_sqlite_failure(message: &str) -> bool {
    const TRANSIENT: [&str; 5] = [
        "database is locked",
        "database table is locked",
        "disk I/O error",
        "unable to open database file",
        "database or disk is full",
    ];
    TRANSIENT.iter().any(|t| message.contains(t))
}

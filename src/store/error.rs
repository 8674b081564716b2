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

    /// A write batched with others (`group_commit.rs`) failed; every caller in the batch
    /// gets the one cause.
    #[error("{0}")]
    Batched(#[source] std::sync::Arc<StoreError>),

    /// The database URL is not one this build can open. Says what is wrong, never echoes the
    /// URL (a PostgreSQL URL may carry a password).
    #[error("bad database URL: {0}")]
    BadUrl(&'static str),
}

impl StoreError {
    /// Whether the caller should answer "try again later" rather than "something is broken".
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Unavailable(_) => true,
            StoreError::Batched(cause) => cause.is_unavailable(),
            _ => false,
        }
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
            // PostgreSQL: the connection broke (server gone, network cut: tokio-postgres
            // errors without an SQLSTATE arrive as `UnableToSendCommand`).
            // SerializationFailure: a concurrent update won (or a standby cancelled the
            // query); the same request succeeds when retried.
            DieselError::DatabaseError(
                DatabaseErrorKind::UnableToSendCommand
                | DatabaseErrorKind::ClosedConnection
                | DatabaseErrorKind::SerializationFailure,
                _,
            ) => StoreError::Unavailable(Box::new(error)),
            DieselError::DatabaseError(DatabaseErrorKind::Unknown, ref info)
                if is_transient_sqlite_failure(info.message())
                    || is_transient_postgres_failure(info.message()) =>
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
    const TARGETS: [(&str, &str); 8] = [
        ("users.email", "email"),
        ("users.external_id", "external_id"),
        ("users_external_id", "external_id"),
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

/// PostgreSQL failures of the moment that diesel-async reports as `Unknown` (it maps only a
/// few SQLSTATEs to kinds, and does not expose the code), recognised by the server's message:
/// class 57P (operator intervention: admin shutdown 57P01, crash shutdown 57P02, cannot
/// connect now 57P03, idle session timeout 57P05) and deadlocks (40P01), which a retry
/// resolves. The server writes these in English unless `lc_messages` says otherwise.
fn is_transient_postgres_failure(message: &str) -> bool {
    const TRANSIENT: [&str; 3] = [
        // 57P01, 57P02, 57P05: "terminating connection due to administrator command", ...
        "terminating connection",
        // 57P03: "the database system is shutting down" / "starting up" / "in recovery mode"
        "the database system is",
        "deadlock detected",
    ];
    TRANSIENT.iter().any(|t| message.contains(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unknown(message: &str) -> DieselError {
        DieselError::DatabaseError(DatabaseErrorKind::Unknown, Box::new(message.to_owned()))
    }

    #[test]
    fn outages_are_unavailable_and_bugs_are_not() {
        for message in [
            "database is locked",
            "terminating connection due to administrator command",
            "the database system is shutting down",
            "deadlock detected",
        ] {
            assert!(
                StoreError::from(unknown(message)).is_unavailable(),
                "{message}"
            );
        }
        for kind in [
            DatabaseErrorKind::UnableToSendCommand,
            DatabaseErrorKind::ClosedConnection,
            DatabaseErrorKind::SerializationFailure,
        ] {
            let error = DieselError::DatabaseError(kind, Box::new("gone".to_owned()));
            assert!(StoreError::from(error).is_unavailable());
        }
        assert!(!StoreError::from(unknown("syntax error at or near \"FORM\"")).is_unavailable());
        assert!(!StoreError::from(DieselError::NotFound).is_unavailable());
    }

    #[test]
    fn unique_violations_name_their_target_on_both_backends() {
        let sqlite = "UNIQUE constraint failed: users.email".to_owned();
        let error =
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, Box::new(sqlite));
        assert!(matches!(
            StoreError::from(error),
            StoreError::Conflict { what: "email" }
        ));
    }
}

//! Persistence: Diesel schema, models and queries behind one [`Store`] handle.
//!
//! SQLite today, through diesel-async's `SyncConnectionWrapper` (each query runs on tokio's
//! blocking pool). Queries use Diesel's query builder only, so the same functions can run on
//! PostgreSQL when a second pool variant arrives; raw SQL is kept to connection pragmas.
//!
//! Every function that needs the time takes `now` as a parameter: the store never reads a
//! clock, so tests and the reset core decide what "now" is.
//!
//! # Concurrency on SQLite
//!
//! A deferred SQLite transaction that reads and then writes fails at once with `SQLITE_BUSY`
//! when another connection wrote in between, whatever `busy_timeout` says (the busy handler
//! is not consulted for a lock upgrade). So every write made of several statements runs in
//! `BEGIN IMMEDIATE` (diesel-async's `SyncConnectionWrapper::immediate_transaction`): the write
//! lock is taken before anything is read, waiting in the busy handler, and nothing can
//! invalidate the snapshot afterwards. Single-statement writes run in autocommit, where the
//! busy handler also applies. Readers never wait: WAL lets them read beside the writer.
//!
//! A transaction future dropped half-way leaves its connection marked as inside a
//! transaction; the pool then discards that connection, and closing it rolls back.
//!
//! The store needs tokio's multi-thread runtime (migrations and cancelled queries use
//! `block_in_place`).

mod access_tokens;
mod audit;
mod connection;
mod database_url;
mod error;
mod models;
mod outbox;
mod reset_tokens;
pub mod schema;
mod settings;
mod text_enum;
mod users;

#[cfg(test)]
pub(crate) mod test_support;

pub use connection::Store;
pub use error::{BoxError, StoreError};
pub use models::{
    AccessToken, AccessTokenKind, AuditEvent, AuditKind, CompleteReset, NewAccessToken,
    NewAuditEvent, NewOutboxMessage, NewResetToken, NewUser, OutboxMessage, OutboxStatus,
    ResetToken, User, UserPatch, UserStatus,
};
pub use text_enum::UnknownVariant;

//! Persistence: Diesel schema, models and queries behind one [`Store`] handle.
//!
//! Two backends, chosen by the URL scheme when the store opens: SQLite (`sqlite://PATH`,
//! through diesel-async's `SyncConnectionWrapper`: each operation runs on tokio's blocking
//! pool, all its statements in one go) and PostgreSQL (`postgres://...`, through `AsyncPgConnection` on tokio-postgres). Neither
//! needs a system library: libsqlite3 is bundled, and libpq is not used.
//!
//! # One query per operation
//!
//! diesel-async has no connection type spanning backends, so [`Store`] holds an enum of two
//! bb8 pools, and every operation is written once, as the body of `run!` (`access.rs`), which
//! names what it does: `read`, `write`, `transaction` or `durable_transaction`. A read gets a
//! handle that runs SELECTs only, so a write cannot skip SQLite's writer lock. The macro
//! expands the body once per backend, with `conn` bound to that backend's connection; Diesel's query builder renders
//! each copy in its own SQL, and the compiler checks both (the models also declare
//! `check_for_backend` for both). Query fragments used by several operations are plain
//! functions that build a query without running it (`outbox::insert_outbox`). The one
//! thing spelled differently, row locking, sits behind the `RowLocks` trait in `locks.rs`.
//! Raw SQL is kept to connection setup and the migrations, one folder per backend
//! (`migrations/sqlite`, `migrations/postgres`), changed in step.
//!
//! Every function that needs the time takes `now` as a parameter: the store never reads a
//! clock, so tests and the reset core decide what "now" is.
//!
//! # Concurrency on SQLite
//!
//! A deferred SQLite transaction that reads and then writes fails at once with `SQLITE_BUSY`
//! when another connection wrote in between, whatever `busy_timeout` says (the busy handler
//! is not consulted for a lock upgrade). So every write runs in `BEGIN IMMEDIATE`
//! (`access.rs`): the write lock is taken before anything is read, and nothing can
//! invalidate the snapshot afterwards. Every write first takes the store's writer lock
//! (`writer_lock.rs`), so the writers of this process queue there rather than in SQLite's
//! sleeping busy handler (which still covers other processes), those answering clients
//! first. Readers never wait: WAL lets them read beside the writer. Commits are not synced
//! to disk one by one (`synchronous = NORMAL`), except those of a `durable_transaction`; see
//! `connection.rs` for what that trades.
//!
//! Lookups of one row by a unique key use `get_result`, not `first`: `first` adds
//! `LIMIT ?`, and SQLite (3.50, the bundled one) lets a bound LIMIT shape the query plan:
//! binding it expires the prepared statement, which is then compiled again on every run
//! (in a profile of the redeem path, re-preparing cost as much as all other SQL compiling
//! together). The claims' `LIMIT` is re-compiled so, once per batch.
//!
//! Reset requests, the busiest write, are group-committed (`group_commit.rs`): requests
//! that arrive together share one INSERT and one commit.
//!
//! # Concurrency on PostgreSQL
//!
//! The same transactions are ordinary READ COMMITTED ones; several replicas may share the
//! database. Atomicity comes from row locks, never from a snapshot staying current: a
//! conditional UPDATE (redeeming a token) waits for a concurrent writer of the row and then
//! re-checks its condition on the committed row; flows that read and then write an account's
//! rows lock the account first (`SELECT ... FOR NO KEY UPDATE`); outbox and reset-request
//! claims take `FOR UPDATE SKIP LOCKED`. So the store's transactions need no retry loop:
//! they do not fail with serialization errors, and take their locks in one order (account
//! first, then the reset request an issuance deletes).
//! Migrations run under an advisory lock, so replicas starting together take turns.
//!
//! The PostgreSQL pool checks each connection (`SELECT 1`) as it hands it out and waits at
//! most 3 s for one: while the server is down, calls fail fast with
//! [`StoreError::Unavailable`] (503, and `/readyz` says not ready), and the pool reconnects
//! by itself when it is back.
//!
//! A PostgreSQL transaction future dropped half-way leaves its connection marked as inside a
//! transaction; the pool then discards that connection, and closing it rolls back. An SQLite
//! operation whose caller stops waiting runs to its end on its blocking thread.
//!
//! Migrations need tokio's multi-thread runtime (they use `block_in_place`).

mod access;
mod access_tokens;
mod audit;
mod captchas;
mod connection;
mod database_url;
mod error;
mod group_commit;
mod insert_many;
mod lease_writes;
mod locks;
mod migrations;
mod models;
mod outbox;
mod password_upgrade;
mod rate_limits;
mod reset_requests;
mod reset_tokens;
mod reused;
pub mod schema;
mod settings;
mod text_enum;
mod user_admin;
mod user_import;
mod users;
mod webhook_rows;
mod webhooks;
mod writer_lock;

#[cfg(test)]
pub(crate) mod test_support;

pub use connection::Store;
pub use error::{BoxError, StoreError};
pub use migrations::MigrationStep;
pub use models::{
    AccessToken, AccessTokenKind, AuditEvent, AuditKind, CompleteReset, NewAccessToken,
    NewAuditEvent, NewCaptcha, NewOutboxMessage, NewResetRequest, NewResetToken, NewUser,
    OutboxMessage, OutboxStatus, QueuedIssue, ResetRequest, ResetToken, User, UserPatch,
    UserStatus,
};
pub use reset_tokens::{Settled, Settlement, TokenOwner};
pub use text_enum::UnknownVariant;
pub use user_admin::{EmailFilter, UserFilter};
pub use user_import::{ImportAnnouncements, ImportOutcome, ImportRow};
pub use webhook_rows::{
    new_webhook_id, NewWebhookDelivery, PendingWebhook, WebhookDelivery, WebhookEvent,
    WebhookStatus,
};

//! The one path from a store operation to a connection: every operation says, by the entry
//! point it goes through, whether it reads, writes, or writes in a transaction, and the types
//! hold it to that.
//!
//! - `read`: the body gets a [`Reader`], which runs SELECTs only. A write handed to it does
//!   not compile, so no write can go around SQLite's writer lock.
//! - `write`: the writer lock first (SQLite), then the body gets the connection. SQLite runs
//!   the body's statements in one `BEGIN IMMEDIATE` transaction (one commit for all of them);
//!   PostgreSQL in autocommit. For a single statement, or several that need not be atomic.
//! - `transaction`: the writer lock (SQLite), then one transaction on either backend:
//!   committed when the body returns `Ok`, rolled back on `Err`.
//! - `durable_transaction`: a `transaction` whose commit SQLite syncs to disk
//!   (`synchronous = FULL`, see `connection.rs`): for the writes that change an account,
//!   which must not be undone by a power cut. Every PostgreSQL commit is durable.
//!
//! The body is written once, in [`run!`], and expanded once per backend: Diesel's query
//! builder renders each copy in its backend's SQL, and the compiler checks both. It is an
//! `async move` block, so `?` and `return` leave the body, in every mode; the operation's
//! value is the body's result (after the commit, when there is one). It owns what it uses:
//! on SQLite it runs on another thread.
//!
//! On SQLite each operation runs in one call to tokio's blocking pool, from its first
//! statement to its commit: the connections' [`Inline`] spawner runs each statement where it
//! is issued, instead of hopping to a blocking thread and back per statement as diesel-async
//! would (the hops were thought to be most of a redemption's cost besides argon2; `cargo
//! xtask bench` did not confirm it: the ratio stayed where it was). The writer's
//! turn goes to the blocking thread with the body, so a caller that stops waiting cannot let
//! the next writer in before this one is done: the operation completes, or rolls back, on
//! its own.
//!
//! PostgreSQL: an ordinary `BEGIN` (READ COMMITTED). Every statement sees what was committed
//! when it started, and an UPDATE or DELETE that meets a row another transaction is changing
//! waits for it, then re-checks its WHERE clause against the row's newest version. So a
//! conditional UPDATE (`... WHERE used_at IS NULL`) is an atomic compare-and-set, and bodies
//! that read-then-write take a row lock first ([`RowLocks`](super::locks::RowLocks)):
//! nothing relies on a snapshot staying current, hence no serialization failures to retry.
//! A future dropped mid-body leaves the connection's transaction open, and the pool then
//! discards the connection (closing it rolls back).

use std::error::Error;
use std::future::Future;
use std::ops::DerefMut;
use std::pin::Pin;

use diesel::connection::AnsiTransactionManager;
use diesel::query_builder::SelectQuery;
use diesel::query_dsl::methods::LimitDsl;
use diesel::QueryResult;
use diesel_async::methods::LoadQuery;
use diesel_async::pooled_connection::bb8::{Pool, PooledConnection};
use diesel_async::sync_connection_wrapper::SpawnBlocking;
use diesel_async::TransactionManager;
use diesel_async::{AsyncConnection, AsyncConnectionCore, RunQueryDsl, SimpleAsyncConnection};

use super::connection::{PgConn, SqliteConn, SqlitePool};
use super::StoreError;

/// What a body evaluates to: a future borrowing the connection for as long as it runs.
pub(super) type Body<'c, R> = Pin<Box<dyn Future<Output = Result<R, StoreError>> + Send + 'c>>;

/// Pins a body's future, and tells the compiler what its `?` converts to.
pub(super) fn body<'c, R>(
    future: impl Future<Output = Result<R, StoreError>> + Send + 'c,
) -> Body<'c, R> {
    Box::pin(future)
}

/// Runs a store operation on whichever backend the store was opened on:
///
/// ```ignore
/// let id = id.to_owned();
/// run!(self, read, |conn| {
///     let user = conn.get_result(users::table.find(id).select(User::as_select())).await?;
///     Ok(user)
/// })
/// ```
///
/// `read`, `write`, `transaction` or `durable_transaction` (see the module documentation).
/// `conn` is a `&mut Reader<_>` in a read, else the connection itself. Evaluates to the
/// body's `Result<_, StoreError>`; a pool that cannot hand out a connection is
/// [`StoreError::Unavailable`].
macro_rules! run {
    ($store:expr, $mode:ident, |$conn:ident| $body:expr) => {
        match $store.pools() {
            $crate::store::connection::Pools::Sqlite(db) => {
                db.$mode(move |$conn| $crate::store::access::body(async move { $body }))
                    .await
            }
            $crate::store::connection::Pools::Postgres(db) => {
                db.$mode(move |$conn| $crate::store::access::body(async move { $body }))
                    .await
            }
        }
    };
}

pub(super) use run;

/// A connection to read with: it runs SELECT statements, and nothing else. `P` is a pooled
/// connection.
pub(super) struct Reader<P>(P);

/// What a read body gets, per backend.
pub(super) type SqliteReader = Reader<PooledConnection<'static, SqliteConn>>;
pub(super) type PgReader = Reader<PooledConnection<'static, PgConn>>;

impl<P> Reader<P>
where
    P: DerefMut + Send,
    P::Target: AsyncConnectionCore + Send + Sized,
{
    /// Every row of `query`.
    pub(super) async fn load<'q, Q, U>(&mut self, query: Q) -> QueryResult<Vec<U>>
    where
        Q: SelectQuery + LoadQuery<'q, P::Target, U> + 'q,
        U: Send + 'static,
    {
        query.load(&mut *self.0).await
    }

    /// The one row of `query` (`NotFound` if there is none; see `.optional()`).
    pub(super) async fn get_result<'q, Q, U>(&mut self, query: Q) -> QueryResult<U>
    where
        Q: SelectQuery + LoadQuery<'q, P::Target, U> + 'q,
        U: Send + 'static,
    {
        query.get_result(&mut *self.0).await
    }

    /// The first row of `query` (`LIMIT 1`).
    pub(super) async fn first<'q, Q, U>(&mut self, query: Q) -> QueryResult<U>
    where
        Q: SelectQuery + LimitDsl,
        diesel::dsl::Limit<Q>: SelectQuery + LoadQuery<'q, P::Target, U> + Send + 'q,
        U: Send + 'static,
    {
        query.first(&mut *self.0).await
    }
}

/// The spawner of SQLite connections: runs a statement where it is issued. The operations
/// that issue them run on a blocking thread already ([`SqlitePool`]'s entry points).
pub(super) struct Inline;

impl SpawnBlocking for Inline {
    fn spawn_blocking<'a, R>(
        &mut self,
        task: impl FnOnce() -> R + Send + 'static,
    ) -> Pin<Box<dyn Future<Output = Result<R, Box<dyn Error + Send + Sync + 'static>>> + Send + 'a>>
    where
        R: Send + 'static,
    {
        Box::pin(std::future::ready(Ok(task())))
    }

    fn get_runtime() -> Self {
        Inline
    }
}

/// Runs `work` on tokio's blocking pool and waits for it. A panic there is resumed here, as
/// if the work had run in the caller.
pub(super) async fn on_blocking_thread<R: Send + 'static>(
    work: impl FnOnce() -> Result<R, StoreError> + Send + 'static,
) -> Result<R, StoreError> {
    joined(tokio::task::spawn_blocking(work).await)
}

/// [`on_blocking_thread`] on `runtime`'s blocking pool, asked for by a task of `runtime`:
/// a thread tokio starts for it is then started by one of `runtime`'s own threads and
/// inherits their priority, not the caller's.
async fn on_blocking_thread_of<R: Send + 'static>(
    runtime: &tokio::runtime::Handle,
    work: impl FnOnce() -> Result<R, StoreError> + Send + 'static,
) -> Result<R, StoreError> {
    let asked = runtime.spawn(async move { tokio::task::spawn_blocking(work).await });
    joined(asked.await.and_then(|done| done))
}

fn joined<R>(done: Result<Result<R, StoreError>, tokio::task::JoinError>) -> Result<R, StoreError> {
    match done {
        Ok(result) => result,
        Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
        Err(_cancelled) => Err(StoreError::Unavailable(
            "the runtime is shutting down".into(),
        )),
    }
}

/// Drives `future` to completion on this (blocking) thread. Every statement of an SQLite
/// body is ready at once ([`Inline`]); the runtime's handle also serves the odd future that
/// is not.
fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Handle::current().block_on(future)
}

/// How an SQLite transaction commits.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Commit {
    /// As the pool's connections do (`synchronous = NORMAL`).
    Normal,
    /// Synced to disk (`synchronous = FULL` for this transaction).
    Synced,
}

impl SqlitePool {
    pub(super) async fn read<R, F>(&self, body: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteReader) -> Body<'c, R> + Send + 'static,
    {
        let conn = self.pool.get_owned().await?;
        on_blocking_thread(move || {
            let mut reader = Reader(conn);
            block_on(body(&mut reader))
        })
        .await
    }

    pub(super) async fn write<R, F>(&self, body: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConn) -> Body<'c, R> + Send + 'static,
    {
        self.immediate(Commit::Normal, body).await
    }

    pub(super) async fn transaction<R, F>(&self, body: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConn) -> Body<'c, R> + Send + 'static,
    {
        self.immediate(Commit::Normal, body).await
    }

    pub(super) async fn durable_transaction<R, F>(&self, body: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConn) -> Body<'c, R> + Send + 'static,
    {
        self.immediate(Commit::Synced, body).await
    }

    /// The writer's turn, then a connection, then on one blocking thread (the foreground's,
    /// see `SqlitePool::write_threads`): `BEGIN IMMEDIATE` (the database's write lock before
    /// anything is read), the body, and the commit.
    async fn immediate<R, F>(&self, commit: Commit, body: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConn) -> Body<'c, R> + Send + 'static,
    {
        let turn = self.turn().await;
        let mut conn = self.pool.get_owned().await?;
        let work = move || {
            let _turn = turn;
            let conn: &mut SqliteConn = &mut conn;
            block_on(async move {
                if commit == Commit::Synced {
                    set_synchronous(conn, Commit::Synced).await?;
                }
                let finished = match conn
                    .spawn_blocking(|conn| {
                        AnsiTransactionManager::begin_transaction_sql(conn, "BEGIN IMMEDIATE")
                    })
                    .await
                {
                    Ok(()) => {
                        let result = body(conn).await;
                        finish_transaction(conn, result).await
                    }
                    Err(error) => Err(error.into()),
                };
                if commit == Commit::Synced {
                    // Back to the pool's setting. Should this fail, the connection keeps
                    // syncing every commit: slower, never less safe.
                    let _ = set_synchronous(conn, Commit::Normal).await;
                }
                finished
            })
        };
        if self.background {
            on_blocking_thread_of(&self.write_threads, work).await
        } else {
            on_blocking_thread(work).await
        }
    }
}

async fn set_synchronous(conn: &mut SqliteConn, commit: Commit) -> QueryResult<()> {
    conn.batch_execute(match commit {
        Commit::Synced => "PRAGMA synchronous = FULL",
        Commit::Normal => "PRAGMA synchronous = NORMAL",
    })
    .await
}

/// PostgreSQL's pool. Its entry points take no writer lock: the server runs concurrent
/// writers itself.
#[derive(Clone)]
pub(super) struct PgPool(pub(super) Pool<PgConn>);

impl PgPool {
    pub(super) async fn read<R, F>(&self, body: F) -> Result<R, StoreError>
    where
        F: for<'c> FnOnce(&'c mut PgReader) -> Body<'c, R> + Send,
    {
        let mut reader = Reader(self.0.get_owned().await?);
        body(&mut reader).await
    }

    pub(super) async fn write<R, F>(&self, body: F) -> Result<R, StoreError>
    where
        F: for<'c> FnOnce(&'c mut PgConn) -> Body<'c, R> + Send,
    {
        let mut conn = self.0.get().await?;
        body(&mut conn).await
    }

    pub(super) async fn transaction<R, F>(&self, body: F) -> Result<R, StoreError>
    where
        F: for<'c> FnOnce(&'c mut PgConn) -> Body<'c, R> + Send,
    {
        let mut conn = self.0.get().await?;
        let conn: &mut PgConn = &mut conn;
        <PgConn as AsyncConnection>::TransactionManager::begin_transaction(conn).await?;
        let result = body(conn).await;
        finish_transaction(conn, result).await
    }

    /// A [`PgPool::transaction`]: every PostgreSQL commit is durable
    /// (`synchronous_commit = on`).
    pub(super) async fn durable_transaction<R, F>(&self, body: F) -> Result<R, StoreError>
    where
        F: for<'c> FnOnce(&'c mut PgConn) -> Body<'c, R> + Send,
    {
        self.transaction(body).await
    }
}

/// Commits when the body succeeded, else rolls back and returns the body's error (unless
/// the rollback itself fails on a working connection), as diesel-async's `transaction` does.
async fn finish_transaction<C, R>(
    conn: &mut C,
    result: Result<R, StoreError>,
) -> Result<R, StoreError>
where
    C: AsyncConnection,
{
    match result {
        Ok(value) => {
            C::TransactionManager::commit_transaction(conn).await?;
            Ok(value)
        }
        Err(error) => match C::TransactionManager::rollback_transaction(conn).await {
            Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => Err(error),
            Err(rollback_error) => Err(rollback_error.into()),
        },
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::super::connection::Pools;
    use super::super::test_support::TestStore;
    use crate::priority::{current_thread_nice, lower_current_thread, BACKGROUND_NICE};

    /// A background handle used from a thread of lower priority (as `background.rs` makes)
    /// writes at the foreground's priority, and reads at its own.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn background_writes_run_at_the_foreground_priority() {
        let t = TestStore::sqlite().await;
        let store = t.store.clone();
        let url = t.url().to_owned();
        let foreground = current_thread_nice();
        let background = std::thread::spawn(move || {
            lower_current_thread();
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                let beside = store.connect_beside(&url).await.expect("beside");
                let Pools::Sqlite(pool) = &beside.pools else {
                    panic!("a SQLite store");
                };
                let wrote = pool
                    .write(|_conn| Box::pin(async { Ok(current_thread_nice()) }))
                    .await
                    .expect("write");
                let read = pool
                    .read(|_reader| Box::pin(async { Ok(current_thread_nice()) }))
                    .await
                    .expect("read");
                (wrote, read)
            })
        });
        let niced = tokio::task::spawn_blocking(move || background.join().expect("thread"))
            .await
            .expect("join");
        assert_eq!(niced, (foreground, BACKGROUND_NICE.max(foreground)));
    }
}

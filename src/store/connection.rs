//! The connection pools (one per backend), opening the database, per-connection setup and
//! migrations. How operations use the pools is `access.rs`.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use diesel::sql_types::{Integer, Text};
use diesel::{Connection, ConnectionError, IntoSql, QueryableByName, SqliteConnection};
use diesel_async::pooled_connection::bb8::Pool;
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, PoolError, RecyclingMethod,
};
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};

use super::access::{on_blocking_thread, run, Inline, PgPool};
use super::database_url::DatabaseUrl;
use super::group_commit::GroupCommit;
use super::writer_lock::{Turn, WriterLock};
use super::{NewResetRequest, StoreError};

/// Runs its statements on the calling thread ([`Inline`]): `access.rs` calls it on a
/// blocking one, a whole operation at a time.
pub(super) type SqliteConn = SyncConnectionWrapper<SqliteConnection, Inline>;
pub(super) type PgConn = AsyncPgConnection;

/// How long a statement waits for another connection's write lock before failing with
/// "database is locked" (reported as [`StoreError::Unavailable`]).
const BUSY_TIMEOUT_MS: u32 = 10_000;
/// Writes are serialised by SQLite anyway; a few connections keep readers from queueing
/// behind a writer without piling up blocked threads.
const SQLITE_POOL_SIZE: u32 = 8;
/// How long a caller waits for a free SQLite connection before getting `Unavailable`.
const SQLITE_CHECKOUT_TIMEOUT: Duration = Duration::from_secs(15);

/// PostgreSQL runs concurrent transactions itself, so the pool is larger than SQLite's; 16
/// per replica keeps a handful of replicas under the server's default `max_connections`
/// (100) with room for migrations and admin sessions. To become a setting.
const POSTGRES_POOL_SIZE: u32 = 16;
/// Connections of a [`Store::connect_beside`] handle: the reset issuer and the outbox
/// worker use one at a time each.
const BESIDE_POOL_SIZE: u32 = 2;
/// How long a caller waits for a PostgreSQL connection (a free one, or a new one while the
/// server is down) before getting `Unavailable`: during an outage a request fails fast with
/// 503 instead of hanging.
const POSTGRES_CHECKOUT_TIMEOUT: Duration = Duration::from_secs(3);

/// One pool per backend; the URL scheme picks the variant in [`Store::connect`].
#[derive(Clone)]
pub(super) enum Pools {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// SQLite's pool, and the lock its writers take turns on.
#[derive(Clone)]
pub(super) struct SqlitePool {
    pub(super) pool: Pool<SqliteConn>,
    /// Taken by every write (`access.rs`) for its whole length; shared by every handle on
    /// the file (see `writer_lock.rs`).
    pub(super) writer: Arc<WriterLock>,
    /// Whether this handle's writers are background ones (`Store::connect_beside`).
    pub(super) background: bool,
    /// The runtime the store was opened on, whose blocking threads run a `connect_beside`
    /// handle's writes too: holding the writer's turn, a background writer blocks every
    /// foreground one, and on the background runtime's threads it would run at their lower
    /// priority (`priority.rs`), preempted by the very work that waits for it.
    pub(super) write_threads: tokio::runtime::Handle,
}

impl SqlitePool {
    /// This handle's turn to write.
    pub(super) async fn turn(&self) -> Turn {
        if self.background {
            self.writer.background().await
        } else {
            self.writer.foreground().await
        }
    }
}

/// The handle to the database. Cheap to clone: clones share one pool.
#[derive(Clone)]
pub struct Store {
    pub(super) pools: Pools,
    /// Reset requests on their way into `reset_requests` (`reset_requests.rs`).
    pub(super) queued_requests: Arc<GroupCommit<NewResetRequest>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (backend, state) = match &self.pools {
            Pools::Sqlite(sqlite) => ("sqlite", sqlite.pool.state()),
            Pools::Postgres(pool) => ("postgres", pool.0.state()),
        };
        f.debug_struct("Store")
            .field("backend", &backend)
            .field("pool", &state)
            .finish()
    }
}

impl Store {
    /// Opens the database named by `database_url` (`sqlite://PATH`, creating the file if
    /// missing, or `postgres://...` / `postgresql://...`) and applies pending migrations.
    /// Needs tokio's multi-thread runtime.
    pub async fn open(database_url: &str) -> Result<Store, StoreError> {
        let store = Store::connect(database_url).await?;
        let applied = store.migrate().await?;
        if !applied.is_empty() {
            tracing::info!(?applied, "applied database migrations");
        }
        Ok(store)
    }

    /// Opens the database without touching its schema (creating a missing SQLite file).
    /// Fails with [`StoreError::Unavailable`] when a PostgreSQL server cannot be reached
    /// now; once open, the pool reconnects by itself after an outage.
    pub async fn connect(database_url: &str) -> Result<Store, StoreError> {
        let pools = match DatabaseUrl::parse(database_url)? {
            DatabaseUrl::Sqlite(path) => {
                Pools::Sqlite(connect_sqlite(path, SQLITE_POOL_SIZE).await?)
            }
            DatabaseUrl::Postgres(url) => {
                Pools::Postgres(PgPool(connect_postgres(url, POSTGRES_POOL_SIZE).await?))
            }
        };
        Ok(Store {
            pools,
            queued_requests: Arc::default(),
        })
    }

    /// Another handle on this store's database, with a small pool of its own, for the
    /// background work running on another tokio runtime (`background.rs`): connections
    /// are then made, and PostgreSQL's driven, on that runtime. On SQLite it shares this
    /// store's writer lock, as a background writer: it lets this store's writers go first
    /// (`writer_lock.rs`). `database_url` must be the one this store was opened with.
    pub async fn connect_beside(&self, database_url: &str) -> Result<Store, StoreError> {
        let pools = match (DatabaseUrl::parse(database_url)?, &self.pools) {
            (DatabaseUrl::Sqlite(path), Pools::Sqlite(mine)) => Pools::Sqlite(SqlitePool {
                pool: connect_sqlite(path, BESIDE_POOL_SIZE).await?.pool,
                writer: mine.writer.clone(),
                background: true,
                write_threads: mine.write_threads.clone(),
            }),
            (DatabaseUrl::Postgres(url), Pools::Postgres(_)) => {
                Pools::Postgres(PgPool(connect_postgres(url, BESIDE_POOL_SIZE).await?))
            }
            _ => return Err(StoreError::BadUrl("not the database of this store")),
        };
        Ok(Store {
            pools,
            queued_requests: self.queued_requests.clone(),
        })
    }

    /// Checks that a connection can be had and answers a query (for `/readyz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        run!(self, read, |conn| {
            conn.get_result::<_, i32>(diesel::select(1.into_sql::<Integer>()))
                .await?;
            Ok(())
        })
    }

    pub(super) fn pools(&self) -> &Pools {
        &self.pools
    }
}

pub(super) fn unavailable(error: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Unavailable(Box::new(error))
}

/// Logs the pool's background connection failures (a reconnect during an outage, a
/// connection found dead on checkout), which callers only see as a timeout.
#[derive(Debug, Clone, Copy)]
struct LogPoolErrors;

impl bb8::ErrorSink<PoolError> for LogPoolErrors {
    fn sink(&self, error: PoolError) {
        // Connection errors name the server's complaint, never the URL or its password.
        tracing::warn!(%error, "database connection failed");
    }

    fn boxed_clone(&self) -> Box<dyn bb8::ErrorSink<PoolError>> {
        Box::new(*self)
    }
}

async fn connect_postgres(url: String, max_size: u32) -> Result<Pool<PgConn>, StoreError> {
    // One connection now, so that a wrong password or an unreachable server is reported
    // with its cause rather than as a pool timeout.
    match tokio::time::timeout(POSTGRES_CHECKOUT_TIMEOUT, PgConn::establish(&url)).await {
        Ok(Ok(_probe)) => {}
        Ok(Err(e)) => return Err(unavailable(e)),
        Err(_elapsed) => {
            return Err(StoreError::Unavailable(
                "timed out connecting to the PostgreSQL server".into(),
            ))
        }
    }

    let mut config = ManagerConfig::<PgConn>::default();
    // `SELECT 1` on every checkout: a connection the server closed (restart, admin
    // shutdown, network cut) is discarded and replaced instead of failing the request.
    // Connections that fail mid-query are dropped by the pool too (`is_broken`).
    config.recycling_method = RecyclingMethod::Verified;
    let manager = AsyncDieselConnectionManager::new_with_config(url, config);
    // Connections are made on demand (no `min_idle`), and bb8 retries making them until
    // the checkout timeout: when the server comes back, the next request reconnects.
    Pool::builder()
        .max_size(max_size)
        .connection_timeout(POSTGRES_CHECKOUT_TIMEOUT)
        .error_sink(Box::new(LogPoolErrors))
        .build(manager)
        .await
        .map_err(unavailable)
}

async fn connect_sqlite(path: String, max_size: u32) -> Result<SqlitePool, StoreError> {
    create_parent_dir(&path).await?;
    enable_wal(&path).await?;

    let mut config = ManagerConfig::<SqliteConn>::default();
    // A local file does not drop connections; skip the `SELECT 1` on every checkout.
    config.recycling_method = RecyclingMethod::Fast;
    config.custom_setup = Box::new(establish_boxed);
    let manager = AsyncDieselConnectionManager::new_with_config(path, config);
    let pool = Pool::builder()
        .max_size(max_size)
        // The most recently used connection first: its page cache is the one most likely
        // still current. SQLite drops a connection's whole cache when another connection has
        // written since its last transaction, so handing them out in turn (bb8's default)
        // made nearly every operation start from a cold cache and read its pages again.
        .queue_strategy(bb8::QueueStrategy::Lifo)
        .connection_timeout(SQLITE_CHECKOUT_TIMEOUT)
        .error_sink(Box::new(LogPoolErrors))
        .build(manager)
        .await
        .map_err(unavailable)?;
    Ok(SqlitePool {
        pool,
        writer: Arc::default(),
        background: false,
        write_threads: tokio::runtime::Handle::current(),
    })
}

async fn create_parent_dir(path: &str) -> Result<(), StoreError> {
    match Path::new(path).parent() {
        Some(dir) if !dir.as_os_str().is_empty() => {
            tokio::fs::create_dir_all(dir).await.map_err(unavailable)
        }
        _ => Ok(()),
    }
}

/// Opens a connection with the pragmas that hold per connection (`journal_mode` belongs to
/// the file and is set once, in [`enable_wal`]), on a blocking thread: opening a file and
/// running statements block.
async fn establish_configured(path: &str) -> diesel::ConnectionResult<SqliteConn> {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || {
        let conn = SqliteConnection::establish(&path)?;
        let mut conn = SqliteConn::with_runtime(conn, Inline);
        tokio::runtime::Handle::current().block_on(configure(&mut conn))?;
        Ok(conn)
    })
    .await
    .unwrap_or_else(|e| Err(ConnectionError::BadConnection(e.to_string())))
}

async fn configure(conn: &mut SqliteConn) -> diesel::ConnectionResult<()> {
    let pragmas = format!(
        "PRAGMA busy_timeout = {BUSY_TIMEOUT_MS};
         PRAGMA foreign_keys = ON;
         PRAGMA synchronous = NORMAL;"
    );
    // foreign_keys: SQLite leaves them unenforced unless asked, per connection.
    //
    // synchronous = NORMAL, with WAL: a commit is written to the WAL but not synced; the
    // WAL is synced at each checkpoint. A crash of resetd loses nothing; a power cut or an
    // OS crash may undo the last commits since the last sync: answered reset requests
    // (the user asks again), issued tokens and their queued mail (a link that no longer
    // works; the user asks again), delivery records (a mail sent twice), sessions (log in
    // again), rate-limit counts. FULL would sync every commit: on the bench machine that
    // capped reset requests at the disk's fsync rate (1,000 to 7,000 a second, as the disk
    // was shared) instead of the CPU's (`cargo xtask bench`). What must survive a power cut is
    // written in a `durable_transaction` (`access.rs`), which syncs its commit (and so every
    // commit before it): a completed reset (new password, sessions revoked) and an
    // operator's change to an account.
    conn.batch_execute(&pragmas)
        .await
        .map_err(ConnectionError::CouldntSetupConfiguration)
}

type SetupFuture<'a> =
    Pin<Box<dyn Future<Output = diesel::ConnectionResult<SqliteConn>> + Send + 'a>>;

fn establish_boxed(path: &str) -> SetupFuture<'_> {
    Box::pin(establish_configured(path))
}

#[derive(QueryableByName)]
struct JournalMode {
    #[diesel(sql_type = Text)]
    journal_mode: String,
}

/// Switches the file to write-ahead logging before the pool opens: readers then never wait
/// for the writer. Done once, on one connection, since changing the mode needs the file to
/// itself.
async fn enable_wal(path: &str) -> Result<(), StoreError> {
    let mut conn = establish_configured(path).await.map_err(unavailable)?;
    let mode = on_blocking_thread(move || {
        let query = diesel::sql_query("PRAGMA journal_mode = WAL");
        Ok(tokio::runtime::Handle::current()
            .block_on(query.get_result::<JournalMode>(&mut conn))?)
    })
    .await?;
    if mode.journal_mode.eq_ignore_ascii_case("wal") {
        Ok(())
    } else {
        // e.g. a file system without shared memory support
        Err(StoreError::Unavailable(
            "the database file could not be switched to WAL mode".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use diesel::migration::MigrationSource;
    use diesel_async::RunQueryDsl;

    use super::*;
    use diesel_migrations::EmbeddedMigrations;

    use crate::store::migrations::{POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS};
    use crate::store::schema::reset_tokens;
    use crate::store::test_support::{store_tests, TestStore};
    use crate::store::NewResetToken;

    fn versions<DB: diesel::backend::Backend>(source: &EmbeddedMigrations) -> Vec<String>
    where
        EmbeddedMigrations: MigrationSource<DB>,
    {
        MigrationSource::<DB>::migrations(source)
            .expect("embedded migrations")
            .iter()
            .map(|m| m.name().version().to_string())
            .collect()
    }

    #[test]
    fn both_backends_have_the_same_migration_versions() {
        let sqlite = versions::<diesel::sqlite::Sqlite>(&SQLITE_MIGRATIONS);
        let postgres = versions::<diesel::pg::Pg>(&POSTGRES_MIGRATIONS);
        assert!(!sqlite.is_empty());
        assert_eq!(sqlite, postgres);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn open_creates_the_file_and_migrations_run_once() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("nested").join("resetd.db");
        let url = format!("sqlite://{}", path.display());

        let store = Store::connect(&url).await.expect("connect");
        let applied = store.migrate().await.expect("migrate");
        let all = versions::<diesel::sqlite::Sqlite>(&SQLITE_MIGRATIONS);
        assert_eq!(applied, all, "every embedded migration, in order");
        assert!(path.exists());
        assert!(store.migrate().await.expect("migrate again").is_empty());
        store.ping().await.expect("ping");

        let Pools::Sqlite(sqlite) = store.pools() else {
            panic!("a sqlite:// URL opened another backend");
        };
        let mut conn = sqlite.pool.get().await.expect("conn");
        let mode = diesel::sql_query("PRAGMA journal_mode")
            .get_result::<JournalMode>(&mut *conn)
            .await
            .expect("journal mode");
        assert_eq!(mode.journal_mode, "wal");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn postgres_refuses_an_unreachable_server_quickly() {
        // Port 1 on localhost: nothing listens, the connection is refused at once.
        let started = std::time::Instant::now();
        let err = Store::connect("postgres://resetd:secret@127.0.0.1:1/resetd")
            .await
            .expect_err("connected to nothing");
        assert!(err.is_unavailable(), "{err:?}");
        assert!(!err.to_string().contains("secret"));
        assert!(started.elapsed() < POSTGRES_CHECKOUT_TIMEOUT + Duration::from_secs(1));
    }

    /// Forwards TCP connections to `upstream` until aborted; aborting drops every forwarded
    /// connection too (the JoinSet aborts its tasks), which is how the tests cut the
    /// network between the store and the server.
    async fn forward(listener: tokio::net::TcpListener, upstream: String) {
        let mut connections = tokio::task::JoinSet::new();
        while let Ok((mut inbound, _)) = listener.accept().await {
            let upstream = upstream.clone();
            connections.spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(&upstream).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn postgres_outage_fails_fast_and_the_pool_recovers() {
        let Some(t) = TestStore::postgres().await else {
            return;
        };
        let mut url = url::Url::parse(t.postgres_url().expect("postgres")).expect("URL");
        let Some(host) = url.host_str().map(str::to_owned) else {
            eprintln!("skipped: the test server is not reached over TCP");
            return;
        };
        let upstream = format!("{host}:{}", url.port().unwrap_or(5432));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("address").port();
        url.set_host(Some("127.0.0.1")).expect("host");
        url.set_port(Some(port)).expect("port");
        let proxy = tokio::spawn(forward(listener, upstream.clone()));

        let store = Store::connect(url.as_str()).await.expect("connect");
        store.ping().await.expect("ping through the proxy");

        // The network goes: open connections are cut, new ones refused.
        proxy.abort();
        let _ = proxy.await;
        for _ in 0..2 {
            let started = std::time::Instant::now();
            let err = store.ping().await.expect_err("answered during the outage");
            assert!(err.is_unavailable(), "{err:?}");
            let waited = started.elapsed();
            assert!(
                waited < POSTGRES_CHECKOUT_TIMEOUT + Duration::from_secs(2),
                "{waited:?}"
            );
        }

        // It comes back: the same pool reconnects without being told.
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind again");
        let proxy = tokio::spawn(forward(listener, upstream));
        store.ping().await.expect("ping after the outage");
        store
            .count_outbox(crate::store::OutboxStatus::Pending)
            .await
            .expect("query after the outage");
        proxy.abort();
    }

    async fn sleep_on_server(store: Store) -> Result<(), StoreError> {
        // Not a SELECT to Diesel (raw SQL): through the write path, a plain session on
        // PostgreSQL.
        run!(store, write, |conn| {
            diesel::sql_query("SELECT pg_sleep(30)")
                .execute(conn)
                .await?;
            Ok(())
        })
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn postgres_admin_shutdown_is_unavailable_and_dead_connections_are_replaced() {
        let Some(t) = TestStore::postgres().await else {
            return;
        };
        let url = t.postgres_url().expect("postgres").to_owned();
        let sleeper = tokio::spawn(sleep_on_server(t.store.clone()));
        // Some idle connections in the pool too.
        let pings = (0..4).map(|_| t.store.ping());
        for ping in futures_util::future::join_all(pings).await {
            ping.expect("ping");
        }

        // What `pg_terminate_backend` sends is what a server shutdown sends every session:
        // 57P01, "terminating connection due to administrator command".
        let mut admin = AsyncPgConnection::establish(&url).await.expect("admin");
        #[derive(QueryableByName)]
        struct Terminated {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            count: i64,
        }
        let mut terminated = 0;
        for _ in 0..100 {
            let found: Terminated = diesel::sql_query(
                "SELECT count(pg_terminate_backend(pid)) AS count FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid() \
                 AND query LIKE '%pg_sleep%'",
            )
            .get_result(&mut admin)
            .await
            .expect("terminate");
            terminated = found.count;
            if terminated > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(terminated, 1, "the sleeping query never showed up");
        let err = sleeper.await.expect("task").expect_err("query survived");
        assert!(err.is_unavailable(), "{err:?}");

        // Now every other session: the pool's idle connections die.
        diesel::sql_query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .execute(&mut admin)
        .await
        .expect("terminate the rest");
        for _ in 0..10 {
            t.store.ping().await.expect("ping on a fresh connection");
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn postgres_replicas_migrating_at_once_take_turns() {
        let Some(t) = TestStore::postgres_unmigrated().await else {
            return;
        };
        let url = t.postgres_url().expect("postgres");
        let other = Store::connect(url).await.expect("second replica");
        let (first, second) = tokio::join!(t.store.migrate(), other.migrate());
        let (first, second) = (first.expect("migrate"), second.expect("migrate"));
        let all = versions::<diesel::pg::Pg>(&POSTGRES_MIGRATIONS);
        assert!(
            (first == all && second.is_empty()) || (first.is_empty() && second == all),
            "{first:?} / {second:?}"
        );
    }

    #[derive(QueryableByName)]
    struct Synchronous {
        #[diesel(sql_type = Integer)]
        synchronous: i32,
    }

    /// SQLite commits with `synchronous = NORMAL` (1), but a durable transaction with `FULL`
    /// (2), and the connection goes back to NORMAL afterwards.
    #[tokio::test(flavor = "multi_thread")]
    async fn sqlite_durable_transactions_sync_their_commit() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("resetd.db").display());
        let store = Store::open(&url).await.expect("open");
        async fn synchronous(store: &Store, durable: bool) -> Result<i32, StoreError> {
            // The body is compiled for PostgreSQL too, and never run there.
            let pragma = diesel::sql_query("PRAGMA synchronous");
            if durable {
                run!(store, durable_transaction, |conn| {
                    Ok(pragma.get_result::<Synchronous>(conn).await?.synchronous)
                })
            } else {
                run!(store, transaction, |conn| {
                    Ok(pragma.get_result::<Synchronous>(conn).await?.synchronous)
                })
            }
        }
        for _ in 0..10 {
            assert_eq!(synchronous(&store, true).await.expect("durable"), 2);
            assert_eq!(synchronous(&store, false).await.expect("ordinary"), 1);
        }
    }

    store_tests! {
        async fn migrations_are_applied_once(t: TestStore) {
            // `TestStore` opened the store, which migrated it.
            assert!(t.store.migrate().await.expect("migrate again").is_empty());
            t.store.ping().await.expect("ping");
        }

        async fn foreign_keys_are_enforced(t: TestStore) {
            let orphan = NewResetToken {
                user_id: 4242,
                dialect: "x".to_owned(),
                token_hash: "y".to_owned(),
                created_at: 0,
                expires_at: 1,
            };
            let result: Result<usize, StoreError> = async {
                run!(t.store, write, |conn| {
                    Ok(diesel::insert_into(reset_tokens::table)
                        .values(&orphan)
                        .execute(conn)
                        .await?)
                })
            }
            .await;
            let err = result.expect_err("orphan token accepted");
            assert!(matches!(err, StoreError::Query(_)), "{err:?}");
            assert!(
                matches!(
                    err,
                    StoreError::Query(diesel::result::Error::DatabaseError(
                        diesel::result::DatabaseErrorKind::ForeignKeyViolation,
                        _
                    ))
                ),
                "{err:?}"
            );
        }
    }
}

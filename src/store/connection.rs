//! The connection pool: opening the database, per-connection pragmas, migrations.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::time::Duration;

use diesel::sql_types::{Integer, Text};
use diesel::{ConnectionError, IntoSql, QueryableByName, SqliteConnection};
use diesel_async::pooled_connection::bb8::{Pool, PooledConnection};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use diesel_async::{AsyncConnection, AsyncMigrationHarness, RunQueryDsl, SimpleAsyncConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::database_url::sqlite_path;
use super::StoreError;

/// The migrations in `migrations/sqlite`, compiled into the binary.
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

pub(super) type Conn = SyncConnectionWrapper<SqliteConnection>;

/// How long a statement waits for another connection's write lock before failing with
/// "database is locked" (reported as [`StoreError::Unavailable`]).
const BUSY_TIMEOUT_MS: u32 = 10_000;
/// Writes are serialised by SQLite anyway; a few connections keep readers from queueing
/// behind a writer without piling up blocked threads.
const POOL_SIZE: u32 = 8;
/// How long a caller waits for a free connection before getting `Unavailable`.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(15);

/// The handle to the database. Cheap to clone: clones share one pool.
#[derive(Clone)]
pub struct Store {
    pool: Pool<Conn>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("pool", &self.pool.state())
            .finish()
    }
}

impl Store {
    /// Opens (creating if missing) the database named by `database_url` and applies pending
    /// migrations. Needs tokio's multi-thread runtime.
    pub async fn open(database_url: &str) -> Result<Store, StoreError> {
        let store = Store::connect(database_url).await?;
        let applied = store.migrate().await?;
        if !applied.is_empty() {
            tracing::info!(?applied, "applied database migrations");
        }
        Ok(store)
    }

    /// Opens (creating if missing) the database without touching its schema.
    pub async fn connect(database_url: &str) -> Result<Store, StoreError> {
        let path = sqlite_path(database_url)?;
        create_parent_dir(&path).await?;
        enable_wal(&path).await?;

        let mut config = ManagerConfig::<Conn>::default();
        // A local file does not drop connections; skip the `SELECT 1` on every checkout.
        config.recycling_method = RecyclingMethod::Fast;
        config.custom_setup = Box::new(establish_boxed);
        let manager = AsyncDieselConnectionManager::new_with_config(path, config);
        let pool = Pool::builder()
            .max_size(POOL_SIZE)
            .connection_timeout(CHECKOUT_TIMEOUT)
            .build(manager)
            .await
            .map_err(|e| StoreError::Unavailable(Box::new(e)))?;
        Ok(Store { pool })
    }

    /// Applies pending migrations; returns the versions applied (empty when up to date).
    pub async fn migrate(&self) -> Result<Vec<String>, StoreError> {
        // The harness drives the async connection through `block_in_place`, which panics
        // on a current-thread runtime: refuse instead.
        if tokio::runtime::Handle::current().runtime_flavor()
            == tokio::runtime::RuntimeFlavor::CurrentThread
        {
            return Err(StoreError::Migration(
                "migrations need tokio's multi-thread runtime".into(),
            ));
        }
        let conn = self.pool.get_owned().await?;
        let mut harness = AsyncMigrationHarness::new(conn);
        let applied = harness
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map_err(StoreError::Migration)?;
        Ok(applied.iter().map(ToString::to_string).collect())
    }

    /// Checks that a connection can be had and answers a query (for `/readyz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        diesel::select(1.into_sql::<Integer>())
            .get_result::<i32>(&mut conn)
            .await?;
        Ok(())
    }

    pub(super) async fn conn(&self) -> Result<PooledConnection<'_, Conn>, StoreError> {
        Ok(self.pool.get().await?)
    }
}

async fn create_parent_dir(path: &str) -> Result<(), StoreError> {
    match Path::new(path).parent() {
        Some(dir) if !dir.as_os_str().is_empty() => tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| StoreError::Unavailable(Box::new(e))),
        _ => Ok(()),
    }
}

/// Opens a connection with the pragmas that hold per connection (`journal_mode` belongs to
/// the file and is set once, in [`enable_wal`]).
async fn establish_configured(path: &str) -> diesel::ConnectionResult<Conn> {
    let mut conn = Conn::establish(path).await?;
    let pragmas = format!(
        "PRAGMA busy_timeout = {BUSY_TIMEOUT_MS};
         PRAGMA foreign_keys = ON;
         PRAGMA synchronous = FULL;"
    );
    // foreign_keys: SQLite leaves them unenforced unless asked, per connection.
    // synchronous = FULL, not the NORMAL often paired with WAL: NORMAL can lose the last
    // commits on power loss, and a reset that was answered must not be forgotten.
    conn.batch_execute(&pragmas)
        .await
        .map_err(ConnectionError::CouldntSetupConfiguration)?;
    Ok(conn)
}

type SetupFuture<'a> = Pin<Box<dyn Future<Output = diesel::ConnectionResult<Conn>> + Send + 'a>>;

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
    let mut conn = establish_configured(path)
        .await
        .map_err(|e| StoreError::Unavailable(Box::new(e)))?;
    let mode = diesel::sql_query("PRAGMA journal_mode = WAL")
        .get_result::<JournalMode>(&mut conn)
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
    use super::*;
    use crate::store::test_support::TestStore;

    #[tokio::test(flavor = "multi_thread")]
    async fn open_creates_the_file_and_migrations_run_once() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("nested").join("resetd.db");
        let url = format!("sqlite://{}", path.display());

        let store = Store::connect(&url).await.expect("connect");
        let applied = store.migrate().await.expect("migrate");
        let all: Vec<String> =
            diesel::migration::MigrationSource::<diesel::sqlite::Sqlite>::migrations(
                &SQLITE_MIGRATIONS,
            )
            .expect("embedded migrations")
            .iter()
            .map(|m| m.name().version().to_string())
            .collect();
        assert_eq!(applied, all, "every embedded migration, in order");
        assert!(path.exists());
        assert!(store.migrate().await.expect("migrate again").is_empty());
        store.ping().await.expect("ping");

        let mut conn = store.conn().await.expect("conn");
        let mode = diesel::sql_query("PRAGMA journal_mode")
            .get_result::<JournalMode>(&mut conn)
            .await
            .expect("journal mode");
        assert_eq!(mode.journal_mode, "wal");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn foreign_keys_are_enforced() {
        let t = TestStore::new().await;
        let mut conn = t.store.conn().await.expect("conn");
        let err = diesel::sql_query(
            "INSERT INTO reset_tokens (user_id, dialect, token_hash, created_at, expires_at) \
             VALUES (4242, 'x', 'y', 0, 1)",
        )
        .execute(&mut conn)
        .await
        .expect_err("orphan token accepted");
        assert!(matches!(
            err,
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::ForeignKeyViolation,
                _
            )
        ));
    }
}

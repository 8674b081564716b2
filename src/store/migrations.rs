//! The schema's migrations, embedded in the binary, and applying them; on PostgreSQL under an
//! advisory lock, so replicas starting together take turns.

use diesel::sql_types::BigInt;
use diesel_async::{AsyncConnection, AsyncMigrationHarness, RunQueryDsl};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::connection::{unavailable, Pools};
use super::{Store, StoreError};

/// The migrations in `migrations/sqlite`, compiled into the binary.
pub(super) const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
/// The migrations in `migrations/postgres`: the same schema in PostgreSQL's types, under the
/// same version names.
pub(super) const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Key of the advisory lock under which migrations run, so that replicas starting together
/// take turns ("resetdmi").
const MIGRATION_LOCK_KEY: i64 = 0x7265_7365_7464_6d69;

impl Store {
    /// Applies pending migrations; returns the versions applied (empty when up to date).
    pub async fn migrate(&self) -> Result<Vec<String>, StoreError> {
        self.migrate_with_progress(|_| {}).await
    }

    /// [`Store::migrate`], calling `progress` before each migration runs (on a blocking
    /// thread): a migration on a big database can take a while.
    pub async fn migrate_with_progress(
        &self,
        progress: impl FnMut(MigrationStep<'_>) + Send + 'static,
    ) -> Result<Vec<String>, StoreError> {
        // The harness drives the async connection through `block_in_place`, which panics
        // on a current-thread runtime: refuse instead.
        if tokio::runtime::Handle::current().runtime_flavor()
            == tokio::runtime::RuntimeFlavor::CurrentThread
        {
            return Err(StoreError::Migration(
                "migrations need tokio's multi-thread runtime".into(),
            ));
        }
        match self.pools() {
            Pools::Sqlite(sqlite) => {
                // SQLite lives in one process: no lock across replicas to take.
                let conn = sqlite.pool.get_owned().await?;
                run_migrations(conn, SQLITE_MIGRATIONS, progress).await
            }
            Pools::Postgres(pool) => {
                // A connection of its own, outside the pool: the advisory lock belongs to
                // the session, and closing the session (when `conn` drops, whatever
                // happened) is what releases it.
                let mut conn = pool.0.dedicated_connection().await.map_err(unavailable)?;
                diesel::sql_query("SELECT pg_advisory_lock($1)")
                    .bind::<BigInt, _>(MIGRATION_LOCK_KEY)
                    .execute(&mut conn)
                    .await?;
                run_migrations(conn, POSTGRES_MIGRATIONS, progress).await
            }
        }
    }
}

/// A migration about to run: its name and place among the pending ones.
#[derive(Debug, Clone, Copy)]
pub struct MigrationStep<'a> {
    pub name: &'a str,
    /// 1-based.
    pub number: usize,
    pub of: usize,
}

/// Runs the harness on tokio's blocking pool: it drives the async connection with
/// `block_on`, which must not run on a thread that also polls other futures (a nested
/// `block_on` there can swallow their wake-ups: two migrations joined in one task hung).
async fn run_migrations<C>(
    conn: C,
    migrations: EmbeddedMigrations,
    mut progress: impl FnMut(MigrationStep<'_>) + Send + 'static,
) -> Result<Vec<String>, StoreError>
where
    C: AsyncConnection + Send + 'static,
    AsyncMigrationHarness<C>: MigrationHarness<C::Backend>,
    EmbeddedMigrations: diesel::migration::MigrationSource<C::Backend>,
{
    tokio::task::spawn_blocking(move || {
        let mut harness = AsyncMigrationHarness::new(conn);
        let pending = harness
            .pending_migrations(migrations)
            .map_err(StoreError::Migration)?;
        let mut applied = Vec::with_capacity(pending.len());
        for (i, migration) in pending.iter().enumerate() {
            let name = migration.name().to_string();
            progress(MigrationStep {
                name: &name,
                number: i + 1,
                of: pending.len(),
            });
            let version = harness
                .run_migration(&**migration)
                .map_err(StoreError::Migration)?;
            applied.push(version.to_string());
        }
        Ok(applied)
    })
    .await
    .map_err(|e| StoreError::Migration(Box::new(e)))?
}

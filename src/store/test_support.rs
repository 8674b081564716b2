//! Fresh stores on either backend, and fixtures, for the unit tests.
//!
//! SQLite: a file in a temp directory. PostgreSQL: a database of its own on the server named
//! by `RESETD_TEST_PG_URL` (a URL whose role may `CREATE DATABASE`), created empty from the
//! server's default template, migrated by `Store::migrate`, and dropped (`WITH (FORCE)`) when
//! the `TestStore` goes away, on failure too.
//!
//! [`store_tests!`] writes each test once and runs it on both backends.

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use tempfile::TempDir;

use super::{NewOutboxMessage, NewUser, OutboxMessage, OutboxStatus, Store, User, UserStatus};
use crate::clock::Millis;

/// Server for the PostgreSQL variants; unset: they are skipped.
pub(crate) const PG_URL_ENV: &str = "RESETD_TEST_PG_URL";
/// `1`: a skipped PostgreSQL variant fails instead (CI).
pub(crate) const REQUIRE_PG_ENV: &str = "RESETD_TEST_REQUIRE_PG";

/// A migrated store on a fresh database, removed when this value drops.
pub(crate) struct TestStore {
    // Declared first, so the pool closes before the database is dropped.
    pub store: Store,
    database: TestDatabase,
}

enum TestDatabase {
    Sqlite { _dir: TempDir, url: String },
    Postgres(PgDatabase),
}

impl TestStore {
    /// A SQLite store (for tests that do not care which backend they run on).
    pub async fn new() -> TestStore {
        TestStore::sqlite().await
    }

    pub async fn sqlite() -> TestStore {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        let store = Store::open(&url).await.expect("open store");
        TestStore {
            store,
            database: TestDatabase::Sqlite { _dir: dir, url },
        }
    }

    /// A PostgreSQL store on a new database, or `None` (after saying so) when
    /// `RESETD_TEST_PG_URL` is unset. Panics instead when `RESETD_TEST_REQUIRE_PG=1`.
    pub async fn postgres() -> Option<TestStore> {
        let t = TestStore::postgres_unmigrated().await?;
        t.store.migrate().await.expect("migrate");
        Some(t)
    }

    /// Like [`TestStore::postgres`], with the migrations not yet run.
    pub async fn postgres_unmigrated() -> Option<TestStore> {
        let admin_url = pg_admin_url()?;
        let database = PgDatabase::create(&admin_url).await;
        let store = Store::connect(&database.url).await.expect("connect");
        Some(TestStore {
            store,
            database: TestDatabase::Postgres(database),
        })
    }

    /// The URL of the PostgreSQL database behind the store (`None` on SQLite), for tests
    /// that open a second session or reach the server another way.
    pub fn postgres_url(&self) -> Option<&str> {
        match &self.database {
            TestDatabase::Postgres(database) => Some(&database.url),
            TestDatabase::Sqlite { .. } => None,
        }
    }

    /// The URL of the database behind the store, on either backend, for tests that open a
    /// second handle on it (a second replica).
    pub fn url(&self) -> &str {
        match &self.database {
            TestDatabase::Postgres(database) => &database.url,
            TestDatabase::Sqlite { url, .. } => url,
        }
    }

    pub async fn user(&self, email: &str, now: Millis) -> User {
        self.store
            .create_user(new_user(email, now))
            .await
            .expect("create user")
    }
}

fn pg_admin_url() -> Option<String> {
    match std::env::var(PG_URL_ENV) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ if std::env::var(REQUIRE_PG_ENV).is_ok_and(|v| v == "1") => {
            panic!(
                "{REQUIRE_PG_ENV}=1 but {PG_URL_ENV} is not set: the PostgreSQL variant cannot run"
            )
        }
        _ => {
            eprintln!("skipped: {PG_URL_ENV} is not set, so the PostgreSQL variant did not run");
            None
        }
    }
}

/// A database created for one test: `CREATE DATABASE "resetd_store_test_<32 hex>"` on the
/// admin URL's server, reached by the admin URL with its path replaced by the new name.
struct PgDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl PgDatabase {
    async fn create(admin_url: &str) -> PgDatabase {
        let name = format!("resetd_store_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = AsyncPgConnection::establish(admin_url)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {PG_URL_ENV}: {e}"));
        // The name is ours (letters, digits, underscores): nothing to escape.
        diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
        let mut url =
            url::Url::parse(admin_url).unwrap_or_else(|e| panic!("{PG_URL_ENV} is not a URL: {e}"));
        url.set_path(&format!("/{name}"));
        PgDatabase {
            admin_url: admin_url.to_owned(),
            name,
            url: url.into(),
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        // Drop cannot await: a thread of its own with its own runtime, whatever runtime (or
        // unwinding panic) this runs in. FORCE ends the sessions the pool may still have open.
        let admin_url = self.admin_url.clone();
        let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let mut admin = AsyncPgConnection::establish(&admin_url)
                    .await
                    .map_err(|e| e.to_string())?;
                diesel::sql_query(sql)
                    .execute(&mut admin)
                    .await
                    .map_err(|e| e.to_string())
            })
        })
        .join();
        let failure = match dropped {
            Ok(Ok(_)) => return,
            Ok(Err(e)) => e,
            Err(_) => "the dropping thread panicked".to_owned(),
        };
        if std::thread::panicking() {
            eprintln!("DROP DATABASE {} failed: {failure}", self.name);
        } else {
            panic!("DROP DATABASE {} failed: {failure}", self.name);
        }
    }
}

/// Writes each test once and runs it on both backends:
///
/// ```ignore
/// store_tests! {
///     async fn first_value_wins(t: TestStore) {
///         t.store.get_or_init_setting("k", "a", 1).await.expect("first");
///     }
/// }
/// ```
///
/// makes a module `first_value_wins` with the tests `sqlite` and `postgres` (the latter is
/// skipped, or fails under `RESETD_TEST_REQUIRE_PG=1`, without `RESETD_TEST_PG_URL`). The
/// body sees the enclosing module's items.
macro_rules! store_tests {
    ($(
        $(#[$meta:meta])*
        async fn $name:ident($t:ident: $store:ty) $body:block
    )*) => {
        $(
            $(#[$meta])*
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                async fn run($t: $store) $body

                #[tokio::test(flavor = "multi_thread")]
                async fn sqlite() {
                    run($crate::store::test_support::TestStore::sqlite().await).await;
                }

                #[tokio::test(flavor = "multi_thread")]
                async fn postgres() {
                    if let Some(t) = $crate::store::test_support::TestStore::postgres().await {
                        run(t).await;
                    }
                }
            }
        )*
    };
}

pub(crate) use store_tests;

pub(crate) fn new_user(email: &str, now: Millis) -> NewUser {
    NewUser {
        public_id: uuid::Uuid::new_v4().simple().to_string(),
        email: email.to_owned(),
        nickname: None,
        status: UserStatus::Active,
        language: "en-US".to_owned(),
        password_hash: Some("$argon2id$old".to_owned()),
        created_at: now,
        updated_at: now,
    }
}

/// A claimed outbox row for `recipient`, as the worker holds it, with empty bodies.
pub(crate) fn claimed_mail(id: i64, recipient: &str) -> OutboxMessage {
    OutboxMessage {
        id,
        message_id: format!("<{id}@resetd>"),
        recipient: recipient.to_owned(),
        subject: String::new(),
        body_text: String::new(),
        body_html: String::new(),
        status: OutboxStatus::Sending,
        attempts: 1,
        next_attempt_at: 0,
        lease_until: None,
        last_error: None,
        created_at: 0,
        sent_at: None,
    }
}

pub(crate) fn mail(subject: &str) -> NewOutboxMessage {
    NewOutboxMessage {
        recipient: "someone@example.test".to_owned(),
        subject: subject.to_owned(),
        body_text: format!("{subject} (text)"),
        body_html: format!("<p>{subject}</p>"),
    }
}

//! Fresh stores on either backend, and fixtures, for the unit tests.
//!
//! SQLite: a file in a temp directory. PostgreSQL: a database of its own on the server named
//! by `RESETD_TEST_PG_URL` (a URL whose role may `CREATE DATABASE`), created empty (the
//! `resetd-test-support` crate, which the integration tests and the bench use too), migrated by
//! `Store::migrate` here, and dropped when the `TestStore` goes away, on failure too.
//!
//! [`store_tests!`] writes each test once and runs it on both backends.

use resetd_test_support::postgres::TestDatabase as PgDatabase;
use tempfile::TempDir;

use super::{NewOutboxMessage, NewUser, OutboxMessage, OutboxStatus, Store, User, UserStatus};
use crate::clock::Millis;

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
        let admin_url = resetd_test_support::postgres::admin_url_from_env()?;
        let database = PgDatabase::create_empty(&admin_url, "resetd_store_test")
            .await
            .unwrap_or_else(|e| panic!("create a test database: {e}"));
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
        external_id: None,
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

//! A PostgreSQL database of its own for each test (or bench run), dropped afterwards.
//!
//! A database is created empty ([`TestDatabase::create_empty`], for code that migrates it
//! itself) or cloned from a template that is migrated once per migration set
//! ([`TestDatabase::create_from_template`], see [`template`]). [`TestDatabase::drop_database`]
//! drops it; if a test panics before that, `Drop` does.
//!
//! The server comes from `RESETD_TEST_PG_URL` ([`admin_url_from_env`]): a URL whose role may
//! create databases.

pub mod template;

use std::time::Duration;

use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls};

/// Server for the PostgreSQL variants of the tests; unset: they are skipped.
pub const PG_URL_ENV: &str = "RESETD_TEST_PG_URL";
/// `1`: a PostgreSQL variant that cannot run fails instead of being skipped (CI).
pub const REQUIRE_PG_ENV: &str = "RESETD_TEST_REQUIRE_PG";

/// How often a statement that needs a database without other sessions (`CREATE DATABASE ...
/// TEMPLATE`, `ALTER DATABASE ... RENAME`, a plain `DROP`) is tried while sessions linger.
const BUSY_TRIES: u32 = 100;
const BUSY_PAUSE: Duration = Duration::from_millis(50);

#[derive(Debug, thiserror::Error)]
pub enum TestDbError {
    #[error("the PostgreSQL server URL is not a URL: {0}")]
    Url(#[from] url::ParseError),
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("migrating the template {name}: {reason}")]
    Migrate { name: String, reason: String },
}

/// The server URL for tests, or `None` (after saying so on stderr) when PostgreSQL tests are
/// not configured. Panics when `RESETD_TEST_REQUIRE_PG=1` and the URL is missing.
pub fn admin_url_from_env() -> Option<String> {
    match std::env::var(PG_URL_ENV) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ if std::env::var(REQUIRE_PG_ENV).is_ok_and(|v| v == "1") => {
            panic!("{REQUIRE_PG_ENV}=1 but {PG_URL_ENV} is not set: PostgreSQL tests cannot run")
        }
        _ => {
            eprintln!("skipped: set {PG_URL_ENV} to run the PostgreSQL variant");
            None
        }
    }
}

/// A database of its own, on the admin URL's server.
pub struct TestDatabase {
    /// The database's URL: the admin URL with its path replaced.
    pub url: String,
    name: String,
    admin_url: String,
    dropped: bool,
}

impl TestDatabase {
    /// A new empty database named `<prefix>_<32 random hex>`.
    pub async fn create_empty(admin_url: &str, prefix: &str) -> Result<TestDatabase, TestDbError> {
        let name = unique_name(prefix);
        let admin = connect(admin_url).await?;
        // The name is ours (letters, digits, underscores): nothing to escape.
        admin
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .await?;
        TestDatabase::new(admin_url, name)
    }

    /// A new database cloned from `template` (see [`template::ensure`]).
    pub async fn create_from_template(
        admin_url: &str,
        prefix: &str,
        template: &str,
    ) -> Result<TestDatabase, TestDbError> {
        let name = unique_name(prefix);
        let admin = connect(admin_url).await?;
        // Cloning needs the template to have no other session; a build that just finished
        // may still be closing its connections.
        retry_while_busy(
            &admin,
            &format!("CREATE DATABASE \"{name}\" TEMPLATE \"{template}\""),
        )
        .await?;
        TestDatabase::new(admin_url, name)
    }

    fn new(admin_url: &str, name: String) -> Result<TestDatabase, TestDbError> {
        Ok(TestDatabase {
            url: database_url(admin_url, &name)?,
            name,
            admin_url: admin_url.to_owned(),
            dropped: false,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Drops the database, ending the sessions still open on it.
    pub async fn drop_database(mut self) -> Result<(), TestDbError> {
        self.dropped = true;
        drop_named(&self.admin_url, &self.name).await
    }
}

impl Drop for TestDatabase {
    /// A test that panicked never reached `drop_database`. Drop cannot await, and may run
    /// inside a runtime that cannot be blocked on: a thread of its own with its own runtime.
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime
                .block_on(drop_named(&admin_url, &name))
                .map_err(|e| e.to_string())
        })
        .join();
        let failure = match dropped {
            Ok(Ok(())) => return,
            Ok(Err(e)) => e,
            Err(_) => "the dropping thread panicked".to_owned(),
        };
        eprintln!("could not drop test database {}: {failure}", self.name);
    }
}

async fn drop_named(admin_url: &str, name: &str) -> Result<(), TestDbError> {
    let admin = connect(admin_url).await?;
    // FORCE ends every session on it, autovacuum's too, which a role without
    // pg_signal_backend may not do: then a plain DROP, which stops autovacuum itself and
    // only waits for the test's own sessions to close.
    let forced = admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await;
    if forced.is_ok() {
        return Ok(());
    }
    retry_while_busy(&admin, &format!("DROP DATABASE IF EXISTS \"{name}\"")).await
}

/// Runs `sql`, again while it fails because another session is using the database.
async fn retry_while_busy(client: &Client, sql: &str) -> Result<(), TestDbError> {
    let mut tries = 0;
    loop {
        match client.batch_execute(sql).await {
            Ok(()) => return Ok(()),
            Err(err) if tries < BUSY_TRIES && err.code() == Some(&SqlState::OBJECT_IN_USE) => {
                tries += 1;
                tokio::time::sleep(BUSY_PAUSE).await;
            }
            Err(err) => return Err(err.into()),
        }
    }
}

/// `<prefix>_<32 hex>`: unique across processes and runs.
fn unique_name(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

/// The URL of database `name` on `server_url`'s server, with the same credentials and options.
pub fn database_url(server_url: &str, name: &str) -> Result<String, TestDbError> {
    let mut url = url::Url::parse(server_url)?;
    url.set_path(&format!("/{name}"));
    Ok(url.into())
}

pub(crate) async fn connect(url: &str) -> Result<Client, TestDbError> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(async move {
        // Ends with the client; an error here surfaces on the client's next call.
        let _ = connection.await;
    });
    Ok(client)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_only_the_database() {
        assert_eq!(
            database_url(
                "postgres://u:p@127.0.0.1:5432/postgres?sslmode=disable",
                "b1"
            )
            .expect("valid"),
            "postgres://u:p@127.0.0.1:5432/b1?sslmode=disable"
        );
        assert_eq!(
            database_url("postgres://u@localhost", "b2").expect("valid"),
            "postgres://u@localhost/b2"
        );
        assert!(database_url("not a url", "b3").is_err());
    }

    #[test]
    fn names_are_unique_and_plain() {
        let a = unique_name("t");
        let b = unique_name("t");
        assert_ne!(a, b);
        assert_eq!(a.len(), 2 + 32);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_'));
    }
}

//! PostgreSQL for integration tests: each test gets a fresh database, cloned from a template
//! that is migrated once per migration set, and dropped when the test ends.
//!
//! `RESETD_TEST_PG_URL` names a server and a role that may create databases; without it the
//! PostgreSQL variants of the tests are skipped, unless `RESETD_TEST_REQUIRE_PG=1` (CI),
//! which turns a skip into a failure.

use std::time::Duration;

use diesel::sql_types::{BigInt, Text};
use diesel::QueryableByName;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use sha2::{Digest, Sha256};

pub const PG_URL_ENV: &str = "RESETD_TEST_PG_URL";
pub const REQUIRE_PG_ENV: &str = "RESETD_TEST_REQUIRE_PG";

/// Key of the advisory lock that serialises template builds across test processes.
const TEMPLATE_LOCK_KEY: i64 = 0x7265_7365_7464;

/// The admin URL, or `None` (after saying so) when PostgreSQL tests are not configured.
pub fn admin_url() -> Option<String> {
    match std::env::var(PG_URL_ENV) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var(REQUIRE_PG_ENV).is_ok_and(|v| v == "1") => {
            panic!("{REQUIRE_PG_ENV}=1 but {PG_URL_ENV} is not set: PostgreSQL tests cannot run")
        }
        _ => {
            eprintln!("skipped: set {PG_URL_ENV} to run the PostgreSQL variant");
            None
        }
    }
}

/// A database of its own for one test, dropped by `drop_database` or, when a test panics
/// before that, by `Drop`.
pub struct PgDatabase {
    pub url: String,
    name: String,
    admin_url: String,
    dropped: bool,
}

impl PgDatabase {
    /// Creates a fresh, migrated database.
    pub async fn create(admin_url: &str) -> PgDatabase {
        let template = ensure_template(admin_url).await;
        let name = format!("resetd_t_{}", resetd::security::random::hex_chars(16));
        let mut conn = connect(admin_url).await;
        // Cloning needs the template to have no other session; a build that just finished
        // may still be closing its connections.
        let mut tries = 0;
        loop {
            let created = diesel::sql_query(format!(
                "CREATE DATABASE \"{name}\" TEMPLATE \"{template}\""
            ))
            .execute(&mut conn)
            .await;
            match created {
                Ok(_) => break,
                Err(err) if tries < 100 && err.to_string().contains("being accessed") => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(err) => panic!("CREATE DATABASE {name}: {err}"),
            }
        }
        PgDatabase {
            url: database_url(admin_url, &name),
            name,
            admin_url: admin_url.to_owned(),
            dropped: false,
        }
    }

    pub async fn drop_database(mut self) {
        drop_named(&self.admin_url, &self.name)
            .await
            .unwrap_or_else(|e| panic!("DROP DATABASE {}: {e}", self.name));
        self.dropped = true;
    }
}

impl Drop for PgDatabase {
    /// A test that panicked never reached `drop_database`: drop the database from a thread
    /// of its own (this may run inside the test's runtime, which cannot be blocked on).
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(runtime) = runtime {
                if let Err(e) = runtime.block_on(drop_named(&admin_url, &name)) {
                    eprintln!("could not drop test database {name}: {e}");
                }
            }
        });
        let _ = cleanup.join();
    }
}

async fn drop_named(admin_url: &str, name: &str) -> Result<(), String> {
    let mut conn = AsyncPgConnection::establish(admin_url)
        .await
        .map_err(|e| e.to_string())?;
    let forced = diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .execute(&mut conn)
        .await;
    if forced.is_ok() {
        return Ok(());
    }
    // FORCE must be allowed to end every session, an autovacuum worker's too, which a role
    // without pg_signal_backend may not. A plain DROP stops autovacuum itself; it only has
    // to wait for the test's own sessions to close.
    let mut last = String::new();
    for _ in 0..100 {
        match diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\""))
            .execute(&mut conn)
            .await
        {
            Ok(_) => return Ok(()),
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(last)
}

/// The URL of database `name` on the admin URL's server, with the same credentials.
pub fn database_url(admin_url: &str, name: &str) -> String {
    let mut url = url::Url::parse(admin_url).expect("RESETD_TEST_PG_URL is a URL");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

async fn connect(url: &str) -> AsyncPgConnection {
    AsyncPgConnection::establish(url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {PG_URL_ENV}: {e}"))
}

#[derive(QueryableByName)]
struct Found {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

/// The template for the current migrations, built if missing. Its name carries a hash of
/// `migrations/postgres`, so a changed migration gets a new template, and the role: a clone
/// keeps the owners of the template's tables, so each role needs a template of its own.
async fn ensure_template(admin_url: &str) -> String {
    let role: String = url::Url::parse(admin_url)
        .map(|u| u.username().to_owned())
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(20)
        .collect();
    let name = format!("resetd_tpl_{role}_{}", migrations_digest());
    let mut conn = connect(admin_url).await;
    diesel::sql_query("SELECT pg_advisory_lock($1)")
        .bind::<BigInt, _>(TEMPLATE_LOCK_KEY)
        .execute(&mut conn)
        .await
        .expect("advisory lock");
    let found: Found =
        diesel::sql_query("SELECT count(*) AS count FROM pg_database WHERE datname = $1")
            .bind::<Text, _>(&name)
            .get_result(&mut conn)
            .await
            .expect("look up the template");
    if found.count == 0 {
        let building = format!("{name}_build");
        for sql in [
            format!("DROP DATABASE IF EXISTS \"{building}\" WITH (FORCE)"),
            format!("CREATE DATABASE \"{building}\""),
        ] {
            diesel::sql_query(sql)
                .execute(&mut conn)
                .await
                .expect("prepare the template");
        }
        let store = resetd::store::Store::open(&database_url(admin_url, &building))
            .await
            .expect("migrate the template");
        drop(store);
        // Renaming publishes the template only once it is complete; it too needs the
        // migrating sessions gone.
        let mut tries = 0;
        loop {
            let renamed = diesel::sql_query(format!(
                "ALTER DATABASE \"{building}\" RENAME TO \"{name}\""
            ))
            .execute(&mut conn)
            .await;
            match renamed {
                Ok(_) => break,
                Err(err) if tries < 100 && err.to_string().contains("being accessed") => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(err) => panic!("publish the template: {err}"),
            }
        }
        // A template may be cloned by any role that can create databases, not only by its
        // owner: test runs under different roles share it.
        diesel::sql_query(format!("ALTER DATABASE \"{name}\" WITH IS_TEMPLATE true"))
            .execute(&mut conn)
            .await
            .expect("mark the template");
    }
    diesel::sql_query("SELECT pg_advisory_unlock($1)")
        .bind::<BigInt, _>(TEMPLATE_LOCK_KEY)
        .execute(&mut conn)
        .await
        .expect("advisory unlock");
    name
}

fn migrations_digest() -> String {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/postgres");
    let mut files: Vec<std::path::PathBuf> = walk(&dir);
    files.sort();
    let mut hash = Sha256::new();
    for file in files {
        hash.update(
            file.strip_prefix(&dir)
                .unwrap_or(&file)
                .to_string_lossy()
                .as_bytes(),
        );
        hash.update(std::fs::read(&file).expect("read a migration"));
    }
    hex::encode(&hash.finalize()[..6])
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)
        .expect("migrations/postgres exists")
        .flatten()
    {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

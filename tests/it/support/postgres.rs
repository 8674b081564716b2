//! PostgreSQL for integration tests: each test gets a fresh database, cloned from a template
//! migrated once per migration set, and dropped when the test ends (`resetd-test-support`, the
//! helper the unit tests and the bench use too).
//!
//! `RESETD_TEST_PG_URL` names a server and a role that may create databases; without it the
//! PostgreSQL variants of the tests are skipped, unless `RESETD_TEST_REQUIRE_PG=1` (CI),
//! which turns a skip into a failure.

use resetd_test_support::postgres::{template, TestDatabase};
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

pub use resetd_test_support::postgres::admin_url_from_env as admin_url;

/// A database of its own for one test, dropped by `drop_database` or, when a test panics
/// before that, by `Drop`.
pub struct PgDatabase {
    pub url: String,
    database: TestDatabase,
}

impl PgDatabase {
    /// Creates a fresh, migrated database.
    pub async fn create(admin_url: &str) -> PgDatabase {
        let template = template_name(admin_url).await;
        let database = TestDatabase::create_from_template(admin_url, "resetd_t", template)
            .await
            .unwrap_or_else(|e| panic!("create a test database: {e}"));
        PgDatabase {
            url: database.url.clone(),
            database,
        }
    }

    pub async fn drop_database(self) {
        let name = self.database.name().to_owned();
        self.database
            .drop_database()
            .await
            .unwrap_or_else(|e| panic!("DROP DATABASE {name}: {e}"));
    }
}

/// The template for the current migrations, looked up (or built) once per test binary.
async fn template_name(admin_url: &str) -> &'static str {
    static TEMPLATE: OnceCell<String> = OnceCell::const_new();
    TEMPLATE
        .get_or_init(|| async {
            template::ensure(admin_url, &migrations_digest(), |url| async move {
                resetd::store::Store::open(&url)
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string())
            })
            .await
            .unwrap_or_else(|e| panic!("the test database template: {e}"))
        })
        .await
}

/// A short hash of `migrations/postgres`, names and contents: the template's key.
fn migrations_digest() -> String {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/postgres");
    let mut files = walk(&dir);
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

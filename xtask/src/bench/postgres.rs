//! A fresh PostgreSQL database per run, on the server named by `RESETD_BENCH_PG_URL` (else
//! `RESETD_TEST_PG_URL`, which CI and the test suite already set), dropped afterwards: the
//! test suite's `resetd-test-support`, with an empty database that resetd migrates as it starts.

use resetd_test_support::postgres::TestDatabase;

use super::error::BenchError;

const URL_VARS: [&str; 2] = ["RESETD_BENCH_PG_URL", "RESETD_TEST_PG_URL"];

pub struct FreshDatabase {
    database: TestDatabase,
    /// The new database's URL, for `RESETD_DATABASE_URL`.
    pub url: String,
}

impl FreshDatabase {
    pub async fn create() -> Result<FreshDatabase, BenchError> {
        let admin_url = URL_VARS
            .iter()
            .find_map(|var| std::env::var(var).ok().filter(|v| !v.is_empty()))
            .ok_or(BenchError::NoPostgresUrl)?;
        let database = TestDatabase::create_empty(&admin_url, "resetd_bench").await?;
        Ok(FreshDatabase {
            url: database.url.clone(),
            database,
        })
    }

    pub async fn drop_database(self) -> Result<(), BenchError> {
        Ok(self.database.drop_database().await?)
    }
}

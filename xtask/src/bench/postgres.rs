//! A fresh PostgreSQL database per run, on the server named by `RESETD_BENCH_PG_URL` (else
//! `RESETD_TEST_PG_URL`, which CI and the test suite already set), dropped afterwards.

use tokio_postgres::NoTls;
use url::Url;

use super::error::BenchError;

const URL_VARS: [&str; 2] = ["RESETD_BENCH_PG_URL", "RESETD_TEST_PG_URL"];

pub struct FreshDatabase {
    admin_url: String,
    name: String,
    /// The new database's URL, for `RESETD_DATABASE_URL`.
    pub url: String,
}

impl FreshDatabase {
    pub async fn create() -> Result<FreshDatabase, BenchError> {
        let admin_url = URL_VARS
            .iter()
            .find_map(|var| std::env::var(var).ok().filter(|v| !v.is_empty()))
            .ok_or(BenchError::NoPostgresUrl)?;
        let name = format!(
            "resetd_bench_{}_{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis())
        );
        let url = database_url(&admin_url, &name)?;
        let client = connect(&admin_url).await?;
        // `name` is made of [a-z0-9_] above: nothing to quote.
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await?;
        Ok(FreshDatabase {
            admin_url,
            name,
            url,
        })
    }

    pub async fn drop_database(self) -> Result<(), BenchError> {
        let client = connect(&self.admin_url).await?;
        // FORCE: autovacuum may still be looking at it.
        client
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .await?;
        Ok(())
    }
}

async fn connect(url: &str) -> Result<tokio_postgres::Client, BenchError> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(async move {
        // Ends with the client; an error here surfaces on the client's next call.
        let _ = connection.await;
    });
    Ok(client)
}

/// `server_url` with its database replaced by `name`.
fn database_url(server_url: &str, name: &str) -> Result<String, BenchError> {
    let mut url = Url::parse(server_url)?;
    url.set_path(&format!("/{name}"));
    Ok(url.to_string())
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
}

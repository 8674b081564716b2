//! Migrated templates: running every migration for each test is most of a fresh database's
//! cost, so tests clone a template migrated once per migration set.
//!
//! A template's name carries a key the caller derives from its migrations (a changed
//! migration gets a new template) and the role of the admin URL: a clone keeps the owners
//! of the template's tables, so each role needs a template of its own. Builds are
//! serialised across test processes by an advisory lock, and a template is published by a
//! rename only once it is complete.

use std::future::Future;

use super::{connect, database_url, retry_while_busy, TestDbError};

/// Key of the advisory lock that serialises template builds across processes.
const TEMPLATE_LOCK_KEY: i64 = 0x7265_7365_7464;

/// The name of the template for `key`, built first if missing: `migrate` gets the URL of an
/// empty database and must leave it migrated, with its connections closed or closing.
pub async fn ensure<F, Fut>(admin_url: &str, key: &str, migrate: F) -> Result<String, TestDbError>
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let role: String = url::Url::parse(admin_url)?
        .username()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(20)
        .collect();
    let name = format!("resetd_tpl_{role}_{key}");
    let admin = connect(admin_url).await?;
    admin
        .execute("SELECT pg_advisory_lock($1)", &[&TEMPLATE_LOCK_KEY])
        .await?;
    let built = build_if_missing(&admin, admin_url, &name, migrate).await;
    // Unlocked whatever happened; a lost session would release the lock anyway.
    let unlocked = admin
        .execute("SELECT pg_advisory_unlock($1)", &[&TEMPLATE_LOCK_KEY])
        .await;
    built?;
    unlocked?;
    Ok(name)
}

async fn build_if_missing<F, Fut>(
    admin: &tokio_postgres::Client,
    admin_url: &str,
    name: &str,
    migrate: F,
) -> Result<(), TestDbError>
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let found: i64 = admin
        .query_one(
            "SELECT count(*) FROM pg_database WHERE datname = $1",
            &[&name],
        )
        .await?
        .get(0);
    if found > 0 {
        return Ok(());
    }
    let building = format!("{name}_build");
    // One statement per call: neither may run inside the implicit transaction of a batch.
    for sql in [
        format!("DROP DATABASE IF EXISTS \"{building}\" WITH (FORCE)"),
        format!("CREATE DATABASE \"{building}\""),
    ] {
        admin.batch_execute(&sql).await?;
    }
    migrate(database_url(admin_url, &building)?)
        .await
        .map_err(|reason| TestDbError::Migrate {
            name: name.to_owned(),
            reason,
        })?;
    // The rename needs the migrating sessions gone.
    retry_while_busy(
        admin,
        &format!("ALTER DATABASE \"{building}\" RENAME TO \"{name}\""),
    )
    .await?;
    // A template may be cloned by any role that can create databases, not only its owner.
    admin
        .batch_execute(&format!("ALTER DATABASE \"{name}\" WITH IS_TEMPLATE true"))
        .await?;
    Ok(())
}

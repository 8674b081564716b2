//! [`Reused`]: a write statement prepared once per connection, not on every run.
//!
//! Diesel caches no UPDATE, no upsert and no INSERT with an optional column: their SQL can
//! change with the values (a `None` in a changeset leaves its column out), and each new
//! shape would be one more cached statement. So it prepares them again on every run: a
//! parse on SQLite, a parse and a plan on the PostgreSQL server. A redemption runs about
//! ten of them. [`Reused`] lets the connection cache one under its SQL text and bind types,
//! the key Diesel already uses for queries without a static id: a different SQL text is a
//! different entry, so it is correct for any statement. It is for statements whose SQL
//! takes few shapes, so that the cache stays small (not `eq_any` over a list of any length
//! on SQLite, which spells out one `?` per item).

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::QueryResult;

/// `query`, prepared once per connection and run again from the connection's statement
/// cache, keyed by its SQL.
#[derive(Debug, Clone, Copy)]
pub(super) struct Reused<Q>(pub(super) Q);

impl<Q, DB> QueryFragment<DB> for Reused<Q>
where
    DB: Backend,
    Q: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &DB) -> QueryResult<bool> {
        // Safe because the cache key is the SQL itself: no static query id below.
        Ok(true)
    }
}

impl<Q> QueryId for Reused<Q> {
    type QueryId = ();
    // No id from the type: the statement cache keys the statement by its SQL text.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: Query> Query for Reused<Q> {
    type SqlType = Q::SqlType;
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use diesel::connection::{Instrumentation, InstrumentationEvent};
    use diesel::{Connection as _, ExpressionMethods as _, QueryDsl as _, SqliteConnection};
    use diesel_async::{AsyncConnection as _, RunQueryDsl as _, SimpleAsyncConnection as _};

    use super::Reused;
    use crate::store::access::Inline;
    use crate::store::connection::SqliteConn;
    use crate::store::schema::rate_limits;

    /// The statements a connection added to its statement cache, by SQL.
    fn cached_statements(conn: &mut SqliteConn) -> Arc<Mutex<Vec<String>>> {
        let cached = Arc::new(Mutex::new(Vec::new()));
        let seen = cached.clone();
        let instrumentation = move |event: InstrumentationEvent<'_>| {
            if let InstrumentationEvent::CacheQuery { sql, .. } = event {
                seen.lock().expect("not poisoned").push(sql.to_owned());
            }
        };
        let instrumentation: Box<dyn Instrumentation> = Box::new(instrumentation);
        conn.set_instrumentation(instrumentation);
        cached
    }

    #[tokio::test]
    async fn an_update_is_prepared_once_when_reused_and_on_every_run_when_not() {
        let sqlite = SqliteConnection::establish(":memory:").expect("in-memory SQLite");
        let mut conn = SqliteConn::with_runtime(sqlite, Inline);
        conn.batch_execute(
            "CREATE TABLE rate_limits (key TEXT NOT NULL, window_start BIGINT NOT NULL, \
             count INTEGER NOT NULL, PRIMARY KEY (key, window_start))",
        )
        .await
        .expect("table");
        let cached = cached_statements(&mut conn);
        let update = |window: i64| {
            diesel::update(rate_limits::table.find(("k", window)))
                .set(rate_limits::count.eq(rate_limits::count + 1))
        };

        for window in 0..3 {
            update(window)
                .execute(&mut conn)
                .await
                .expect("plain update");
        }
        assert!(cached.lock().expect("not poisoned").is_empty());

        for window in 0..3 {
            Reused(update(window))
                .execute(&mut conn)
                .await
                .expect("reused update");
        }
        let cached = cached.lock().expect("not poisoned").clone();
        assert_eq!(cached.len(), 1, "{cached:?}");
        assert!(cached[0].starts_with("UPDATE"), "{cached:?}");
    }
}

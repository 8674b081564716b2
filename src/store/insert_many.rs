//! Inserting many rows of one table inside a transaction, the way each backend does it
//! fastest. PostgreSQL: one multi-row INSERT. SQLite: the prepared single-row INSERT run for
//! each row, straight on the synchronous connection (no bind collecting per row as the async
//! wrapper does). diesel-async cannot send SQLite a multi-row INSERT, which SQLite would parse
//! afresh for every batch size anyway.

use diesel::prelude::*;
use diesel::SqliteConnection;
use diesel_async::RunQueryDsl;

use super::connection::{PgConn, SqliteConn};
use super::models::OutboxRow;
use super::schema::{
    audit_events, outbox, reset_requests, reset_tokens, users, webhook_deliveries,
};
use super::{NewAuditEvent, NewResetRequest, NewResetToken, NewUser, NewWebhookDelivery};

/// A row type [`InsertMany`] can insert.
pub(super) trait Row: Sized + Send + 'static {
    fn insert_each(rows: &[Self], conn: &mut SqliteConnection) -> QueryResult<()>;
    async fn insert_all(rows: Vec<Self>, conn: &mut PgConn) -> QueryResult<()>;
}

/// Every row of `$row` goes into `$table`. The derives say `treat_none_as_default_value =
/// false`, so that a `None` binds NULL and each INSERT has the same text (one prepared
/// statement on SQLite).
macro_rules! row {
    ($row:ty => $table:path) => {
        impl Row for $row {
            fn insert_each(rows: &[Self], conn: &mut SqliteConnection) -> QueryResult<()> {
                for row in rows {
                    diesel::RunQueryDsl::execute(diesel::insert_into($table).values(row), conn)?;
                }
                Ok(())
            }

            async fn insert_all(rows: Vec<Self>, conn: &mut PgConn) -> QueryResult<()> {
                diesel::insert_into($table)
                    .values(rows)
                    .execute(conn)
                    .await?;
                Ok(())
            }
        }
    };
}

row!(NewAuditEvent => audit_events::table);
row!(NewResetToken => reset_tokens::table);
row!(OutboxRow => outbox::table);
row!(NewResetRequest => reset_requests::table);
row!(NewUser => users::table);
row!(NewWebhookDelivery => webhook_deliveries::table);

/// Inserting `rows`, in the transaction the connection is in.
pub(super) trait InsertMany {
    async fn insert_many<R: Row>(&mut self, rows: Vec<R>) -> QueryResult<()>;
}

impl InsertMany for SqliteConn {
    async fn insert_many<R: Row>(&mut self, rows: Vec<R>) -> QueryResult<()> {
        if rows.is_empty() {
            return Ok(());
        }
        self.spawn_blocking(move |conn| R::insert_each(&rows, conn))
            .await
    }
}

impl InsertMany for PgConn {
    async fn insert_many<R: Row>(&mut self, rows: Vec<R>) -> QueryResult<()> {
        if rows.is_empty() {
            return Ok(());
        }
        R::insert_all(rows, self).await
    }
}

//! Row locks: the one part of a query the two backends spell differently.
//!
//! PostgreSQL locks rows with `SELECT ... FOR UPDATE` (and its variants) until the
//! transaction ends. SQLite has no row locks, and needs none: a write transaction there is
//! `BEGIN IMMEDIATE` (see `access.rs`), which holds the whole database's write lock
//! from its first statement. So the SQLite side of each method locks nothing, and the query
//! under the lock is shared.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::connection::{PgConn, SqliteConn};
use super::outbox::{abandoned_outbox, most_overdue, waiting_outbox};
use super::reset_requests::due_reset_request_ids;
use super::schema::users;
use super::webhooks::{abandoned_webhooks, waiting_webhooks};
use crate::clock::Millis;

/// Called on the connection inside a `transaction` (`access.rs`).
pub(super) trait RowLocks {
    /// Makes the transaction's writes to one account take turns with other transactions
    /// that lock it (the reset flows), until commit. The row may be missing: then nothing
    /// is locked.
    async fn lock_user(&mut self, user_id: i64) -> QueryResult<()>;

    /// [`RowLocks::lock_user`] for several accounts at once, in id order.
    async fn lock_users(&mut self, user_ids: &[i64]) -> QueryResult<()>;

    /// The ids of up to `limit` outbox messages due at `now` (see `due_outbox_ids`), held
    /// until commit; rows another transaction holds are skipped rather than waited for.
    async fn lock_due_outbox(&mut self, now: Millis, limit: i64) -> QueryResult<Vec<i64>>;

    /// The ids of up to `limit` reset requests due at `now` (see `due_reset_request_ids`),
    /// held until commit; rows another transaction holds are skipped rather than waited for.
    async fn lock_due_reset_requests(&mut self, now: Millis, limit: i64) -> QueryResult<Vec<i64>>;

    /// The ids of up to `limit` webhook deliveries due at `now`, each first in line for its
    /// account and endpoint, held until commit; rows another transaction holds are skipped.
    async fn lock_due_webhooks(&mut self, now: Millis, limit: i64) -> QueryResult<Vec<i64>>;
}

impl RowLocks for SqliteConn {
    async fn lock_user(&mut self, _user_id: i64) -> QueryResult<()> {
        Ok(())
    }

    async fn lock_users(&mut self, _user_ids: &[i64]) -> QueryResult<()> {
        Ok(())
    }

    async fn lock_due_outbox(&mut self, now: Millis, limit: i64) -> QueryResult<Vec<i64>> {
        let waiting = waiting_outbox(now, limit).load(self).await?;
        let abandoned = abandoned_outbox(now, limit).load(self).await?;
        Ok(most_overdue(waiting, abandoned, limit))
    }

    async fn lock_due_reset_requests(&mut self, now: Millis, limit: i64) -> QueryResult<Vec<i64>> {
        due_reset_request_ids(now, limit).load(self).await
    }

    async fn lock_due_webhooks(&mut self, now: Millis, limit: i64) -> QueryResult<Vec<i64>> {
        let waiting = waiting_webhooks(now, limit).load(self).await?;
        let abandoned = abandoned_webhooks(now, limit).load(self).await?;
        Ok(most_overdue(waiting, abandoned, limit))
    }
}

impl RowLocks for PgConn {
    async fn lock_user(&mut self, user_id: i64) -> QueryResult<()> {
        // NO KEY UPDATE, the lock an UPDATE of non-key columns takes: it still lets other
        // transactions insert rows referencing the user (their foreign-key check takes
        // KEY SHARE), e.g. a login storing an access token.
        users::table
            .find(user_id)
            .select(users::id)
            .for_no_key_update()
            .load::<i64>(self)
            .await?;
        Ok(())
    }

    async fn lock_users(&mut self, user_ids: &[i64]) -> QueryResult<()> {
        if user_ids.is_empty() {
            return Ok(());
        }
        // Rows are locked as the ordered scan returns them: in id order, as one at a time.
        users::table
            .filter(users::id.eq_any(user_ids))
            .order(users::id)
            .select(users::id)
            .for_no_key_update()
            .load::<i64>(self)
            .await?;
        Ok(())
    }

    async fn lock_due_outbox(&mut self, now: Millis, limit: i64) -> QueryResult<Vec<i64>> {
        // Rows locked beyond the `limit` taken stay locked until commit: harmless, other
        // workers skip them for this moment.
        let waiting = waiting_outbox(now, limit)
            .for_update()
            .skip_locked()
            .load(self)
            .await?;
        let abandoned = abandoned_outbox(now, limit)
            .for_update()
            .skip_locked()
            .load(self)
            .await?;
        Ok(most_overdue(waiting, abandoned, limit))
    }

    async fn lock_due_reset_requests(&mut self, now: Millis, limit: i64) -> QueryResult<Vec<i64>> {
        due_reset_request_ids(now, limit)
            .for_update()
            .skip_locked()
            .load(self)
            .await
    }

    async fn lock_due_webhooks(&mut self, now: Millis, limit: i64) -> QueryResult<Vec<i64>> {
        // A row held by another claimer is skipped; the rows behind it of its account stay
        // behind it (`first_in_line` sees it still open).
        let waiting = waiting_webhooks(now, limit)
            .for_update()
            .skip_locked()
            .load(self)
            .await?;
        let abandoned = abandoned_webhooks(now, limit)
            .for_update()
            .skip_locked()
            .load(self)
            .await?;
        Ok(most_overdue(waiting, abandoned, limit))
    }
}

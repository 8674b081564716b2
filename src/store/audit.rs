//! The audit trail of password resets.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::connection::{with_conn, write_conn};
use super::schema::audit_events;
use super::{AuditEvent, NewAuditEvent, Store, StoreError};

impl Store {
    pub async fn record_audit(&self, event: NewAuditEvent) -> Result<(), StoreError> {
        write_conn!(self, |conn| {
            diesel::insert_into(audit_events::table)
                .values(&event)
                .execute(conn)
                .await?;
            Ok(())
        })
    }

    /// The newest `limit` events, newest first.
    pub async fn list_audit(&self, limit: i64) -> Result<Vec<AuditEvent>, StoreError> {
        with_conn!(self, |conn| {
            let events = audit_events::table
                .order(audit_events::id.desc())
                .limit(limit)
                .select(AuditEvent::as_select())
                .load(conn)
                .await?;
            Ok(events)
        })
    }
}

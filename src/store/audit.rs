//! The audit trail of password resets.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::access::run;
use super::schema::audit_events;
use super::{AuditEvent, NewAuditEvent, Store, StoreError};

impl Store {
    pub async fn record_audit(&self, event: NewAuditEvent) -> Result<(), StoreError> {
        run!(self, write, |conn| {
            diesel::insert_into(audit_events::table)
                .values(&event)
                .execute(conn)
                .await?;
            Ok(())
        })
    }

    /// The newest `limit` events, newest first.
    pub async fn list_audit(&self, limit: i64) -> Result<Vec<AuditEvent>, StoreError> {
        run!(self, read, |conn| {
            let events = conn
                .load(
                    audit_events::table
                        .order(audit_events::id.desc())
                        .limit(limit)
                        .select(AuditEvent::as_select()),
                )
                .await?;
            Ok(events)
        })
    }
}

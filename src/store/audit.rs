//! The audit trail of password resets.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::schema::audit_events;
use super::{AuditEvent, NewAuditEvent, Store, StoreError};

impl Store {
    pub async fn record_audit(&self, event: NewAuditEvent) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        diesel::insert_into(audit_events::table)
            .values(&event)
            .execute(&mut conn)
            .await?;
        Ok(())
    }

    /// The newest `limit` events, newest first.
    pub async fn list_audit(&self, limit: i64) -> Result<Vec<AuditEvent>, StoreError> {
        let mut conn = self.conn().await?;
        let events = audit_events::table
            .order(audit_events::id.desc())
            .limit(limit)
            .select(AuditEvent::as_select())
            .load(&mut conn)
            .await?;
        Ok(events)
    }
}

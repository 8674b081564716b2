//! Recording audit events. A failed write is logged, not returned: the reset it describes
//! has already happened and its answer must not turn into an error.

use std::net::IpAddr;

use crate::store::{AuditKind, NewAuditEvent};

use super::{Dialect, ResetCore};

impl ResetCore {
    pub(super) async fn audit(
        &self,
        kind: AuditKind,
        user_id: Option<i64>,
        dialect: Dialect,
        client_ip: IpAddr,
    ) {
        let event = self.audit_event(kind, user_id, dialect, client_ip);
        if let Err(err) = self.store.record_audit(event).await {
            tracing::error!(error = %err, kind = %kind, "could not record an audit event");
        }
    }

    /// The audit row of `kind`, stamped now.
    pub(super) fn audit_event(
        &self,
        kind: AuditKind,
        user_id: Option<i64>,
        dialect: Dialect,
        client_ip: IpAddr,
    ) -> NewAuditEvent {
        NewAuditEvent {
            at: self.clock.now_ms(),
            kind,
            user_id,
            dialect: Some(dialect.as_str().to_owned()),
            client_ip: Some(client_ip.to_string()),
        }
    }
}

//! Webhook deliveries as the rest of the service sees them (`webhooks.rs` queues and claims
//! them): one row per event and endpoint.

use std::fmt;

use diesel::prelude::*;

use super::schema::webhook_deliveries;
use super::text_enum::text_enum;
use super::User;
use crate::clock::Millis;

text_enum! {
    /// What a webhook reports (Standard Webhooks `type`).
    pub enum WebhookEvent {
        ResetRequested => "password.reset_requested",
        ResetCompleted => "password.reset_completed",
        PasswordChanged => "password.changed",
        UserCreated => "user.created",
        UserUpdated => "user.updated",
        UserDeleted => "user.deleted",
    }
}

impl WebhookEvent {
    /// Whether the event carries the new password (in the endpoint's format, if it asks).
    pub fn carries_password(self) -> bool {
        matches!(
            self,
            WebhookEvent::ResetCompleted | WebhookEvent::PasswordChanged
        )
    }
}

text_enum! {
    /// Lifecycle of a delivery: `pending` -> `sending` (claimed, leased) -> `delivered`, or
    /// back to `pending` for a retry, or `dead` once retries are exhausted.
    pub enum WebhookStatus {
        Pending => "pending",
        Sending => "sending",
        Delivered => "delivered",
        Dead => "dead",
    }
}

/// One queued delivery.
#[derive(Clone, PartialEq, Eq, Queryable, Selectable, Identifiable)]
#[diesel(
    table_name = webhook_deliveries,
    check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg)
)]
pub struct WebhookDelivery {
    pub id: i64,
    /// The `webhook-id` header, the same on every attempt.
    pub webhook_id: String,
    /// The endpoint's URL, as configured when the event was queued.
    pub endpoint: String,
    pub event: WebhookEvent,
    pub user_id: i64,
    /// The account's public id.
    pub account_id: String,
    pub email: String,
    /// The product's own id of the account, when it has one.
    pub external_id: Option<String>,
    pub dialect: Option<String>,
    /// When the change happened (and the row was queued).
    pub occurred_at: Millis,
    /// Sealed (`security::sealing`, for the `webhook_id`); `None` once delivered.
    pub password_hash: Option<String>,
    pub status: WebhookStatus,
    /// Attempts started (a claim counts as one).
    pub attempts: i32,
    pub next_attempt_at: Millis,
    pub lease_until: Option<Millis>,
    pub last_error: Option<String>,
    pub delivered_at: Option<Millis>,
}

impl fmt::Debug for WebhookDelivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The email is personal data; the hash, sealed or not, stays out of logs.
        f.debug_struct("WebhookDelivery")
            .field("id", &self.id)
            .field("webhook_id", &self.webhook_id)
            .field("event", &self.event)
            .field("user_id", &self.user_id)
            .field("status", &self.status)
            .field("attempts", &self.attempts)
            .field("next_attempt_at", &self.next_attempt_at)
            .field("lease_until", &self.lease_until)
            .finish_non_exhaustive()
    }
}

/// A delivery to queue before its account's row is known (an account being created or
/// changed in the same transaction): [`PendingWebhook::for_user`] completes it.
#[derive(Clone)]
pub struct PendingWebhook {
    pub webhook_id: String,
    pub endpoint: String,
    pub event: WebhookEvent,
    pub dialect: Option<String>,
    pub occurred_at: Millis,
    /// Sealed by the caller.
    pub password_hash: Option<String>,
}

impl fmt::Debug for PendingWebhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingWebhook")
            .field("webhook_id", &self.webhook_id)
            .field("event", &self.event)
            .finish_non_exhaustive()
    }
}

/// A fresh Standard Webhooks message id: stable across the retries of one delivery.
pub fn new_webhook_id() -> String {
    format!("msg_{}", uuid::Uuid::new_v4().simple())
}

impl PendingWebhook {
    /// The same delivery for another account, under an id of its own. Only for deliveries
    /// without a password hash: a hash is sealed for its delivery's id.
    pub fn for_another_account(&self) -> PendingWebhook {
        PendingWebhook {
            webhook_id: new_webhook_id(),
            password_hash: None,
            ..self.clone()
        }
    }

    /// The row for `user`'s account, due at once.
    pub fn for_user(self, user: &User, now: Millis) -> NewWebhookDelivery {
        NewWebhookDelivery {
            webhook_id: self.webhook_id,
            endpoint: self.endpoint,
            event: self.event,
            user_id: user.id,
            account_id: user.public_id.clone(),
            email: user.email.clone(),
            external_id: user.external_id.clone(),
            dialect: self.dialect,
            occurred_at: self.occurred_at,
            password_hash: self.password_hash,
            status: WebhookStatus::Pending,
            attempts: 0,
            next_attempt_at: now,
        }
    }
}

/// The row a delivery is queued as.
#[derive(Clone, Insertable)]
// For SQLite's multi-row INSERT (see `NewAuditEvent`).
#[diesel(table_name = webhook_deliveries, treat_none_as_default_value = false)]
pub struct NewWebhookDelivery {
    pub webhook_id: String,
    pub endpoint: String,
    pub event: WebhookEvent,
    pub user_id: i64,
    pub account_id: String,
    pub email: String,
    /// The product's own id of the account, when it has one.
    pub external_id: Option<String>,
    pub dialect: Option<String>,
    pub occurred_at: Millis,
    pub password_hash: Option<String>,
    pub status: WebhookStatus,
    pub attempts: i32,
    pub next_attempt_at: Millis,
}

impl fmt::Debug for NewWebhookDelivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewWebhookDelivery")
            .field("webhook_id", &self.webhook_id)
            .field("event", &self.event)
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}

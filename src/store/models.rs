//! Rows as the rest of the service sees them, and the values it hands in to create them.
//!
//! `Debug` is written by hand wherever a row carries a secret (password hash, token hash, a
//! mail body holding a link or code), so `?row` in a log line cannot leak it.

use std::fmt;

use diesel::prelude::*;

use super::schema::{
    access_tokens, audit_events, captchas, outbox, reset_requests, reset_tokens, users,
};
use super::text_enum::text_enum;
use crate::clock::Millis;

text_enum! {
    /// Whether an account may log in and recover its password.
    pub enum UserStatus {
        Active => "active",
        Inactive => "inactive",
        Banned => "banned",
    }
}

text_enum! {
    /// Lifecycle of an outbox row: `pending` -> `sending` (claimed, leased) -> `sent`, or back
    /// to `pending` for a retry, or `dead` once retries are exhausted.
    pub enum OutboxStatus {
        Pending => "pending",
        Sending => "sending",
        Sent => "sent",
        Dead => "dead",
    }
}

text_enum! {
    /// What a bearer token in `access_tokens` is good for.
    pub enum AccessTokenKind {
        Access => "access",
        Refresh => "refresh",
    }
}

text_enum! {
    /// What an audit event records.
    pub enum AuditKind {
        ResetRequested => "reset_requested",
        ResetCompleted => "reset_completed",
        RedemptionFailed => "redemption_failed",
        RecoveryIssued => "recovery_issued",
    }
}

/// Shown in place of a secret in `Debug` output.
const REDACTED: &str = "<redacted>";

fn redacted<T>(secret: &Option<T>) -> Option<&'static str> {
    secret.as_ref().map(|_| REDACTED)
}

#[derive(Clone, PartialEq, Eq, Queryable, Selectable, Identifiable)]
#[diesel(
    table_name = users,
    check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg)
)]
pub struct User {
    pub id: i64,
    pub public_id: String,
    pub email: String,
    pub nickname: Option<String>,
    pub status: UserStatus,
    pub language: String,
    pub password_hash: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub external_id: Option<String>,
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("public_id", &self.public_id)
            .field("external_id", &self.external_id)
            .field("status", &self.status)
            .field("language", &self.language)
            .field("password_hash", &redacted(&self.password_hash))
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .finish_non_exhaustive()
    }
}

/// `treat_none_as_default_value = false`: every INSERT has the same text, so an import's
/// batches reuse one prepared statement on SQLite (`insert_many.rs`).
#[derive(Clone, PartialEq, Eq, Insertable)]
#[diesel(table_name = users, treat_none_as_default_value = false)]
pub struct NewUser {
    /// Opaque id shown to clients, chosen by the caller (unique; a clash is a `Conflict`).
    pub public_id: String,
    /// Lowercased by the caller: the unique index is what makes emails case-insensitive.
    pub email: String,
    pub nickname: Option<String>,
    pub status: UserStatus,
    pub language: String,
    pub password_hash: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
    /// The product's own id (imports); unique where set.
    pub external_id: Option<String>,
}

impl fmt::Debug for NewUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewUser")
            .field("public_id", &self.public_id)
            .field("external_id", &self.external_id)
            .field("status", &self.status)
            .field("language", &self.language)
            .field("password_hash", &redacted(&self.password_hash))
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// Changes to a user; `None` leaves a column as it is (`nickname: Some(None)` clears it).
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserPatch {
    pub status: Option<UserStatus>,
    pub nickname: Option<Option<String>>,
}

#[derive(Clone, PartialEq, Eq, Queryable, Selectable, Identifiable, Associations)]
#[diesel(
    table_name = reset_tokens,
    belongs_to(User),
    check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg)
)]
pub struct ResetToken {
    pub id: i64,
    pub user_id: i64,
    pub dialect: String,
    pub token_hash: String,
    pub created_at: Millis,
    pub expires_at: Millis,
    pub used_at: Option<Millis>,
    pub failed_attempts: i32,
}

impl ResetToken {
    /// Unused (and not burned) and not yet expired.
    pub fn is_live(&self, now: Millis) -> bool {
        self.used_at.is_none() && self.expires_at > now
    }
}

impl fmt::Debug for ResetToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResetToken")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("dialect", &self.dialect)
            .field("token_hash", &REDACTED)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("used_at", &self.used_at)
            .field("failed_attempts", &self.failed_attempts)
            .finish()
    }
}

#[derive(Clone, Insertable)]
// For SQLite's multi-row INSERT (see `NewAuditEvent`).
#[diesel(table_name = reset_tokens, treat_none_as_default_value = false)]
pub struct NewResetToken {
    pub user_id: i64,
    pub dialect: String,
    /// Hex HMAC-SHA256 of the token, never the token itself.
    pub token_hash: String,
    pub created_at: Millis,
    pub expires_at: Millis,
}

impl fmt::Debug for NewResetToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewResetToken")
            .field("user_id", &self.user_id)
            .field("dialect", &self.dialect)
            .field("token_hash", &REDACTED)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// The queued reset request a token answers, for
/// [`Store::issue_reset_token`](super::Store::issue_reset_token): its row goes, and its audit
/// event is recorded, in the issuing transaction.
#[derive(Debug, Clone)]
pub struct QueuedIssue {
    pub request_id: i64,
    pub audit: NewAuditEvent,
}

/// Everything [`Store::complete_reset`](super::Store::complete_reset) writes in its one
/// transaction.
#[derive(Clone)]
pub struct CompleteReset {
    pub token_id: i64,
    pub user_id: i64,
    pub password_hash: String,
    /// The "your password was changed" notice.
    pub mail: NewOutboxMessage,
    /// The reset's audit record (`ResetCompleted`): the trail has it exactly when the
    /// password changed.
    pub audit: NewAuditEvent,
    /// The session the dialect's answer logs the user in with, if it does (Strapi,
    /// SelfCommunity): granted on the new password, after the old sessions are revoked.
    pub session: Vec<NewAccessToken>,
    /// The webhooks reporting it, queued in the same transaction.
    pub webhooks: Vec<super::NewWebhookDelivery>,
}

impl fmt::Debug for CompleteReset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompleteReset")
            .field("token_id", &self.token_id)
            .field("user_id", &self.user_id)
            .field("password_hash", &REDACTED)
            .field("mail", &self.mail)
            .field("audit", &self.audit)
            .field("session", &self.session.len())
            .finish()
    }
}

#[derive(Clone, PartialEq, Eq, Queryable, Selectable, Identifiable, Associations)]
#[diesel(
    table_name = access_tokens,
    belongs_to(User),
    check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg)
)]
pub struct AccessToken {
    pub id: i64,
    pub user_id: i64,
    pub token_hash: String,
    pub kind: AccessTokenKind,
    pub client_id: String,
    pub scope: String,
    pub created_at: Millis,
    pub expires_at: Millis,
    pub revoked_at: Option<Millis>,
}

impl AccessToken {
    /// Not revoked and not yet expired.
    pub fn is_active(&self, now: Millis) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("token_hash", &REDACTED)
            .field("kind", &self.kind)
            .field("client_id", &self.client_id)
            .field("scope", &self.scope)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("revoked_at", &self.revoked_at)
            .finish()
    }
}

#[derive(Clone, Insertable)]
#[diesel(table_name = access_tokens)]
pub struct NewAccessToken {
    pub user_id: i64,
    /// Hex HMAC-SHA256 of the bearer token.
    pub token_hash: String,
    pub kind: AccessTokenKind,
    pub client_id: String,
    pub scope: String,
    pub created_at: Millis,
    pub expires_at: Millis,
}

impl fmt::Debug for NewAccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewAccessToken")
            .field("user_id", &self.user_id)
            .field("token_hash", &REDACTED)
            .field("kind", &self.kind)
            .field("client_id", &self.client_id)
            .field("scope", &self.scope)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

#[derive(Clone, PartialEq, Eq, Queryable, Selectable, Identifiable)]
#[diesel(
    table_name = outbox,
    check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg)
)]
pub struct OutboxMessage {
    pub id: i64,
    /// `<uuid@resetd>`, sent as the `Message-ID` header on every attempt.
    pub message_id: String,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub status: OutboxStatus,
    /// Delivery attempts started (a claim counts as one).
    pub attempts: i32,
    pub next_attempt_at: Millis,
    pub lease_until: Option<Millis>,
    pub last_error: Option<String>,
    pub created_at: Millis,
    pub sent_at: Option<Millis>,
}

impl fmt::Debug for OutboxMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Bodies carry reset links and codes; the recipient is personal data.
        f.debug_struct("OutboxMessage")
            .field("id", &self.id)
            .field("message_id", &self.message_id)
            .field("status", &self.status)
            .field("attempts", &self.attempts)
            .field("next_attempt_at", &self.next_attempt_at)
            .field("lease_until", &self.lease_until)
            .field("last_error", &self.last_error)
            .field("created_at", &self.created_at)
            .field("sent_at", &self.sent_at)
            .finish_non_exhaustive()
    }
}

/// A message to queue; the store assigns its `Message-ID` and schedules it for now.
#[derive(Clone)]
pub struct NewOutboxMessage {
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
}

impl fmt::Debug for NewOutboxMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewOutboxMessage").finish_non_exhaustive()
    }
}

/// The row [`NewOutboxMessage`] becomes.
#[derive(Insertable)]
// For SQLite's multi-row INSERT (see `NewAuditEvent`).
#[diesel(table_name = outbox, treat_none_as_default_value = false)]
pub(super) struct OutboxRow {
    pub message_id: String,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub status: OutboxStatus,
    pub attempts: i32,
    pub next_attempt_at: Millis,
    pub created_at: Millis,
}

impl OutboxRow {
    pub(super) fn new(message: NewOutboxMessage, now: Millis) -> Self {
        OutboxRow {
            message_id: format!("<{}@resetd>", uuid::Uuid::new_v4()),
            recipient: message.recipient,
            subject: message.subject,
            body_text: message.body_text,
            body_html: message.body_html,
            status: OutboxStatus::Pending,
            attempts: 0,
            next_attempt_at: now,
            created_at: now,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(
    table_name = audit_events,
    check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg)
)]
pub struct AuditEvent {
    pub id: i64,
    pub at: Millis,
    pub kind: AuditKind,
    pub user_id: Option<i64>,
    pub dialect: Option<String>,
    pub client_ip: Option<String>,
}

#[derive(Debug, Clone, Insertable)]
// NULL written as NULL rather than as DEFAULT, which SQLite has no syntax for in a
// multi-row INSERT (`Store::settle` inserts a batch's events at once).
#[diesel(table_name = audit_events, treat_none_as_default_value = false)]
pub struct NewAuditEvent {
    pub at: Millis,
    pub kind: AuditKind,
    pub user_id: Option<i64>,
    pub dialect: Option<String>,
    pub client_ip: Option<String>,
}

/// An answered reset request waiting for the issuer (see `reset_requests` in the migrations).
#[derive(Clone, PartialEq, Eq, Queryable, Selectable, Identifiable)]
#[diesel(
    table_name = reset_requests,
    check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg)
)]
pub struct ResetRequest {
    pub id: i64,
    pub dialect: String,
    /// Normalized; may name no account.
    pub email: String,
    pub client_ip: Option<String>,
    pub created_at: Millis,
    /// Claimed by an issuer until then; `None` while waiting.
    pub lease_until: Option<Millis>,
}

impl fmt::Debug for ResetRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The email is personal data, and whether it has an account is what the queue hides.
        f.debug_struct("ResetRequest")
            .field("id", &self.id)
            .field("dialect", &self.dialect)
            .field("created_at", &self.created_at)
            .field("lease_until", &self.lease_until)
            .finish_non_exhaustive()
    }
}

/// A reset request as the request path queues it.
#[derive(Clone, Insertable)]
#[diesel(table_name = reset_requests, treat_none_as_default_value = false)]
pub struct NewResetRequest {
    pub dialect: String,
    /// Normalized by the caller.
    pub email: String,
    pub client_ip: Option<String>,
    pub created_at: Millis,
}

impl fmt::Debug for NewResetRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewResetRequest")
            .field("dialect", &self.dialect)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// A captcha handed out (`captchas`): hashes only, see `reset::captcha`.
#[derive(Clone, Insertable)]
#[diesel(table_name = captchas)]
pub struct NewCaptcha {
    /// Keyed hash of the ticket the client holds.
    pub id: String,
    /// Keyed hash of the ticket and the normalized answer.
    pub answer_hash: String,
    pub created_at: Millis,
    pub expires_at: Millis,
}

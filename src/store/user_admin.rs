//! What the admin API does to accounts beyond creating them: find by the product's id, list
//! a page, change the email, set a password hash, delete, count the legacy hashes.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::access::run;
use super::locks::RowLocks as _;
use super::outbox::insert_outbox;
use super::schema::{access_tokens, outbox, reset_requests, reset_tokens, users};
use super::{NewOutboxMessage, PendingWebhook, Store, StoreError, User, UserStatus};
use crate::clock::Millis;

/// Which accounts a page lists; every filter set must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFilter {
    /// Lowercased by the caller.
    pub email: Option<EmailFilter>,
    pub status: Option<UserStatus>,
    pub external_id: Option<String>,
    /// Accounts with a password hash that does not start with this (resetd's current
    /// argon2id prefix, `$argon2id$v=19$m=..,t=..,p=..$`): those still on a legacy hash.
    pub legacy_besides: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailFilter {
    Exact(String),
    Prefix(String),
}

/// `LIKE`'s wildcards in `text` made literal, with `\` as the escape.
fn like_prefix(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 1);
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// The filter as `users` filtered by it, for either backend. Each filter is bound whether set
/// or not (`? IS NULL OR ...`), so the query has one shape: a boxed query cannot cross into
/// the store's operation bodies.
macro_rules! filtered {
    ($filter:expr) => {{
        use diesel::expression::IntoSql as _;
        use diesel::sql_types::{Nullable, Text};
        let filter: &UserFilter = $filter;
        let (exact, prefix) = match &filter.email {
            Some(EmailFilter::Exact(email)) => (Some(email.clone()), None),
            Some(EmailFilter::Prefix(prefix)) => (None, Some(like_prefix(prefix))),
            None => (None, None),
        };
        let status = filter.status.map(|s| s.as_str().to_owned());
        let external_id = filter.external_id.clone();
        let legacy = filter.legacy_besides.as_deref().map(like_prefix);
        users::table
            .filter(
                exact
                    .clone()
                    .into_sql::<Nullable<Text>>()
                    .is_null()
                    .or(users::email.nullable().eq(exact)),
            )
            .filter(
                prefix
                    .clone()
                    .into_sql::<Nullable<Text>>()
                    .is_null()
                    .or(users::email.nullable().like(prefix).escape('\\')),
            )
            .filter(
                status
                    .clone()
                    .into_sql::<Nullable<Text>>()
                    .is_null()
                    .or(users::status.nullable().eq(status)),
            )
            .filter(
                external_id
                    .clone()
                    .into_sql::<Nullable<Text>>()
                    .is_null()
                    .or(users::external_id.eq(external_id)),
            )
            .filter(
                legacy
                    .clone()
                    .into_sql::<Nullable<Text>>()
                    .is_null()
                    .or(users::password_hash
                        .is_not_null()
                        .and(users::password_hash.not_like(legacy).escape('\\'))
                        .nullable()),
            )
    }};
}

/// Ends the account's live reset tokens and revokes its sessions.
macro_rules! end_tokens {
    ($conn:expr, $id:expr, $now:expr) => {
        diesel::update(
            reset_tokens::table
                .filter(reset_tokens::user_id.eq($id))
                .filter(reset_tokens::used_at.is_null()),
        )
        .set(reset_tokens::used_at.eq($now))
        .execute($conn)
        .await?;
        diesel::update(
            access_tokens::table
                .filter(access_tokens::user_id.eq($id))
                .filter(access_tokens::revoked_at.is_null()),
        )
        .set(access_tokens::revoked_at.eq($now))
        .execute($conn)
        .await?;
    };
}

impl Store {
    pub async fn user_by_external_id(&self, external_id: &str) -> Result<Option<User>, StoreError> {
        let external_id = external_id.to_owned();
        run!(self, read, |conn| {
            let user = conn
                .get_result(
                    users::table
                        .filter(users::external_id.eq(external_id))
                        .select(User::as_select()),
                )
                .await
                .optional()?;
            Ok(user)
        })
    }

    /// Up to `limit` accounts matching `filter` with a row id above `after`, in id order: a
    /// page that later inserts and deletes cannot shift.
    pub async fn list_users_page(
        &self,
        filter: UserFilter,
        after: Option<i64>,
        limit: i64,
    ) -> Result<Vec<User>, StoreError> {
        run!(self, read, |conn| {
            let page = conn
                .load(
                    filtered!(&filter)
                        .filter(users::id.gt(after.unwrap_or(0)))
                        .order(users::id.asc())
                        .limit(limit)
                        .select(User::as_select()),
                )
                .await?;
            Ok(page)
        })
    }

    /// How many accounts match `filter` (the legacy-hash gauge).
    pub async fn count_users(&self, filter: UserFilter) -> Result<i64, StoreError> {
        run!(self, read, |conn| {
            let count = conn.get_result(filtered!(&filter).count()).await?;
            Ok(count)
        })
    }

    /// Moves the account to `new_email` (lowercased by the caller; taken is a `Conflict`),
    /// ends its live reset tokens and sessions, and queues `notice` (for the old address),
    /// and `webhooks` about it, in one durable transaction. `None` if there is no such account.
    pub async fn change_user_email(
        &self,
        id: i64,
        new_email: String,
        notice: NewOutboxMessage,
        webhooks: Vec<PendingWebhook>,
        now: Millis,
    ) -> Result<Option<User>, StoreError> {
        run!(self, durable_transaction, |conn| {
            conn.lock_user(id).await?;
            let Some(user) = diesel::update(users::table.find(id))
                .set((users::email.eq(&new_email), users::updated_at.eq(now)))
                .returning(User::as_returning())
                .get_result(conn)
                .await
                .optional()?
            else {
                return Ok(None);
            };
            end_tokens!(conn, id, now);
            insert_outbox(notice, now).execute(conn).await?;
            let rows = webhooks.into_iter().map(|w| w.for_user(&user, now));
            super::webhooks::enqueue(conn, rows.collect()).await?;
            Ok(Some(user))
        })
    }

    /// Sets the account's password hash as given (a product changed the password itself)
    /// and ends its live reset tokens and sessions, as a reset would, queueing `webhooks`
    /// about it. `None` if there is no such account.
    pub async fn set_user_password_hash(
        &self,
        id: i64,
        password_hash: String,
        webhooks: Vec<PendingWebhook>,
        now: Millis,
    ) -> Result<Option<User>, StoreError> {
        run!(self, durable_transaction, |conn| {
            conn.lock_user(id).await?;
            let Some(user) = diesel::update(users::table.find(id))
                .set((
                    users::password_hash.eq(&password_hash),
                    users::updated_at.eq(now),
                ))
                .returning(User::as_returning())
                .get_result(conn)
                .await
                .optional()?
            else {
                return Ok(None);
            };
            end_tokens!(conn, id, now);
            let rows = webhooks.into_iter().map(|w| w.for_user(&user, now));
            super::webhooks::enqueue(conn, rows.collect()).await?;
            Ok(Some(user))
        })
    }

    /// Deletes the account with its tokens and sessions (the foreign keys cascade), the mail
    /// queued for its address and its pending reset requests. Audit events stay, with the
    /// account's id set to NULL by the foreign key: they never held the email. `webhooks`
    /// (`user.deleted`) are queued in the same transaction; their rows do not depend on the
    /// account's. Returns the deleted account, or `None`.
    pub async fn delete_user(
        &self,
        id: i64,
        webhooks: Vec<PendingWebhook>,
        now: Millis,
    ) -> Result<Option<User>, StoreError> {
        run!(self, durable_transaction, |conn| {
            let Some(user) = diesel::delete(users::table.find(id))
                .returning(User::as_returning())
                .get_result(conn)
                .await
                .optional()?
            else {
                return Ok(None);
            };
            diesel::delete(outbox::table.filter(outbox::recipient.eq(&user.email)))
                .execute(conn)
                .await?;
            diesel::delete(reset_requests::table.filter(reset_requests::email.eq(&user.email)))
                .execute(conn)
                .await?;
            let rows = webhooks.into_iter().map(|w| w.for_user(&user, now));
            super::webhooks::enqueue(conn, rows.collect()).await?;
            Ok(Some(user))
        })
    }
}

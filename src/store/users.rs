//! Accounts.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::access::run;
use super::schema::users;
use super::{NewUser, PendingWebhook, Store, StoreError, User, UserPatch};
use crate::clock::Millis;

impl Store {
    /// Creates an account, durably (see `access.rs`). A taken email (or public id) is
    /// [`StoreError::Conflict`].
    pub async fn create_user(&self, new_user: NewUser) -> Result<User, StoreError> {
        self.create_user_announced(new_user, Vec::new()).await
    }

    /// Creates an account and queues `webhooks` about it in the same transaction.
    pub async fn create_user_announced(
        &self,
        new_user: NewUser,
        webhooks: Vec<PendingWebhook>,
    ) -> Result<User, StoreError> {
        run!(self, durable_transaction, |conn| {
            let user = diesel::insert_into(users::table)
                .values(&new_user)
                .returning(User::as_returning())
                .get_result(conn)
                .await?;
            let now = new_user.created_at;
            let rows = webhooks
                .into_iter()
                .map(|w| w.for_user(&user, now))
                .collect();
            super::webhooks::enqueue(conn, rows).await?;
            Ok(user)
        })
    }

    /// Looks an account up by its email, which the caller has lowercased.
    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        let email = email.to_owned();
        run!(self, read, |conn| {
            let user = conn
                .get_result(
                    users::table
                        .filter(users::email.eq(email))
                        .select(User::as_select()),
                )
                .await
                .optional()?;
            Ok(user)
        })
    }

    /// The accounts of any of `emails` (lowercased by the caller), in no particular order.
    pub async fn users_by_emails(&self, emails: &[&str]) -> Result<Vec<User>, StoreError> {
        if emails.is_empty() {
            return Ok(Vec::new());
        }
        let emails: Vec<String> = emails.iter().map(|&e| e.to_owned()).collect();
        run!(self, read, |conn| {
            let users = conn
                .load(
                    users::table
                        .filter(users::email.eq_any(emails))
                        .select(User::as_select()),
                )
                .await?;
            Ok(users)
        })
    }

    pub async fn user_by_public_id(&self, public_id: &str) -> Result<Option<User>, StoreError> {
        let public_id = public_id.to_owned();
        run!(self, read, |conn| {
            let user = conn
                .get_result(
                    users::table
                        .filter(users::public_id.eq(public_id))
                        .select(User::as_select()),
                )
                .await
                .optional()?;
            Ok(user)
        })
    }

    /// The id of the account with `email` (lowercased by the caller): the id alone, which
    /// SQLite reads from the unique index without touching the row, so that naming an
    /// account costs what naming none costs (SECURITY.md 23).
    pub async fn user_id_by_email(&self, email: &str) -> Result<Option<i64>, StoreError> {
        let email = email.to_owned();
        run!(self, read, |conn| {
            let query = users::table
                .filter(users::email.eq(email))
                .select(users::id);
            Ok(conn.get_result(query).await.optional()?)
        })
    }

    /// [`Self::user_id_by_email`] by the account's public id.
    pub async fn user_id_by_public_id(&self, public_id: &str) -> Result<Option<i64>, StoreError> {
        let public_id = public_id.to_owned();
        run!(self, read, |conn| {
            let query = users::table
                .filter(users::public_id.eq(public_id))
                .select(users::id);
            Ok(conn.get_result(query).await.optional()?)
        })
    }

    pub async fn user_by_id(&self, id: i64) -> Result<Option<User>, StoreError> {
        run!(self, read, |conn| {
            let user = conn
                .get_result(users::table.find(id).select(User::as_select()))
                .await
                .optional()?;
            Ok(user)
        })
    }

    /// Every account, oldest first.
    pub async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        run!(self, read, |conn| {
            let all = conn
                .load(
                    users::table
                        .order(users::id.asc())
                        .select(User::as_select()),
                )
                .await?;
            Ok(all)
        })
    }

    /// Applies `patch` (durably: a ban must survive a power cut) and returns the updated
    /// account, or `None` if there is no such id.
    pub async fn update_user(
        &self,
        id: i64,
        patch: UserPatch,
        now: Millis,
    ) -> Result<Option<User>, StoreError> {
        self.update_user_announced(id, patch, Vec::new(), now).await
    }

    /// Changes an account and queues `webhooks` about it in the same transaction (none when
    /// there is no such account).
    pub async fn update_user_announced(
        &self,
        id: i64,
        patch: UserPatch,
        webhooks: Vec<PendingWebhook>,
        now: Millis,
    ) -> Result<Option<User>, StoreError> {
        run!(self, durable_transaction, |conn| {
            let user = diesel::update(users::table.find(id))
                .set((&patch, users::updated_at.eq(now)))
                .returning(User::as_returning())
                .get_result(conn)
                .await
                .optional()?;
            if let Some(user) = &user {
                let rows = webhooks
                    .into_iter()
                    .map(|w| w.for_user(user, now))
                    .collect();
                super::webhooks::enqueue(conn, rows).await?;
            }
            Ok(user)
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::store::test_support::{new_user, store_tests, TestStore};
    use crate::store::{StoreError, UserPatch, UserStatus};

    store_tests! {
        async fn duplicate_email_is_a_conflict(t: TestStore) {
            let first = t.user("ada@example.test", 1).await;

            let err = t
                .store
                .create_user(new_user("ada@example.test", 2))
                .await
                .expect_err("duplicate accepted");
            assert!(
                matches!(err, StoreError::Conflict { what: "email" }),
                "{err:?}"
            );
            assert_eq!(err.to_string(), "email already exists");
            assert_eq!(t.store.list_users().await.expect("list"), vec![first]);
        }

        async fn lookups_and_patch(t: TestStore) {
            let user = t.user("bob@example.test", 10).await;
            assert_eq!(user.status, UserStatus::Active);
            assert_eq!(user.language, "en-US");
            assert_eq!(user.created_at, 10);

            let by_email = t.store.user_by_email("bob@example.test").await;
            let by_public = t.store.user_by_public_id(&user.public_id).await;
            let by_id = t.store.user_by_id(user.id).await;
            for found in [by_email, by_public, by_id] {
                assert_eq!(found.expect("lookup").as_ref(), Some(&user));
            }
            assert_eq!(
                t.store.user_by_email("nobody@x").await.expect("lookup"),
                None
            );
            let ids = [
                t.store.user_id_by_email("bob@example.test").await,
                t.store.user_id_by_public_id(&user.public_id).await,
            ];
            for id in ids {
                assert_eq!(id.expect("lookup"), Some(user.id));
            }
            let none = [
                t.store.user_id_by_email("nobody@x").await,
                t.store.user_id_by_public_id("Nobody000000").await,
            ];
            for id in none {
                assert_eq!(id.expect("lookup"), None);
            }

            let patch = UserPatch {
                status: Some(UserStatus::Banned),
                nickname: Some(Some("bobby".to_owned())),
            };
            let patched = t.store.update_user(user.id, patch, 20).await;
            let patched = patched.expect("patch").expect("user exists");
            assert_eq!(patched.status, UserStatus::Banned);
            assert_eq!(patched.nickname.as_deref(), Some("bobby"));
            assert_eq!(patched.updated_at, 20);

            let clear = UserPatch {
                status: None,
                nickname: Some(None),
            };
            let cleared = t.store.update_user(user.id, clear, 30).await;
            let cleared = cleared.expect("patch").expect("user exists");
            assert_eq!(cleared.status, UserStatus::Banned);
            assert_eq!(cleared.nickname, None);

            let missing = t.store.update_user(9999, UserPatch::default(), 40).await;
            assert_eq!(missing.expect("patch"), None);
        }
    }
}

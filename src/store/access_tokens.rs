//! Bearer tokens (access and refresh) handed out after a reset or a login.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::access::run;
use super::locks::RowLocks as _;
use super::schema::{access_tokens, users};
use super::{AccessToken, NewAccessToken, Store, StoreError, User, UserStatus};

impl Store {
    /// Stores the tokens of one grant (typically an access and a refresh token) together.
    pub async fn insert_access_tokens(
        &self,
        tokens: Vec<NewAccessToken>,
    ) -> Result<(), StoreError> {
        run!(self, transaction, |conn| {
            for token in &tokens {
                diesel::insert_into(access_tokens::table)
                    .values(token)
                    .execute(conn)
                    .await?;
            }
            Ok(())
        })
    }

    /// Stores the tokens of one grant for `user_id`, but only while the account is active and
    /// its password hash is still `password_hash`, the one the grant was checked against;
    /// `false` (nothing stored) otherwise. SECURITY 21: a login that verified the old
    /// password while a reset was committing must not leave a session behind it. The
    /// account's row lock makes this take turns with `complete_reset`, which takes the same
    /// lock: either the grant commits first and the reset revokes it, or the reset commits
    /// first and the grant sees the new hash. (A foreign-key check alone takes only KEY
    /// SHARE, which the reset's lock lets through.)
    pub async fn insert_grant_if_password_is(
        &self,
        user_id: i64,
        password_hash: Option<&str>,
        tokens: Vec<NewAccessToken>,
    ) -> Result<bool, StoreError> {
        let password_hash = password_hash.map(str::to_owned);
        run!(self, transaction, |conn| {
            conn.lock_user(user_id).await?;
            let current = users::table
                .find(user_id)
                .select((users::status, users::password_hash))
                .get_result::<(UserStatus, Option<String>)>(conn)
                .await
                .optional()?;
            let unchanged = matches!(
                &current,
                Some((UserStatus::Active, hash)) if *hash == password_hash
            );
            if !unchanged {
                return Ok(false);
            }
            for token in &tokens {
                diesel::insert_into(access_tokens::table)
                    .values(token)
                    .execute(conn)
                    .await?;
            }
            Ok(true)
        })
    }

    /// The token with this hash and its owner; expired and revoked tokens too (the caller
    /// judges, e.g. introspection answers `active: false`).
    pub async fn find_access_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<(AccessToken, User)>, StoreError> {
        let token_hash = token_hash.to_owned();
        run!(self, read, |conn| {
            let found = conn
                .get_result(
                    access_tokens::table
                        .inner_join(users::table)
                        .filter(access_tokens::token_hash.eq(token_hash))
                        .select((AccessToken::as_select(), User::as_select())),
                )
                .await
                .optional()?;
            Ok(found)
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::store::test_support::{store_tests, TestStore};
    use crate::store::{AccessTokenKind, NewAccessToken, StoreError};

    fn grant(user_id: i64, hash: &str, kind: AccessTokenKind) -> NewAccessToken {
        NewAccessToken {
            user_id,
            token_hash: hash.to_owned(),
            kind,
            client_id: "app".to_owned(),
            scope: "profile".to_owned(),
            created_at: 5,
            expires_at: 1_000,
        }
    }

    store_tests! {
        async fn insert_and_find_with_owner(t: TestStore) {
            let user = t.user("f@example.test", 0).await;
            let tokens = vec![
                grant(user.id, "a", AccessTokenKind::Access),
                grant(user.id, "r", AccessTokenKind::Refresh),
            ];
            t.store.insert_access_tokens(tokens).await.expect("insert");

            let found = t.store.find_access_token("r").await.expect("find");
            let (token, owner) = found.expect("token row");
            assert_eq!(token.kind, AccessTokenKind::Refresh);
            assert_eq!(token.created_at, 5);
            assert!(token.is_active(999));
            assert!(!token.is_active(1_000));
            assert_eq!(owner, user);
            assert_eq!(t.store.find_access_token("zzz").await.expect("find"), None);

            // A clash rolls back the whole grant.
            let clash = vec![
                grant(user.id, "fresh", AccessTokenKind::Access),
                grant(user.id, "a", AccessTokenKind::Refresh),
            ];
            let err = t
                .store
                .insert_access_tokens(clash)
                .await
                .expect_err("clash");
            assert!(
                matches!(err, StoreError::Conflict { what: "token" }),
                "{err:?}"
            );
            assert_eq!(
                t.store.find_access_token("fresh").await.expect("find"),
                None
            );
        }
    }
}

//! Bearer tokens (access and refresh) handed out after a reset or a login.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::connection::{with_conn, write_transaction};
use super::schema::{access_tokens, users};
use super::{AccessToken, NewAccessToken, Store, StoreError, User};

impl Store {
    /// Stores the tokens of one grant (typically an access and a refresh token) together.
    pub async fn insert_access_tokens(
        &self,
        tokens: Vec<NewAccessToken>,
    ) -> Result<(), StoreError> {
        write_transaction!(self, |conn| {
            for token in &tokens {
                diesel::insert_into(access_tokens::table)
                    .values(token)
                    .execute(conn)
                    .await?;
            }
            Ok(())
        })
    }

    /// The token with this hash and its owner; expired and revoked tokens too (the caller
    /// judges, e.g. introspection answers `active: false`).
    pub async fn find_access_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<(AccessToken, User)>, StoreError> {
        with_conn!(self, |conn| {
            let found = access_tokens::table
                .inner_join(users::table)
                .filter(access_tokens::token_hash.eq(token_hash))
                .select((AccessToken::as_select(), User::as_select()))
                .get_result(conn)
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

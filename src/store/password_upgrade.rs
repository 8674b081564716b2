//! Replacing a stored password hash by a stronger one of the same password, after a login
//! proved the password (an imported legacy hash, or argon2id under old parameters).

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::access::run;
use super::schema::users;
use super::{Store, StoreError};
use crate::clock::Millis;

impl Store {
    /// Sets `upgraded` as `user_id`'s hash if it still is `verified`, durably; whether it
    /// did. A compare-and-set: a reset or an admin change that committed since the login read
    /// the account is never overwritten with a hash of the older password.
    pub async fn upgrade_password_hash(
        &self,
        user_id: i64,
        verified: String,
        upgraded: String,
        now: Millis,
    ) -> Result<bool, StoreError> {
        run!(self, durable_transaction, |conn| {
            let changed = diesel::update(
                users::table
                    .find(user_id)
                    .filter(users::password_hash.eq(&verified)),
            )
            .set((
                users::password_hash.eq(&upgraded),
                users::updated_at.eq(now),
            ))
            .execute(conn)
            .await?;
            Ok(changed == 1)
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::store::test_support::{store_tests, TestStore};

    store_tests! {
        async fn upgrades_only_the_hash_it_verified(t: TestStore) {
            let user = t.user("legacy@example.test", 1).await;
            let verified = user.password_hash.clone().expect("a hash");
            let store = &t.store;

            let stale = store.upgrade_password_hash(user.id, "other".into(), "new-1".into(), 2);
            assert!(!stale.await.expect("upgrade"), "a hash it did not verify was replaced");
            let upgraded = store.upgrade_password_hash(user.id, verified.clone(), "new-2".into(), 3);
            assert!(upgraded.await.expect("upgrade"));
            let again = store.upgrade_password_hash(user.id, verified, "new-3".into(), 4);
            assert!(!again.await.expect("upgrade"), "upgraded twice");

            let now = store.user_by_id(user.id).await.expect("read").expect("user");
            assert_eq!(now.password_hash.as_deref(), Some("new-2"));
            assert_eq!(now.updated_at, 3);
        }
    }
}

//! Key/value settings the service keeps for itself (e.g. the generated server secret).

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::access::run;
use super::schema::settings;
use super::{Store, StoreError};
use crate::clock::Millis;

impl Store {
    /// Returns the value stored under `key`, storing `init_value` first if there is none.
    ///
    /// Insert-if-absent then read: when several processes race, the first insert wins and
    /// every one of them reads that value.
    pub async fn get_or_init_setting(
        &self,
        key: &str,
        init_value: &str,
        now: Millis,
    ) -> Result<String, StoreError> {
        let (key, init_value) = (key.to_owned(), init_value.to_owned());
        run!(self, write, |conn| {
            diesel::insert_into(settings::table)
                .values((
                    settings::key.eq(&key),
                    settings::value.eq(&init_value),
                    settings::created_at.eq(now),
                ))
                .on_conflict(settings::key)
                .do_nothing()
                .execute(conn)
                .await?;
            let value = settings::table
                .find(&key)
                .select(settings::value)
                .get_result(conn)
                .await?;
            Ok(value)
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::store::test_support::{store_tests, TestStore};

    store_tests! {
        async fn first_value_wins(t: TestStore) {
            let first = t.store.get_or_init_setting("secret", "aaa", 1).await;
            let second = t.store.get_or_init_setting("secret", "bbb", 2).await;
            assert_eq!(first.expect("first").as_str(), "aaa");
            assert_eq!(second.expect("second").as_str(), "aaa");
        }
    }
}

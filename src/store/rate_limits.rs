//! Rate-limit counters: one row per key and fixed window, counted up by one atomic statement,
//! so that every replica on the database counts into the same row (SECURITY.md item 3).
//!
//! What a key means, how long its window is and what the limit is belong to the caller
//! (`security::rate_limit`); the store only counts.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::access::run;
use super::reused::Reused;
use super::schema::rate_limits;
use super::{Store, StoreError};
use crate::clock::Millis;

impl Store {
    /// Counts one hit on `key` in the window starting at `window_start` and returns the
    /// window's count including this hit.
    ///
    /// One statement, `INSERT ... ON CONFLICT (key, window_start) DO UPDATE SET count =
    /// count + 1 RETURNING count`: atomic on both backends (the conflicting row is locked
    /// and re-read on PostgreSQL; SQLite serialises writers), so of N concurrent hits on one
    /// window each sees a different count, 1 to N, whichever replica it came through. It
    /// runs in autocommit: no transaction to hold a lock longer than the statement.
    pub async fn hit_rate_limit(&self, key: &str, window_start: Millis) -> Result<i64, StoreError> {
        // `take_rate_limit` with a cap the 32-bit counter itself sets.
        let cap = i64::from(i32::MAX);
        let count = self.take_rate_limit(key, window_start, cap).await?;
        Ok(count.unwrap_or(cap))
    }

    /// Counts one hit of `key` in the window starting at `window_start` unless the count has
    /// reached `max` already: the new count, or `None` (nothing counted). One statement (the
    /// upsert above with `WHERE count < max` on its update), so concurrent callers never pass
    /// `max` together.
    pub async fn take_rate_limit(
        &self,
        key: &str,
        window_start: Millis,
        max: i64,
    ) -> Result<Option<i64>, StoreError> {
        // The WHERE of `ON CONFLICT DO UPDATE` is this trait's `filter`, not `QueryDsl`'s.
        use diesel::query_dsl::methods::FilterDsl as _;
        let max = i32::try_from(max).unwrap_or(i32::MAX);
        let key = key.to_owned();
        run!(self, write, |conn| {
            let count = Reused(
                diesel::insert_into(rate_limits::table)
                    .values((
                        rate_limits::key.eq(key),
                        rate_limits::window_start.eq(window_start),
                        rate_limits::count.eq(1),
                    ))
                    .on_conflict((rate_limits::key, rate_limits::window_start))
                    .do_update()
                    .set(rate_limits::count.eq(rate_limits::count + 1))
                    .filter(rate_limits::count.lt(max))
                    .returning(rate_limits::count),
            )
            .get_result::<i32>(conn)
            .await
            .optional()?;
            Ok(count.map(i64::from))
        })
    }

    /// Takes back one hit of `key` in the window starting at `window_start` (never below 0).
    pub async fn give_back_rate_limit(
        &self,
        key: &str,
        window_start: Millis,
    ) -> Result<(), StoreError> {
        let key = key.to_owned();
        run!(self, write, |conn| {
            Reused(
                diesel::update(
                    rate_limits::table
                        .find((key, window_start))
                        .filter(rate_limits::count.gt(0)),
                )
                .set(rate_limits::count.eq(rate_limits::count - 1)),
            )
            .execute(conn)
            .await?;
            Ok(())
        })
    }

    /// The count of `key` in the window starting at `window_start` (0 when never hit),
    /// without counting: for limits checked before the event they count has happened.
    pub async fn rate_limit_count(
        &self,
        key: &str,
        window_start: Millis,
    ) -> Result<i64, StoreError> {
        let key = key.to_owned();
        run!(self, read, |conn| {
            let count = conn
                .first::<_, i32>(
                    rate_limits::table
                        .find((key, window_start))
                        .select(rate_limits::count),
                )
                .await
                .optional()?;
            Ok(count.map_or(0, i64::from))
        })
    }

    /// Deletes the windows that started before `before`; returns how many rows went.
    pub async fn prune_rate_limits(&self, before: Millis) -> Result<usize, StoreError> {
        run!(self, write, |conn| {
            let deleted =
                diesel::delete(rate_limits::table.filter(rate_limits::window_start.lt(before)))
                    .execute(conn)
                    .await?;
            Ok(deleted)
        })
    }

    /// Every key with a counter, sorted (tests look at what the table holds).
    #[cfg(test)]
    pub(crate) async fn rate_limit_keys(&self) -> Result<Vec<String>, StoreError> {
        run!(self, read, |conn| {
            let keys = conn
                .load::<_, String>(
                    rate_limits::table
                        .select(rate_limits::key)
                        .distinct()
                        .order(rate_limits::key),
                )
                .await?;
            Ok(keys)
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::store::test_support::{store_tests, TestStore};
    use crate::store::Store;

    store_tests! {
        async fn counts_per_key_and_window(t: TestStore) {
            let s = &t.store;
            assert_eq!(s.rate_limit_count("ip:192.0.2.1", 0).await.expect("read"), 0);
            for expected in 1..=3 {
                assert_eq!(s.hit_rate_limit("ip:192.0.2.1", 0).await.expect("hit"), expected);
            }
            assert_eq!(s.rate_limit_count("ip:192.0.2.1", 0).await.expect("read"), 3);
            // Another window and another key count from one again.
            assert_eq!(s.hit_rate_limit("ip:192.0.2.1", 60_000).await.expect("hit"), 1);
            assert_eq!(s.hit_rate_limit("ip:192.0.2.2", 0).await.expect("hit"), 1);
            assert_eq!(s.rate_limit_count("ip:192.0.2.1", 0).await.expect("read"), 3);
        }

        async fn taking_stops_at_the_limit_and_gives_back(t: TestStore) {
            let s = &t.store;
            assert_eq!(s.take_rate_limit("k", 0, 2).await.expect("take"), Some(1));
            assert_eq!(s.take_rate_limit("k", 0, 2).await.expect("take"), Some(2));
            assert_eq!(s.take_rate_limit("k", 0, 2).await.expect("take"), None);
            assert_eq!(s.rate_limit_count("k", 0).await.expect("read"), 2);
            s.give_back_rate_limit("k", 0).await.expect("give back");
            assert_eq!(s.take_rate_limit("k", 0, 2).await.expect("take"), Some(2));
            for _ in 0..3 {
                s.give_back_rate_limit("k", 0).await.expect("give back");
            }
            assert_eq!(s.rate_limit_count("k", 0).await.expect("read"), 0);
            // Nothing to give back in a window never hit.
            s.give_back_rate_limit("k", 60_000).await.expect("give back");
            assert_eq!(s.rate_limit_count("k", 60_000).await.expect("read"), 0);
        }

        async fn pruning_deletes_only_older_windows(t: TestStore) {
            let s = &t.store;
            for window_start in [0, 60_000, 120_000] {
                s.hit_rate_limit("k", window_start).await.expect("hit");
            }
            assert_eq!(s.prune_rate_limits(120_000).await.expect("prune"), 2);
            assert_eq!(s.rate_limit_count("k", 0).await.expect("read"), 0);
            assert_eq!(s.rate_limit_count("k", 60_000).await.expect("read"), 0);
            assert_eq!(s.rate_limit_count("k", 120_000).await.expect("read"), 1);
            assert_eq!(s.prune_rate_limits(120_000).await.expect("prune again"), 0);
        }

        /// SECURITY.md 3: the limits live in the store, so replicas share them. Two handles
        /// with pools of their own on one database stand in for two replicas; hits through
        /// both at once land in one counter, each seeing a count of its own.
        async fn security_03_two_store_handles_share_one_counter(t: TestStore) {
            let other = Store::connect(t.url()).await.expect("second handle");
            let one = &t.store;
            assert_eq!(one.hit_rate_limit("account:abc", 0).await.expect("hit"), 1);
            assert_eq!(other.hit_rate_limit("account:abc", 0).await.expect("hit"), 2);
            assert_eq!(one.rate_limit_count("account:abc", 0).await.expect("read"), 2);

            let hits = (0..40).map(|i| {
                let store = if i % 2 == 0 { one.clone() } else { other.clone() };
                async move { store.hit_rate_limit("account:abc", 0).await }
            });
            let mut counts: Vec<i64> = futures_util::future::join_all(hits)
                .await
                .into_iter()
                .map(|count| count.expect("concurrent hit"))
                .collect();
            counts.sort_unstable();
            assert_eq!(counts, (3..=42).collect::<Vec<i64>>(), "no hit lost or counted twice");
            assert_eq!(other.rate_limit_count("account:abc", 0).await.expect("read"), 42);
        }
    }
}

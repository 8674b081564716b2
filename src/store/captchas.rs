//! Captchas handed out and not yet answered. The store keeps hashes only and makes an answer
//! single use: taking a captcha deletes its row, so of any number of concurrent attempts on
//! one ticket exactly one gets to compare an answer.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::access::run;
use super::schema::captchas;
use super::{NewCaptcha, Store, StoreError};
use crate::clock::Millis;

impl Store {
    /// Stores a captcha, first deleting those that expired (an indexed range delete, so
    /// abandoned captchas cost nothing for long).
    pub async fn insert_captcha(&self, captcha: NewCaptcha) -> Result<(), StoreError> {
        run!(self, write, |conn| {
            diesel::delete(captchas::table.filter(captchas::expires_at.le(captcha.created_at)))
                .execute(conn)
                .await?;
            diesel::insert_into(captchas::table)
                .values(captcha)
                .execute(conn)
                .await?;
            Ok(())
        })
    }

    /// Deletes the captcha whose ticket hashes to `id` and returns its answer hash, unless
    /// it was unknown, already taken, or expired at `now`. One statement (`DELETE ...
    /// RETURNING`), so two attempts can never both get the answer.
    pub async fn take_captcha(&self, id: &str, now: Millis) -> Result<Option<String>, StoreError> {
        let id = id.to_owned();
        run!(self, write, |conn| {
            let taken = diesel::delete(captchas::table.filter(captchas::id.eq(id)))
                .returning((captchas::answer_hash, captchas::expires_at))
                .get_result::<(String, Millis)>(conn)
                .await
                .optional()?;
            Ok(taken
                .and_then(|(answer_hash, expires_at)| (now < expires_at).then_some(answer_hash)))
        })
    }

    /// How many captchas are stored (tests look at what the table holds).
    #[cfg(test)]
    pub(crate) async fn captcha_count(&self) -> Result<i64, StoreError> {
        run!(self, read, |conn| {
            let count = conn.get_result(captchas::table.count()).await?;
            Ok(count)
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::store::test_support::{store_tests, TestStore};
    use crate::store::NewCaptcha;

    fn captcha(id: &str, created_at: i64, expires_at: i64) -> NewCaptcha {
        NewCaptcha {
            id: id.to_owned(),
            answer_hash: format!("answer-of-{id}"),
            created_at,
            expires_at,
        }
    }

    store_tests! {
        async fn a_captcha_is_taken_once(t: TestStore) {
            let s = &t.store;
            s.insert_captcha(captcha("a", 0, 1_000)).await.expect("insert");
            assert_eq!(s.take_captcha("a", 10).await.expect("take").as_deref(), Some("answer-of-a"));
            assert_eq!(s.take_captcha("a", 10).await.expect("take"), None);
            assert_eq!(s.take_captcha("never-issued", 10).await.expect("take"), None);
        }

        async fn an_expired_captcha_is_not_answered_and_is_pruned(t: TestStore) {
            let s = &t.store;
            s.insert_captcha(captcha("old", 0, 1_000)).await.expect("insert");
            s.insert_captcha(captcha("older", 0, 1_000)).await.expect("insert");
            assert_eq!(s.take_captcha("old", 1_000).await.expect("take"), None);
            // The next insert deletes what expired meanwhile.
            s.insert_captcha(captcha("new", 2_000, 3_000)).await.expect("insert");
            assert_eq!(s.captcha_count().await.expect("count"), 1);
        }
    }
}

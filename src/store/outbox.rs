//! The mail outbox: rows queued with the writes that cause them, claimed and delivered by
//! the outbox worker (`crate::mail::outbox_worker`).

// The function and the type `#[auto_type]` names for it.
use diesel::dsl::insert_into;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::access::run;
use super::lease_writes::lease_writes;
use super::locks::RowLocks;
use super::models::OutboxRow;
use super::reused::Reused;
use super::schema::outbox;
use super::{NewOutboxMessage, OutboxMessage, OutboxStatus, Store, StoreError};
use crate::clock::Millis;

lease_writes!(
    outbox,
    OutboxStatus,
    mark_failed,
    release_outbox,
    renew_outbox_leases
);

/// The INSERT that queues a message; run it on the connection (and in the transaction) of
/// the write it goes with.
#[diesel::dsl::auto_type(no_type_alias)]
pub(super) fn insert_outbox(message: NewOutboxMessage, now: Millis) -> _ {
    let row: OutboxRow = OutboxRow::new(message, now);
    insert_into(outbox::table).values(row)
}

/// Due at `now`: waiting and scheduled, or claimed by a worker whose lease ran out.
#[diesel::dsl::auto_type]
fn due(now: Millis) -> _ {
    let pending: OutboxStatus = OutboxStatus::Pending;
    let sending: OutboxStatus = OutboxStatus::Sending;
    let waiting = outbox::status
        .eq(pending)
        .and(outbox::next_attempt_at.le(now));
    let abandoned = outbox::status
        .eq(sending)
        .and(outbox::lease_until.le(now).assume_not_null());
    waiting.or(abandoned)
}

/// Up to `limit` messages waiting for their attempt at `now`, most overdue first, as
/// `(next_attempt_at, id)`. Read off the `(status, next_attempt_at)` index in its order,
/// which also orders equal times by id: the condition of [`due`] as one query (an OR of
/// two index ranges) made SQLite sort every pending row for each claim, which under a
/// backlog of 50,000 messages was most of the outbox worker's time (`cargo xtask bench`).
/// Locked (PostgreSQL) or not (SQLite) by [`RowLocks::lock_due_outbox`].
#[diesel::dsl::auto_type]
pub(super) fn waiting_outbox(now: Millis, limit: i64) -> _ {
    let pending: OutboxStatus = OutboxStatus::Pending;
    outbox::table
        .filter(outbox::status.eq(pending))
        .filter(outbox::next_attempt_at.le(now))
        .order((outbox::next_attempt_at.asc(), outbox::id.asc()))
        .limit(limit)
        .select((outbox::next_attempt_at, outbox::id))
}

/// Up to `limit` messages claimed by a worker whose lease ran out at `now`, as
/// [`waiting_outbox`]: the few rows in `sending`, from the same index.
#[diesel::dsl::auto_type]
pub(super) fn abandoned_outbox(now: Millis, limit: i64) -> _ {
    let sending: OutboxStatus = OutboxStatus::Sending;
    outbox::table
        .filter(outbox::status.eq(sending))
        .filter(outbox::lease_until.le(now))
        .order((outbox::next_attempt_at.asc(), outbox::id.asc()))
        .limit(limit)
        .select((outbox::next_attempt_at, outbox::id))
}

/// The ids of the `limit` most overdue of `waiting` and `abandoned` (both in that order).
pub(super) fn most_overdue(
    waiting: Vec<(Millis, i64)>,
    abandoned: Vec<(Millis, i64)>,
    limit: i64,
) -> Vec<i64> {
    let mut due = waiting;
    due.extend(abandoned);
    due.sort_unstable();
    due.into_iter()
        .take(usize::try_from(limit).unwrap_or(0))
        .map(|(_, id)| id)
        .collect()
}

/// What a delivered message's body columns hold.
pub const DELIVERED_BODY: &str = "(removed after delivery)";

impl Store {
    /// Queues a message on its own (mail that goes with other writes is queued by them).
    pub async fn enqueue_outbox(
        &self,
        message: NewOutboxMessage,
        now: Millis,
    ) -> Result<OutboxMessage, StoreError> {
        run!(self, write, |conn| {
            let row = insert_outbox(message, now)
                .returning(OutboxMessage::as_returning())
                .get_result(conn)
                .await?;
            Ok(row)
        })
    }

    /// Claims up to `limit` due messages for delivery: `pending` ones whose time has come,
    /// and `sending` ones whose lease ran out (their worker died). Claimed rows become
    /// `sending` with a lease of `lease_ms` and one more attempt counted.
    ///
    /// Two claimers never get the same row. On SQLite, choosing and claiming happen in one
    /// `BEGIN IMMEDIATE` transaction, so no other writer runs between them. On PostgreSQL
    /// the choice takes `FOR UPDATE SKIP LOCKED`: rows another claimer holds are passed
    /// over, not waited for, so workers on several replicas neither collide nor queue. The
    /// UPDATE repeats the condition either way.
    pub async fn claim_outbox(
        &self,
        now: Millis,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        let mut claimed = run!(self, transaction, |conn| {
            let ids = conn.lock_due_outbox(now, limit).await?;
            if ids.is_empty() {
                return Ok::<_, StoreError>(Vec::new());
            }
            // One shape per batch size on SQLite (`IN (?, ...)`), at most `limit` of them.
            let claimed = Reused(
                diesel::update(outbox::table.filter(outbox::id.eq_any(ids)))
                    .filter(due(now))
                    .set((
                        outbox::status.eq(OutboxStatus::Sending),
                        outbox::lease_until.eq(now.saturating_add(lease_ms)),
                        outbox::attempts.eq(outbox::attempts + 1),
                    ))
                    .returning(OutboxMessage::as_returning()),
            )
            .get_results(conn)
            .await?;
            Ok(claimed)
        })?;
        // RETURNING comes in no particular order.
        claimed.sort_by_key(|m| (m.next_attempt_at, m.id));
        Ok(claimed)
    }

    /// Records deliveries, in one statement.
    pub async fn mark_sent(&self, ids: &[i64], now: Millis) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let ids = ids.to_vec();
        run!(self, write, |conn| {
            // The worker marks at most a batch at once: a bounded number of shapes.
            Reused(
                diesel::update(outbox::table.filter(outbox::id.eq_any(ids))).set((
                    outbox::status.eq(OutboxStatus::Sent),
                    outbox::sent_at.eq(now),
                    outbox::lease_until.eq(None::<Millis>),
                    // A delivered body is no longer needed, and a reset mail's body holds a
                    // live link or code: keep only what operators need (recipient, subject,
                    // Message-ID, times), not the secret.
                    outbox::body_text.eq(DELIVERED_BODY),
                    outbox::body_html.eq(DELIVERED_BODY),
                )),
            )
            .execute(conn)
            .await?;
            Ok(())
        })
    }

    /// Messages, oldest first, optionally only those in `status`.
    pub async fn list_outbox(
        &self,
        status: Option<OutboxStatus>,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        run!(self, read, |conn| {
            let all = outbox::table
                .order(outbox::id.asc())
                .select(OutboxMessage::as_select());
            let rows = match status {
                Some(status) => conn.load(all.filter(outbox::status.eq(status))).await?,
                None => conn.load(all).await?,
            };
            Ok(rows)
        })
    }

    pub async fn outbox_message(&self, id: i64) -> Result<Option<OutboxMessage>, StoreError> {
        run!(self, read, |conn| {
            let message = conn
                .get_result(outbox::table.find(id).select(OutboxMessage::as_select()))
                .await
                .optional()?;
            Ok(message)
        })
    }

    /// Re-queues a `dead` (or still `pending`) message for immediate delivery with a fresh
    /// attempt count. Returns `false` when there is no such message or it is `sent` or
    /// being sent.
    pub async fn retry_outbox(&self, id: i64, now: Millis) -> Result<bool, StoreError> {
        run!(self, write, |conn| {
            let updated = diesel::update(
                outbox::table
                    .find(id)
                    .filter(outbox::status.eq_any([OutboxStatus::Dead, OutboxStatus::Pending])),
            )
            .set((
                outbox::status.eq(OutboxStatus::Pending),
                outbox::next_attempt_at.eq(now),
                outbox::attempts.eq(0),
                outbox::lease_until.eq(None::<Millis>),
            ))
            .execute(conn)
            .await?;
            Ok(updated == 1)
        })
    }

    pub async fn count_outbox(&self, status: OutboxStatus) -> Result<i64, StoreError> {
        run!(self, read, |conn| {
            let count = conn
                .get_result(outbox::table.filter(outbox::status.eq(status)).count())
                .await?;
            Ok(count)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use std::time::Duration;

    use diesel::sql_types::BigInt;
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};

    use crate::store::test_support::{mail, store_tests, TestStore};
    use crate::store::OutboxStatus;

    const LEASE: i64 = 60_000;

    #[tokio::test(flavor = "multi_thread")]
    async fn postgres_claims_skip_rows_held_elsewhere_without_waiting() {
        let Some(t) = TestStore::postgres().await else {
            return;
        };
        let held = t
            .store
            .enqueue_outbox(mail("held"), 0)
            .await
            .expect("enqueue");
        let free = t
            .store
            .enqueue_outbox(mail("free"), 0)
            .await
            .expect("enqueue");

        // Another replica's claimer, mid-transaction, holding `held`.
        let url = t.postgres_url().expect("postgres");
        let mut other = AsyncPgConnection::establish(url).await.expect("connect");
        other.batch_execute("BEGIN").await.expect("begin");
        diesel::sql_query("SELECT id FROM outbox WHERE id = $1 FOR UPDATE")
            .bind::<BigInt, _>(held.id)
            .execute(&mut other)
            .await
            .expect("lock");

        let claim = t.store.claim_outbox(0, LEASE, 10);
        let claimed = tokio::time::timeout(Duration::from_secs(2), claim).await;
        let claimed = claimed
            .expect("the claim waited for the lock")
            .expect("claim");
        let ids: Vec<_> = claimed.iter().map(|m| m.id).collect();
        assert_eq!(ids, [free.id]);

        other.batch_execute("ROLLBACK").await.expect("rollback");
        let claimed = t.store.claim_outbox(0, LEASE, 10).await.expect("claim");
        let ids: Vec<_> = claimed.iter().map(|m| m.id).collect();
        assert_eq!(ids, [held.id]);
    }

    store_tests! {
        async fn message_id_is_assigned_and_stable(t: TestStore) {
            let queued = t
                .store
                .enqueue_outbox(mail("hello"), 100)
                .await
                .expect("enqueue");
            assert!(queued.message_id.starts_with('<') && queued.message_id.ends_with("@resetd>"));
            assert_eq!(queued.status, OutboxStatus::Pending);
            assert_eq!(queued.next_attempt_at, 100);
            assert_eq!(queued.attempts, 0);

            let claimed = t.store.claim_outbox(100, LEASE, 10).await.expect("claim");
            assert_eq!(claimed.len(), 1);
            assert_eq!(claimed[0].message_id, queued.message_id);
        }

        async fn claim_respects_schedule_limit_and_lease(t: TestStore) {
            let store = &t.store;
            for (i, at) in [0, 10, 20].into_iter().enumerate() {
                store
                    .enqueue_outbox(mail(&format!("m{i}")), at)
                    .await
                    .expect("enqueue");
            }

            assert!(store
                .claim_outbox(-1, LEASE, 10)
                .await
                .expect("claim")
                .is_empty());
            let first = store.claim_outbox(15, LEASE, 1).await.expect("claim");
            assert_eq!(first.len(), 1);
            assert_eq!(first[0].subject, "m0");
            assert_eq!(first[0].status, OutboxStatus::Sending);
            assert_eq!(first[0].attempts, 1);
            assert_eq!(first[0].lease_until, Some(15 + LEASE));

            let second = store.claim_outbox(15, LEASE, 10).await.expect("claim");
            let subjects: Vec<_> = second.iter().map(|m| m.subject.as_str()).collect();
            assert_eq!(subjects, ["m1"], "m0 is leased, m2 not due yet");

            // The worker holding m0 died: once its lease ends, m0 is claimed again.
            assert!(store
                .claim_outbox(15 + LEASE - 1, LEASE, 10)
                .await
                .expect("claim")
                .iter()
                .all(|m| m.subject == "m2"));
            let reclaimed = store
                .claim_outbox(15 + LEASE, LEASE, 10)
                .await
                .expect("claim");
            let m0 = reclaimed
                .iter()
                .find(|m| m.id == first[0].id)
                .expect("m0 re-claimed");
            assert_eq!(m0.attempts, 2);
            assert_eq!(m0.lease_until, Some(15 + 2 * LEASE));
        }

        /// A renewal moves only the lease of mail still being sent under it.
        async fn a_held_lease_is_renewed_and_no_other(t: TestStore) {
            let store = &t.store;
            for subject in ["m0", "m1", "m2"] {
                store.enqueue_outbox(mail(subject), 0).await.expect("enqueue");
            }
            let mine = store.claim_outbox(0, LEASE, 10).await.expect("claim");
            let ids: Vec<i64> = mine.iter().map(|m| m.id).collect();
            // m1 failed (back to pending), m2 was sent: neither is leased any more.
            store.mark_failed(ids[1], "network error", Some(0)).await.expect("fail");
            store.mark_sent(&ids[2..], 1).await.expect("sent");
            // m1 is claimed by another worker.
            let theirs = store.claim_outbox(1, 3 * LEASE, 10).await.expect("claim");
            assert_eq!(theirs.iter().map(|m| m.id).collect::<Vec<_>>(), [ids[1]]);

            store.renew_outbox_leases(&ids, LEASE, 5 * LEASE).await.expect("renew");
            let rows = store.list_outbox(None).await.expect("list");
            let leases: Vec<_> = rows.iter().map(|m| (m.id, m.status, m.lease_until)).collect();
            assert_eq!(
                leases,
                [
                    (ids[0], OutboxStatus::Sending, Some(5 * LEASE)),
                    (ids[1], OutboxStatus::Sending, Some(1 + 3 * LEASE)),
                    (ids[2], OutboxStatus::Sent, None),
                ]
            );
            assert!(store.claim_outbox(LEASE, LEASE, 10).await.expect("claim").is_empty());
        }

        async fn failure_reschedules_then_dies_and_retry_revives(t: TestStore) {
            let store = &t.store;
            let queued = store.enqueue_outbox(mail("m"), 0).await.expect("enqueue");

            store.claim_outbox(0, LEASE, 10).await.expect("claim");
            store
                .mark_failed(queued.id, "network error", Some(500))
                .await
                .expect("fail");
            let row = store
                .outbox_message(queued.id)
                .await
                .expect("get")
                .expect("row");
            assert_eq!(row.status, OutboxStatus::Pending);
            assert_eq!(row.next_attempt_at, 500);
            assert_eq!(row.lease_until, None);
            assert_eq!(row.last_error.as_deref(), Some("network error"));
            assert!(store
                .claim_outbox(499, LEASE, 10)
                .await
                .expect("claim")
                .is_empty());

            let again = store.claim_outbox(500, LEASE, 10).await.expect("claim");
            assert_eq!(again[0].attempts, 2);
            store
                .mark_failed(queued.id, "still down", None)
                .await
                .expect("fail");
            let dead = store
                .list_outbox(Some(OutboxStatus::Dead))
                .await
                .expect("list");
            assert_eq!(dead.len(), 1);
            assert_eq!(
                store.count_outbox(OutboxStatus::Dead).await.expect("count"),
                1
            );
            assert!(store
                .claim_outbox(10_000, LEASE, 10)
                .await
                .expect("claim")
                .is_empty());

            assert!(store.retry_outbox(queued.id, 20_000).await.expect("retry"));
            let revived = store
                .outbox_message(queued.id)
                .await
                .expect("get")
                .expect("row");
            assert_eq!(revived.status, OutboxStatus::Pending);
            assert_eq!(revived.attempts, 0);
            assert_eq!(revived.next_attempt_at, 20_000);

            let claimed = store.claim_outbox(20_000, LEASE, 10).await.expect("claim");
            assert_eq!(claimed.len(), 1);
            assert!(!store
                .retry_outbox(queued.id, 20_001)
                .await
                .expect("retry sending"));
            store.mark_sent(&[queued.id], 20_002).await.expect("sent");
            let sent = store
                .outbox_message(queued.id)
                .await
                .expect("get")
                .expect("row");
            assert_eq!(sent.status, OutboxStatus::Sent);
            assert_eq!(sent.sent_at, Some(20_002));
            // The body (a live link or code) is gone; what operators need stays.
            assert_eq!(sent.body_text, crate::store::outbox::DELIVERED_BODY);
            assert_eq!(sent.body_html, crate::store::outbox::DELIVERED_BODY);
            assert_eq!(sent.recipient, queued.recipient);
            assert_eq!(sent.message_id, queued.message_id);
            assert!(!store
                .retry_outbox(queued.id, 20_003)
                .await
                .expect("retry sent"));
            assert!(!store
                .retry_outbox(4242, 20_003)
                .await
                .expect("retry missing"));
        }

        async fn release_hands_back_unattempted_claims(t: TestStore) {
            let queued = t.store.enqueue_outbox(mail("m"), 0).await.expect("enqueue");
            t.store.claim_outbox(0, LEASE, 10).await.expect("claim");
            t.store.release_outbox(&[queued.id]).await.expect("release");
            let row = t
                .store
                .outbox_message(queued.id)
                .await
                .expect("get")
                .expect("row");
            assert_eq!(row.status, OutboxStatus::Pending);
            assert_eq!(row.attempts, 0);
            assert_eq!(row.lease_until, None);
        }

        async fn concurrent_claimers_never_share_a_row(t: TestStore) {
            for i in 0..60 {
                t.store
                    .enqueue_outbox(mail(&format!("m{i}")), 0)
                    .await
                    .expect("enqueue");
            }
            let mut tasks = tokio::task::JoinSet::new();
            for _ in 0..8 {
                let store = t.store.clone();
                tasks.spawn(async move {
                    let mut mine = Vec::new();
                    loop {
                        let batch = store.claim_outbox(0, LEASE, 3).await.expect("claim");
                        if batch.is_empty() {
                            return mine;
                        }
                        mine.extend(batch.into_iter().map(|m| m.id));
                    }
                });
            }
            let mut seen = HashSet::new();
            while let Some(claimed) = tasks.join_next().await {
                for id in claimed.expect("task") {
                    assert!(seen.insert(id), "row {id} claimed twice");
                }
            }
            assert_eq!(seen.len(), 60);
        }
    }
}

//! The queue of answered reset requests (SECURITY.md items 1 and 2): the request path inserts
//! one row per request, whatever the email; the issuer (`crate::reset::issuer`) claims rows
//! with a lease and processes them. A row leaves the queue either in the transaction that
//! issues its token (`Store::issue_reset_token` with the request's id) or, for a request
//! that gets no token, by [`Store::delete_reset_request`].

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::access::run;
use super::insert_many::InsertMany as _;
use super::locks::RowLocks;
use super::schema::reset_requests;
use super::{NewResetRequest, ResetRequest, Store, StoreError};
use crate::clock::Millis;

/// Due at `now`: never claimed, or claimed by an issuer whose lease ran out (it died, or is
/// stuck; if it still commits later, the row it names is gone and it issues nothing).
#[diesel::dsl::auto_type]
fn due(now: Millis) -> _ {
    reset_requests::lease_until
        .is_null()
        .or(reset_requests::lease_until.le(now).assume_not_null())
}

/// The ids of up to `limit` due requests, oldest first. Locked (PostgreSQL) or not (SQLite)
/// by [`RowLocks::lock_due_reset_requests`].
#[diesel::dsl::auto_type]
pub(super) fn due_reset_request_ids(now: Millis, limit: i64) -> _ {
    let due_now: due = due(now);
    reset_requests::table
        .filter(due_now)
        .order(reset_requests::id.asc())
        .limit(limit)
        .select(reset_requests::id)
}

impl Store {
    /// Queues a reset request: committed (and, on SQLite, synced) before the caller
    /// answers, so an answered request survives a crash. Requests arriving together share
    /// one INSERT and one commit (`group_commit.rs`).
    pub async fn enqueue_reset_request(&self, request: NewResetRequest) -> Result<(), StoreError> {
        let store = self.clone();
        self.queued_requests
            .submit(request, move |rows| {
                let store = store.clone();
                async move { store.insert_reset_requests(rows).await }
            })
            .await
    }

    /// The rows at once (`insert_many.rs`): on SQLite in one transaction (a `write`), on
    /// PostgreSQL in one multi-row INSERT.
    async fn insert_reset_requests(&self, rows: Vec<NewResetRequest>) -> Result<(), StoreError> {
        run!(self, write, |conn| Ok(conn.insert_many(rows).await?))
    }

    /// Claims up to `limit` due requests for processing, leased until `now + lease_ms`, in
    /// id order (the order they were queued in).
    ///
    /// Two claimers never get the same row while its lease lasts: on SQLite, choosing and
    /// claiming happen in one `BEGIN IMMEDIATE` transaction; on PostgreSQL the choice takes
    /// `FOR UPDATE SKIP LOCKED`, so issuers on several replicas pass over each other's rows
    /// instead of waiting. The UPDATE repeats the condition either way.
    pub async fn claim_reset_requests(
        &self,
        now: Millis,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<ResetRequest>, StoreError> {
        let mut claimed = run!(self, transaction, |conn| {
            let ids = conn.lock_due_reset_requests(now, limit).await?;
            if ids.is_empty() {
                return Ok::<_, StoreError>(Vec::new());
            }
            let claimed =
                diesel::update(reset_requests::table.filter(reset_requests::id.eq_any(ids)))
                    .filter(due(now))
                    .set(reset_requests::lease_until.eq(now.saturating_add(lease_ms)))
                    .returning(ResetRequest::as_returning())
                    .get_results(conn)
                    .await?;
            Ok(claimed)
        })?;
        // RETURNING comes in no particular order.
        claimed.sort_by_key(|r| r.id);
        Ok(claimed)
    }

    /// Removes a request that gets no token (or was processed); `false` when it was already
    /// gone.
    pub async fn delete_reset_request(&self, id: i64) -> Result<bool, StoreError> {
        run!(self, write, |conn| {
            let deleted = diesel::delete(reset_requests::table.find(id))
                .execute(conn)
                .await?;
            Ok(deleted == 1)
        })
    }

    /// Hands claimed but unprocessed requests back (an issuer stopping, or giving up a pass):
    /// due again at once.
    pub async fn release_reset_requests(&self, ids: &[i64]) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let ids = ids.to_vec();
        run!(self, write, |conn| {
            diesel::update(reset_requests::table.filter(reset_requests::id.eq_any(ids)))
                .set(reset_requests::lease_until.eq(None::<Millis>))
                .execute(conn)
                .await?;
            Ok(())
        })
    }

    /// Moves the lease of those of `ids` still leased until `held` to `until`: an issuer
    /// keeping the batch it is working on. Rows processed or released since, or claimed by
    /// another issuer after a lapse, carry no lease or another one and are left alone.
    pub async fn renew_reset_request_leases(
        &self,
        ids: &[i64],
        held: Millis,
        until: Millis,
    ) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let ids = ids.to_vec();
        run!(self, write, |conn| {
            diesel::update(reset_requests::table.filter(reset_requests::id.eq_any(ids)))
                .filter(reset_requests::lease_until.eq(held))
                .set(reset_requests::lease_until.eq(until))
                .execute(conn)
                .await?;
            Ok(())
        })
    }

    /// Every queued request, oldest first (operators and tests look at the queue).
    pub async fn list_reset_requests(&self) -> Result<Vec<ResetRequest>, StoreError> {
        run!(self, read, |conn| {
            let rows = conn
                .load(
                    reset_requests::table
                        .order(reset_requests::id.asc())
                        .select(ResetRequest::as_select()),
                )
                .await?;
            Ok(rows)
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
    use crate::store::{
        AuditKind, NewAuditEvent, NewResetRequest, NewResetToken, OutboxStatus, QueuedIssue,
        Settled, Settlement, Store,
    };

    const LEASE: i64 = 10_000;
    const HOUR: i64 = 3_600_000;

    fn request(email: &str, at: i64) -> NewResetRequest {
        NewResetRequest {
            dialect: "strapi".to_owned(),
            email: email.to_owned(),
            client_ip: Some("192.0.2.1".to_owned()),
            created_at: at,
        }
    }

    fn token(user_id: i64, hash: &str) -> NewResetToken {
        NewResetToken {
            user_id,
            dialect: "strapi".to_owned(),
            token_hash: hash.to_owned(),
            created_at: 0,
            expires_at: HOUR,
        }
    }

    fn answering(request_id: i64, user_id: i64) -> Option<QueuedIssue> {
        Some(QueuedIssue {
            request_id,
            audit: NewAuditEvent {
                at: 0,
                kind: AuditKind::ResetRequested,
                user_id: Some(user_id),
                dialect: Some("strapi".to_owned()),
                client_ip: Some("192.0.2.1".to_owned()),
            },
        })
    }

    async fn queued_ids(store: &Store) -> Vec<i64> {
        let rows = store.list_reset_requests().await.expect("list");
        rows.into_iter().map(|r| r.id).collect()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn postgres_claims_skip_rows_held_elsewhere_without_waiting() {
        let Some(t) = TestStore::postgres().await else {
            return;
        };
        for email in ["held@example.test", "free@example.test"] {
            t.store
                .enqueue_reset_request(request(email, 0))
                .await
                .expect("enqueue");
        }
        let ids = queued_ids(&t.store).await;
        let (held, free) = (ids[0], ids[1]);

        // Another replica's issuer, mid-transaction, holding `held`.
        let url = t.postgres_url().expect("postgres");
        let mut other = AsyncPgConnection::establish(url).await.expect("connect");
        other.batch_execute("BEGIN").await.expect("begin");
        diesel::sql_query("SELECT id FROM reset_requests WHERE id = $1 FOR UPDATE")
            .bind::<BigInt, _>(held)
            .execute(&mut other)
            .await
            .expect("lock");

        let claim = t.store.claim_reset_requests(0, LEASE, 10);
        let claimed = tokio::time::timeout(Duration::from_secs(2), claim).await;
        let claimed = claimed
            .expect("the claim waited for the lock")
            .expect("claim");
        let claimed: Vec<_> = claimed.iter().map(|r| r.id).collect();
        assert_eq!(claimed, [free]);

        other.batch_execute("ROLLBACK").await.expect("rollback");
        let claimed = t.store.claim_reset_requests(0, LEASE, 10).await;
        let claimed: Vec<_> = claimed.expect("claim").iter().map(|r| r.id).collect();
        assert_eq!(claimed, [held]);
    }

    store_tests! {
        async fn enqueue_then_claim_in_order_with_a_lease(t: TestStore) {
            let store = &t.store;
            for (i, at) in [5, 3, 4].into_iter().enumerate() {
                store
                    .enqueue_reset_request(request(&format!("r{i}@example.test"), at))
                    .await
                    .expect("enqueue");
            }
            let queued = store.list_reset_requests().await.expect("list");
            assert_eq!(queued.len(), 3);
            assert!(queued.iter().all(|r| r.lease_until.is_none()));
            assert_eq!(queued[0].email, "r0@example.test");
            assert_eq!(queued[0].dialect, "strapi");
            assert_eq!(queued[0].client_ip.as_deref(), Some("192.0.2.1"));
            assert_eq!(queued[0].created_at, 5);
            // The email stays out of Debug output.
            assert!(!format!("{:?}", queued[0]).contains("example"));

            // Claimed in the order queued (id), whatever their timestamps.
            let first = store.claim_reset_requests(100, LEASE, 2).await.expect("claim");
            let emails: Vec<_> = first.iter().map(|r| r.email.as_str()).collect();
            assert_eq!(emails, ["r0@example.test", "r1@example.test"]);
            assert!(first.iter().all(|r| r.lease_until == Some(100 + LEASE)));
            let rest = store.claim_reset_requests(100, LEASE, 10).await.expect("claim");
            assert_eq!(rest.len(), 1);
            assert_eq!(rest[0].email, "r2@example.test");
            assert!(store
                .claim_reset_requests(100 + LEASE - 1, LEASE, 10)
                .await
                .expect("claim")
                .is_empty(), "every row is leased");

            // Released rows are due again at once.
            store.release_reset_requests(&[rest[0].id]).await.expect("release");
            let again = store.claim_reset_requests(101, LEASE, 10).await.expect("claim");
            assert_eq!(again.len(), 1);
            assert_eq!(again[0].id, rest[0].id);

            assert!(store.delete_reset_request(again[0].id).await.expect("delete"));
            assert!(!store.delete_reset_request(again[0].id).await.expect("delete again"));
            assert_eq!(queued_ids(store).await.len(), 2);
        }

        async fn a_lapsed_lease_is_claimed_again(t: TestStore) {
            let store = &t.store;
            store
                .enqueue_reset_request(request("a@example.test", 0))
                .await
                .expect("enqueue");
            let first = store.claim_reset_requests(0, LEASE, 10).await.expect("claim");
            assert_eq!(first.len(), 1);
            // The issuer that holds it died: nothing until the lease ends, then it is due.
            assert!(store
                .claim_reset_requests(LEASE - 1, LEASE, 10)
                .await
                .expect("claim")
                .is_empty());
            let again = store.claim_reset_requests(LEASE, LEASE, 10).await.expect("claim");
            assert_eq!(again.len(), 1);
            assert_eq!(again[0].id, first[0].id);
            assert_eq!(again[0].lease_until, Some(2 * LEASE));
        }

        /// A renewal moves only the lease the renewing issuer still holds.
        async fn a_held_lease_is_renewed_and_no_other(t: TestStore) {
            let store = &t.store;
            for email in ["a@example.test", "b@example.test", "c@example.test"] {
                store.enqueue_reset_request(request(email, 0)).await.expect("enqueue");
            }
            let mine = store.claim_reset_requests(0, LEASE, 2).await.expect("claim");
            let ids: Vec<i64> = mine.iter().map(|r| r.id).collect();
            // One is released; the other stays leased until LEASE.
            store.release_reset_requests(&ids[1..]).await.expect("release");
            let third = store.claim_reset_requests(0, 3 * LEASE, 10).await.expect("claim");
            assert_eq!(third.len(), 2, "the released one and the third");

            // Renewing all of them, as their first claimer: only the row still under its
            // lease moves; the others now carry the other claim's lease.
            let all: Vec<i64> = ids.iter().copied().chain(third.iter().map(|r| r.id)).collect();
            store.renew_reset_request_leases(&all, LEASE, 5 * LEASE).await.expect("renew");
            let leases: Vec<_> = store
                .list_reset_requests()
                .await
                .expect("list")
                .into_iter()
                .map(|r| (r.id, r.lease_until))
                .collect();
            assert_eq!(
                leases,
                [(ids[0], Some(5 * LEASE)), (ids[1], Some(3 * LEASE)), (third[1].id, Some(3 * LEASE))]
            );
            // Renewed, it is not due when the first lease would have ended.
            let due = store.claim_reset_requests(LEASE, LEASE, 10).await.expect("claim");
            assert!(due.is_empty(), "{due:?}");
        }

        async fn issuing_for_a_request_deletes_it_once(t: TestStore) {
            let user = t.user("b@example.test", 0).await;
            let store = &t.store;
            store
                .enqueue_reset_request(request("b@example.test", 0))
                .await
                .expect("enqueue");
            let claimed = store.claim_reset_requests(0, LEASE, 10).await.expect("claim");
            let id = claimed[0].id;

            let issued = store
                .issue_reset_token(token(user.id, "h1"), Some(mail("m")), answering(id, user.id), 1)
                .await
                .expect("issue");
            assert!(issued.is_some());
            assert!(queued_ids(store).await.is_empty(), "the request left with the token");

            // A second issuer whose lease overlapped commits afterwards: nothing is written.
            let late = store
                .issue_reset_token(token(user.id, "h2"), Some(mail("m")), answering(id, user.id), 2)
                .await
                .expect("issue");
            assert_eq!(late, None);
            let live = store.live_reset_token(user.id, "strapi", 3).await.expect("live");
            assert_eq!(live.map(|t| t.token_hash), Some("h1".to_owned()));
            assert_eq!(store.count_outbox(OutboxStatus::Pending).await.expect("count"), 1);
            // The audit event came with the token, once.
            let audit = store.list_audit(10).await.expect("audit");
            assert_eq!(audit.len(), 1);
            assert_eq!(audit[0].user_id, Some(user.id));
            assert_eq!(audit[0].client_ip.as_deref(), Some("192.0.2.1"));
        }

        async fn concurrent_issuers_of_one_request_issue_once(t: TestStore) {
            let user = t.user("c@example.test", 0).await;
            for round in 0..5 {
                t.store
                    .enqueue_reset_request(request("c@example.test", 0))
                    .await
                    .expect("enqueue");
                let claimed = t.store.claim_reset_requests(0, LEASE, 10).await.expect("claim");
                let id = claimed[0].id;
                let mut tasks = tokio::task::JoinSet::new();
                for i in 0..6 {
                    let store = t.store.clone();
                    let issued = token(user.id, &format!("h{round}-{i}"));
                    tasks.spawn(async move {
                        let answered = answering(id, issued.user_id);
                        store.issue_reset_token(issued, Some(mail("m")), answered, 1).await
                    });
                }
                let mut winners = 0;
                while let Some(joined) = tasks.join_next().await {
                    if joined.expect("task").expect("issue").is_some() {
                        winners += 1;
                    }
                }
                assert_eq!(winners, 1, "round {round}");
            }
            assert_eq!(t.store.count_outbox(OutboxStatus::Pending).await.expect("count"), 5);
            assert_eq!(t.store.list_audit(10).await.expect("audit").len(), 5);
            assert!(queued_ids(&t.store).await.is_empty());
        }

        async fn concurrent_claimers_never_share_a_row(t: TestStore) {
            for i in 0..60 {
                t.store
                    .enqueue_reset_request(request(&format!("m{i}@example.test"), 0))
                    .await
                    .expect("enqueue");
            }
            let mut tasks = tokio::task::JoinSet::new();
            for _ in 0..8 {
                let store = t.store.clone();
                tasks.spawn(async move {
                    let mut mine = Vec::new();
                    loop {
                        let batch = store.claim_reset_requests(0, LEASE, 3).await.expect("claim");
                        if batch.is_empty() {
                            return mine;
                        }
                        // Claimed in id order within the batch.
                        assert!(batch.windows(2).all(|w| w[0].id < w[1].id));
                        mine.extend(batch.into_iter().map(|r| r.id));
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

        async fn ids_are_not_reused_after_the_queue_empties(t: TestStore) {
            let store = &t.store;
            store
                .enqueue_reset_request(request("d@example.test", 0))
                .await
                .expect("enqueue");
            let first = queued_ids(store).await[0];
            assert!(store.delete_reset_request(first).await.expect("delete"));
            store
                .enqueue_reset_request(request("e@example.test", 0))
                .await
                .expect("enqueue");
            let second = queued_ids(store).await[0];
            assert!(second > first, "a stale id could name a newer request");
        }

        /// Requests arriving together share INSERTs (`group_commit.rs`); every one is
        /// stored, once, with what it said, and each caller returns only after that.
        async fn concurrent_requests_are_all_stored(t: TestStore) {
            let mut tasks = tokio::task::JoinSet::new();
            for i in 0..64 {
                let store = t.store.clone();
                tasks.spawn(async move {
                    let mut row = request(&format!("g{i}@example.test"), i);
                    row.client_ip = (i % 2 == 0).then(|| "192.0.2.9".to_owned());
                    store.enqueue_reset_request(row).await
                });
            }
            while let Some(joined) = tasks.join_next().await {
                joined.expect("task").expect("enqueue");
            }
            let queued = t.store.list_reset_requests().await.expect("list");
            assert_eq!(queued.len(), 64);
            for row in &queued {
                let i: i64 = row.email[1..row.email.find('@').expect("@")].parse().expect("n");
                assert_eq!(row.created_at, i);
                assert_eq!(row.client_ip.is_some(), i % 2 == 0, "{i}");
            }
            let emails: HashSet<_> = queued.iter().map(|r| r.email.clone()).collect();
            assert_eq!(emails.len(), 64);
        }

        /// A claimed batch settled in one transaction: drops, issues in order (the later
        /// token of an account is the live one), and requests answered already.
        async fn a_batch_settles_in_order(t: TestStore) {
            let ann = t.user("ann@example.test", 0).await;
            let bob = t.user("bob@example.test", 0).await;
            let store = &t.store;
            for email in ["ann@example.test", "x@example.test", "ann@example.test", "bob@example.test"] {
                store.enqueue_reset_request(request(email, 0)).await.expect("enqueue");
            }
            let ids = queued_ids(store).await;
            // Bob's request was answered by an issuer whose lease overlapped.
            store
                .issue_reset_token(token(bob.id, "b0"), Some(mail("m")), answering(ids[3], bob.id), 1)
                .await
                .expect("issue");
            let issue = |id: i64, user_id: i64, hash: &str| Settlement::Issue {
                token: token(user_id, hash),
                mail: Some(mail("m")),
                request: answering(id, user_id),
                webhooks: Vec::new(),
            };
            let settled = store
                .settle_reset_requests(
                    vec![
                        issue(ids[0], ann.id, "a1"),
                        Settlement::Drop { request_id: ids[1] },
                        issue(ids[2], ann.id, "a2"),
                        issue(ids[3], bob.id, "b1"),
                    ],
                    2,
                )
                .await
                .expect("settle");
            let kinds: Vec<&str> = settled
                .iter()
                .map(|s| match s {
                    Settled::Issued => "issued",
                    Settled::Dropped => "dropped",
                    Settled::AlreadyDone => "done",
                })
                .collect();
            assert_eq!(kinds, ["issued", "dropped", "issued", "done"]);
            assert!(queued_ids(store).await.is_empty());
            let live = store.live_reset_token(ann.id, "strapi", 3).await.expect("live");
            assert_eq!(live.map(|t| t.token_hash).as_deref(), Some("a2"));
            let live = store.live_reset_token(bob.id, "strapi", 3).await.expect("live");
            assert_eq!(live.map(|t| t.token_hash).as_deref(), Some("b0"));
            // Bob's first mail, and Ann's two.
            assert_eq!(store.count_outbox(OutboxStatus::Pending).await.expect("count"), 3);
            assert_eq!(store.list_audit(10).await.expect("audit").len(), 3);
        }

        /// All or nothing: a batch with one bad settlement (a token for an account that
        /// does not exist) writes none of the others.
        async fn a_failing_batch_writes_nothing(t: TestStore) {
            let ann = t.user("ann@example.test", 0).await;
            let store = &t.store;
            for email in ["ann@example.test", "y@example.test"] {
                store.enqueue_reset_request(request(email, 0)).await.expect("enqueue");
            }
            let ids = queued_ids(store).await;
            let err = store
                .settle_reset_requests(
                    vec![
                        Settlement::Issue {
                            token: token(ann.id, "a1"),
                            mail: Some(mail("m")),
                            request: answering(ids[0], ann.id),
                            webhooks: Vec::new(),
                        },
                        Settlement::Drop { request_id: ids[1] },
                        Settlement::Issue {
                            token: token(ann.id + 1000, "ghost"),
                            mail: Some(mail("m")),
                            request: None,
                            webhooks: Vec::new(),
                        },
                    ],
                    2,
                )
                .await
                .expect_err("a token for no account");
            assert!(!err.is_unavailable(), "{err:?}");
            assert_eq!(queued_ids(store).await, ids);
            assert!(store.live_reset_token(ann.id, "strapi", 3).await.expect("live").is_none());
            assert_eq!(store.count_outbox(OutboxStatus::Pending).await.expect("count"), 0);
        }
    }
}

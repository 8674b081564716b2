//! Webhook deliveries: queued with the writes that cause them ([`enqueue`]), claimed and
//! delivered by the webhook worker (`crate::webhooks`), one account's deliveries to one
//! endpoint in the order they were queued.

use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::Bool;
use diesel_async::RunQueryDsl;

use super::access::run;
use super::insert_many::InsertMany;
use super::lease_writes::lease_writes;
use super::locks::RowLocks;
use super::schema::webhook_deliveries as wd;
use super::{NewWebhookDelivery, Store, StoreError, WebhookDelivery, WebhookStatus};
use crate::clock::Millis;

lease_writes!(
    wd,
    WebhookStatus,
    mark_webhook_failed,
    release_webhooks,
    renew_webhook_leases
);

/// Queues `rows` on the connection (and in the transaction) of the write they report.
pub(super) async fn enqueue<C: InsertMany>(
    conn: &mut C,
    rows: Vec<NewWebhookDelivery>,
) -> QueryResult<()> {
    conn.insert_many(rows).await
}

/// No older delivery of the same account to the same endpoint is waiting or under way: the
/// per-account order. A delivery given up on (`dead`) holds nothing back. Plain SQL, the same
/// on both backends: Diesel cannot type a subquery that refers to the outer row.
fn first_in_line() -> diesel::expression::SqlLiteral<Bool> {
    sql::<Bool>(
        "NOT EXISTS (SELECT 1 FROM webhook_deliveries o \
         WHERE o.user_id = webhook_deliveries.user_id \
         AND o.endpoint = webhook_deliveries.endpoint \
         AND o.id < webhook_deliveries.id \
         AND o.status IN ('pending', 'sending'))",
    )
}

/// Up to `limit` waiting deliveries due at `now` and first in line, most overdue first, as
/// `(next_attempt_at, id)`, off the `(status, next_attempt_at)` index.
#[diesel::dsl::auto_type]
pub(super) fn waiting_webhooks(now: Millis, limit: i64) -> _ {
    let pending: WebhookStatus = WebhookStatus::Pending;
    let in_line: diesel::expression::SqlLiteral<Bool> = first_in_line();
    wd::table
        .filter(wd::status.eq(pending))
        .filter(wd::next_attempt_at.le(now))
        .filter(in_line)
        .order((wd::next_attempt_at.asc(), wd::id.asc()))
        .limit(limit)
        .select((wd::next_attempt_at, wd::id))
}

/// Up to `limit` deliveries claimed by a worker whose lease ran out at `now`.
#[diesel::dsl::auto_type]
pub(super) fn abandoned_webhooks(now: Millis, limit: i64) -> _ {
    let sending: WebhookStatus = WebhookStatus::Sending;
    let in_line: diesel::expression::SqlLiteral<Bool> = first_in_line();
    wd::table
        .filter(wd::status.eq(sending))
        .filter(wd::lease_until.le(now))
        .filter(in_line)
        .order((wd::next_attempt_at.asc(), wd::id.asc()))
        .limit(limit)
        .select((wd::next_attempt_at, wd::id))
}

/// Due at `now`: waiting and scheduled, or claimed by a worker whose lease ran out.
#[diesel::dsl::auto_type]
fn due(now: Millis) -> _ {
    let pending: WebhookStatus = WebhookStatus::Pending;
    let sending: WebhookStatus = WebhookStatus::Sending;
    let waiting = wd::status.eq(pending).and(wd::next_attempt_at.le(now));
    let abandoned = wd::status
        .eq(sending)
        .and(wd::lease_until.le(now).assume_not_null());
    waiting.or(abandoned)
}

impl Store {
    /// Queues deliveries on their own (those that go with other writes are queued by them).
    pub async fn enqueue_webhooks(&self, rows: Vec<NewWebhookDelivery>) -> Result<(), StoreError> {
        run!(self, transaction, |conn| {
            enqueue(conn, rows).await?;
            Ok(())
        })
    }

    /// Claims up to `limit` due deliveries, each the oldest open one of its account and
    /// endpoint: they become `sending`, leased for `lease_ms`, one more attempt counted.
    /// Two claimers never get the same row (see `Store::claim_outbox`).
    pub async fn claim_webhooks(
        &self,
        now: Millis,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<WebhookDelivery>, StoreError> {
        let mut claimed = run!(self, transaction, |conn| {
            let ids = conn.lock_due_webhooks(now, limit).await?;
            if ids.is_empty() {
                return Ok::<_, StoreError>(Vec::new());
            }
            let claimed = diesel::update(wd::table.filter(wd::id.eq_any(ids)))
                .filter(due(now))
                .set((
                    wd::status.eq(WebhookStatus::Sending),
                    wd::lease_until.eq(now.saturating_add(lease_ms)),
                    wd::attempts.eq(wd::attempts + 1),
                ))
                .returning(WebhookDelivery::as_returning())
                .get_results(conn)
                .await?;
            Ok(claimed)
        })?;
        claimed.sort_by_key(|d| (d.next_attempt_at, d.id));
        Ok(claimed)
    }

    /// Records deliveries, in one statement; the password hash they carried goes.
    pub async fn mark_webhooks_delivered(
        &self,
        ids: &[i64],
        now: Millis,
    ) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let ids = ids.to_vec();
        run!(self, write, |conn| {
            diesel::update(wd::table.filter(wd::id.eq_any(ids)))
                .set((
                    wd::status.eq(WebhookStatus::Delivered),
                    wd::delivered_at.eq(now),
                    wd::lease_until.eq(None::<Millis>),
                    wd::password_hash.eq(None::<String>),
                ))
                .execute(conn)
                .await?;
            Ok(())
        })
    }

    /// Deliveries, oldest first, optionally only those in `status`.
    pub async fn list_webhooks(
        &self,
        status: Option<WebhookStatus>,
    ) -> Result<Vec<WebhookDelivery>, StoreError> {
        run!(self, read, |conn| {
            let all = wd::table
                .order(wd::id.asc())
                .select(WebhookDelivery::as_select());
            let rows = match status {
                Some(status) => conn.load(all.filter(wd::status.eq(status))).await?,
                None => conn.load(all).await?,
            };
            Ok(rows)
        })
    }

    /// Re-queues a `dead` (or still `pending`) delivery for now with a fresh attempt count.
    /// `false` when there is no such delivery, or it is delivered or under way.
    pub async fn retry_webhook(&self, id: i64, now: Millis) -> Result<bool, StoreError> {
        run!(self, write, |conn| {
            let updated = diesel::update(
                wd::table
                    .find(id)
                    .filter(wd::status.eq_any([WebhookStatus::Dead, WebhookStatus::Pending])),
            )
            .set((
                wd::status.eq(WebhookStatus::Pending),
                wd::next_attempt_at.eq(now),
                wd::attempts.eq(0),
                wd::lease_until.eq(None::<Millis>),
            ))
            .execute(conn)
            .await?;
            Ok(updated == 1)
        })
    }

    /// Re-queues every `dead` delivery for now, in one statement; how many.
    pub async fn retry_dead_webhooks(&self, now: Millis) -> Result<usize, StoreError> {
        run!(self, write, |conn| {
            let updated = diesel::update(wd::table.filter(wd::status.eq(WebhookStatus::Dead)))
                .set((
                    wd::status.eq(WebhookStatus::Pending),
                    wd::next_attempt_at.eq(now),
                    wd::attempts.eq(0),
                    wd::lease_until.eq(None::<Millis>),
                ))
                .execute(conn)
                .await?;
            Ok(updated)
        })
    }

    pub async fn count_webhooks(&self, status: WebhookStatus) -> Result<i64, StoreError> {
        run!(self, read, |conn| {
            let count = conn
                .get_result(wd::table.filter(wd::status.eq(status)).count())
                .await?;
            Ok(count)
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::store::test_support::{store_tests, TestStore};
    use crate::store::{PendingWebhook, User, WebhookEvent, WebhookStatus};

    const LEASE: i64 = 60_000;

    fn pending(user: &User, n: usize, endpoint: &str) -> PendingWebhook {
        PendingWebhook {
            webhook_id: format!("{}:{endpoint}:{n}", user.email),
            endpoint: endpoint.to_owned(),
            event: WebhookEvent::UserUpdated,
            dialect: None,
            occurred_at: 0,
            password_hash: Some("sealed".to_owned()),
        }
    }

    async fn queue(t: &TestStore, user: &User, endpoint: &str, n: usize) {
        let rows = (0..n)
            .map(|i| pending(user, i, endpoint).for_user(user, 0))
            .collect();
        t.store.enqueue_webhooks(rows).await.expect("enqueue");
    }

    fn ids(claimed: &[crate::store::WebhookDelivery]) -> Vec<String> {
        claimed.iter().map(|d| d.webhook_id.clone()).collect()
    }

    store_tests! {
        /// One account's deliveries to one endpoint go one at a time, oldest first; other
        /// accounts and other endpoints do not wait for them.
        async fn claims_keep_each_accounts_order_per_endpoint(t: TestStore) {
            let ann = t.user("ann@example.test", 0).await;
            let bob = t.user("bob@example.test", 0).await;
            queue(&t, &ann, "a", 3).await;
            queue(&t, &bob, "a", 1).await;
            queue(&t, &ann, "b", 1).await;
            let first = t.store.claim_webhooks(0, LEASE, 10).await.expect("claim");
            let mut got = ids(&first);
            got.sort();
            let expected = ["ann@example.test:a:0", "ann@example.test:b:0", "bob@example.test:a:0"];
            assert_eq!(got, expected, "ann's first to a, ann's to b, bob's to a");
            // Nothing more while ann's first to `a` is under way.
            assert!(t.store.claim_webhooks(0, LEASE, 10).await.expect("claim").is_empty());
            let ann_a = first.iter().find(|d| d.user_id == ann.id && d.endpoint == "a").expect("ann a");
            t.store.mark_webhooks_delivered(&[ann_a.id], 1).await.expect("delivered");
            let next = t.store.claim_webhooks(1, LEASE, 10).await.expect("claim");
            assert_eq!(ids(&next), ["ann@example.test:a:1"]);
            // A failure waiting for its retry still holds the next back; a dead one does not.
            t.store.mark_webhook_failed(next[0].id, "HTTP 500", Some(1_000)).await.expect("failed");
            assert!(t.store.claim_webhooks(2, LEASE, 10).await.expect("claim").is_empty());
            t.store.mark_webhook_failed(next[0].id, "HTTP 500", None).await.expect("dead");
            let last = t.store.claim_webhooks(3, LEASE, 10).await.expect("claim");
            assert_eq!(ids(&last), ["ann@example.test:a:2"]);
            // Delivered rows keep no hash.
            let delivered = t.store.list_webhooks(Some(WebhookStatus::Delivered)).await.expect("list");
            assert_eq!(delivered.len(), 1);
            assert_eq!(delivered[0].password_hash, None);
            // A dead one comes back with `retry_dead_webhooks`.
            assert_eq!(t.store.retry_dead_webhooks(4).await.expect("retry"), 1);
            assert_eq!(t.store.count_webhooks(WebhookStatus::Dead).await.expect("count"), 0);
        }

        /// A worker that died: its claim is due again once the lease has run out.
        async fn an_abandoned_claim_is_claimed_again(t: TestStore) {
            let ann = t.user("ann@example.test", 0).await;
            queue(&t, &ann, "a", 2).await;
            let first = t.store.claim_webhooks(0, LEASE, 10).await.expect("claim");
            assert_eq!(ids(&first), ["ann@example.test:a:0"]);
            assert!(t.store.claim_webhooks(LEASE - 1, LEASE, 10).await.expect("claim").is_empty());
            let again = t.store.claim_webhooks(LEASE, LEASE, 10).await.expect("claim");
            assert_eq!(ids(&again), ["ann@example.test:a:0"]);
            assert_eq!(again[0].attempts, 2);
        }
    }
}

//! Reset tokens: issuing, looking up, counting failures, and the redemption itself.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::access::run;
use super::locks::RowLocks;
use super::reused::Reused;
use std::collections::{BTreeMap, HashMap, HashSet};

use super::insert_many::InsertMany as _;
use super::models::OutboxRow;
use super::outbox::insert_outbox;
use super::schema::{access_tokens, audit_events, reset_requests, reset_tokens, users};
use super::{
    CompleteReset, NewAuditEvent, NewOutboxMessage, NewResetToken, NewWebhookDelivery, QueuedIssue,
    ResetToken, Store, StoreError, User,
};
use crate::clock::Millis;

/// What a batch of settlements writes, statement by statement (see `Store::settle`).
struct SettlePlan {
    settled: Vec<Settled>,
    audit: Vec<NewAuditEvent>,
    /// The accounts whose tokens are replaced, by dialect.
    replaced: BTreeMap<String, Vec<i64>>,
    /// The last token of each account and dialect.
    tokens: Vec<NewResetToken>,
    mail: Vec<OutboxRow>,
    webhooks: Vec<NewWebhookDelivery>,
}

impl SettlePlan {
    /// `answered_here`: the requests whose rows this transaction deleted.
    fn new(batch: Vec<Settlement>, answered_here: &HashSet<i64>, now: Millis) -> Self {
        let mut plan = SettlePlan {
            settled: Vec::with_capacity(batch.len()),
            audit: Vec::new(),
            replaced: BTreeMap::new(),
            tokens: Vec::new(),
            mail: Vec::new(),
            webhooks: Vec::new(),
        };
        let mut last_token: HashMap<(i64, String), usize> = HashMap::new();
        for settlement in batch {
            let (token, mail, request, webhooks) = match settlement {
                Settlement::Drop { .. } => {
                    plan.settled.push(Settled::Dropped);
                    continue;
                }
                Settlement::Issue {
                    token,
                    mail,
                    request,
                    webhooks,
                } => (token, mail, request, webhooks),
            };
            if let Some(request) = request {
                if !answered_here.contains(&request.request_id) {
                    plan.settled.push(Settled::AlreadyDone);
                    continue;
                }
                plan.audit.push(request.audit);
            }
            let key = (token.user_id, token.dialect.clone());
            match last_token.get(&key) {
                Some(&at) => plan.tokens[at] = token,
                None => {
                    last_token.insert(key, plan.tokens.len());
                    plan.replaced
                        .entry(token.dialect.clone())
                        .or_default()
                        .push(token.user_id);
                    plan.tokens.push(token);
                }
            }
            if let Some(mail) = mail {
                plan.mail.push(OutboxRow::new(mail, now));
            }
            plan.webhooks.extend(webhooks);
            plan.settled.push(Settled::Issued);
        }
        plan
    }
}

/// One decision of the reset issuer (or an operator) to write, in
/// [`Store::settle_reset_requests`].
#[derive(Debug, Clone)]
// Batches are mostly `Issue`s: boxing it would cost an allocation each and save nothing.
#[allow(clippy::large_enum_variant)]
pub enum Settlement {
    /// A queued request that gets no token: its row goes, nothing else is written.
    Drop { request_id: i64 },
    /// Replace the account's tokens of the token's dialect with `token` and queue `mail`
    /// (if any: an operator may hand the code over instead). With `request`, the queued
    /// request this answers: its row goes and its audit event is recorded too, or, when
    /// the row is already gone (another issuer whose claim overlapped got there first),
    /// nothing at all is written.
    Issue {
        token: NewResetToken,
        mail: Option<NewOutboxMessage>,
        request: Option<QueuedIssue>,
        /// The webhooks announcing it (`password.reset_requested`), queued with it.
        webhooks: Vec<NewWebhookDelivery>,
    },
}

/// What became of a [`Settlement`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    Dropped,
    Issued,
    /// An `Issue` whose request another issuer had answered already: nothing written.
    AlreadyDone,
}

/// Whose token a lookup accepts: a request that names an account gets a token of that
/// account only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenOwner {
    Any,
    /// The account with this public id.
    PublicId(String),
    /// The account with this (normalized) email.
    Email(String),
}

impl Store {
    /// Replaces the user's tokens of this dialect with `token` and queues `mail`, in one
    /// transaction: the email exists exactly when the token does. See
    /// [`Settlement::Issue`]; `None` when `request` was answered already.
    pub async fn issue_reset_token(
        &self,
        token: NewResetToken,
        mail: Option<NewOutboxMessage>,
        request: Option<QueuedIssue>,
        now: Millis,
    ) -> Result<Option<ResetToken>, StoreError> {
        self.issue_reset_token_announced(token, mail, request, Vec::new(), now)
            .await
    }

    /// [`Store::issue_reset_token`], queuing `webhooks` with it.
    pub async fn issue_reset_token_announced(
        &self,
        token: NewResetToken,
        mail: Option<NewOutboxMessage>,
        request: Option<QueuedIssue>,
        webhooks: Vec<NewWebhookDelivery>,
        now: Millis,
    ) -> Result<Option<ResetToken>, StoreError> {
        let batch = vec![Settlement::Issue {
            token,
            mail,
            request,
            webhooks,
        }];
        let (_, mut issued) = self.settle(batch, now, true).await?;
        Ok(issued.pop())
    }

    /// Writes `batch` in one transaction, in order, and says what became of each: all of
    /// it or (on error) none. Deleting a request's row in the transaction that issues its
    /// token is what makes issuance exactly once per request: an issuer that dies before
    /// committing leaves the row to be claimed again, and one that commits has removed it.
    pub async fn settle_reset_requests(
        &self,
        batch: Vec<Settlement>,
        now: Millis,
    ) -> Result<Vec<Settled>, StoreError> {
        Ok(self.settle(batch, now, false).await?.0)
    }

    /// [`Store::settle_reset_requests`], and with `returning` the rows of the issued
    /// tokens too. Only on request: SQLite makes a temporary table for every `RETURNING`,
    /// and the issuer, which settles thousands a second under load, needs no rows.
    ///
    /// A handful of statements for the whole batch, not five per settlement: on SQLite each
    /// statement is a hop to a blocking thread and back, and the issuer spent more time on
    /// those hops than on the work (`cargo xtask bench`). The result is the one of writing the
    /// settlements one after the other: of two tokens for one account and dialect only the
    /// later is kept, as the later's deletion of the earlier would have left it.
    async fn settle(
        &self,
        batch: Vec<Settlement>,
        now: Millis,
        returning: bool,
    ) -> Result<(Vec<Settled>, Vec<ResetToken>), StoreError> {
        let mut accounts: Vec<i64> = batch
            .iter()
            .filter_map(|s| match s {
                Settlement::Issue { token, .. } => Some(token.user_id),
                Settlement::Drop { .. } => None,
            })
            .collect();
        accounts.sort_unstable();
        accounts.dedup();
        let request_ids: Vec<i64> = batch
            .iter()
            .filter_map(|s| match s {
                Settlement::Drop { request_id } => Some(*request_id),
                Settlement::Issue { request, .. } => request.as_ref().map(|r| r.request_id),
            })
            .collect();
        run!(self, transaction, |conn| {
            // PostgreSQL: without the lock, two issuances for one account at once would
            // each delete what was committed before them and leave both new tokens live.
            // Every account of the batch first, in id order, and only then request rows:
            // the order every transaction that locks both follows, so two issuers with
            // overlapping batches never wait on each other in a cycle.
            conn.lock_users(&accounts).await?;
            // PostgreSQL: a concurrent issuance of the same request holds the row until it
            // commits; this DELETE then re-checks and finds nothing. A request whose row is
            // gone was answered by another issuer: nothing is written for it.
            let answered_here: HashSet<i64> = if request_ids.is_empty() {
                HashSet::new()
            } else {
                diesel::delete(
                    reset_requests::table.filter(reset_requests::id.eq_any(&request_ids)),
                )
                .returning(reset_requests::id)
                .load::<i64>(conn)
                .await?
                .into_iter()
                .collect()
            };
            let SettlePlan {
                settled,
                audit,
                replaced,
                tokens,
                mail,
                webhooks,
            } = SettlePlan::new(batch, &answered_here, now);
            // With the tokens, not after them: once the mail exists, so does its record.
            conn.insert_many(audit).await?;
            for (dialect, users) in &replaced {
                diesel::delete(
                    reset_tokens::table
                        .filter(reset_tokens::dialect.eq(dialect))
                        .filter(reset_tokens::user_id.eq_any(users)),
                )
                .execute(conn)
                .await?;
            }
            let mut issued = Vec::new();
            if returning {
                // An operator's single token.
                for token in &tokens {
                    issued.push(
                        diesel::insert_into(reset_tokens::table)
                            .values(token)
                            .returning(ResetToken::as_returning())
                            .get_result(conn)
                            .await?,
                    );
                }
            } else {
                conn.insert_many(tokens).await?;
            }
            conn.insert_many(mail).await?;
            super::webhooks::enqueue(conn, webhooks).await?;
            Ok((settled, issued))
        })
    }

    /// The token with this hash in this dialect, used or expired or not: the caller judges.
    pub async fn find_reset_token(
        &self,
        dialect: &str,
        token_hash: &str,
    ) -> Result<Option<ResetToken>, StoreError> {
        let (dialect, token_hash) = (dialect.to_owned(), token_hash.to_owned());
        run!(self, read, |conn| {
            let token = conn
                .get_result(
                    reset_tokens::table
                        .filter(reset_tokens::dialect.eq(dialect))
                        .filter(reset_tokens::token_hash.eq(token_hash))
                        .select(ResetToken::as_select()),
                )
                .await
                .optional()?;
            Ok(token)
        })
    }

    /// [`Store::find_reset_token`] with the account it belongs to, if that account is
    /// `owner`, in one statement: a redemption needs both, and each store call costs a hop to
    /// a blocking thread (SQLite) or a pool checkout and its `SELECT 1` (PostgreSQL).
    pub async fn find_reset_token_with_user(
        &self,
        dialect: &str,
        token_hash: &str,
        owner: &TokenOwner,
    ) -> Result<Option<(ResetToken, User)>, StoreError> {
        let (dialect, token_hash) = (dialect.to_owned(), token_hash.to_owned());
        let owner = owner.clone();
        run!(self, read, |conn| {
            let token = reset_tokens::table
                .inner_join(users::table)
                .filter(reset_tokens::dialect.eq(dialect))
                .filter(reset_tokens::token_hash.eq(token_hash))
                .select((ResetToken::as_select(), User::as_select()));
            // One concrete statement per kind of owner, so that each is prepared once.
            let found = match owner {
                TokenOwner::Any => conn.get_result(token).await,
                TokenOwner::PublicId(id) => {
                    conn.get_result(token.filter(users::public_id.eq(id))).await
                }
                TokenOwner::Email(email) => {
                    conn.get_result(token.filter(users::email.eq(email))).await
                }
            };
            Ok(found.optional()?)
        })
    }

    /// The user's unused, unexpired token of this dialect, if any.
    pub async fn live_reset_token(
        &self,
        user_id: i64,
        dialect: &str,
        now: Millis,
    ) -> Result<Option<ResetToken>, StoreError> {
        let dialect = dialect.to_owned();
        run!(self, read, |conn| {
            let token = conn
                .first(
                    reset_tokens::table
                        .filter(reset_tokens::user_id.eq(user_id))
                        .filter(reset_tokens::dialect.eq(dialect))
                        .filter(reset_tokens::used_at.is_null())
                        .filter(reset_tokens::expires_at.gt(now))
                        .order(reset_tokens::id.desc())
                        .select(ResetToken::as_select()),
                )
                .await
                .optional()?;
            Ok(token)
        })
    }

    /// Counts a wrong guess against the live token of `dialect` of the account `user_id`
    /// (the newest unused, unexpired one), burns it once `burn_at` guesses have failed, and
    /// records `audit`; returns whether a token was burned. `None` stands for an account
    /// that does not exist and does exactly the same statements, matching nothing: a
    /// redemption naming an account costs the same whether or not it has one (issue 13
    /// item 23).
    pub async fn record_failed_redemption_of_live(
        &self,
        user_id: Option<i64>,
        dialect: &str,
        burn_at: i32,
        now: Millis,
        audit: NewAuditEvent,
    ) -> Result<bool, StoreError> {
        // Ids are positive: -1 names no row.
        let user_id = user_id.unwrap_or(-1);
        let dialect = dialect.to_owned();
        run!(self, transaction, |conn| {
            let token_id = reset_tokens::table
                .filter(reset_tokens::user_id.eq(user_id))
                .filter(reset_tokens::dialect.eq(dialect))
                .filter(reset_tokens::used_at.is_null())
                .filter(reset_tokens::expires_at.gt(now))
                .order(reset_tokens::id.desc())
                .select(reset_tokens::id)
                .first::<i64>(conn)
                .await
                .optional()?
                .unwrap_or(-1);
            // The increment locks the row (PostgreSQL) until commit, so the count the next
            // statement reads is still the row's.
            diesel::update(reset_tokens::table.find(token_id))
                .set(reset_tokens::failed_attempts.eq(reset_tokens::failed_attempts + 1))
                .execute(conn)
                .await?;
            // Whatever the count, so every path runs the same statements.
            let burned = diesel::update(
                reset_tokens::table
                    .find(token_id)
                    .filter(reset_tokens::used_at.is_null())
                    .filter(reset_tokens::failed_attempts.ge(burn_at)),
            )
            .set(reset_tokens::used_at.eq(now))
            .execute(conn)
            .await?;
            diesel::insert_into(audit_events::table)
                .values(&audit)
                .execute(conn)
                .await?;
            Ok(burned > 0)
        })
    }

    /// Redeems a token: in one durable transaction (synced to disk before the answer, on
    /// SQLite too), marks it used (only if it is still unused and unexpired), sets the new
    /// password hash, revokes every access token of the user, queues `reset.mail` and records
    /// `reset.audit`. Returns the updated user, or `None` (and writes nothing) when
    /// the token was already used, burned, expired or replaced — so of several concurrent
    /// redemptions exactly one gets `Some`.
    pub async fn complete_reset(
        &self,
        reset: CompleteReset,
        now: Millis,
    ) -> Result<Option<User>, StoreError> {
        run!(self, durable_transaction, |conn| {
            // Redemptions of one account take turns (PostgreSQL; SQLite's BEGIN IMMEDIATE
            // already serialises everything). Without this, two tokens of one account in two
            // dialects redeemed at once would each hold their own token row and wait for the
            // other's in the "other live tokens" UPDATE below: a deadlock, one aborted.
            conn.lock_user(reset.user_id).await?;
            // The conditional UPDATE is the redemption: whoever changes the row wins. On
            // PostgreSQL it is atomic by itself, even without the lock above: under READ
            // COMMITTED, a concurrent UPDATE of the same row waits for the row lock, and
            // once the winner commits re-evaluates `used_at IS NULL` against the committed
            // row, finds it false and changes nothing (0 rows). No snapshot is trusted, so
            // no serialization failure either: the losers get `None`, not an error.
            let claimed = Reused(
                diesel::update(
                    reset_tokens::table
                        .find(reset.token_id)
                        .filter(reset_tokens::user_id.eq(reset.user_id))
                        .filter(reset_tokens::used_at.is_null())
                        .filter(reset_tokens::expires_at.gt(now)),
                )
                .set(reset_tokens::used_at.eq(now)),
            )
            .execute(conn)
            .await?;
            if claimed == 0 {
                return Ok(None);
            }
            // The account's live tokens of other dialects die with the old password.
            Reused(
                diesel::update(
                    reset_tokens::table
                        .filter(reset_tokens::user_id.eq(reset.user_id))
                        .filter(reset_tokens::used_at.is_null()),
                )
                .set(reset_tokens::used_at.eq(now)),
            )
            .execute(conn)
            .await?;
            let user = Reused(
                diesel::update(users::table.find(reset.user_id))
                    .set((
                        users::password_hash.eq(&reset.password_hash),
                        users::updated_at.eq(now),
                    ))
                    .returning(User::as_returning()),
            )
            .get_result(conn)
            .await?;
            Reused(
                diesel::update(
                    access_tokens::table
                        .filter(access_tokens::user_id.eq(reset.user_id))
                        .filter(access_tokens::revoked_at.is_null()),
                )
                .set(access_tokens::revoked_at.eq(now)),
            )
            .execute(conn)
            .await?;
            for token in &reset.session {
                Reused(diesel::insert_into(access_tokens::table).values(token))
                    .execute(conn)
                    .await?;
            }
            Reused(insert_outbox(reset.mail, now)).execute(conn).await?;
            Reused(diesel::insert_into(audit_events::table).values(&reset.audit))
                .execute(conn)
                .await?;
            super::webhooks::enqueue(conn, reset.webhooks).await?;
            Ok(Some(user))
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use diesel::prelude::*;

    use crate::store::access::run;
    use crate::store::schema::reset_tokens;
    use crate::store::test_support::{mail, store_tests, TestStore};
    use crate::store::{
        AccessTokenKind, CompleteReset, NewAccessToken, NewResetToken, OutboxStatus, Store,
        StoreError, TokenOwner,
    };
    use crate::store::{AuditKind, NewAuditEvent};

    const HOUR: i64 = 3_600_000;

    /// A failed redemption's audit row.
    fn failed(user_id: Option<i64>) -> NewAuditEvent {
        NewAuditEvent {
            at: 1,
            kind: AuditKind::RedemptionFailed,
            user_id,
            dialect: Some("strapi".to_owned()),
            client_ip: None,
        }
    }

    fn token(user_id: i64, hash: &str, expires_at: i64) -> NewResetToken {
        NewResetToken {
            user_id,
            dialect: "strapi".to_owned(),
            token_hash: hash.to_owned(),
            created_at: 0,
            expires_at,
        }
    }

    fn completion(token_id: i64, user_id: i64, password_hash: &str) -> CompleteReset {
        CompleteReset {
            webhooks: Vec::new(),
            token_id,
            user_id,
            password_hash: password_hash.to_owned(),
            mail: mail("password changed"),
            audit: NewAuditEvent {
                at: 2,
                kind: AuditKind::ResetCompleted,
                user_id: Some(user_id),
                dialect: Some("strapi".to_owned()),
                client_ip: None,
            },
            session: Vec::new(),
        }
    }

    /// Unused tokens of the user, in any dialect.
    async fn unused_tokens(store: &Store, user_id: i64) -> Result<i64, StoreError> {
        run!(store, read, |conn| {
            let count = conn
                .get_result(
                    reset_tokens::table
                        .filter(reset_tokens::user_id.eq(user_id))
                        .filter(reset_tokens::used_at.is_null())
                        .count(),
                )
                .await?;
            Ok(count)
        })
    }

    async fn pending_mail(store: &Store) -> usize {
        let pending = store.count_outbox(OutboxStatus::Pending).await;
        usize::try_from(pending.expect("count")).expect("non-negative")
    }

    store_tests! {
        async fn a_new_token_replaces_the_earlier_one_of_that_dialect(t: TestStore) {
            let user = t.user("a@example.test", 0).await;
            let store = &t.store;

            let first = store.issue_reset_token(token(user.id, "h1", HOUR), Some(mail("one")), None, 0);
            let first = first.await.expect("issue first").expect("issued");
            let mut other = token(user.id, "h-other", HOUR);
            other.dialect = "cloudreve".to_owned();
            let other = store.issue_reset_token(other, Some(mail("other")), None, 0).await;
            let other = other.expect("issue other dialect").expect("issued");
            let second = store.issue_reset_token(token(user.id, "h2", HOUR), Some(mail("two")), None, 5);
            let second = second.await.expect("issue second").expect("issued");

            assert_eq!(
                store.find_reset_token("strapi", "h1").await.expect("find"),
                None
            );
            let found = store.find_reset_token("strapi", "h2").await.expect("find");
            assert_eq!(found.as_ref(), Some(&second));
            let live = store.live_reset_token(user.id, "strapi", 10).await;
            assert_eq!(live.expect("live").map(|t| t.id), Some(second.id));
            let live_other = store.live_reset_token(user.id, "cloudreve", 10).await;
            assert_eq!(live_other.expect("live").map(|t| t.id), Some(other.id));
            // Ids are never reused, so a stale id can't name the replacement.
            assert!(second.id > first.id);
            // Each request queued its own mail.
            assert_eq!(pending_mail(store).await, 3);

            assert!(!second.is_live(HOUR));
            let expired = store.live_reset_token(user.id, "strapi", HOUR).await;
            assert_eq!(expired.expect("live"), None);
        }

        async fn a_token_is_found_with_its_account_only_for_that_account(t: TestStore) {
            let ann = t.user("ann@example.test", 0).await;
            let bob = t.user("bob@example.test", 0).await;
            let store = &t.store;
            let issued = store.issue_reset_token(token(ann.id, "h-ann", HOUR), None, None, 0);
            let issued = issued.await.expect("issue").expect("issued");

            let find = |owner| async move {
                store.find_reset_token_with_user("strapi", "h-ann", &owner).await
            };
            let owners = [
                TokenOwner::Any,
                TokenOwner::PublicId(ann.public_id.clone()),
                TokenOwner::Email("ann@example.test".to_owned()),
            ];
            for owner in owners {
                let (token, user) = find(owner).await.expect("find").expect("Ann's token");
                assert_eq!((token.id, user.id, user.email.as_str()), (issued.id, ann.id, "ann@example.test"));
            }
            // Another account, or one that does not exist, gets nothing.
            let others = [
                TokenOwner::PublicId(bob.public_id.clone()),
                TokenOwner::Email("bob@example.test".to_owned()),
                TokenOwner::PublicId("Nobody000000".to_owned()),
                TokenOwner::Email("nobody@example.test".to_owned()),
            ];
            for owner in others {
                let label = format!("{owner:?}");
                assert_eq!(find(owner).await.expect("find"), None, "{label}");
            }
            // Nor does another dialect's or an unknown hash.
            let other_dialect = store.find_reset_token_with_user("cloudreve", "h-ann", &TokenOwner::Any);
            assert_eq!(other_dialect.await.expect("find"), None);
            let unknown = store.find_reset_token_with_user("strapi", "h-none", &TokenOwner::Any);
            assert_eq!(unknown.await.expect("find"), None);
        }

        async fn token_burns_after_the_limit(t: TestStore) {
            let user = t.user("b@example.test", 0).await;
            let store = &t.store;
            let issued = store.issue_reset_token(token(user.id, "h", HOUR), Some(mail("m")), None, 0);
            let issued = issued.await.expect("issue").expect("issued");

            for attempt in 1..=4 {
                let burned = store
                    .record_failed_redemption_of_live(Some(user.id), "strapi", 5, attempt, failed(Some(user.id)))
                    .await;
                assert!(!burned.expect("record"), "burned after {attempt}");
            }
            assert!(store
                .live_reset_token(user.id, "strapi", 5)
                .await
                .expect("live")
                .is_some());
            let burned =
                store.record_failed_redemption_of_live(Some(user.id), "strapi", 5, 5, failed(Some(user.id)));
            let burned = burned.await;
            assert!(burned.expect("record"));

            let dead = store.find_reset_token("strapi", "h").await.expect("find");
            let dead = dead.expect("still there");
            assert_eq!(dead.failed_attempts, 5);
            assert_eq!(dead.used_at, Some(5));
            assert!(store
                .live_reset_token(user.id, "strapi", 6)
                .await
                .expect("live")
                .is_none());
            let redeemed = store.complete_reset(completion(issued.id, user.id, "new"), 7);
            assert_eq!(redeemed.await.expect("complete"), None);
            // No live token left, and no account at all: nothing counted, nothing burned.
            for user_id in [Some(user.id), None] {
                assert!(!store
                    .record_failed_redemption_of_live(user_id, "strapi", 1, 8, failed(user_id))
                    .await
                    .expect("no token"));
            }
            let dead = store.find_reset_token("strapi", "h").await.expect("find");
            assert_eq!(dead.expect("still there").failed_attempts, 5);
            // Each failure was audited with it, the unknown account's as no account.
            let audit = store.list_audit(10).await.expect("audit");
            let named: Vec<Option<i64>> = audit.iter().map(|e| e.user_id).collect();
            assert_eq!(named[..2], [None, Some(user.id)]);
            assert_eq!(audit.len(), 7);
        }

        async fn complete_reset_sets_password_revokes_sessions_and_queues_mail(t: TestStore) {
            let user = t.user("c@example.test", 0).await;
            let store = &t.store;
            let issued = store.issue_reset_token(token(user.id, "h", HOUR), Some(mail("m")), None, 0);
            let issued = issued.await.expect("issue").expect("issued");
            let session = NewAccessToken {
                user_id: user.id,
                token_hash: "session".to_owned(),
                kind: AccessTokenKind::Access,
                client_id: "web".to_owned(),
                scope: "read".to_owned(),
                created_at: 0,
                expires_at: HOUR,
            };
            store
                .insert_access_tokens(vec![session.clone()])
                .await
                .expect("session");

            // The session the reset itself opens (Strapi, SelfCommunity) is not revoked.
            let opened = NewAccessToken {
                token_hash: "opened".to_owned(),
                created_at: 10,
                expires_at: 10 + HOUR,
                ..session.clone()
            };
            let mut reset = completion(issued.id, user.id, "$argon2id$new");
            reset.session = vec![opened];
            let done = store.complete_reset(reset, 10);
            let done = done.await.expect("complete").expect("token was live");
            assert_eq!(done.password_hash.as_deref(), Some("$argon2id$new"));
            assert_eq!(done.updated_at, 10);

            let found = store.find_access_token("session").await.expect("find");
            let (session, owner) = found.expect("session row");
            assert_eq!(owner.id, user.id);
            assert_eq!(session.revoked_at, Some(10));
            assert!(!session.is_active(11));
            let found = store.find_access_token("opened").await.expect("find");
            let (opened, owner) = found.expect("opened session row");
            assert_eq!(owner.id, user.id);
            assert_eq!(opened.revoked_at, None);
            assert!(opened.is_active(11));
            assert_eq!(pending_mail(store).await, 2);
            let audit = store.list_audit(10).await.expect("audit");
            let kinds: Vec<AuditKind> = audit.iter().map(|e| e.kind).collect();
            assert_eq!(kinds, [AuditKind::ResetCompleted]);
            assert_eq!(audit[0].user_id, Some(user.id));

            // A second redemption finds the token used and writes nothing.
            let again = store.complete_reset(completion(issued.id, user.id, "other"), 11);
            assert_eq!(again.await.expect("complete"), None);
            let unchanged = store
                .user_by_id(user.id)
                .await
                .expect("user")
                .expect("exists");
            assert_eq!(unchanged.password_hash.as_deref(), Some("$argon2id$new"));
            assert_eq!(pending_mail(store).await, 2);
            assert_eq!(store.list_audit(10).await.expect("audit").len(), 1);
        }

        async fn expired_token_is_not_redeemed(t: TestStore) {
            let user = t.user("d@example.test", 0).await;
            let issued = t
                .store
                .issue_reset_token(token(user.id, "h", 100), Some(mail("m")), None, 0);
            let issued = issued.await.expect("issue").expect("issued");
            let late = t
                .store
                .complete_reset(completion(issued.id, user.id, "x"), 100);
            assert_eq!(late.await.expect("complete"), None);
        }

        async fn twenty_concurrent_redemptions_one_winner_no_lock_errors(t: TestStore) {
            let user = t.user("e@example.test", 0).await;
            let issued = t
                .store
                .issue_reset_token(token(user.id, "h", HOUR), Some(mail("m")), None, 0);
            let issued = issued.await.expect("issue").expect("issued");

            let mut tasks = tokio::task::JoinSet::new();
            for i in 0..20 {
                let store = t.store.clone();
                let reset = completion(issued.id, user.id, &format!("hash-{i}"));
                tasks.spawn(async move { (i, store.complete_reset(reset, 10).await) });
            }
            let mut winners = Vec::new();
            let mut losers = 0;
            while let Some(joined) = tasks.join_next().await {
                let (i, outcome) = joined.expect("task");
                match outcome {
                    Ok(Some(_)) => winners.push(i),
                    Ok(None) => losers += 1,
                    Err(e) => panic!("redemption {i} failed: {e}"),
                }
            }
            assert_eq!(winners.len(), 1, "winners: {winners:?}");
            assert_eq!(losers, 19);

            let user = t
                .store
                .user_by_id(user.id)
                .await
                .expect("user")
                .expect("exists");
            let winner_hash = format!("hash-{}", winners[0]);
            assert_eq!(user.password_hash.as_deref(), Some(winner_hash.as_str()));
            // One issue mail plus exactly one "password changed" mail.
            assert_eq!(pending_mail(&t.store).await, 2);
            let ids: HashSet<_> = t
                .store
                .list_outbox(None)
                .await
                .expect("list")
                .into_iter()
                .map(|m| m.message_id)
                .collect();
            assert_eq!(ids.len(), 2);
        }

        async fn concurrent_requests_leave_one_live_token(t: TestStore) {
            let user = t.user("g@example.test", 0).await;
            let mut tasks = tokio::task::JoinSet::new();
            for i in 0..10 {
                let store = t.store.clone();
                let issued = token(user.id, &format!("h{i}"), HOUR);
                tasks.spawn(async move { store.issue_reset_token(issued, Some(mail("m")), None, i).await });
            }
            while let Some(joined) = tasks.join_next().await {
                joined.expect("task").expect("issue");
            }
            assert_eq!(unused_tokens(&t.store, user.id).await.expect("count"), 1);
            assert_eq!(pending_mail(&t.store).await, 10);
        }

        async fn concurrent_redemptions_in_two_dialects_one_winner(t: TestStore) {
            // Each redemption holds its own token's row and then marks the account's other
            // tokens used: without the account lock, PostgreSQL would deadlock here.
            for round in 0..10 {
                let user = t.user(&format!("h{round}@example.test"), 0).await;
                let strapi = token(user.id, &format!("s{round}"), HOUR);
                let mut cloudreve = token(user.id, &format!("c{round}"), HOUR);
                cloudreve.dialect = "cloudreve".to_owned();
                let mut ids = Vec::new();
                for issued in [strapi, cloudreve] {
                    let issued = t.store.issue_reset_token(issued, None, None, 0).await;
                    ids.push(issued.expect("issue").expect("issued").id);
                }
                let mut tasks = tokio::task::JoinSet::new();
                for id in ids {
                    let store = t.store.clone();
                    let reset = completion(id, user.id, &format!("hash-{id}"));
                    tasks.spawn(async move { store.complete_reset(reset, 10).await });
                }
                let mut winners = 0;
                while let Some(joined) = tasks.join_next().await {
                    let outcome = joined.expect("task");
                    match outcome {
                        Ok(Some(_)) => winners += 1,
                        Ok(None) => {}
                        Err(e) => panic!("round {round}: redemption failed: {e}"),
                    }
                }
                assert_eq!(winners, 1, "round {round}");
                assert_eq!(unused_tokens(&t.store, user.id).await.expect("count"), 0);
            }
        }
    }
}

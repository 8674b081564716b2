//! The reset issuer: turns queued reset requests into tokens and mail, away from the request
//! that queued them (SECURITY.md items 1 and 2).
//!
//! The request path answers every well-formed request the same way after one INSERT into
//! `reset_requests`, so neither its answer nor its time can tell whether the email has an
//! account. This background task (one per process, like the outbox worker; run by
//! `crate::worker`'s driver, started and stopped by `background.rs`) claims queued requests
//! in batches, with a lease the driver renews while it works them, and for each, in the
//! order they came:
//!
//! 1. counts it against the email's per-account limit (SECURITY.md 3; known and unknown
//!    emails alike, in the window of the moment the request was made);
//! 2. looks the account up (one query for the batch);
//! 3. unknown, banned or inactive account, or over the limit: the request is to be deleted,
//!    and that is all;
//! 4. else generates the token and builds its mail: token, mail, the `reset_requested`
//!    audit event (with the request's time and client IP) and the deletion of the request
//!    are to be written together.
//!
//! Then the batch is written [`SETTLE_CHUNK`] requests to a transaction
//! (`Store::settle_reset_requests`) rather than one each. If one fails for a reason of
//! one request's own (not the store being away), the rest of the batch is done again one
//! request per transaction, so that only that request fails.
//!
//! # Exactly once
//!
//! A request row exists until the transaction that issues its token commits, or until it is
//! deleted as getting none. An issuer that dies half-way leaves the rows leased; once the
//! lease ends any issuer claims them again. If the first one was only slow and commits
//! after all, the second finds the rows gone and writes nothing for them
//! ([`Settled::AlreadyDone`]): a request never yields two tokens, two mails or two audit
//! events. What is not exactly once: a request processed twice is counted twice against its
//! account's limit (the count is its own statement, before the lookup), which errs towards
//! fewer mails.
//!
//! # Order
//!
//! One issuer settles a batch in id order, so of two requests for one account the later
//! one's token is the live one. Issuers of several replicas, each holding a request of the
//! same account, race as two concurrent synchronous requests used to; the account lock in
//! `settle_reset_requests` still leaves exactly one live token.

use std::collections::HashMap;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::clock::Millis;
use crate::mail::RenderError;
use crate::metrics::IssuedVia;
use crate::store::{
    AuditKind, NewAuditEvent, QueuedIssue, ResetRequest, Settled, Settlement, StoreError, User,
    WebhookEvent,
};
use crate::worker::{Driver, Pass, Queue, Schedule};

use super::limits::AccountQuota;
use super::request::account_problem;
use super::{Dialect, ResetCore};

/// How the issuer claims and waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IssuerPolicy {
    /// How long a claimed request stays with this issuer without a renewal before another
    /// may take it.
    pub lease: Duration,
    /// How often to look for queued requests when nobody wakes the issuer.
    pub poll_interval: Duration,
    /// Requests claimed at once.
    pub batch: i64,
    /// How long to let requests gather after a wake-up before claiming them: under load,
    /// one pass (three transactions) then settles many requests instead of a few.
    pub gather: Duration,
}

impl Default for IssuerPolicy {
    fn default() -> Self {
        IssuerPolicy {
            lease: Duration::from_secs(10),
            poll_interval: Duration::from_secs(1),
            // Large enough that a flood of requests costs few commits, small enough that a
            // batch settles well within its lease.
            batch: 256,
            // Next to an email's delivery time, nothing; at 10,000 requests a second, 200
            // per pass.
            gather: Duration::from_millis(20),
        }
    }
}

/// Settlements per transaction. On SQLite every write of the process takes its turn on one
/// lock, and a long transaction of the issuer holds up the requests waiting to be queued:
/// in the bench, settling 256 at once let requests for known emails in at a fifth of the
/// rate of those for unknown ones.
const SETTLE_CHUNK: usize = 32;

/// What a batch settled before an error stopped it.
struct Partial {
    settled: Vec<Settled>,
    error: ProcessError,
}

/// How long a stopping issuer keeps draining the queue (see [`ResetIssuer::run`]).
pub const SHUTDOWN_DRAIN: Duration = Duration::from_secs(5);

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IssueStats {
    pub claimed: usize,
    /// A token issued and its mail queued.
    pub issued: usize,
    /// Deleted without a token: unknown, banned or inactive account, over the account's
    /// limit, or a dialect no longer served.
    pub dropped: usize,
    /// Already issued by another issuer whose lease had run out: nothing written.
    pub already_done: usize,
    /// Failed on a store error; left leased, to be claimed again when the lease ends.
    pub failed: usize,
    /// Claimed but handed back unprocessed (the issuer is stopping).
    pub released: usize,
}

/// Why a request (or a batch) could not be settled.
#[derive(Debug, thiserror::Error)]
enum ProcessError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Its mail could not be rendered; like any failure tied to one request, it stays
    /// leased and is tried again when the lease ends.
    #[error(transparent)]
    Mail(#[from] RenderError),
    #[error(transparent)]
    Hash(#[from] crate::security::password_hash::HashError),
}

/// The background task; see the module documentation.
#[derive(Clone)]
pub struct ResetIssuer {
    core: ResetCore,
    policy: IssuerPolicy,
}

impl ResetCore {
    /// An issuer processing the requests this core (and any other replica) queues. The
    /// request path wakes it after each request it queues.
    pub fn issuer(&self, policy: IssuerPolicy) -> ResetIssuer {
        ResetIssuer {
            core: self.clone(),
            policy,
        }
    }
}

impl ResetIssuer {
    /// The issuer as the worker driver runs it (`crate::worker`), woken by the request path.
    pub fn driver(self) -> Driver<ResetIssuer> {
        let schedule = Schedule {
            lease: self.policy.lease,
            poll_interval: self.policy.poll_interval,
            batch: self.policy.batch,
            gather: self.policy.gather,
            drain: SHUTDOWN_DRAIN,
        };
        let (clock, wake) = (self.core.clock.clone(), self.core.issue_wake.clone());
        Driver::new(self, schedule, clock, wake)
    }

    /// Processes what is queued now, once.
    pub async fn run_once(&self) -> Result<IssueStats, StoreError> {
        self.clone().driver().run_once().await
    }

    /// Processes queued requests until `stop` is cancelled, woken by each request this
    /// process queues, or every poll interval (`worker::Driver::run`).
    ///
    /// Stop it after the HTTP server has closed: it then drains the queue for up to
    /// [`SHUTDOWN_DRAIN`], so that the requests answered last leave with their mail in the
    /// outbox, as they did when requests issued tokens themselves. What is left after that
    /// stays queued for the next start or another replica.
    pub async fn run(self, stop: CancellationToken) {
        self.driver().run(stop).await;
    }
}

impl Queue for ResetIssuer {
    type Item = ResetRequest;
    type Report = IssueStats;
    type Error = StoreError;

    const NAME: &'static str = "reset issuer";

    async fn claim(
        &self,
        now: Millis,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<ResetRequest>, StoreError> {
        self.core
            .store
            .claim_reset_requests(now, lease_ms, limit)
            .await
    }

    fn key(request: &ResetRequest) -> i64 {
        request.id
    }

    async fn renew(&self, ids: &[i64], held: Millis, until: Millis) -> Result<(), StoreError> {
        self.core
            .store
            .renew_reset_request_leases(ids, held, until)
            .await
    }

    /// The claim settled in a few transactions (`Store::settle_reset_requests`); when one
    /// fails for another reason than the store being away, the rest of the batch one
    /// request at a time, so that only the one at fault fails. The ones not reached go back
    /// to the queue.
    async fn run(
        &self,
        claimed: Vec<ResetRequest>,
        pass: &Pass<'_>,
    ) -> Result<IssueStats, StoreError> {
        let store = &self.core.store;
        let mut stats = IssueStats {
            claimed: claimed.len(),
            ..IssueStats::default()
        };
        if !pass.keep_going() {
            let ids: Vec<i64> = claimed.iter().map(|r| r.id).collect();
            store.release_reset_requests(&ids).await?;
            stats.released = ids.len();
            return Ok(stats);
        }
        let (settled, failure) = match self.settle(&claimed, pass).await {
            Ok(settled) => (settled, None),
            Err(Partial { settled, error }) => (settled, Some(error)),
        };
        for outcome in &settled {
            match outcome {
                Settled::Issued => stats.issued += 1,
                Settled::Dropped => stats.dropped += 1,
                Settled::AlreadyDone => stats.already_done += 1,
            }
        }
        let Some(error) = failure else {
            return Ok(stats);
        };
        let rest = claimed.get(settled.len()..).unwrap_or_default().to_vec();
        let error = match error {
            ProcessError::Store(error) if error.is_unavailable() => {
                // Handed back (if the store lets us), to be retried in order once it is
                // back; if it does not, their leases run out.
                let ids: Vec<i64> = rest.iter().map(|r| r.id).collect();
                if let Err(release_error) = store.release_reset_requests(&ids).await {
                    tracing::debug!(error = %release_error, "could not release reset requests");
                }
                return Err(error);
            }
            error => error,
        };
        tracing::warn!(
            %error,
            requests = rest.len(),
            "reset issuer batch failed; processing its requests one at a time"
        );
        self.process_one_by_one(rest, pass, stats).await
    }
}

impl ResetIssuer {
    /// The claimed requests' settlements, written in order, [`SETTLE_CHUNK`] to a
    /// transaction: of two requests for one account the later one's token is the live one.
    /// On an error, what was settled before it.
    async fn settle(
        &self,
        claimed: &[ResetRequest],
        pass: &Pass<'_>,
    ) -> Result<Vec<Settled>, Partial> {
        let fail = |error: ProcessError| Partial {
            settled: Vec::new(),
            error,
        };
        let core = &self.core;
        // The batch shares one lease, renewed while it is worked. Once it has run out
        // anyway (a store slowed to a crawl), the requests may be another issuer's by now:
        // leave them to it. Issuing would still be exactly once, but counted twice against
        // the account.
        if !pass.lease_held() {
            tracing::info!("reset issuer lease ran out: the batch is left to the next claim");
            return Ok(Vec::new());
        }
        let emails: Vec<&str> = claimed.iter().map(|r| r.email.as_str()).collect();
        let users: HashMap<String, User> = core
            .store
            .users_by_emails(&emails)
            .await
            .map_err(|error| fail(error.into()))?
            .into_iter()
            .map(|user| (user.email.clone(), user))
            .collect();
        let now = core.clock.now_ms();
        let mut batch = Vec::with_capacity(claimed.len());
        for request in claimed {
            let settlement = self
                .settlement(request, users.get(&request.email), now)
                .await;
            batch.push(settlement.map_err(fail)?);
        }
        let mut settled = Vec::with_capacity(batch.len());
        let mut batch = batch.into_iter().peekable();
        while batch.peek().is_some() {
            let chunk: Vec<Settlement> = batch.by_ref().take(SETTLE_CHUNK).collect();
            let accounts: Vec<_> = chunk.iter().map(account_of).collect();
            match core.store.settle_reset_requests(chunk, now).await {
                Ok(outcomes) => {
                    self.announce(&accounts, &outcomes);
                    settled.extend(outcomes);
                }
                Err(error) => {
                    return Err(Partial {
                        settled,
                        error: error.into(),
                    })
                }
            }
        }
        Ok(settled)
    }

    /// The old way, for a batch that failed as a whole: each request in its own
    /// transaction, while the pass says to keep going.
    async fn process_one_by_one(
        &self,
        claimed: Vec<ResetRequest>,
        pass: &Pass<'_>,
        mut stats: IssueStats,
    ) -> Result<IssueStats, StoreError> {
        let store = &self.core.store;
        let mut pending = claimed.into_iter().peekable();
        while let Some(request) = pending.next_if(|_| pass.keep_going()) {
            if !pass.lease_held() {
                tracing::info!(
                    request_id = request.id,
                    "reset issuer lease ran out: the rest of the batch is left to the next claim"
                );
                return Ok(stats);
            }
            match self.process(&request).await {
                Ok(Settled::Issued) => stats.issued += 1,
                Ok(Settled::Dropped) => stats.dropped += 1,
                Ok(Settled::AlreadyDone) => stats.already_done += 1,
                Err(ProcessError::Store(error)) if error.is_unavailable() => {
                    // The rest would fail alike: hand this one and the rest back.
                    let unprocessed: Vec<i64> = std::iter::once(request.id)
                        .chain(pending.map(|r| r.id))
                        .collect();
                    if let Err(release_error) = store.release_reset_requests(&unprocessed).await {
                        tracing::debug!(error = %release_error, "could not release reset requests");
                    }
                    return Err(error);
                }
                Err(error) => {
                    // Not the store being away: something about this request (say, its
                    // account deleted between lookup and issuance). It stays leased, is tried
                    // afresh when the lease runs out, and the queue behind it does not wait.
                    stats.failed += 1;
                    tracing::error!(request_id = request.id, %error, "reset request failed");
                }
            }
        }
        let unprocessed: Vec<i64> = pending.map(|r| r.id).collect();
        if !unprocessed.is_empty() {
            store.release_reset_requests(&unprocessed).await?;
            stats.released = unprocessed.len();
        }
        Ok(stats)
    }

    async fn process(&self, request: &ResetRequest) -> Result<Settled, ProcessError> {
        let core = &self.core;
        let user = core.store.user_by_email(&request.email).await?;
        let now = core.clock.now_ms();
        let settlement = self.settlement(request, user.as_ref(), now).await?;
        let accounts = [account_of(&settlement)];
        let settled = core
            .store
            .settle_reset_requests(vec![settlement], now)
            .await?;
        self.announce(&accounts, &settled);
        Ok(settled.into_iter().next().unwrap_or(Settled::AlreadyDone))
    }

    /// What to write for `request`, once it is counted against its account's limit.
    async fn settlement(
        &self,
        request: &ResetRequest,
        user: Option<&User>,
        now: Millis,
    ) -> Result<Settlement, ProcessError> {
        let core = &self.core;
        let dialect = match request.dialect.parse::<Dialect>() {
            Ok(dialect) if core.is_enabled(dialect) => dialect,
            parsed => {
                // Queued before a restart that disabled the dialect (or a row no version of
                // resetd writes): nothing may be issued for it.
                tracing::warn!(
                    request_id = request.id,
                    known_dialect = parsed.is_ok(),
                    "reset request for a dialect not served; dropped"
                );
                return Ok(Settlement::Drop {
                    request_id: request.id,
                });
            }
        };
        // Every processed request counts, whether or not the email has an account
        // (SECURITY.md 3), in the window it was made in.
        let quota = core
            .account_quota(dialect, &request.email, request.created_at)
            .await?;
        let user = match user {
            Some(user)
                if quota == AccountQuota::Available && account_problem(Some(user)).is_none() =>
            {
                user
            }
            // Unknown, banned, inactive, or past its limit: the client was answered as for
            // anyone else; nothing is issued and the email is forgotten.
            _ => {
                return Ok(Settlement::Drop {
                    request_id: request.id,
                })
            }
        };
        let (token, mail) = core.new_reset_token(dialect, user, now)?;
        // Only now, for an account that gets a token: never for an unknown email, and off the
        // request path, so the requester cannot tell from the answer or its time.
        let webhooks = core
            .webhooks_for(&[WebhookEvent::ResetRequested], Some(dialect), None)
            .await?
            .into_iter()
            .map(|w| w.for_user(user, now))
            .collect();
        Ok(Settlement::Issue {
            token,
            mail: Some(mail),
            webhooks,
            // As the request path recorded it before the queue: when and from where the
            // request came.
            request: Some(QueuedIssue {
                request_id: request.id,
                audit: NewAuditEvent {
                    at: request.created_at,
                    kind: AuditKind::ResetRequested,
                    user_id: Some(user.id),
                    dialect: Some(dialect.as_str().to_owned()),
                    client_ip: request.client_ip.clone(),
                },
            }),
        })
    }

    /// Logs the issued tokens and wakes the outbox worker for their mail. `accounts` are
    /// what the settlements would issue for, in order.
    fn announce(&self, accounts: &[Option<(i64, Dialect)>], settled: &[Settled]) {
        let mut issued = false;
        for (account, outcome) in accounts.iter().zip(settled) {
            if let (Some((user_id, dialect)), Settled::Issued) = (account, outcome) {
                issued = true;
                self.core
                    .metrics
                    .resets
                    .issued(dialect.as_str(), IssuedVia::Email);
                tracing::info!(%dialect, user_id, "reset requested");
            }
        }
        if issued {
            self.core.mail_wake.notify_one();
            if !self.core.config.webhooks.is_empty() {
                self.core.webhook_wake.notify_one();
            }
        }
    }
}

/// The account and dialect a settlement issues a token for, if it does.
fn account_of(settlement: &Settlement) -> Option<(i64, Dialect)> {
    match settlement {
        // Written from a `Dialect` by `settlement`: it parses.
        Settlement::Issue { token, .. } => Some((token.user_id, token.dialect.parse().ok()?)),
        Settlement::Drop { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;
    use std::sync::Arc;

    use tokio::sync::Notify;

    use super::*;
    use crate::clock::{Clock as _, OffsetClock};
    use crate::config::Config;
    use crate::mail::MailTemplates;
    use crate::reset::{AccountProblem, RequestError, RequestOutcome};
    use crate::security::keyed_hash::TokenHasher;
    use crate::security::password_hash::PasswordHasher;
    use crate::store::test_support::{new_user, store_tests, TestStore};
    use crate::store::{OutboxStatus, Store, UserStatus};

    const SECRET: &str = "issuer-test-secret-0123456789abcdef";
    const KNOWN: &str = "known@example.test";

    struct Fixture {
        core: ResetCore,
        clock: OffsetClock,
    }

    fn fixture(t: &TestStore, adjust: impl FnOnce(&mut Config)) -> Fixture {
        let mut config = Config::default();
        adjust(&mut config);
        let clock = OffsetClock::new();
        let passwords = PasswordHasher::new(1024, 1, 1, 1).expect("argon2 parameters");
        let core = ResetCore::new(
            t.store.clone(),
            Arc::new(config),
            TokenHasher::from_secret(SECRET),
            passwords,
            Arc::new(MailTemplates::built_in().expect("built-in templates")),
            Arc::new(clock.clone()),
            Arc::new(Notify::new()),
        );
        Fixture { core, clock }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test address")
    }

    async fn account(t: &TestStore, email: &str, status: UserStatus) {
        let mut user = new_user(email, 0);
        user.status = status;
        t.store.create_user(user).await.expect("create user");
    }

    async fn outbox_recipients(store: &Store) -> Vec<String> {
        let rows = store.list_outbox(None).await.expect("outbox");
        rows.into_iter().map(|m| m.recipient).collect()
    }

    /// The 128-hex Strapi code a reset mail carries.
    fn strapi_code(body: &str) -> String {
        body.split(|c: char| !c.is_ascii_alphanumeric())
            .find(|w| w.len() == 128)
            .unwrap_or_else(|| panic!("no code in {body}"))
            .to_owned()
    }

    store_tests! {
        /// SECURITY.md 1 and 2: the request path does one and the same write for a known, an
        /// unknown, a banned and an inactive email; only the issuer tells them apart.
        async fn every_email_queues_one_row_and_only_the_known_one_gets_mail(t: TestStore) {
            let f = fixture(&t, |_| {});
            account(&t, KNOWN, UserStatus::Active).await;
            account(&t, "banned@example.test", UserStatus::Banned).await;
            account(&t, "inactive@example.test", UserStatus::Inactive).await;
            let emails = [
                KNOWN,
                "nobody@example.test",
                "banned@example.test",
                "inactive@example.test",
            ];
            for email in emails {
                let outcome = f
                    .core
                    .request_reset(Dialect::Strapi, &format!("  {}  ", email.to_uppercase()), ip("192.0.2.7"))
                    .await
                    .expect("request");
                assert_eq!(outcome, RequestOutcome::Accepted);
            }

            // Before the issuer runs: one row per request, alike but for the email, and no
            // other trace of the account in the store.
            let queued = t.store.list_reset_requests().await.expect("queue");
            let queued_emails: Vec<_> = queued.iter().map(|r| r.email.as_str()).collect();
            assert_eq!(queued_emails, emails, "normalized, in order");
            for row in &queued {
                assert_eq!(row.dialect, "strapi");
                assert_eq!(row.client_ip.as_deref(), Some("192.0.2.7"));
                assert_eq!(row.lease_until, None);
            }
            assert!(t.store.list_outbox(None).await.expect("outbox").is_empty());
            assert!(t.store.list_audit(10).await.expect("audit").is_empty());
            let keys = t.store.rate_limit_keys().await.expect("keys");
            assert_eq!(keys, ["ip_requests:192.0.2.7"], "accounts are counted by the issuer");

            let stats = f.core.issuer(IssuerPolicy::default()).run_once().await.expect("pass");
            assert_eq!(
                stats,
                IssueStats { claimed: 4, issued: 1, dropped: 3, ..IssueStats::default() }
            );
            assert!(t.store.list_reset_requests().await.expect("queue").is_empty());
            assert_eq!(outbox_recipients(&t.store).await, [KNOWN]);
            let audit = t.store.list_audit(10).await.expect("audit");
            assert_eq!(audit.len(), 1);
            assert_eq!(audit[0].kind, AuditKind::ResetRequested);
            assert_eq!(audit[0].client_ip.as_deref(), Some("192.0.2.7"));
            assert_eq!(audit[0].dialect.as_deref(), Some("strapi"));
            // Every email was counted against its account's limit, known or not.
            assert_eq!(t.store.rate_limit_keys().await.expect("keys").len(), 5);

            // Nothing left: another pass does nothing.
            let again = f.core.issuer(IssuerPolicy::default()).run_once().await.expect("pass");
            assert_eq!(again, IssueStats::default());
        }

        async fn bad_input_and_the_ip_limit_queue_nothing(t: TestStore) {
            let f = fixture(&t, |c| c.security.ip_requests_per_window = 2);
            let from = ip("192.0.2.8");
            let err = f
                .core
                .request_reset(Dialect::Cloudreve, "not an email", from)
                .await
                .expect_err("accepted a bad email");
            assert!(matches!(err, RequestError::InvalidEmail(_)), "{err:?}");
            assert!(t.store.rate_limit_keys().await.expect("keys").is_empty());
            for n in 0..2 {
                let email = format!("n{n}@example.test");
                f.core.request_reset(Dialect::Cloudreve, &email, from).await.expect("request");
            }
            let err = f
                .core
                .request_reset(Dialect::Cloudreve, KNOWN, from)
                .await
                .expect_err("past the IP limit");
            assert!(matches!(err, RequestError::TooManyRequests(_)), "{err:?}");
            assert_eq!(t.store.list_reset_requests().await.expect("queue").len(), 2);
        }

        /// SECURITY.md 3, now in the issuer: the fourth request in a window is processed
        /// like the others but issues nothing.
        async fn the_account_limit_is_counted_per_processed_request(t: TestStore) {
            let f = fixture(&t, |_| {});
            account(&t, KNOWN, UserStatus::Active).await;
            for _ in 0..5 {
                f.core.request_reset(Dialect::Strapi, KNOWN, ip("192.0.2.9")).await.expect("request");
            }
            let stats = f.core.issuer(IssuerPolicy::default()).run_once().await.expect("pass");
            assert_eq!((stats.issued, stats.dropped), (3, 2));
            assert_eq!(outbox_recipients(&t.store).await.len(), 3);
            assert!(t.store.list_reset_requests().await.expect("queue").is_empty());
        }

        /// SECURITY.md 4 through the queue: two requests for one account, processed in the
        /// order they came, leave the later one's token live.
        async fn the_later_request_holds_the_live_token(t: TestStore) {
            let f = fixture(&t, |_| {});
            account(&t, KNOWN, UserStatus::Active).await;
            for _ in 0..2 {
                f.core.request_reset(Dialect::Strapi, KNOWN, ip("192.0.2.10")).await.expect("request");
            }
            f.core.issuer(IssuerPolicy::default()).run_once().await.expect("pass");
            let mails = t.store.list_outbox(None).await.expect("outbox");
            assert_eq!(mails.len(), 2);
            let user = t.store.user_by_email(KNOWN).await.expect("user").expect("exists");
            let live = t
                .store
                .live_reset_token(user.id, "strapi", f.clock.now_ms())
                .await
                .expect("live")
                .expect("a live token");
            let hasher = TokenHasher::from_secret(SECRET);
            // Queued bodies are sealed; the worker opens them the same way.
            let body = f
                .core
                .outbox_sealer()
                .open(&mails[1].body_text, &mails[1].recipient)
                .expect("opens");
            let second = hasher.hash("reset:strapi", &strapi_code(&body));
            assert_eq!(live.token_hash, second);
        }

        /// A request claimed by an issuer that died is processed once its lease ends.
        async fn a_dead_issuers_claim_is_processed_after_its_lease(t: TestStore) {
            let f = fixture(&t, |_| {});
            account(&t, KNOWN, UserStatus::Active).await;
            f.core.request_reset(Dialect::Ipcola, KNOWN, ip("192.0.2.11")).await.expect("request");
            let lease = IssuerPolicy::default().lease;
            let lease_ms = i64::try_from(lease.as_millis()).expect("small");
            let held = t
                .store
                .claim_reset_requests(f.clock.now_ms(), lease_ms, 10)
                .await
                .expect("claim");
            assert_eq!(held.len(), 1);

            let issuer = f.core.issuer(IssuerPolicy::default());
            assert_eq!(issuer.run_once().await.expect("pass"), IssueStats::default());
            f.clock.advance(lease + Duration::from_millis(1));
            let stats = issuer.run_once().await.expect("pass");
            assert_eq!((stats.claimed, stats.issued), (1, 1));
            assert_eq!(outbox_recipients(&t.store).await, [KNOWN]);
        }

        /// `reveal_unknown_accounts = true` keeps the synchronous path: the outcome is in the
        /// answer, the token is stored before it, and nothing is queued.
        async fn revealing_requests_are_processed_at_once(t: TestStore) {
            let f = fixture(&t, |c| c.security.reveal_unknown_accounts = true);
            account(&t, KNOWN, UserStatus::Active).await;
            account(&t, "banned@example.test", UserStatus::Banned).await;
            let from = ip("192.0.2.12");
            let outcome = f.core.request_reset(Dialect::Cloudreve, "nobody@example.test", from);
            assert_eq!(
                outcome.await.expect("request"),
                RequestOutcome::Refused(AccountProblem::Unknown)
            );
            let outcome = f.core.request_reset(Dialect::Cloudreve, "banned@example.test", from);
            assert_eq!(
                outcome.await.expect("request"),
                RequestOutcome::Refused(AccountProblem::Banned)
            );
            let outcome = f.core.request_reset(Dialect::Cloudreve, KNOWN, from);
            assert_eq!(outcome.await.expect("request"), RequestOutcome::Accepted);
            assert!(t.store.list_reset_requests().await.expect("queue").is_empty());
            assert_eq!(outbox_recipients(&t.store).await, [KNOWN]);
            let user = t.store.user_by_email(KNOWN).await.expect("user").expect("exists");
            let live = t.store.live_reset_token(user.id, "cloudreve", f.clock.now_ms()).await;
            assert!(live.expect("live").is_some());
            // Past the account's limit: accepted, nothing more issued.
            for _ in 0..3 {
                let outcome = f.core.request_reset(Dialect::Cloudreve, KNOWN, from);
                assert_eq!(outcome.await.expect("request"), RequestOutcome::Accepted);
            }
            assert_eq!(outbox_recipients(&t.store).await.len(), 3);
        }

        /// Told to stop (after the HTTP server closed), the issuer first processes what is
        /// queued, so the last answered requests leave with their mail in the outbox.
        async fn a_stopping_issuer_drains_the_queue(t: TestStore) {
            let f = fixture(&t, |_| {});
            account(&t, KNOWN, UserStatus::Active).await;
            let from = ip("192.0.2.14");
            for email in [KNOWN, "nobody@example.test", KNOWN] {
                f.core.request_reset(Dialect::Selfcommunity, email, from).await.expect("request");
            }
            let policy = IssuerPolicy { batch: 1, ..IssuerPolicy::default() };
            let stopped = CancellationToken::new();
            stopped.cancel();
            tokio::time::timeout(Duration::from_secs(5), f.core.issuer(policy).run(stopped))
                .await
                .expect("the issuer stopped");
            assert!(t.store.list_reset_requests().await.expect("queue").is_empty());
            assert_eq!(outbox_recipients(&t.store).await, [KNOWN, KNOWN]);
        }

        /// The running task: woken by the request (the poll interval is far away), and
        /// stopped by the shutdown signal.
        async fn the_running_issuer_is_woken_and_stops(t: TestStore) {
            let f = fixture(&t, |_| {});
            account(&t, KNOWN, UserStatus::Active).await;
            let policy = IssuerPolicy {
                poll_interval: Duration::from_secs(3_600),
                ..IssuerPolicy::default()
            };
            let stop = CancellationToken::new();
            let task = tokio::spawn(f.core.issuer(policy).run(stop.clone()));
            f.core.request_reset(Dialect::Strapi, KNOWN, ip("192.0.2.13")).await.expect("request");
            let mut waited = Duration::ZERO;
            while t.store.count_outbox(OutboxStatus::Pending).await.expect("count") == 0 {
                assert!(waited < Duration::from_secs(10), "the issuer was not woken");
                tokio::time::sleep(Duration::from_millis(20)).await;
                waited += Duration::from_millis(20);
            }
            assert!(t.store.list_reset_requests().await.expect("queue").is_empty());
            stop.cancel();
            tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .expect("the issuer stopped")
                .expect("the task ended cleanly");
        }
    }
}

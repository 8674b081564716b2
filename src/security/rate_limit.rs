//! Rate limits (SECURITY.md items 3 and 10), counted in the store so that every replica on
//! one database shares them.
//!
//! Four counters, each in fixed windows (`window_start = now - now % window`), one row per
//! key and window in `rate_limits`:
//!
//! | kind | key | counts | limit, window (defaults) |
//! | --- | --- | --- | --- |
//! | `account_requests` | keyed hash of the normalized email | reset requests, any dialect, known and unknown emails alike | 3 per 15 min |
//! | `ip_requests` | client IP | reset requests | 20 per minute |
//! | `ip_failed_redemptions` | client IP | redemptions of a secret the server never issued | 10 per 15 min |
//! | `ip_failed_logins` | client IP | failed `/v1/login` attempts | as `ip_failed_redemptions` |
//! | `account_failed_logins` | keyed hash of the normalized email | failed `/v1/login` attempts, from any IP | 20 per 15 min |
//! | `ip_captchas` | client IP | captchas handed out | as `ip_requests` |
//!
//! Failed logins have a counter of their own (with the failed-redemption numbers) rather than
//! sharing one: a user mistyping a password a few times should not also lose the reset
//! that would get them back in.
//!
//! Requests are counted when they happen (one atomic upsert each) and refused once the count
//! passes the limit; the account's count is taken when the reset core's issuer processes the
//! queued request, in the window of the moment the request was made. Failures are counted
//! *before* the attempt is judged ([`Attempt`]): one statement takes a unit of the allowance
//! only while some is left, and an attempt that turns out not to be a failure gives it back.
//! Attempts in flight therefore hold the allowance they may use up, so concurrent attempts
//! cannot overshoot a failure limit at all: of N at once past a limit of M, at most M are
//! judged (issue 13 item 22). The price: while M attempts of one client are in flight, its
//! next one is refused even if all of them will succeed.
//!
//! A key never holds an email: accounts are keyed by `TokenHasher` under the purpose
//! `ratelimit`, so a copy of the table tells nothing about who asked. IPv6 clients are
//! counted per /64, the block a single host usually gets, so rotating addresses inside it
//! does not reset the count. A tripped limit is logged at `info` with its kind and dialect
//! only.
//!
//! A refused client is told when to come back ([`RetryAfter`], the `Retry-After` of a 429):
//! the seconds until the window of the limit that refused it ends.

use std::net::{IpAddr, Ipv6Addr};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use crate::clock::Millis;
use crate::config::{SecurityConfig, Switch};
use crate::security::keyed_hash::TokenHasher;
use crate::store::{Store, StoreError};

/// Keyed-hash purpose of account keys: an email hashed here matches no token hash.
const ACCOUNT_KEY_PURPOSE: &str = "ratelimit";
/// How often one process deletes expired windows. Replicas prune on their own schedules;
/// deleting rows already gone is harmless.
const PRUNE_EVERY_MS: Millis = 60_000;

/// What is counted; the name is the key's prefix and what a log line says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum LimitKind {
    AccountRequests,
    IpRequests,
    IpFailedRedemptions,
    IpFailedLogins,
    AccountFailedLogins,
    IpCaptchas,
}

impl LimitKind {
    /// The limits whose refusals `resetd_rate_limit_hits_total` counts (captcha refusals are
    /// not).
    pub const COUNTED: [LimitKind; 5] = [
        LimitKind::AccountRequests,
        LimitKind::IpRequests,
        LimitKind::IpFailedRedemptions,
        LimitKind::IpFailedLogins,
        LimitKind::AccountFailedLogins,
    ];

    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Whether a reset request may go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestVerdict {
    Allowed,
    /// The email's limit is used up: answer as usual, issue nothing.
    AccountExhausted,
    /// The client IP's limit is used up: answer "too many requests".
    IpExhausted,
}

/// How long a refused client should wait: whole seconds, at least 1, until the window of
/// the limit that refused it ends (RFC 9110 §10.2.3 `Retry-After`, RFC 6585 §4). Windows
/// are fixed, so that is when the count starts again from zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter {
    secs: u64,
}

impl RetryAfter {
    /// The seconds to wait: `1..=` the refusing limit's window.
    pub fn secs(self) -> u64 {
        self.secs
    }
}

/// A limit: at most `max` per window of `window_ms`.
#[derive(Debug, Clone, Copy)]
struct Quota {
    max: i64,
    window_ms: Millis,
}

impl Quota {
    fn new(max: u32, window_secs: u64) -> Self {
        // Config validation keeps windows within a week, so this never saturates.
        let window_ms = i64::try_from(window_secs.saturating_mul(1_000)).unwrap_or(i64::MAX);
        Quota {
            max: i64::from(max),
            window_ms: window_ms.max(1),
        }
    }

    fn window_start(self, now: Millis) -> Millis {
        now - now.rem_euclid(self.window_ms)
    }

    /// Until the window of `now` ends, rounded up to whole seconds: a client that waits
    /// this long is in the next window.
    fn retry_after(self, now: Millis) -> RetryAfter {
        let left_ms = self.window_start(now) + self.window_ms - now;
        let secs = u64::try_from(left_ms).unwrap_or(1).div_ceil(1_000).max(1);
        RetryAfter { secs }
    }

    /// The counter of `kind` for `subject` in the window of `now`.
    fn slot(self, kind: LimitKind, subject: &str, now: Millis) -> Slot {
        Slot {
            kind,
            key: key(kind, subject),
            window_start: self.window_start(now),
            max: self.max,
        }
    }
}

/// One counter in one window, and its limit.
#[derive(Debug, Clone)]
struct Slot {
    kind: LimitKind,
    key: String,
    window_start: Millis,
    max: i64,
}

/// What an attempt counted as a failure before it was judged (see the module docs). Hand
/// it to [`RateLimiter::not_a_failure`] if it did not fail; dropped, it stays counted.
#[derive(Debug, Default)]
#[must_use = "an attempt that did not fail is given back with `not_a_failure`"]
pub struct Attempt(Vec<Slot>);

impl Attempt {
    fn of(slot: Slot) -> Attempt {
        Attempt(vec![slot])
    }
}

/// The limiter; cheap to clone. Built from `[security]`: with `rate_limits = "off"` every
/// check allows and nothing is written.
#[derive(Clone)]
pub struct RateLimiter {
    inner: Option<Arc<Limits>>,
}

struct Limits {
    store: Store,
    keys: TokenHasher,
    account_requests: Quota,
    ip_requests: Quota,
    ip_failures: Quota,
    account_login_failures: Quota,
    /// Windows that started this long ago are over for every kind: pruning deletes them.
    longest_window_ms: Millis,
    /// When this process prunes next (ms since the epoch).
    next_prune_at: AtomicI64,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("enabled", &self.inner.is_some())
            .finish_non_exhaustive()
    }
}

impl RateLimiter {
    pub fn new(store: Store, keys: TokenHasher, security: &SecurityConfig) -> Self {
        if security.rate_limits == Switch::Off {
            return RateLimiter { inner: None };
        }
        let account_requests = Quota::new(
            security.account_requests_per_window,
            security.account_window_secs,
        );
        let ip_requests = Quota::new(security.ip_requests_per_window, security.ip_window_secs);
        let ip_failures = Quota::new(
            security.ip_failed_redemptions_per_window,
            security.ip_failed_window_secs,
        );
        let account_login_failures = Quota::new(
            security.account_failed_logins_per_window,
            security.account_failed_window_secs,
        );
        let longest_window_ms = [
            account_requests,
            ip_requests,
            ip_failures,
            account_login_failures,
        ]
        .iter()
        .map(|q| q.window_ms)
        .max()
        .unwrap_or(PRUNE_EVERY_MS);
        RateLimiter {
            inner: Some(Arc::new(Limits {
                store,
                keys,
                account_requests,
                ip_requests,
                ip_failures,
                account_login_failures,
                longest_window_ms,
                next_prune_at: AtomicI64::new(0),
            })),
        }
    }

    pub fn is_enabled(&self) -> bool {
        self.inner.is_some()
    }

    /// When a client refused at `now` by the limit of `kind` may try again. Only refusals
    /// ask, and with the limits off nothing is refused; the minimum answers that case.
    pub fn retry_after(&self, kind: LimitKind, now: Millis) -> RetryAfter {
        let Some(limits) = &self.inner else {
            return RetryAfter { secs: 1 };
        };
        let quota = match kind {
            LimitKind::AccountRequests => limits.account_requests,
            // Captchas are counted under the request limit's numbers (`hit_ip`).
            LimitKind::IpRequests | LimitKind::IpCaptchas => limits.ip_requests,
            LimitKind::IpFailedRedemptions | LimitKind::IpFailedLogins => limits.ip_failures,
            LimitKind::AccountFailedLogins => limits.account_login_failures,
        };
        quota.retry_after(now)
    }

    /// Counts a reset request for `email` (already normalized) from `ip` and says whether it
    /// may go ahead: [`RateLimiter::hit_ip_request`], then, unless the IP is refused,
    /// [`RateLimiter::hit_account_request`]. A request refused for its IP is not counted
    /// against the account, so a flood from one client does not also use up the quota of
    /// the accounts it names. Known and unknown emails do the same store work. (The reset
    /// core does the two steps apart: the IP on the request path, the account when the
    /// issuer processes the queued request.)
    pub async fn check_request(
        &self,
        email: &str,
        ip: IpAddr,
        dialect: &str,
        now: Millis,
    ) -> Result<RequestVerdict, StoreError> {
        if !self.hit_ip_request(ip, dialect, now).await? {
            return Ok(RequestVerdict::IpExhausted);
        }
        if !self.hit_account_request(email, dialect, now).await? {
            return Ok(RequestVerdict::AccountExhausted);
        }
        Ok(RequestVerdict::Allowed)
    }

    /// Counts a reset request from `ip`; `false` once the IP's limit is used up (answer
    /// "too many requests").
    pub async fn hit_ip_request(
        &self,
        ip: IpAddr,
        dialect: &str,
        now: Millis,
    ) -> Result<bool, StoreError> {
        self.hit_ip(LimitKind::IpRequests, ip, dialect, now).await
    }

    /// Counts a captcha handed out to `ip`, under the numbers of the request limit (each
    /// captcha costs a row); `false` once they are used up.
    pub async fn hit_ip_captcha(
        &self,
        ip: IpAddr,
        dialect: &str,
        now: Millis,
    ) -> Result<bool, StoreError> {
        self.hit_ip(LimitKind::IpCaptchas, ip, dialect, now).await
    }

    async fn hit_ip(
        &self,
        kind: LimitKind,
        ip: IpAddr,
        dialect: &str,
        now: Millis,
    ) -> Result<bool, StoreError> {
        let Some(limits) = &self.inner else {
            return Ok(true);
        };
        let ip_key = key(kind, &client_subject(ip));
        limits
            .hit(kind, &ip_key, limits.ip_requests, dialect, now)
            .await
    }

    /// Counts a reset request for `email` (already normalized, known or not) made at `at`;
    /// `false` once the account's limit is used up (answer as usual, issue nothing).
    pub async fn hit_account_request(
        &self,
        email: &str,
        dialect: &str,
        at: Millis,
    ) -> Result<bool, StoreError> {
        let Some(limits) = &self.inner else {
            return Ok(true);
        };
        let account = limits.keys.hash(ACCOUNT_KEY_PURPOSE, email);
        let account_key = key(LimitKind::AccountRequests, &account);
        limits
            .hit(
                LimitKind::AccountRequests,
                &account_key,
                limits.account_requests,
                dialect,
                at,
            )
            .await
    }

    /// Counts a redemption from `ip` as a failure before it is judged (SECURITY.md 10):
    /// `None`, counting nothing, once the IP's failures are used up. Give the attempt back
    /// with [`RateLimiter::not_a_failure`] when it turns out not to be a guess.
    pub async fn begin_redemption(
        &self,
        ip: IpAddr,
        dialect: &str,
        now: Millis,
    ) -> Result<Option<Attempt>, StoreError> {
        let Some(limits) = &self.inner else {
            return Ok(Some(Attempt::default()));
        };
        let subject = client_subject(ip);
        let slot = limits
            .ip_failures
            .slot(LimitKind::IpFailedRedemptions, &subject, now);
        Ok(limits.take(slot, dialect, now).await?.map(Attempt::of))
    }

    /// Counts a login from `ip` for `email` (normalized, known or not) as a failure before
    /// its password is checked, against the IP's and the account's failed-login limits: the
    /// limit that refuses it, counting nothing, or the attempt. Give it back with
    /// [`RateLimiter::not_a_failure`] when the login succeeds.
    pub async fn begin_login(
        &self,
        ip: IpAddr,
        email: &str,
        now: Millis,
    ) -> Result<Result<Attempt, LimitKind>, StoreError> {
        let Some(limits) = &self.inner else {
            return Ok(Ok(Attempt::default()));
        };
        let ip_slot = limits
            .ip_failures
            .slot(LimitKind::IpFailedLogins, &client_subject(ip), now);
        let Some(ip_slot) = limits.take(ip_slot, "resetd", now).await? else {
            return Ok(Err(LimitKind::IpFailedLogins));
        };
        let account = limits.keys.hash(ACCOUNT_KEY_PURPOSE, email);
        let account_slot =
            limits
                .account_login_failures
                .slot(LimitKind::AccountFailedLogins, &account, now);
        let Some(account_slot) = limits.take(account_slot, "resetd", now).await? else {
            limits.give_back(&ip_slot).await?;
            return Ok(Err(LimitKind::AccountFailedLogins));
        };
        Ok(Ok(Attempt(vec![ip_slot, account_slot])))
    }

    /// Gives back what `attempt` counted: it did not fail. An attempt merely dropped stays
    /// counted, as a failure.
    pub async fn not_a_failure(&self, attempt: Attempt) -> Result<(), StoreError> {
        let Some(limits) = &self.inner else {
            return Ok(());
        };
        for slot in &attempt.0 {
            limits.give_back(slot).await?;
        }
        Ok(())
    }

    /// Deletes every window that has ended for all kinds (those that started more than the
    /// longest configured window before `now`); returns how many rows went.
    pub async fn prune(&self, now: Millis) -> Result<usize, StoreError> {
        match &self.inner {
            Some(limits) => {
                limits
                    .store
                    .prune_rate_limits(now - limits.longest_window_ms)
                    .await
            }
            None => Ok(0),
        }
    }
}

impl Limits {
    /// Counts one hit; `true` while the count is within the quota.
    async fn hit(
        &self,
        kind: LimitKind,
        key: &str,
        quota: Quota,
        dialect: &str,
        now: Millis,
    ) -> Result<bool, StoreError> {
        let count = self
            .store
            .hit_rate_limit(key, quota.window_start(now))
            .await?;
        // The first hit past the limit is when it trips; later ones are not logged again.
        if count == quota.max + 1 {
            tracing::info!(limit = kind.as_str(), dialect, "rate limit reached");
        }
        self.prune_if_due(now);
        Ok(count <= quota.max)
    }

    /// Takes one unit of `slot`'s allowance, if any is left; `None` counts nothing. A read
    /// first, so a client refused again and again costs no write.
    async fn take(
        &self,
        slot: Slot,
        dialect: &str,
        now: Millis,
    ) -> Result<Option<Slot>, StoreError> {
        let count = self
            .store
            .rate_limit_count(&slot.key, slot.window_start)
            .await?;
        if count >= slot.max {
            return Ok(None);
        }
        let Some(count) = self
            .store
            .take_rate_limit(&slot.key, slot.window_start, slot.max)
            .await?
        else {
            return Ok(None);
        };
        // This attempt took the last of the allowance: logged once per window.
        if count == slot.max {
            tracing::info!(limit = slot.kind.as_str(), dialect, "rate limit reached");
        }
        self.prune_if_due(now);
        Ok(Some(slot))
    }

    async fn give_back(&self, slot: &Slot) -> Result<(), StoreError> {
        self.store
            .give_back_rate_limit(&slot.key, slot.window_start)
            .await
    }

    /// Whether this process should prune now; claims the turn when it should.
    fn take_prune_turn(&self, now: Millis) -> bool {
        let due = self.next_prune_at.load(Ordering::Relaxed);
        now >= due
            && self
                .next_prune_at
                .compare_exchange(
                    due,
                    now + PRUNE_EVERY_MS,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
    }

    /// Now and then, deletes ended windows in the background, so the request that happens
    /// to be due does not wait for the DELETE.
    fn prune_if_due(&self, now: Millis) {
        if !self.take_prune_turn(now) {
            return;
        }
        let store = self.store.clone();
        let before = now - self.longest_window_ms;
        tokio::spawn(async move {
            match store.prune_rate_limits(before).await {
                Ok(deleted) => tracing::debug!(deleted, "pruned rate-limit windows"),
                Err(err) => tracing::warn!(error = %err, "could not prune rate-limit windows"),
            }
        });
    }
}

fn key(kind: LimitKind, subject: &str) -> String {
    format!("{}:{subject}", kind.as_str())
}

/// The address a client is counted under: IPv4 as is (also when it arrived IPv4-mapped),
/// IPv6 by its /64.
fn client_subject(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let network = Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX));
            format!("{network}/64")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::{store_tests, TestStore};

    const EMAIL: &str = "ann@example.com";

    /// The names are an interface: the `limit` label of `resetd_rate_limit_hits_total`.
    #[test]
    fn limits_keep_their_names() {
        let names: Vec<&str> = LimitKind::COUNTED.iter().map(|k| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "account_requests",
                "ip_requests",
                "ip_failed_redemptions",
                "ip_failed_logins",
                "account_failed_logins",
            ]
        );
        assert_eq!(LimitKind::IpCaptchas.as_str(), "ip_captchas");
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test address")
    }

    fn config(adjust: impl FnOnce(&mut SecurityConfig)) -> SecurityConfig {
        let mut security = SecurityConfig::default();
        adjust(&mut security);
        security
    }

    fn limiter(t: &TestStore, security: &SecurityConfig) -> RateLimiter {
        RateLimiter::new(
            t.store.clone(),
            TokenHasher::from_secret("rate-limit-test-secret"),
            security,
        )
    }

    #[test]
    fn clients_are_counted_per_ipv4_address_and_ipv6_64() {
        assert_eq!(client_subject(ip("192.0.2.7")), "192.0.2.7");
        assert_eq!(client_subject(ip("::ffff:192.0.2.7")), "192.0.2.7");
        assert_eq!(
            client_subject(ip("2001:db8:1:2:3:4:5:6")),
            "2001:db8:1:2::/64"
        );
        assert_eq!(
            client_subject(ip("2001:db8:1:2:ffff::1")),
            client_subject(ip("2001:db8:1:2::9"))
        );
        assert_ne!(
            client_subject(ip("2001:db8:1:2::1")),
            client_subject(ip("2001:db8:1:3::1"))
        );
    }

    #[test]
    fn windows_are_fixed_and_aligned() {
        let quota = Quota::new(3, 60);
        assert_eq!(quota.window_start(0), 0);
        assert_eq!(quota.window_start(59_999), 0);
        assert_eq!(quota.window_start(60_000), 60_000);
        assert_eq!(quota.window_start(-1), -60_000);
    }

    #[test]
    fn retry_after_is_the_rest_of_the_window_in_whole_seconds() {
        let quota = Quota::new(3, 60);
        assert_eq!(quota.retry_after(0).secs(), 60);
        assert_eq!(quota.retry_after(10_000).secs(), 50);
        assert_eq!(quota.retry_after(10_001).secs(), 50);
        assert_eq!(quota.retry_after(59_000).secs(), 1);
        assert_eq!(quota.retry_after(59_999).secs(), 1);
        assert_eq!(quota.retry_after(60_000).secs(), 60);
    }

    store_tests! {
        async fn the_ip_is_counted_before_the_account(t: TestStore) {
            let security = config(|s| {
                s.ip_requests_per_window = 3;
                s.account_requests_per_window = 2;
            });
            let limiter = limiter(&t, &security);
            let now = 1_000_000_000;
            let from = ip("192.0.2.1");
            let mut verdicts = Vec::new();
            for _ in 0..4 {
                verdicts.push(limiter.check_request(EMAIL, from, "strapi", now).await.expect("check"));
            }
            use RequestVerdict::*;
            assert_eq!(verdicts, [Allowed, Allowed, AccountExhausted, IpExhausted]);

            // Another IP: its own count, the account's is still used up.
            let other = ip("192.0.2.2");
            assert_eq!(
                limiter.check_request(EMAIL, other, "ipcola", now).await.expect("check"),
                AccountExhausted
            );
            assert_eq!(
                limiter
                    .check_request("bob@example.com", other, "ipcola", now)
                    .await
                    .expect("check"),
                Allowed
            );

            // The IP's window is a minute, the account's 15: a minute later only the IP
            // is free again.
            let later = now + 60_000;
            assert_eq!(
                limiter.check_request(EMAIL, from, "strapi", later).await.expect("check"),
                AccountExhausted
            );
            let much_later = now + 15 * 60_000;
            assert_eq!(
                limiter.check_request(EMAIL, from, "strapi", much_later).await.expect("check"),
                Allowed
            );
        }

        async fn failures_are_counted_before_they_are_judged(t: TestStore) {
            let security = config(|s| {
                s.ip_failed_redemptions_per_window = 2;
                s.account_failed_logins_per_window = 3;
            });
            let limiter = limiter(&t, &security);
            let now = 1_000_000_000;
            let from = ip("2001:db8::1");
            let first = limiter.begin_redemption(from, "cloudreve", now).await.expect("count");
            let second = limiter.begin_redemption(from, "cloudreve", now).await.expect("count");
            let (Some(first), Some(_second)) = (first, second) else {
                panic!("two failures are allowed");
            };
            // Both in flight hold the allowance: a third is refused before it is judged.
            assert!(limiter.begin_redemption(from, "cloudreve", now).await.expect("count").is_none());
            // The same /64 is the same client; another is not.
            assert!(limiter
                .begin_redemption(ip("2001:db8::2"), "cloudreve", now)
                .await
                .expect("count")
                .is_none());
            assert!(limiter
                .begin_redemption(ip("2001:db9::1"), "cloudreve", now)
                .await
                .expect("count")
                .is_some());
            // The first was no guess after all: its unit comes back, once.
            limiter.not_a_failure(first).await.expect("give back");
            let third = limiter.begin_redemption(from, "cloudreve", now).await.expect("count");
            assert!(third.is_some());
            assert!(limiter.begin_redemption(from, "cloudreve", now).await.expect("count").is_none());

            // Logins are counted apart, per IP and per account; the account's limit holds
            // across IPs, and a refusal by it leaves the IP's count as it was.
            for n in 0..3 {
                let attempt = limiter
                    .begin_login(ip(&format!("192.0.2.{n}")), EMAIL, now)
                    .await
                    .expect("count");
                assert!(attempt.is_ok(), "login {n}");
            }
            let refused = limiter.begin_login(ip("192.0.2.9"), EMAIL, now).await.expect("count");
            assert_eq!(refused.err(), Some(LimitKind::AccountFailedLogins));
            let other = limiter
                .begin_login(ip("192.0.2.9"), "bob@example.com", now)
                .await
                .expect("count");
            assert!(other.is_ok());
            // 15 minutes later, a new window.
            let later = now + 15 * 60_000;
            assert!(limiter.begin_redemption(from, "cloudreve", later).await.expect("count").is_some());
            assert!(limiter.begin_login(from, EMAIL, later).await.expect("count").is_ok());
        }

        async fn keys_never_hold_the_email(t: TestStore) {
            let limiter = limiter(&t, &SecurityConfig::default());
            let now = 1_000_000_000;
            limiter
                .check_request(EMAIL, ip("192.0.2.1"), "strapi", now)
                .await
                .expect("check");
            let failed = limiter.begin_redemption(ip("192.0.2.1"), "strapi", now).await;
            assert!(failed.expect("count").is_some());
            let failed = limiter.begin_login(ip("192.0.2.1"), EMAIL, now).await;
            assert!(failed.expect("count").is_ok());
            let keys = t.store.rate_limit_keys().await.expect("keys");
            assert_eq!(keys.len(), 5, "{keys:?}");
            for key in &keys {
                assert!(!key.contains("ann") && !key.contains("example"), "{key}");
            }
            let hash = TokenHasher::from_secret("rate-limit-test-secret").hash("ratelimit", EMAIL);
            assert!(keys.contains(&format!("account_requests:{hash}")), "{keys:?}");
            assert!(keys.contains(&"ip_requests:192.0.2.1".to_owned()), "{keys:?}");
            assert!(keys.contains(&"ip_failed_redemptions:192.0.2.1".to_owned()), "{keys:?}");
            assert!(keys.contains(&format!("account_failed_logins:{hash}")), "{keys:?}");
        }

        async fn off_allows_everything_and_writes_nothing(t: TestStore) {
            let security = config(|s| {
                s.rate_limits = Switch::Off;
                s.ip_requests_per_window = 1;
                s.account_requests_per_window = 1;
                s.ip_failed_redemptions_per_window = 1;
                s.account_failed_logins_per_window = 1;
            });
            let limiter = limiter(&t, &security);
            assert!(!limiter.is_enabled());
            let from = ip("192.0.2.1");
            for _ in 0..5 {
                assert_eq!(
                    limiter.check_request(EMAIL, from, "strapi", 0).await.expect("check"),
                    RequestVerdict::Allowed
                );
                let redemption = limiter.begin_redemption(from, "strapi", 0).await;
                assert!(redemption.expect("count").is_some());
                let login = limiter.begin_login(from, EMAIL, 0).await;
                assert!(login.expect("count").is_ok());
            }
            assert!(t.store.rate_limit_keys().await.expect("keys").is_empty());
        }

        async fn pruning_keeps_every_current_window(t: TestStore) {
            // Windows of 1 min (IP requests) and 15 min (account, failures).
            let limiter = limiter(&t, &SecurityConfig::default());
            // No background pruning racing the calls below.
            if let Some(limits) = &limiter.inner {
                limits.next_prune_at.store(i64::MAX, Ordering::Relaxed);
            }
            let start = 1_000_000_000 - 1_000_000_000 % (15 * 60_000);
            let from = ip("192.0.2.1");
            limiter.check_request(EMAIL, from, "strapi", start).await.expect("check");
            let login = limiter.begin_login(from, EMAIL, start).await;
            assert!(login.expect("count").is_ok());
            // Within the longest window nothing goes, also the ended 1-minute window.
            let within = start + 15 * 60_000 - 1;
            assert_eq!(limiter.prune(within).await.expect("prune"), 0);
            // Once the longest window has passed entirely, all of them go.
            let after = start + 30 * 60_000;
            limiter.check_request(EMAIL, from, "strapi", after).await.expect("check");
            assert_eq!(limiter.prune(after).await.expect("prune"), 4);
            assert_eq!(t.store.rate_limit_keys().await.expect("keys").len(), 2);
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn pruning_is_taken_by_one_caller_a_minute() {
        let t = TestStore::sqlite().await;
        let limiter = limiter(&t, &SecurityConfig::default());
        let limits = limiter.inner.as_ref().expect("enabled");
        assert!(limits.take_prune_turn(1_000_000));
        assert!(!limits.take_prune_turn(1_000_000));
        assert!(!limits.take_prune_turn(1_000_000 + PRUNE_EVERY_MS - 1));
        assert!(limits.take_prune_turn(1_000_000 + PRUNE_EVERY_MS));
    }
}

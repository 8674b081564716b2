//! Where the core consults the rate limits (`security::rate_limit`) and what each outcome
//! becomes: an error the adapters answer in their dialect's "too many requests" form, or,
//! for the per-account limit, nothing the client can see (SECURITY.md 3 and 10). A refusal
//! carries when the client may try again: the end of the refusing limit's window, at the
//! `now` it was counted in.

use std::net::IpAddr;

use crate::clock::Millis;
use crate::security::rate_limit::{Attempt, LimitKind, RequestVerdict};
use crate::store::StoreError;

use super::error::{LoginError, RedeemError, RequestError};
use super::{Dialect, ResetCore};

/// Whether the account named by a reset request may get another token in this window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AccountQuota {
    Available,
    /// Answer exactly as if a token were issued, but issue none and send nothing.
    Exhausted,
}

impl ResetCore {
    /// Counts a reset request for `email` (normalized) from `client_ip`: an error past the
    /// IP's limit, else whether the account's quota is left. Both at once: the path of
    /// `reveal_unknown_accounts = true` only.
    pub(super) async fn request_quota(
        &self,
        dialect: Dialect,
        email: &str,
        client_ip: IpAddr,
    ) -> Result<AccountQuota, RequestError> {
        let now = self.clock.now_ms();
        match self
            .limiter
            .check_request(email, client_ip, dialect.as_str(), now)
            .await?
        {
            RequestVerdict::Allowed => Ok(AccountQuota::Available),
            RequestVerdict::AccountExhausted => {
                self.metrics
                    .rate_limits
                    .hit(LimitKind::AccountRequests.as_str());
                Ok(AccountQuota::Exhausted)
            }
            RequestVerdict::IpExhausted => {
                self.metrics.rate_limits.hit(LimitKind::IpRequests.as_str());
                let retry_after = self.limiter.retry_after(LimitKind::IpRequests, now);
                Err(RequestError::TooManyRequests(retry_after))
            }
        }
    }

    /// Counts a reset request from `client_ip` (the request path): an error past the IP's
    /// limit.
    pub(super) async fn check_request_ip_limit(
        &self,
        dialect: Dialect,
        client_ip: IpAddr,
    ) -> Result<(), RequestError> {
        let now = self.clock.now_ms();
        if self
            .limiter
            .hit_ip_request(client_ip, dialect.as_str(), now)
            .await?
        {
            Ok(())
        } else {
            self.metrics.rate_limits.hit(LimitKind::IpRequests.as_str());
            let retry_after = self.limiter.retry_after(LimitKind::IpRequests, now);
            Err(RequestError::TooManyRequests(retry_after))
        }
    }

    /// Counts a queued reset request for `email` (normalized, known or not) against the
    /// account's limit (the issuer), in the window of `requested_at`, when it was made: a
    /// queue that waited (no issuer running) is counted as the requests came, not as one
    /// burst.
    pub(super) async fn account_quota(
        &self,
        dialect: Dialect,
        email: &str,
        requested_at: Millis,
    ) -> Result<AccountQuota, StoreError> {
        let available = self
            .limiter
            .hit_account_request(email, dialect.as_str(), requested_at)
            .await?;
        Ok(if available {
            AccountQuota::Available
        } else {
            self.metrics
                .rate_limits
                .hit(LimitKind::AccountRequests.as_str());
            AccountQuota::Exhausted
        })
    }

    /// Counts a redemption from `client_ip` as a failed one before any lookup (SECURITY.md
    /// 10): refused once the IP's failures are used up, so guessing past the limit costs
    /// the guesser nothing but this read. Give the attempt back with [`Self::not_a_failure`]
    /// unless the secret was a guess.
    pub(super) async fn begin_redemption(
        &self,
        dialect: Dialect,
        client_ip: IpAddr,
    ) -> Result<Attempt, RedeemError> {
        let now = self.clock.now_ms();
        match self
            .limiter
            .begin_redemption(client_ip, dialect.as_str(), now)
            .await?
        {
            Some(attempt) => Ok(attempt),
            None => {
                self.metrics
                    .rate_limits
                    .hit(LimitKind::IpFailedRedemptions.as_str());
                let retry_after = self
                    .limiter
                    .retry_after(LimitKind::IpFailedRedemptions, now);
                Err(RedeemError::TooManyRequests(retry_after))
            }
        }
    }

    /// Counts a login from `client_ip` for `email` (normalized; or as typed when it is not
    /// an address) as a failed one before its password is checked, against the IP's and the
    /// account's limits: past either, refused before any argon2 work. Give the attempt back
    /// with [`Self::not_a_failure`] when the login succeeds.
    pub(super) async fn begin_login(
        &self,
        email: &str,
        client_ip: IpAddr,
    ) -> Result<Attempt, LoginError> {
        let now = self.clock.now_ms();
        match self.limiter.begin_login(client_ip, email, now).await? {
            Ok(attempt) => Ok(attempt),
            Err(limit) => {
                self.metrics.rate_limits.hit(limit.as_str());
                Err(LoginError::TooManyRequests(
                    self.limiter.retry_after(limit, now),
                ))
            }
        }
    }

    /// Gives back what `attempt` counted: it did not fail.
    pub(super) async fn not_a_failure(&self, attempt: Attempt) -> Result<(), StoreError> {
        self.limiter.not_a_failure(attempt).await
    }
}

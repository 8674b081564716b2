//! Where the core consults the rate limits (`security::rate_limit`) and what each outcome
//! becomes: an error the adapters answer in their dialect's "too many requests" form, or,
//! for the per-account limit, nothing the client can see (SECURITY.md 3 and 10).

use std::net::IpAddr;

use crate::clock::Millis;
use crate::security::rate_limit::{LimitKind, RequestVerdict};
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
                self.metrics.rate_limits.hit(LimitKind::AccountRequests);
                Ok(AccountQuota::Exhausted)
            }
            RequestVerdict::IpExhausted => {
                self.metrics.rate_limits.hit(LimitKind::IpRequests);
                Err(RequestError::TooManyRequests)
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
            self.metrics.rate_limits.hit(LimitKind::IpRequests);
            Err(RequestError::TooManyRequests)
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
            self.metrics.rate_limits.hit(LimitKind::AccountRequests);
            AccountQuota::Exhausted
        })
    }

    /// Refuses a redemption from an IP whose failed redemptions are used up, before any
    /// token lookup: past the limit, guessing costs the guesser nothing but this read.
    pub(super) async fn check_redemption_limit(
        &self,
        client_ip: IpAddr,
    ) -> Result<(), RedeemError> {
        let now = self.clock.now_ms();
        if self.limiter.redemptions_exhausted(client_ip, now).await? {
            self.metrics.rate_limits.hit(LimitKind::IpFailedRedemptions);
            return Err(RedeemError::TooManyRequests);
        }
        Ok(())
    }

    pub(super) async fn count_failed_redemption(
        &self,
        dialect: Dialect,
        client_ip: IpAddr,
    ) -> Result<(), RedeemError> {
        let now = self.clock.now_ms();
        self.limiter
            .record_failed_redemption(client_ip, dialect.as_str(), now)
            .await?;
        Ok(())
    }

    /// Refuses a login from an IP whose failed logins are used up, before the password is
    /// checked, so a guesser also stops costing argon2 time.
    pub(super) async fn check_login_limit(&self, client_ip: IpAddr) -> Result<(), LoginError> {
        let now = self.clock.now_ms();
        if self.limiter.logins_exhausted(client_ip, now).await? {
            self.metrics.rate_limits.hit(LimitKind::IpFailedLogins);
            return Err(LoginError::TooManyRequests);
        }
        Ok(())
    }

    pub(super) async fn count_failed_login(&self, client_ip: IpAddr) -> Result<(), LoginError> {
        let now = self.clock.now_ms();
        self.limiter.record_failed_login(client_ip, now).await?;
        Ok(())
    }
}

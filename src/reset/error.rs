//! What the core reports to the dialect adapters. Variants describe outcomes, never secrets:
//! adapters turn them into each dialect's envelope or status.

use crate::mail::RenderError;
use crate::security::password_hash::HashError;
pub use crate::security::rate_limit::RetryAfter;
use crate::store::StoreError;

use super::email_address::InvalidEmail;
use super::grant::GrantError;
use super::policy::PolicyViolation;

/// Failures that are not the client's fault.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The store is unreachable: answer 503, try again later.
    #[error("storage is temporarily unavailable")]
    Unavailable(#[source] StoreError),
    #[error("storage error")]
    Store(#[source] StoreError),
    #[error("password hashing failed")]
    Hash(#[from] HashError),
    #[error("drawing a captcha failed")]
    Captcha,
    /// A mail template failed (its message names the template, never a value).
    #[error(transparent)]
    Mail(#[from] RenderError),
}

impl ServiceError {
    pub fn is_unavailable(&self) -> bool {
        matches!(self, ServiceError::Unavailable(_))
    }
}

impl From<StoreError> for ServiceError {
    fn from(err: StoreError) -> Self {
        if err.is_unavailable() {
            ServiceError::Unavailable(err)
        } else {
            ServiceError::Store(err)
        }
    }
}

/// Why an account cannot use a reset (only told to clients when the operator asked for the
/// original products' revealing behaviour).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountProblem {
    Unknown,
    Banned,
    Inactive,
}

#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error(transparent)]
    InvalidEmail(#[from] InvalidEmail),
    #[error("the {0} dialect is disabled on this server")]
    DialectDisabled(super::Dialect),
    /// The client IP's request limit is used up (SECURITY.md 3). The per-account limit never
    /// shows: past it the request is answered as accepted.
    #[error("too many requests from this client")]
    TooManyRequests(RetryAfter),
    /// Captchas are on and the request's was missing, wrong, used or expired.
    #[error("the captcha answer is missing or wrong")]
    CaptchaFailed,
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl From<StoreError> for RequestError {
    fn from(err: StoreError) -> Self {
        RequestError::Service(err.into())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RedeemError {
    /// Wrong, expired, used, burned or malformed: deliberately one case.
    #[error("the reset code or link is invalid or has expired")]
    InvalidToken,
    #[error(transparent)]
    PasswordRejected(#[from] PolicyViolation),
    #[error("the account is banned")]
    AccountBanned,
    #[error("the account is not activated")]
    AccountInactive,
    #[error("the {0} dialect is disabled on this server")]
    DialectDisabled(super::Dialect),
    /// The client IP's failed redemptions are used up (SECURITY.md 10): refused before the
    /// token was looked up.
    #[error("too many failed attempts from this client")]
    TooManyRequests(RetryAfter),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl From<StoreError> for RedeemError {
    fn from(err: StoreError) -> Self {
        RedeemError::Service(err.into())
    }
}

impl From<HashError> for RedeemError {
    fn from(err: HashError) -> Self {
        RedeemError::Service(err.into())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Unknown email, wrong password, no password set, account not active: one answer.
    #[error("invalid email or password")]
    InvalidCredentials,
    /// The client IP's or the account's failed logins are used up: refused before any
    /// password check.
    #[error("too many failed logins from this client")]
    TooManyRequests(RetryAfter),
    /// The client or scope is not configured: refused before any password work.
    #[error(transparent)]
    Grant(#[from] GrantError),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl From<StoreError> for LoginError {
    fn from(err: StoreError) -> Self {
        LoginError::Service(err.into())
    }
}

impl From<HashError> for LoginError {
    fn from(err: HashError) -> Self {
        LoginError::Service(err.into())
    }
}

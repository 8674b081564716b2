//! Requesting a reset: one live token per account and dialect, token and email queued in one
//! transaction, and the same answer whether or not the account can use it.

use std::net::IpAddr;

use crate::mail::templates;
use crate::store::{AuditKind, NewResetToken, User, UserStatus};

use super::error::{AccountProblem, RequestError};
use super::limits::AccountQuota;
use super::{email_address, Dialect, ResetCore};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestOutcome {
    /// The answer for every account, known or not, unless the operator chose to reveal.
    Accepted,
    /// Only with `reveal_unknown_accounts = true`: why no email was sent.
    Refused(AccountProblem),
}

impl ResetCore {
    pub async fn request_reset(
        &self,
        dialect: Dialect,
        raw_email: &str,
        client_ip: IpAddr,
    ) -> Result<RequestOutcome, RequestError> {
        if !self.is_enabled(dialect) {
            return Err(RequestError::DialectDisabled(dialect));
        }
        let email = email_address::normalize(raw_email)?;
        // Rate limits (SECURITY.md 3, `limits.rs`), after the email is checked so bad input
        // writes nothing: past the client IP's limit this returns `TooManyRequests`.
        let quota = self.request_quota(dialect, &email, client_ip).await?;
        let user = self.store.user_by_email(&email).await?;
        match account_problem(user.as_ref()) {
            None => {}
            Some(problem) if self.config.security.reveal_unknown_accounts => {
                return Ok(RequestOutcome::Refused(problem))
            }
            Some(_) => return Ok(RequestOutcome::Accepted),
        }
        let Some(user) = user else {
            return Ok(RequestOutcome::Accepted);
        };
        if quota == AccountQuota::Exhausted {
            // Past the account's limit: the answer a new token gets, but no token, no email.
            return Ok(RequestOutcome::Accepted);
        }
        let now = self.clock.now_ms();
        let token = dialect.token_format().generate();
        let ttl_ms = self.token_ttl_ms(dialect);
        let link = dialect.reset_link(&self.config.public_base_url, &user.public_id, &token);
        let mail = templates::reset_message(&templates::ResetMail {
            product: dialect.product_name(),
            recipient: &user.email,
            code: &token,
            link: link.as_deref(),
            valid_for_minutes: ttl_ms / 60_000,
        });
        let row = NewResetToken {
            user_id: user.id,
            dialect: dialect.as_str().to_owned(),
            token_hash: self.reset_token_hash(dialect, &token),
            created_at: now,
            expires_at: now + ttl_ms,
        };
        self.store.issue_reset_token(row, Some(mail), now).await?;
        self.mail_wake.notify_one();
        self.audit(AuditKind::ResetRequested, Some(user.id), dialect, client_ip)
            .await;
        tracing::info!(dialect = %dialect, user_id = user.id, "reset requested");
        Ok(RequestOutcome::Accepted)
    }
}

/// Why `user` may not reset a password, if it may not.
pub(super) fn account_problem(user: Option<&User>) -> Option<AccountProblem> {
    match user.map(|u| u.status) {
        None => Some(AccountProblem::Unknown),
        Some(UserStatus::Banned) => Some(AccountProblem::Banned),
        Some(UserStatus::Inactive) => Some(AccountProblem::Inactive),
        Some(UserStatus::Active) => None,
    }
}

//! Requesting a reset: the same answer, and the same store work, whether or not the account
//! can use it (SECURITY.md items 1 and 2).
//!
//! By default the request path checks the email's shape and the client IP's limit, queues
//! the request (one INSERT into `reset_requests`) and answers. Everything that depends on
//! the account — its per-account limit, the lookup, the token and the mail — happens later,
//! in the issuer (`issuer.rs`), where no client waits for it. Only with
//! `reveal_unknown_accounts = true`, which tells clients who has an account anyway, does the
//! request do it all at once and answer with the outcome.

use std::net::IpAddr;

use crate::clock::Millis;
use crate::mail::{Language, RenderError, ResetMail};
use crate::metrics::IssuedVia;
use crate::store::{
    AuditKind, NewOutboxMessage, NewResetRequest, NewResetToken, User, UserStatus, WebhookEvent,
};

use super::captcha::CaptchaAnswer;
use super::error::{AccountProblem, RequestError, ServiceError};
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
    /// A reset request that carries no captcha answer (refused through a dialect that
    /// requires one while captchas are on).
    pub async fn request_reset(
        &self,
        dialect: Dialect,
        raw_email: &str,
        client_ip: IpAddr,
    ) -> Result<RequestOutcome, RequestError> {
        self.request_reset_with_captcha(dialect, raw_email, client_ip, None)
            .await
    }

    pub async fn request_reset_with_captcha(
        &self,
        dialect: Dialect,
        raw_email: &str,
        client_ip: IpAddr,
        captcha: Option<CaptchaAnswer<'_>>,
    ) -> Result<RequestOutcome, RequestError> {
        if !self.is_enabled(dialect) {
            return Err(RequestError::DialectDisabled(dialect));
        }
        // Checked first, so bad input writes nothing.
        let email = email_address::normalize(raw_email)?;
        // Before any count or lookup, the same for every email. A wrong answer is not
        // counted against the IP: each attempt uses up a captcha, and handing those out is.
        self.check_captcha(dialect, captcha).await?;
        if self.config.security.reveal_unknown_accounts {
            return self
                .request_reset_revealing(dialect, email, client_ip)
                .await;
        }
        // SECURITY.md 3: past the client IP's limit, `TooManyRequests` and nothing queued.
        // The account's limit is counted by the issuer, beside the decision it feeds: here
        // every email costs exactly this upsert and the INSERT below.
        self.check_request_ip_limit(dialect, client_ip).await?;
        // Committed before the answer: an answered request survives a crash, and the issuer
        // (here or on another replica) processes it.
        self.store
            .enqueue_reset_request(NewResetRequest {
                dialect: dialect.as_str().to_owned(),
                email,
                client_ip: Some(client_ip.to_string()),
                created_at: self.clock.now_ms(),
            })
            .await?;
        self.issue_wake.notify_one();
        self.metrics.resets.requested(dialect.as_str());
        Ok(RequestOutcome::Accepted)
    }

    /// The synchronous request of `reveal_unknown_accounts = true`: both limits, the lookup,
    /// and the token and its mail in one transaction, before the answer that tells the
    /// outcome. Its timing reveals no more than its answer already does.
    async fn request_reset_revealing(
        &self,
        dialect: Dialect,
        email: String,
        client_ip: IpAddr,
    ) -> Result<RequestOutcome, RequestError> {
        let quota = self.request_quota(dialect, &email, client_ip).await?;
        self.metrics.resets.requested(dialect.as_str());
        let user = self.store.user_by_email(&email).await?;
        if let Some(problem) = account_problem(user.as_ref()) {
            return Ok(RequestOutcome::Refused(problem));
        }
        let Some(user) = user else {
            return Ok(RequestOutcome::Refused(AccountProblem::Unknown));
        };
        if quota == AccountQuota::Exhausted {
            // Past the account's limit: the answer a new token gets, but no token, no email.
            return Ok(RequestOutcome::Accepted);
        }
        let now = self.clock.now_ms();
        let (row, mail) = self
            .new_reset_token(dialect, &user, now)
            .map_err(ServiceError::from)?;
        // This path reveals the outcome anyway (`reveal_unknown_accounts`): the webhook may
        // be queued here.
        let webhooks: Vec<_> = self
            .webhooks_for(&[WebhookEvent::ResetRequested], Some(dialect), None)
            .await
            .map_err(ServiceError::from)?
            .into_iter()
            .map(|w| w.for_user(&user, now))
            .collect();
        let announced = !webhooks.is_empty();
        self.store
            .issue_reset_token_announced(row, Some(mail), None, webhooks, now)
            .await?;
        self.mail_wake.notify_one();
        if announced {
            self.webhook_wake.notify_one();
        }
        self.metrics
            .resets
            .issued(dialect.as_str(), IssuedVia::Email);
        self.audit(AuditKind::ResetRequested, Some(user.id), dialect, client_ip)
            .await;
        tracing::info!(dialect = %dialect, user_id = user.id, "reset requested");
        Ok(RequestOutcome::Accepted)
    }

    /// A fresh token of `dialect` for `user`, as the row to store (its keyed hash) and the
    /// mail that carries it, in the account's language.
    pub(super) fn new_reset_token(
        &self,
        dialect: Dialect,
        user: &User,
        now: Millis,
    ) -> Result<(NewResetToken, NewOutboxMessage), RenderError> {
        let token = dialect.token_format().generate();
        let ttl_ms = self.token_ttl_ms(dialect);
        let link = dialect.reset_link(
            &self.config.public_base_url,
            &user.public_id,
            &token,
            Language::for_tag(&user.language),
        );
        let mail = self.mail.reset_message(&ResetMail {
            kind: dialect.reset_mail(),
            product: self.product_name(),
            recipient: &user.email,
            nickname: user.nickname.as_deref(),
            language: &user.language,
            code: &token,
            link: link.as_deref(),
            valid_for_secs: u64::try_from(ttl_ms / 1_000).unwrap_or(0),
        })?;
        let row = NewResetToken {
            user_id: user.id,
            dialect: dialect.as_str().to_owned(),
            token_hash: self.reset_token_hash(dialect, &token),
            created_at: now,
            expires_at: now.saturating_add(ttl_ms),
        };
        Ok((row, self.sealed(mail)))
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

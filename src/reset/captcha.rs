//! Captchas in front of reset requests (`[security] captcha = true`): handing one out, and
//! checking an answer once.
//!
//! The client gets a random ticket and a picture; the store keeps the ticket's keyed hash and
//! the keyed hash of ticket and answer, so neither a copy of the table nor a ticket alone
//! answers anything. An answer is checked by taking the row (one `DELETE ... RETURNING`): a
//! ticket gets exactly one attempt, right or wrong, and none after its TTL. Handing out
//! captchas is counted per client IP like requests are, since each costs a row.
//!
//! Only the dialects whose API carries a captcha (Cloudreve, IPCola) require one; Strapi's and
//! SelfCommunity's requests have no field for it and rely on the rate limits.

use std::net::IpAddr;

use subtle::ConstantTimeEq;

use crate::security::captcha::{self, normalize_answer};
use crate::security::random;
use crate::security::rate_limit::LimitKind;
use crate::store::NewCaptcha;

use super::error::{RequestError, ServiceError};
use super::{secs_to_ms, Dialect, ResetCore};

/// Keyed-hash purposes: a ticket and an answer never hash alike to a token.
const TICKET_PURPOSE: &str = "captcha-ticket";
const ANSWER_PURPOSE: &str = "captcha-answer";
/// Characters in a ticket (alphanumeric, from the CSPRNG).
const TICKET_LEN: usize = 32;
/// Longer tickets or answers are not looked up: nothing valid is that long.
const MAX_PRESENTED_LEN: usize = 64;

/// A captcha handed out: the ticket to send back with the answer, and the picture.
pub struct IssuedCaptcha {
    pub ticket: String,
    pub png: Vec<u8>,
}

/// A captcha answer as a request carries it; either part may be missing.
#[derive(Debug, Clone, Copy, Default)]
pub struct CaptchaAnswer<'a> {
    pub ticket: Option<&'a str>,
    pub answer: Option<&'a str>,
}

#[derive(Debug, thiserror::Error)]
pub enum CaptchaError {
    #[error("captcha is not enabled on this server")]
    NotEnabled,
    #[error("the {0} dialect is disabled on this server")]
    DialectDisabled(Dialect),
    #[error("too many captchas requested from this client")]
    TooManyRequests(super::error::RetryAfter),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl From<crate::store::StoreError> for CaptchaError {
    fn from(err: crate::store::StoreError) -> Self {
        CaptchaError::Service(err.into())
    }
}

impl ResetCore {
    /// Hands out a captcha to `client_ip` for a request through `dialect`.
    pub async fn issue_captcha(
        &self,
        dialect: Dialect,
        client_ip: IpAddr,
    ) -> Result<IssuedCaptcha, CaptchaError> {
        if !self.is_enabled(dialect) {
            return Err(CaptchaError::DialectDisabled(dialect));
        }
        if !self.config.security.captcha {
            return Err(CaptchaError::NotEnabled);
        }
        let now = self.clock.now_ms();
        if !self
            .limiter
            .hit_ip_captcha(client_ip, dialect.as_str(), now)
            .await?
        {
            let retry_after = self.limiter.retry_after(LimitKind::IpCaptchas, now);
            return Err(CaptchaError::TooManyRequests(retry_after));
        }
        let answer = self.captcha_answers.next_answer();
        let png = captcha::render_png(&answer).map_err(|err| {
            // The alphabet and the font are checked against each other by tests: a failure
            // here is a bug, reported without the answer.
            tracing::error!(error = %err, "rendering a captcha failed");
            CaptchaError::Service(ServiceError::Captcha)
        })?;
        let ticket = random::alphanumeric(TICKET_LEN);
        self.store
            .insert_captcha(NewCaptcha {
                id: self.tokens.hash(TICKET_PURPOSE, &ticket),
                answer_hash: self.captcha_answer_hash(&ticket, &answer),
                created_at: now,
                expires_at: now.saturating_add(secs_to_ms(self.config.security.captcha_ttl_secs)),
            })
            .await?;
        Ok(IssuedCaptcha { ticket, png })
    }

    /// Checks the captcha of a reset request through `dialect`: nothing to check when
    /// captchas are off or the dialect has none; otherwise the ticket is used up by this
    /// check whatever the answer.
    pub(super) async fn check_captcha(
        &self,
        dialect: Dialect,
        presented: Option<CaptchaAnswer<'_>>,
    ) -> Result<(), RequestError> {
        if !self.config.security.captcha || !dialect.carries_captcha() {
            return Ok(());
        }
        let Some(CaptchaAnswer {
            ticket: Some(ticket),
            answer: Some(answer),
        }) = presented
        else {
            return Err(RequestError::CaptchaFailed);
        };
        if ticket.is_empty() || ticket.len() > MAX_PRESENTED_LEN || answer.len() > MAX_PRESENTED_LEN
        {
            return Err(RequestError::CaptchaFailed);
        }
        let taken = self
            .store
            .take_captcha(
                &self.tokens.hash(TICKET_PURPOSE, ticket),
                self.clock.now_ms(),
            )
            .await?;
        let Some(expected) = taken else {
            return Err(RequestError::CaptchaFailed);
        };
        let presented = self.captcha_answer_hash(ticket, &normalize_answer(answer));
        if bool::from(presented.as_bytes().ct_eq(expected.as_bytes())) {
            Ok(())
        } else {
            Err(RequestError::CaptchaFailed)
        }
    }

    /// Keyed hash of a ticket's answer: bound to the ticket, so one captcha's answer says
    /// nothing about another's row.
    fn captcha_answer_hash(&self, ticket: &str, answer: &str) -> String {
        self.tokens
            .hash(ANSWER_PURPOSE, &format!("{ticket}\0{answer}"))
    }
}

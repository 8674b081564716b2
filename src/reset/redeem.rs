//! Redeeming a token: shape check, lookup by keyed hash, account checks, policy, argon2id,
//! then one transaction that consumes the token (only if still unused and unexpired),
//! sets the password, revokes every session, opens the dialect's new one if its answer
//! logs the user in, and queues the "password changed" email.

use std::net::IpAddr;

use crate::mail::PasswordChangedMail;
use crate::store::{
    AuditKind, CompleteReset, NewAuditEvent, TokenOwner, User, UserStatus, WebhookEvent,
};

use super::account::Account;
use super::error::{RedeemError, ServiceError};
use super::sessions::{NewSession, SessionTokens};
use super::{email_address, Dialect, ResetCore};

/// What a client presented.
#[derive(Debug, Clone, Copy)]
pub struct Redemption<'a> {
    pub token: &'a str,
    /// What else the request says about whose token it is.
    pub binding: Binding<'a>,
    pub new_password: &'a str,
    /// Where the request came from, for the audit trail.
    pub client_ip: IpAddr,
}

/// The account a dialect's redemption request names besides the token itself. A token is only
/// accepted for that account, and a wrong token counts against that account's live token.
#[derive(Debug, Clone, Copy)]
pub enum Binding<'a> {
    None,
    /// Cloudreve's `PATCH /user/reset/{user_id}`.
    UserPublicId(&'a str),
    /// IPCola's vcode is bound to the email it was sent to.
    Email(&'a str),
}

/// Longest account id a redemption may name: far above the ids resetd gives out.
const MAX_PUBLIC_ID_CHARS: usize = 64;

impl Binding<'_> {
    /// The account a token must belong to, as the store compares it (an email normalized),
    /// or `None` when the name could belong to no account at all.
    fn owner(self) -> Option<TokenOwner> {
        match self {
            Binding::None => Some(TokenOwner::Any),
            Binding::UserPublicId(id) => {
                let well_formed = !id.is_empty()
                    && id.len() <= MAX_PUBLIC_ID_CHARS
                    && id.bytes().all(|b| b.is_ascii_graphic());
                well_formed.then(|| TokenOwner::PublicId(id.to_owned()))
            }
            Binding::Email(raw) => email_address::normalize(raw).ok().map(TokenOwner::Email),
        }
    }
}

impl ResetCore {
    pub async fn redeem(
        &self,
        dialect: Dialect,
        redemption: Redemption<'_>,
    ) -> Result<Account, RedeemError> {
        self.redeem_with(dialect, redemption, None).await
    }

    /// [`ResetCore::redeem`] for a dialect whose answer logs the user in (Strapi,
    /// SelfCommunity): the session of `client_id` with `scope` is stored in the transaction
    /// that sets the new password, so it is granted on that password and no other, and
    /// costs no transaction of its own.
    pub async fn redeem_and_open_session(
        &self,
        dialect: Dialect,
        redemption: Redemption<'_>,
        client_id: &str,
        scope: &str,
    ) -> Result<(Account, SessionTokens), RedeemError> {
        let session = self.new_session(client_id, scope);
        let account = self
            .redeem_with(dialect, redemption, Some(&session))
            .await?;
        Ok((account, session.tokens))
    }

    async fn redeem_with(
        &self,
        dialect: Dialect,
        redemption: Redemption<'_>,
        session: Option<&NewSession>,
    ) -> Result<Account, RedeemError> {
        let result = self.try_redeem(dialect, redemption, session).await;
        self.metrics
            .resets
            .redeemed(dialect.as_str(), redemption_outcome(&result));
        result.map(Account::from)
    }

    async fn try_redeem(
        &self,
        dialect: Dialect,
        redemption: Redemption<'_>,
        session: Option<&NewSession>,
    ) -> Result<User, RedeemError> {
        if !self.is_enabled(dialect) {
            return Err(RedeemError::DialectDisabled(dialect));
        }
        let policy = dialect.password_policy();
        policy.check_shape(redemption.new_password)?;
        // A token (or account name) no server could have issued is refused before anything is
        // counted or logged: input that cannot be well formed writes nothing (SECURITY.md 18).
        let owner = match redemption.binding.owner() {
            Some(owner) if dialect.token_format().matches(redemption.token) => owner,
            _ => return Err(RedeemError::InvalidToken),
        };
        // SECURITY.md 10: counted as a guess before any lookup, refused past the IP's limit.
        let attempt = self.begin_redemption(dialect, redemption.client_ip).await?;

        let now = self.clock.now_ms();
        let hash = self.reset_token_hash(dialect, redemption.token);
        // The token comes with its account, and only if that is the account the request
        // names: one store call, not two.
        let issued = self
            .store
            .find_reset_token_with_user(dialect.as_str(), &hash, &owner)
            .await?;
        // A secret the server never issued (for this account) was guessed; one it issued but
        // that is used, burned or expired came from the mailbox (a second click, a race
        // lost to a concurrent redemption). Only guesses count against the client IP.
        if issued.is_some() {
            self.not_a_failure(attempt).await?;
        }
        let live = issued.filter(|(t, _)| t.used_at.is_none() && t.expires_at > now);
        let Some((token, user)) = live else {
            let kind = AuditKind::RedemptionFailed;
            if owner == TokenOwner::Any {
                self.audit(kind, None, dialect, redemption.client_ip).await;
            } else {
                let user_id = self.bound_user_id(&owner).await?;
                let audit = self.audit_event(kind, user_id, dialect, redemption.client_ip);
                self.count_failure(dialect, user_id, now, audit).await?;
            }
            return Err(RedeemError::InvalidToken);
        };

        match user.status {
            UserStatus::Active => {}
            UserStatus::Banned => return Err(RedeemError::AccountBanned),
            UserStatus::Inactive => return Err(RedeemError::AccountInactive),
        }
        policy.check_for_account(redemption.new_password, &user.email)?;

        let password_hash = self
            .passwords
            .hash(redemption.new_password.to_owned())
            .await?;
        let now = self.clock.now_ms();
        let mail = self
            .mail
            .password_changed_message(&PasswordChangedMail {
                product: self.product_name(),
                recipient: &user.email,
                nickname: user.nickname.as_deref(),
                language: &user.language,
                changed_at: now,
            })
            .map_err(ServiceError::from)?;
        let mail = self.sealed(mail);
        // Queued in the reset's own transaction: the product hears of exactly the resets that
        // happened.
        let webhooks = self
            .webhooks_for(
                &[WebhookEvent::ResetCompleted, WebhookEvent::PasswordChanged],
                Some(dialect),
                Some(redemption.new_password),
            )
            .await?;
        let announced = !webhooks.is_empty();
        let webhooks = webhooks
            .into_iter()
            .map(|w| w.for_user(&user, now))
            .collect();
        // Recorded in the reset's own transaction.
        let audit = self.audit_event(
            AuditKind::ResetCompleted,
            Some(user.id),
            dialect,
            redemption.client_ip,
        );
        let completed = self
            .store
            .complete_reset(
                CompleteReset {
                    token_id: token.id,
                    user_id: user.id,
                    password_hash,
                    mail,
                    audit,
                    session: session.map_or_else(Vec::new, |s| s.rows(user.id, now)),
                    webhooks,
                },
                now,
            )
            .await?;
        let Some(updated) = completed else {
            // A concurrent redemption won, or the token expired while hashing.
            self.audit(
                AuditKind::RedemptionFailed,
                Some(user.id),
                dialect,
                redemption.client_ip,
            )
            .await;
            return Err(RedeemError::InvalidToken);
        };
        self.mail_wake.notify_one();
        if announced {
            self.webhook_wake.notify_one();
        }
        tracing::info!(dialect = %dialect, user_id = updated.id, "password reset completed");
        Ok(updated)
    }

    /// The id of the account the request names, if there is one.
    async fn bound_user_id(&self, owner: &TokenOwner) -> Result<Option<i64>, RedeemError> {
        Ok(match owner {
            TokenOwner::Any => None,
            TokenOwner::PublicId(id) => self.store.user_id_by_public_id(id).await?,
            TokenOwner::Email(email) => self.store.user_id_by_email(email).await?,
        })
    }

    /// A wrong token for the account the request named counts against that account's live
    /// token, which is burned once the configured number of failures is reached, and is
    /// audited in the same transaction. The same store work whether or not the named account
    /// exists (`None`).
    async fn count_failure(
        &self,
        dialect: Dialect,
        user_id: Option<i64>,
        now: i64,
        audit: NewAuditEvent,
    ) -> Result<(), RedeemError> {
        let limit = i32::try_from(self.config.security.max_failed_attempts).unwrap_or(i32::MAX);
        self.store
            .record_failed_redemption_of_live(user_id, dialect.as_str(), limit, now, audit)
            .await?;
        Ok(())
    }
}

/// The `outcome` label of a redemption (`resetd_reset_redemptions_total`).
fn redemption_outcome<T>(result: &Result<T, RedeemError>) -> &'static str {
    match result {
        Ok(_) => crate::metrics::COMPLETED,
        Err(RedeemError::InvalidToken) => "invalid_token",
        Err(RedeemError::PasswordRejected(_)) => "password_rejected",
        Err(RedeemError::AccountBanned) => "account_banned",
        Err(RedeemError::AccountInactive) => "account_inactive",
        Err(RedeemError::DialectDisabled(_)) => "dialect_disabled",
        Err(RedeemError::TooManyRequests(_)) => "rate_limited",
        Err(RedeemError::Service(_)) => "error",
    }
}

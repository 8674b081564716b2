//! What operators do: create and change accounts, and issue a recovery code or link for
//! support staff to hand over.

use std::net::IpAddr;

use crate::mail::Language;
use crate::metrics::IssuedVia;
use crate::store::{AuditKind, NewResetToken, NewUser, StoreError, WebhookEvent};

use super::account::{Account, AccountPatch, AccountStatus};
use super::error::ServiceError;
use super::policy::{PasswordPolicy, PolicyViolation};
use super::{email_address, Dialect, ResetCore};

/// Passwords set by operators: resetd's own floor, independent of any dialect.
pub(super) const ADMIN_PASSWORD_POLICY: PasswordPolicy = PasswordPolicy::length(8, 128);
pub(super) const MAX_NICKNAME_CHARS: usize = 128;

#[derive(Debug, Clone)]
pub struct NewAccount {
    pub email: String,
    pub password: Option<String>,
    pub nickname: Option<String>,
    pub status: AccountStatus,
    pub language: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("not a valid email address")]
    InvalidEmail,
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error(transparent)]
    Password(#[from] PolicyViolation),
    #[error("{0}")]
    Invalid(&'static str),
    #[error("no such account")]
    NotFound,
    #[error("password_hash: {0}")]
    Hash(crate::security::stored_hash::HashFormatError),
    #[error("external_id belongs to another account")]
    ExternalIdTaken,
    #[error("the {0} dialect is disabled on this server")]
    DialectDisabled(Dialect),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl From<StoreError> for AdminError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Conflict {
                what: "external_id",
            } => AdminError::ExternalIdTaken,
            StoreError::Conflict { .. } => AdminError::EmailTaken,
            other => AdminError::Service(other.into()),
        }
    }
}

impl From<crate::security::password_hash::HashError> for AdminError {
    fn from(err: crate::security::password_hash::HashError) -> Self {
        AdminError::Service(err.into())
    }
}

/// A recovery issued by an operator.
#[derive(Debug, Clone)]
pub struct IssuedRecovery {
    pub dialect: Dialect,
    pub code: String,
    pub link: Option<String>,
    /// Milliseconds since the epoch.
    pub expires_at: i64,
}

impl ResetCore {
    pub async fn create_account(&self, account: NewAccount) -> Result<Account, AdminError> {
        let email =
            email_address::normalize(&account.email).map_err(|_| AdminError::InvalidEmail)?;
        check_nickname(account.nickname.as_deref())?;
        let language = account.language.unwrap_or_else(|| "en-US".to_owned());
        if language.is_empty() || language.len() > 35 {
            return Err(AdminError::Invalid("language must be a language tag"));
        }
        let password_hash = match account.password {
            Some(password) => {
                ADMIN_PASSWORD_POLICY.check_shape(&password)?;
                ADMIN_PASSWORD_POLICY.check_for_account(&password, &email)?;
                Some(self.passwords.hash(password).await?)
            }
            None => None,
        };
        let webhooks = self
            .webhooks_for(&[WebhookEvent::UserCreated], None, None)
            .await?;
        let announced = !webhooks.is_empty();
        let now = self.clock.now_ms();
        let user = self
            .store
            .create_user_announced(
                NewUser {
                    public_id: crate::security::random::alphanumeric(12),
                    email,
                    nickname: account.nickname,
                    status: account.status.into(),
                    language,
                    password_hash,
                    created_at: now,
                    updated_at: now,
                    external_id: None,
                },
                webhooks,
            )
            .await?;
        if announced {
            self.webhook_wake.notify_one();
        }
        Ok(user.into())
    }

    pub async fn account(&self, public_id: &str) -> Result<Account, AdminError> {
        self.store
            .user_by_public_id(public_id)
            .await?
            .map(Account::from)
            .ok_or(AdminError::NotFound)
    }

    pub async fn account_by_email(&self, raw_email: &str) -> Result<Account, AdminError> {
        let email = email_address::normalize(raw_email).map_err(|_| AdminError::InvalidEmail)?;
        self.store
            .user_by_email(&email)
            .await?
            .map(Account::from)
            .ok_or(AdminError::NotFound)
    }

    pub async fn update_account(
        &self,
        public_id: &str,
        patch: AccountPatch,
    ) -> Result<Account, AdminError> {
        if let Some(nickname) = &patch.nickname {
            check_nickname(nickname.as_deref())?;
        }
        let user = self.account(public_id).await?;
        let webhooks = self
            .webhooks_for(&[WebhookEvent::UserUpdated], None, None)
            .await?;
        let announced = !webhooks.is_empty();
        let updated = self
            .store
            .update_user_announced(user.id, patch.into(), webhooks, self.clock.now_ms())
            .await?
            .map(Account::from)
            .ok_or(AdminError::NotFound)?;
        if announced {
            self.webhook_wake.notify_one();
        }
        Ok(updated)
    }

    /// Issues a token of `dialect` for the account without emailing it: the operator hands
    /// the code or link over. It replaces the account's live token of that dialect.
    pub async fn issue_recovery(
        &self,
        public_id: &str,
        dialect: Dialect,
        client_ip: IpAddr,
    ) -> Result<IssuedRecovery, AdminError> {
        if !self.is_enabled(dialect) {
            return Err(AdminError::DialectDisabled(dialect));
        }
        let user = self.account(public_id).await?;
        let now = self.clock.now_ms();
        let code = dialect.token_format().generate();
        let expires_at = now + self.token_ttl_ms(dialect);
        // In the account's language, as an emailed link would be.
        let link = dialect.reset_link(
            &self.config.public_base_url,
            &user.public_id,
            &code,
            Language::for_tag(&user.language),
        );
        let row = NewResetToken {
            user_id: user.id,
            dialect: dialect.as_str().to_owned(),
            token_hash: self.reset_token_hash(dialect, &code),
            created_at: now,
            expires_at,
        };
        self.store.issue_reset_token(row, None, None, now).await?;
        self.metrics
            .resets
            .issued(dialect.as_str(), IssuedVia::Operator);
        self.audit(AuditKind::RecoveryIssued, Some(user.id), dialect, client_ip)
            .await;
        tracing::info!(dialect = %dialect, user_id = user.id, "recovery issued by an operator");
        Ok(IssuedRecovery {
            dialect,
            code,
            link,
            expires_at,
        })
    }
}

fn check_nickname(nickname: Option<&str>) -> Result<(), AdminError> {
    match nickname {
        Some(n) if n.chars().count() > MAX_NICKNAME_CHARS => Err(AdminError::Invalid(
            "nickname must be at most 128 characters",
        )),
        Some(n) if n.chars().any(char::is_control) => Err(AdminError::Invalid(
            "nickname must not contain control characters",
        )),
        _ => Ok(()),
    }
}

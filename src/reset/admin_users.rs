//! The rest of the admin API on accounts: pages of accounts, lookups by the product's id,
//! change of email, a password hash set by the product, deletion, and the count of accounts
//! still on a legacy hash.

use crate::mail::EmailChangedMail;
use crate::security::stored_hash::StoredHash;
use crate::store::{EmailFilter, UserFilter, UserStatus, WebhookEvent};

use super::account::{Account, AccountStatus};
use super::admin::AdminError;
use super::error::ServiceError;
use super::{email_address, ResetCore};

/// The most accounts one page lists.
pub const MAX_PAGE: i64 = 1000;

/// Which accounts to list.
#[derive(Debug, Clone, Default)]
pub struct AccountQuery {
    /// Matched exactly, or as a prefix when it ends with `*`.
    pub email: Option<String>,
    pub status: Option<AccountStatus>,
    pub external_id: Option<String>,
    /// Only accounts on a hash other than resetd's current argon2id.
    pub legacy_only: bool,
    /// The `next` of the previous page.
    pub cursor: Option<String>,
    pub limit: i64,
}

/// One page of accounts, and the cursor of the next (`None`: this was the last).
#[derive(Debug, Clone)]
pub struct AccountPage {
    pub accounts: Vec<Account>,
    pub next: Option<String>,
}

impl ResetCore {
    /// The prefix of resetd's current argon2id hashes: any other hash is legacy.
    fn current_hash_prefix(&self) -> String {
        let a = &self.config.argon2;
        format!(
            "$argon2id$v=19$m={},t={},p={}$",
            a.memory_kib, a.iterations, a.parallelism
        )
    }

    /// Whether the account's password hash is one a successful login will replace.
    pub fn has_legacy_hash(&self, account: &Account) -> bool {
        account
            .password_hash
            .as_deref()
            .is_some_and(|hash| !hash.starts_with(&self.current_hash_prefix()))
    }

    pub async fn list_accounts(&self, query: AccountQuery) -> Result<AccountPage, AdminError> {
        if !(1..=MAX_PAGE).contains(&query.limit) {
            return Err(AdminError::Invalid("limit must be from 1 to 1000"));
        }
        let after = match &query.cursor {
            Some(cursor) => Some(
                cursor
                    .parse::<i64>()
                    .ok()
                    .filter(|id| *id > 0)
                    .ok_or(AdminError::Invalid("cursor is not one this API handed out"))?,
            ),
            None => None,
        };
        let email = match query.email.as_deref() {
            Some(prefix) if prefix.ends_with('*') => Some(EmailFilter::Prefix(
                prefix.trim_end_matches('*').trim().to_lowercase(),
            )),
            Some(exact) => Some(EmailFilter::Exact(exact.trim().to_lowercase())),
            None => None,
        };
        let filter = UserFilter {
            email,
            status: query.status.map(UserStatus::from),
            external_id: query.external_id,
            legacy_besides: query.legacy_only.then(|| self.current_hash_prefix()),
        };
        // One more than asked: whether there is a next page.
        let mut users = self
            .store
            .list_users_page(filter, after, query.limit + 1)
            .await?;
        let next = if users.len() as i64 > query.limit {
            users.truncate(query.limit as usize);
            users.last().map(|u| u.id.to_string())
        } else {
            None
        };
        Ok(AccountPage {
            accounts: users.into_iter().map(Account::from).collect(),
            next,
        })
    }

    /// How many accounts are still on a legacy hash (the gauge, `user list --legacy`).
    pub async fn legacy_hash_count(&self) -> Result<i64, ServiceError> {
        let filter = UserFilter {
            legacy_besides: Some(self.current_hash_prefix()),
            ..UserFilter::default()
        };
        let count = self.store.count_users(filter).await?;
        self.metrics.accounts.set_legacy_hashes(count);
        Ok(count)
    }

    pub async fn account_by_external_id(&self, external_id: &str) -> Result<Account, AdminError> {
        self.store
            .user_by_external_id(external_id)
            .await?
            .map(Account::from)
            .ok_or(AdminError::NotFound)
    }

    /// Moves the account to `new_email`: its live reset tokens and sessions end, and the old
    /// address is told (the new one is not named there).
    pub async fn change_email(
        &self,
        public_id: &str,
        new_email: &str,
    ) -> Result<Account, AdminError> {
        let new_email =
            email_address::normalize(new_email).map_err(|_| AdminError::InvalidEmail)?;
        let user = self.account(public_id).await?;
        if user.email == new_email {
            return Ok(user);
        }
        let now = self.clock.now_ms();
        let notice = self
            .mail
            .email_changed_message(&EmailChangedMail {
                product: self.product_name(),
                recipient: &user.email,
                nickname: user.nickname.as_deref(),
                language: &user.language,
                changed_at: now,
            })
            .map_err(ServiceError::from)?;
        let webhooks = self
            .webhooks_for(&[WebhookEvent::UserUpdated], None, None)
            .await?;
        let announced = !webhooks.is_empty();
        let changed = self
            .store
            .change_user_email(user.id, new_email, self.sealed(notice), webhooks, now)
            .await?
            .ok_or(AdminError::NotFound)?;
        self.mail_wake.notify_one();
        if announced {
            self.webhook_wake.notify_one();
        }
        Ok(changed.into())
    }

    /// Stores `hash` as the account's password hash, as the product had it (checked by
    /// [`StoredHash::parse`]); the account's live reset tokens and sessions end.
    pub async fn set_password_hash(
        &self,
        public_id: &str,
        hash: &str,
    ) -> Result<Account, AdminError> {
        StoredHash::parse(hash).map_err(AdminError::Hash)?;
        let user = self.account(public_id).await?;
        // The product changed the password itself: no plaintext, so no hash of it to carry.
        let webhooks = self
            .webhooks_for(&[WebhookEvent::PasswordChanged], None, None)
            .await?;
        let announced = !webhooks.is_empty();
        let changed = self
            .store
            .set_user_password_hash(user.id, hash.to_owned(), webhooks, self.clock.now_ms())
            .await?
            .ok_or(AdminError::NotFound)?;
        if announced {
            self.webhook_wake.notify_one();
        }
        Ok(changed.into())
    }

    /// Deletes the account with its tokens, sessions and queued mail; the audit trail keeps
    /// its events, without the account.
    pub async fn delete_account(&self, public_id: &str) -> Result<Account, AdminError> {
        let user = self.account(public_id).await?;
        let webhooks = self
            .webhooks_for(&[WebhookEvent::UserDeleted], None, None)
            .await?;
        let announced = !webhooks.is_empty();
        let deleted = self
            .store
            .delete_user(user.id, webhooks, self.clock.now_ms())
            .await?
            .map(Account::from)
            .ok_or(AdminError::NotFound)?;
        if announced {
            self.webhook_wake.notify_one();
        }
        Ok(deleted)
    }
}

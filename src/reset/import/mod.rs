//! Bringing a product's accounts in: `resetd user import` and `POST /admin/users/import` go
//! through [`ResetCore::import_records`]. Each checked record ([`line`]) becomes an upsert of
//! the account with its `external_id`, else its email; a batch is one store transaction
//! (`Store::import_users`), and one that meets a unique value taken meanwhile is redone
//! record by record, so that only the clashing record is refused.
//!
//! A `password_hash` is stored as the product had it (checked by `StoredHash::parse`); a
//! plaintext `password` is hashed with argon2id, unless the account's argon2 hash already
//! matches it (so re-importing the same file changes nothing). Streaming a file:
//! [`stream`].

pub mod line;
pub mod stream;

use crate::security::random;
use crate::store::{
    ImportAnnouncements, ImportOutcome, ImportRow, StoreError, UserStatus, WebhookEvent,
};

use self::line::{ImportRecord, LineError, Secret};
use super::error::ServiceError;
use super::ResetCore;

/// Records per store transaction when streaming a file.
pub const IMPORT_BATCH: usize = 500;
/// The most accounts one `POST /admin/users/import` may carry (in the spec too).
pub const MAX_IMPORT_PER_CALL: usize = 1000;

/// What became of one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordResult {
    Created,
    Updated,
    Unchanged,
    Refused(LineError),
}

/// Counts of an import.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub refused: u64,
}

impl ImportSummary {
    pub fn count(&mut self, result: &RecordResult) {
        match result {
            RecordResult::Created => self.created += 1,
            RecordResult::Updated => self.updated += 1,
            RecordResult::Unchanged => self.unchanged += 1,
            RecordResult::Refused(_) => self.refused += 1,
        }
    }
}

impl ResetCore {
    /// Upserts the checked records (refused ones stay refused), in one transaction; with
    /// `dry_run`, works out every result and writes nothing. One result per record, in
    /// order.
    pub async fn import_records(
        &self,
        records: Vec<Result<ImportRecord, LineError>>,
        dry_run: bool,
    ) -> Result<Vec<RecordResult>, ServiceError> {
        let mut results: Vec<Option<RecordResult>> = Vec::with_capacity(records.len());
        let mut rows = Vec::new();
        let mut positions = Vec::new();
        let mut ids = random::IdRun::new();
        for (position, record) in records.into_iter().enumerate() {
            match record {
                Ok(record) => {
                    rows.push(self.import_row(record, ids.next_id()).await?);
                    positions.push(position);
                    results.push(None);
                }
                Err(refusal) => results.push(Some(RecordResult::Refused(refusal))),
            }
        }
        let announce = self.import_announcements().await?;
        let now = self.clock.now_ms();
        let imported = self
            .store
            .import_users(rows.clone(), now, !dry_run, announce.clone());
        let outcomes = match imported.await {
            Ok(outcomes) => outcomes
                .into_iter()
                .map(|o| Some(RecordResult::from(o)))
                .collect(),
            Err(StoreError::Conflict { .. }) => {
                self.import_one_by_one(rows, dry_run, &announce).await?
            }
            Err(other) => return Err(other.into()),
        };
        let announced = [
            &announce.created,
            &announce.updated,
            &announce.password_changed,
        ];
        if !dry_run && announced.iter().any(|a| !a.is_empty()) {
            self.webhook_wake.notify_one();
        }
        for (position, outcome) in positions.into_iter().zip(outcomes) {
            results[position] = outcome;
        }
        Ok(results
            .into_iter()
            .map(|r| r.unwrap_or(RecordResult::Refused(LineError::Conflict("not imported"))))
            .collect())
    }

    /// Each row in a transaction of its own: a clash refuses that row only.
    async fn import_one_by_one(
        &self,
        rows: Vec<ImportRow>,
        dry_run: bool,
        announce: &ImportAnnouncements,
    ) -> Result<Vec<Option<RecordResult>>, ServiceError> {
        let mut outcomes = Vec::with_capacity(rows.len());
        for row in rows {
            let now = self.clock.now_ms();
            let imported = self
                .store
                .import_users(vec![row], now, !dry_run, announce.clone());
            let outcome = match imported.await {
                Ok(mut one) => one.pop().map(RecordResult::from),
                Err(StoreError::Conflict { what }) => Some(RecordResult::Refused(
                    LineError::Conflict(if what == "external_id" {
                        "external_id belongs to another account"
                    } else {
                        "email belongs to another account"
                    }),
                )),
                Err(other) => return Err(other.into()),
            };
            outcomes.push(outcome);
        }
        Ok(outcomes)
    }

    /// What an import announces, one of each per account (no password hash: an import
    /// carries the product's own hash, or a password the product already has).
    async fn import_announcements(&self) -> Result<ImportAnnouncements, ServiceError> {
        Ok(ImportAnnouncements {
            created: self
                .webhooks_for(&[WebhookEvent::UserCreated], None, None)
                .await?,
            updated: self
                .webhooks_for(&[WebhookEvent::UserUpdated], None, None)
                .await?,
            password_changed: self
                .webhooks_for(&[WebhookEvent::PasswordChanged], None, None)
                .await?,
        })
    }

    /// The store's row for `record`, with `public_id` if it creates the account: its password
    /// hashed, unless the account's argon2 hash is of this very password already.
    async fn import_row(
        &self,
        record: ImportRecord,
        public_id: String,
    ) -> Result<ImportRow, ServiceError> {
        let password_hash = match &record.secret {
            None => None,
            Some(Secret::Hash(hash)) => Some(hash.clone()),
            Some(Secret::Password(password)) => {
                if self.has_password(&record, password).await? {
                    None
                } else {
                    Some(self.passwords.hash(password.clone()).await?)
                }
            }
        };
        Ok(ImportRow {
            email: record.email,
            external_id: record.external_id,
            nickname: record.nickname,
            status: record.status.map(UserStatus::from),
            language: record.language,
            created_at: record.created_at,
            password_hash,
            public_id,
        })
    }

    /// Whether the account `record` names has an argon2 hash of `password`.
    async fn has_password(
        &self,
        record: &ImportRecord,
        password: &str,
    ) -> Result<bool, ServiceError> {
        let by_external_id = match &record.external_id {
            Some(id) => self.store.user_by_external_id(id).await?,
            None => None,
        };
        let user = match by_external_id {
            Some(user) => Some(user),
            None => self.store.user_by_email(&record.email).await?,
        };
        match user.and_then(|u| u.password_hash) {
            Some(hash) if hash.starts_with("$argon2") => {
                Ok(self.passwords.verify(password.to_owned(), hash).await?)
            }
            _ => Ok(false),
        }
    }
}

impl From<ImportOutcome> for RecordResult {
    fn from(outcome: ImportOutcome) -> RecordResult {
        match outcome {
            ImportOutcome::Created => RecordResult::Created,
            ImportOutcome::Updated => RecordResult::Updated,
            ImportOutcome::Unchanged => RecordResult::Unchanged,
            ImportOutcome::EmailTaken => {
                RecordResult::Refused(LineError::Conflict("email belongs to another account"))
            }
            ImportOutcome::ExternalIdMismatch => RecordResult::Refused(LineError::Conflict(
                "email belongs to an account with another external_id",
            )),
        }
    }
}

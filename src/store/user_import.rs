//! Upserting a batch of imported accounts in one transaction: one SELECT finds every account
//! the batch names (by the product's id or by email), the batch is matched against them in
//! memory, then the new accounts go in with one prepared INSERT (`insert_many.rs`) and the
//! changed ones get one UPDATE each. A line that changes nothing writes nothing.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::access::run;
use super::insert_many::InsertMany as _;
use super::schema::users;
use super::{NewUser, NewWebhookDelivery, PendingWebhook, Store, StoreError, User, UserStatus};
use crate::clock::Millis;

/// One account as an import line wants it. `None`: the account's value stays (a new account
/// gets the default).
#[derive(Clone, PartialEq, Eq)]
pub struct ImportRow {
    /// Lowercased by the caller.
    pub email: String,
    pub external_id: Option<String>,
    pub nickname: Option<String>,
    pub status: Option<UserStatus>,
    pub language: Option<String>,
    pub created_at: Option<Millis>,
    /// The hash to store; `None` keeps the account's.
    pub password_hash: Option<String>,
    /// The opaque id the account gets if it is created.
    pub public_id: String,
}

impl std::fmt::Debug for ImportRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportRow")
            .field("external_id", &self.external_id)
            .field("has_password_hash", &self.password_hash.is_some())
            .finish_non_exhaustive()
    }
}

/// What became of one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportOutcome {
    Created,
    Updated,
    Unchanged,
    /// The row's email belongs to another account than the one its external id names.
    EmailTaken,
    /// The row's email belongs to an account that has another external id.
    ExternalIdMismatch,
}

/// The webhooks an import queues, one of each per account it concerns (none configured:
/// empty), in the transaction that writes the accounts.
#[derive(Debug, Clone, Default)]
pub struct ImportAnnouncements {
    pub created: Vec<PendingWebhook>,
    pub updated: Vec<PendingWebhook>,
    /// For an account whose password hash the import replaced.
    pub password_changed: Vec<PendingWebhook>,
}

impl ImportAnnouncements {
    fn rows(templates: &[PendingWebhook], user: &User, now: Millis) -> Vec<NewWebhookDelivery> {
        templates
            .iter()
            .map(|t| t.for_another_account().for_user(user, now))
            .collect()
    }
}

/// An account the batch touches: one that was there, or one it creates.
struct Slot {
    user: User,
    existing: bool,
    changed: bool,
    /// The hash the account had before the batch.
    original_hash: Option<String>,
}

/// Every column an import may change.
#[derive(AsChangeset)]
#[diesel(table_name = users, treat_none_as_null = true)]
struct ImportChanges<'a> {
    email: &'a str,
    external_id: Option<&'a str>,
    nickname: Option<&'a str>,
    status: UserStatus,
    language: &'a str,
    password_hash: Option<&'a str>,
    created_at: Millis,
    updated_at: Millis,
}

impl Store {
    /// Upserts `rows` in one transaction (or, with `write` false, only works out what it
    /// would do). A row matches the account with its `external_id`, else the one with its
    /// email. Rows are applied in order, so a later row sees what an earlier one did. A
    /// unique value taken in between by another writer is a `Conflict` for the whole batch:
    /// the caller retries row by row.
    pub async fn import_users(
        &self,
        rows: Vec<ImportRow>,
        now: Millis,
        write: bool,
        announce: ImportAnnouncements,
    ) -> Result<Vec<ImportOutcome>, StoreError> {
        run!(self, transaction, |conn| {
            let emails: Vec<&str> = rows.iter().map(|r| r.email.as_str()).collect();
            let external_ids: Vec<&str> = rows
                .iter()
                .filter_map(|r| r.external_id.as_deref())
                .collect();
            // Two lookups, each on its unique index: PostgreSQL planned the one with `OR`
            // as a scan of the whole table per batch (`cargo xtask bench --only import`:
            // 792 accounts/s at 100,000, quadratic in the table's size).
            let mut found: Vec<User> = users::table
                .filter(users::email.eq_any(&emails))
                .select(User::as_select())
                .load(conn)
                .await?;
            if !external_ids.is_empty() {
                let by_external_id: Vec<User> = users::table
                    .filter(users::external_id.eq_any(&external_ids))
                    .select(User::as_select())
                    .load(conn)
                    .await?;
                let known: std::collections::HashSet<i64> = found.iter().map(|u| u.id).collect();
                found.extend(
                    by_external_id
                        .into_iter()
                        .filter(|u| !known.contains(&u.id)),
                );
            }
            let mut batch = Batch::new(found);
            let outcomes: Vec<ImportOutcome> =
                rows.into_iter().map(|row| batch.apply(row, now)).collect();
            if write {
                let (created, changed) = batch.into_writes();
                let created_ids: Vec<String> =
                    created.iter().map(|u| u.public_id.clone()).collect();
                conn.insert_many(created).await?;
                let mut deliveries = Vec::new();
                if !announce.created.is_empty() && !created_ids.is_empty() {
                    let created: Vec<User> = users::table
                        .filter(users::public_id.eq_any(&created_ids))
                        .order(users::id)
                        .select(User::as_select())
                        .load(conn)
                        .await?;
                    for user in &created {
                        deliveries.extend(ImportAnnouncements::rows(&announce.created, user, now));
                    }
                }
                for (user, original_hash) in &changed {
                    diesel::update(users::table.find(user.id))
                        .set(ImportChanges {
                            email: &user.email,
                            external_id: user.external_id.as_deref(),
                            nickname: user.nickname.as_deref(),
                            status: user.status,
                            language: &user.language,
                            password_hash: user.password_hash.as_deref(),
                            created_at: user.created_at,
                            updated_at: now,
                        })
                        .execute(conn)
                        .await?;
                    deliveries.extend(ImportAnnouncements::rows(&announce.updated, user, now));
                    if user.password_hash != *original_hash {
                        let changed = &announce.password_changed;
                        deliveries.extend(ImportAnnouncements::rows(changed, user, now));
                    }
                }
                super::webhooks::enqueue(conn, deliveries).await?;
            }
            Ok(outcomes)
        })
    }
}

/// The accounts of a batch, by email and by external id.
struct Batch {
    slots: Vec<Slot>,
    by_email: HashMap<String, usize>,
    by_external_id: HashMap<String, usize>,
}

impl Batch {
    fn new(found: Vec<User>) -> Batch {
        let mut batch = Batch {
            slots: Vec::with_capacity(found.len()),
            by_email: HashMap::new(),
            by_external_id: HashMap::new(),
        };
        for user in found {
            batch.add(user, true);
        }
        batch
    }

    fn add(&mut self, user: User, existing: bool) {
        let index = self.slots.len();
        self.by_email.insert(user.email.clone(), index);
        if let Some(external_id) = &user.external_id {
            self.by_external_id.insert(external_id.clone(), index);
        }
        self.slots.push(Slot {
            original_hash: user.password_hash.clone(),
            user,
            existing,
            changed: false,
        });
    }

    fn apply(&mut self, row: ImportRow, now: Millis) -> ImportOutcome {
        let by_external_id = row
            .external_id
            .as_ref()
            .and_then(|id| self.by_external_id.get(id).copied());
        let by_email = self.by_email.get(&row.email).copied();
        let index = match (by_external_id, by_email) {
            (Some(index), Some(other)) if other != index => return ImportOutcome::EmailTaken,
            (Some(index), _) => index,
            (None, Some(index)) => {
                let theirs = self.slots[index].user.external_id.as_deref();
                if theirs.is_some() && row.external_id.is_some() {
                    return ImportOutcome::ExternalIdMismatch;
                }
                index
            }
            (None, None) => {
                self.add(new_user(row, now), false);
                return ImportOutcome::Created;
            }
        };
        let user = &mut self.slots[index].user;
        let old_email = user.email.clone();
        let changed = merge(user, row);
        if user.email != old_email {
            self.by_email.remove(&old_email);
            self.by_email.insert(user.email.clone(), index);
        }
        if let Some(external_id) = &user.external_id {
            self.by_external_id.insert(external_id.clone(), index);
        }
        if !changed {
            return ImportOutcome::Unchanged;
        }
        // An account created by an earlier row of this batch is inserted as it ends up.
        self.slots[index].changed = true;
        ImportOutcome::Updated
    }

    /// The accounts to insert, and the existing ones to update with their hash before.
    fn into_writes(self) -> (Vec<NewUser>, Vec<(User, Option<String>)>) {
        let mut created = Vec::new();
        let mut changed = Vec::new();
        for slot in self.slots {
            if !slot.existing {
                created.push(NewUser {
                    public_id: slot.user.public_id,
                    email: slot.user.email,
                    nickname: slot.user.nickname,
                    status: slot.user.status,
                    language: slot.user.language,
                    password_hash: slot.user.password_hash,
                    created_at: slot.user.created_at,
                    updated_at: slot.user.updated_at,
                    external_id: slot.user.external_id,
                });
            } else if slot.changed {
                changed.push((slot.user, slot.original_hash));
            }
        }
        (created, changed)
    }
}

fn new_user(row: ImportRow, now: Millis) -> User {
    User {
        id: 0,
        public_id: row.public_id,
        email: row.email,
        nickname: row.nickname,
        status: row.status.unwrap_or(UserStatus::Active),
        language: row.language.unwrap_or_else(|| "en-US".to_owned()),
        password_hash: row.password_hash,
        created_at: row.created_at.unwrap_or(now),
        updated_at: now,
        external_id: row.external_id,
    }
}

/// Sets each value the row gives on `user`; whether anything differed.
fn merge(user: &mut User, row: ImportRow) -> bool {
    let mut changed = false;
    fn set<T: PartialEq>(field: &mut T, value: T, changed: &mut bool) {
        if *field != value {
            *field = value;
            *changed = true;
        }
    }
    set(&mut user.email, row.email, &mut changed);
    if let Some(external_id) = row.external_id {
        set(&mut user.external_id, Some(external_id), &mut changed);
    }
    if let Some(nickname) = row.nickname {
        set(&mut user.nickname, Some(nickname), &mut changed);
    }
    if let Some(status) = row.status {
        set(&mut user.status, status, &mut changed);
    }
    if let Some(language) = row.language {
        set(&mut user.language, language, &mut changed);
    }
    if let Some(created_at) = row.created_at {
        set(&mut user.created_at, created_at, &mut changed);
    }
    if let Some(hash) = row.password_hash {
        set(&mut user.password_hash, Some(hash), &mut changed);
    }
    changed
}

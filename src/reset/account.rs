//! The core's view of an account, as it hands accounts to the dialect adapters and the CLI:
//! no store types, and no password hash (only whether there is one).

use crate::clock::Millis;
use crate::store::{User, UserPatch, UserStatus};

/// Whether an account may log in and recover its password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountStatus {
    Active,
    Inactive,
    Banned,
}

impl AccountStatus {
    pub fn as_str(self) -> &'static str {
        UserStatus::from(self).as_str()
    }
}

/// An account as the core answers with it.
#[derive(Clone, PartialEq, Eq)]
pub struct Account {
    /// The row id: Strapi's clients see accounts by a number.
    pub id: i64,
    pub public_id: String,
    pub email: String,
    pub nickname: Option<String>,
    pub status: AccountStatus,
    pub language: String,
    pub created_at: Millis,
    pub updated_at: Millis,
    /// The product's own id of an imported account, shown by the dialects in place of
    /// `public_id` where set.
    pub external_id: Option<String>,
    /// The hash the account had when it was read: a session opened for it is refused if the
    /// password changed since. Only the core sees it.
    pub(super) password_hash: Option<String>,
}

impl Account {
    pub fn has_password(&self) -> bool {
        self.password_hash.is_some()
    }
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("public_id", &self.public_id)
            .field("status", &self.status)
            .field("has_password", &self.has_password())
            .finish_non_exhaustive()
    }
}

/// Changes an operator makes to an account; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct AccountPatch {
    pub status: Option<AccountStatus>,
    pub nickname: Option<Option<String>>,
}

impl From<User> for Account {
    fn from(user: User) -> Account {
        Account {
            id: user.id,
            public_id: user.public_id,
            email: user.email,
            nickname: user.nickname,
            status: user.status.into(),
            language: user.language,
            created_at: user.created_at,
            updated_at: user.updated_at,
            external_id: user.external_id,
            password_hash: user.password_hash,
        }
    }
}

impl From<UserStatus> for AccountStatus {
    fn from(status: UserStatus) -> AccountStatus {
        match status {
            UserStatus::Active => AccountStatus::Active,
            UserStatus::Inactive => AccountStatus::Inactive,
            UserStatus::Banned => AccountStatus::Banned,
        }
    }
}

impl From<AccountStatus> for UserStatus {
    fn from(status: AccountStatus) -> UserStatus {
        match status {
            AccountStatus::Active => UserStatus::Active,
            AccountStatus::Inactive => UserStatus::Inactive,
            AccountStatus::Banned => UserStatus::Banned,
        }
    }
}

impl From<AccountPatch> for UserPatch {
    fn from(patch: AccountPatch) -> UserPatch {
        UserPatch {
            status: patch.status.map(UserStatus::from),
            nickname: patch.nickname,
        }
    }
}

/// The outbox's depth, for `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboxDepth {
    /// Messages waiting to be sent.
    pub pending: i64,
    /// Messages given up on.
    pub dead: i64,
}

//! Sessions: random access and refresh tokens, stored only as keyed hashes, checked by
//! introspection, issued by login and by the dialects whose reset logs the user in.

use std::net::IpAddr;

use crate::clock::Millis;
use crate::security::password_hash::HashError;
use crate::security::random;
use crate::security::stored_hash::StoredHash;
use crate::store::{AccessTokenKind, NewAccessToken, UserStatus};

use super::account::Account;

use super::error::{LoginError, ServiceError};
use super::{email_address, secs_to_ms, ResetCore};

/// Length of access and refresh tokens: 43 alphanumerics carry 256 bits.
const SESSION_TOKEN_CHARS: usize = 43;
/// Keyed-hash purpose of session tokens (both kinds; the row says which).
const SESSION_PURPOSE: &str = "session";

#[derive(Debug, Clone)]
pub struct SessionTokens {
    pub access_token: String,
    pub refresh_token: String,
    /// Lifetime of the access token, in seconds.
    pub expires_in: u64,
    pub client_id: String,
    pub scope: String,
}

/// RFC 7662 fields of an active token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Introspection {
    pub sub: String,
    pub email: String,
    /// Seconds since the epoch.
    pub exp: i64,
    pub iat: i64,
    pub scope: String,
    pub client_id: String,
    pub token_type: &'static str,
    /// The product's own id of the account, when it has one.
    pub external_id: Option<String>,
}

/// A session's tokens for the answer, and their keyed hashes for the store.
pub(super) struct NewSession {
    pub tokens: SessionTokens,
    access_hash: String,
    refresh_hash: String,
    refresh_ttl_secs: u64,
}

impl NewSession {
    /// The rows that store the session of `user_id`, opened at `now`.
    pub fn rows(&self, user_id: i64, now: Millis) -> Vec<NewAccessToken> {
        let row = |token_hash: &str, kind: AccessTokenKind, ttl_secs: u64| NewAccessToken {
            user_id,
            token_hash: token_hash.to_owned(),
            kind,
            client_id: self.tokens.client_id.clone(),
            scope: self.tokens.scope.clone(),
            created_at: now,
            expires_at: now + secs_to_ms(ttl_secs),
        };
        vec![
            row(
                &self.access_hash,
                AccessTokenKind::Access,
                self.tokens.expires_in,
            ),
            row(
                &self.refresh_hash,
                AccessTokenKind::Refresh,
                self.refresh_ttl_secs,
            ),
        ]
    }
}

impl ResetCore {
    /// Opens a session for `user`: an access token and a refresh token. `None` when the
    /// account's password is no longer the one in `user` (changed by a reset since it was
    /// read) or the account is no longer active: no session outlives the password it was
    /// granted on (SECURITY 21).
    pub async fn open_session(
        &self,
        user: &Account,
        client_id: &str,
        scope: &str,
    ) -> Result<Option<SessionTokens>, ServiceError> {
        let session = self.new_session(client_id, scope);
        let rows = session.rows(user.id, self.clock.now_ms());
        let granted = self
            .store
            .insert_grant_if_password_is(user.id, user.password_hash.as_deref(), rows)
            .await?;
        Ok(granted.then_some(session.tokens))
    }

    /// Fresh tokens for a session of `client_id` with `scope`, not yet stored.
    pub(super) fn new_session(&self, client_id: &str, scope: &str) -> NewSession {
        let sessions = &self.config.sessions;
        let tokens = SessionTokens {
            access_token: random::alphanumeric(SESSION_TOKEN_CHARS),
            refresh_token: random::alphanumeric(SESSION_TOKEN_CHARS),
            expires_in: sessions.access_ttl_secs,
            client_id: client_id.to_owned(),
            scope: scope.to_owned(),
        };
        NewSession {
            access_hash: self.tokens.hash(SESSION_PURPOSE, &tokens.access_token),
            refresh_hash: self.tokens.hash(SESSION_PURPOSE, &tokens.refresh_token),
            refresh_ttl_secs: sessions.refresh_ttl_secs,
            tokens,
        }
    }

    /// Checks email and password and opens a session. Every failure is the same answer, and
    /// an unknown email still costs one argon2id verification so timing does not tell.
    /// Each login is counted as a failure against the client IP's and the email's limits
    /// before the password is checked, and given back if it succeeds (`limits.rs`): past
    /// either limit the login is refused before any check. The client and scope asked for
    /// (`None`: the defaults, see `grant.rs`) are judged first of all, before any counting
    /// or password work.
    pub async fn login(
        &self,
        raw_email: &str,
        password: &str,
        client_id: Option<&str>,
        scope: Option<&str>,
        client_ip: IpAddr,
    ) -> Result<SessionTokens, LoginError> {
        let grant = self.grant(client_id, scope)?;
        let email = email_address::normalize(raw_email).ok();
        // An email that is no address is counted as typed, so it has a limit of its own too.
        let counted_as = email
            .clone()
            .unwrap_or_else(|| raw_email.trim().to_lowercase());
        let attempt = self.begin_login(&counted_as, client_ip).await?;
        let user = match &email {
            Some(email) => self.store.user_by_email(email).await?,
            None => None,
        };
        let stored = user
            .as_ref()
            .filter(|u| u.status == UserStatus::Active)
            .and_then(|u| u.password_hash.as_deref())
            // Imports refuse what does not parse, so this is a hash written otherwise: it
            // opens nothing, and costs what an unknown email costs.
            .and_then(|hash| StoredHash::parse(hash).ok());
        let has_hash = stored.is_some();
        // No account: the decoy goes through the very steps an account's hash goes through
        // (parsed, then verified), so that the two take the same time.
        let checked = match stored {
            Some(stored) => stored,
            None => StoredHash::parse(&self.decoy_hash().await?)
                .map_err(|e| ServiceError::from(HashError::Hashing(e.to_string())))?,
        };
        let verified = match checked.argon2_phc() {
            Some(phc) => {
                self.passwords
                    .verify(password.to_owned(), phc.to_owned())
                    .await?
            }
            None => {
                let decoy = self.decoy_hash().await?;
                self.passwords
                    .verify_legacy(password.to_owned(), checked.clone(), decoy)
                    .await?
            }
        };
        let session = match user {
            Some(user) if has_hash && verified => {
                let mut account = Account::from(user);
                if !self.passwords.is_current(&checked) {
                    self.upgrade_hash(&mut account, password).await?;
                }
                // A password a reset replaced meanwhile no longer opens anything.
                self.open_session(&account, &grant.client_id, &grant.scope)
                    .await?
            }
            _ => None,
        };
        // A failed login keeps its count.
        let session = session.ok_or(LoginError::InvalidCredentials)?;
        self.not_a_failure(attempt).await?;
        Ok(session)
    }

    /// What an active access or refresh token stands for; `None` for unknown, expired or
    /// revoked tokens and for accounts no longer active.
    pub async fn introspect(&self, token: &str) -> Result<Option<Introspection>, ServiceError> {
        if token.is_empty() || token.len() > 256 {
            return Ok(None);
        }
        let hash = self.tokens.hash(SESSION_PURPOSE, token);
        let now = self.clock.now_ms();
        let Some((row, user)) = self.store.find_access_token(&hash).await? else {
            return Ok(None);
        };
        if row.revoked_at.is_some() || row.expires_at <= now || user.status != UserStatus::Active {
            return Ok(None);
        }
        Ok(Some(Introspection {
            sub: user.public_id,
            email: user.email,
            exp: row.expires_at / 1_000,
            iat: row.created_at / 1_000,
            scope: row.scope,
            client_id: row.client_id,
            token_type: row.kind.as_str(),
            external_id: user.external_id,
        }))
    }

    /// Replaces `account`'s verified hash (legacy, or argon2id under other parameters) by
    /// argon2id under the configured ones, unless a reset or an admin changed it since it was
    /// read; `account` then holds what is stored.
    async fn upgrade_hash(&self, account: &mut Account, password: &str) -> Result<(), LoginError> {
        let Some(verified) = account.password_hash.clone() else {
            return Ok(());
        };
        let upgraded = self.passwords.hash(password.to_owned()).await?;
        let now = self.clock.now_ms();
        let replaced = self
            .store
            .upgrade_password_hash(account.id, verified, upgraded.clone(), now)
            .await?;
        if replaced {
            account.password_hash = Some(upgraded);
        }
        Ok(())
    }

    /// A hash with the configured parameters, verified against when there is no account, so
    /// that path costs what a real verification costs. Made once per process, by
    /// [`Self::prepare_login`] in a server, so that no login pays for making it.
    async fn decoy_hash(&self) -> Result<String, HashError> {
        let hash = self
            .decoy
            .get_or_try_init(|| self.passwords.hash(random::alphanumeric(32)))
            .await?;
        Ok(hash.clone())
    }

    /// Makes the login's decoy hash now (one argon2id hash), before the first login.
    pub async fn prepare_login(&self) -> Result<(), HashError> {
        self.decoy_hash().await.map(drop)
    }
}

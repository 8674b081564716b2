//! The dialect-agnostic reset core: request a reset, redeem a token, open and check sessions;
//! and the issuer, which turns queued reset requests into tokens and mail.
//!
//! It knows token formats, lifetimes, policies and the enumeration-safe rules; it never knows
//! which envelope its answer will be wrapped in. Store and mail sit below it.

mod account;
mod admin;
mod admin_users;
mod audit;
mod captcha;
mod check;
mod dialect;
pub mod email_address;
mod error;
mod grant;
pub mod import;
mod issuer;
mod limits;
pub mod policy;
mod redeem;
mod request;
mod sessions;
pub mod token_format;
mod webhooks;

use std::sync::Arc;

use tokio::sync::Notify;

use crate::clock::SharedClock;
use crate::config::Config;
use crate::mail::MailTemplates;
use crate::metrics::{KnownLabels, Metrics};
use crate::security::captcha::{AnswerSource, RandomAnswers};
use crate::security::keyed_hash::TokenHasher;
use crate::security::password_hash::PasswordHasher;
use crate::security::rate_limit::{LimitKind, RateLimiter};
use crate::security::sealing::BodySealer;
use crate::store::{NewOutboxMessage, OutboxStatus, Store};

pub use account::{Account, AccountPatch, AccountStatus, OutboxDepth};
pub use admin::{AdminError, IssuedRecovery, NewAccount};
pub use admin_users::{AccountPage, AccountQuery, MAX_PAGE};
pub use captcha::{CaptchaAnswer, CaptchaError, IssuedCaptcha};
pub use dialect::{Dialect, UnknownDialect};
pub use error::{AccountProblem, LoginError, RedeemError, RequestError, RetryAfter, ServiceError};
pub use grant::{Grant, GrantError};
pub use issuer::{IssueStats, IssuerPolicy, ResetIssuer};
pub use redeem::{Binding, Redemption};
pub use request::RequestOutcome;
pub use sessions::{Introspection, SessionTokens};

/// Purpose of the key that seals queued mail bodies (derived from the token hashing key).
const OUTBOX_SEAL_PURPOSE: &str = "outbox-seal";
/// Purpose of the key that seals the password hashes queued for webhooks.
const WEBHOOK_SEAL_PURPOSE: &str = "webhook-seal";

/// Everything the core needs, shared by all requests.
#[derive(Clone)]
pub struct ResetCore {
    store: Store,
    config: Arc<Config>,
    tokens: TokenHasher,
    passwords: PasswordHasher,
    /// The compiled mail templates, overrides included.
    mail: Arc<MailTemplates>,
    /// Per-account and per-IP limits, counted in the store (`limits.rs`).
    limiter: RateLimiter,
    clock: SharedClock,
    /// Wakes the outbox worker as soon as a message is queued.
    mail_wake: Arc<Notify>,
    /// Wakes the reset issuer as soon as a request is queued (`issuer.rs`).
    issue_wake: Arc<Notify>,
    /// Decoy password hash for logins to unknown accounts (see `sessions`).
    decoy: Arc<tokio::sync::OnceCell<String>>,
    /// Where captcha answers come from (random; tests substitute their own).
    captcha_answers: Arc<dyn AnswerSource>,
    /// Seals the bodies of the mail the core queues (`security::sealing`).
    sealer: BodySealer,
    /// Seals the password hashes of queued webhooks (`webhooks.rs`).
    webhook_sealer: BodySealer,
    /// Wakes the webhook worker as soon as a delivery is queued.
    webhook_wake: Arc<Notify>,
    /// Resets and rate-limit hits are counted here.
    metrics: Arc<Metrics>,
}

/// The label values the core counts under: its dialects, and the rate limits whose refusals
/// it reports.
pub fn known_labels() -> KnownLabels {
    KnownLabels {
        dialects: Dialect::ALL.iter().map(|d| d.as_str()).collect(),
        limit_kinds: LimitKind::COUNTED.map(LimitKind::as_str).to_vec(),
    }
}

impl ResetCore {
    pub fn new(
        store: Store,
        config: Arc<Config>,
        tokens: TokenHasher,
        passwords: PasswordHasher,
        mail: Arc<MailTemplates>,
        clock: SharedClock,
        mail_wake: Arc<Notify>,
    ) -> Self {
        let limiter = RateLimiter::new(store.clone(), tokens.clone(), &config.security);
        let sealer = BodySealer::new(tokens.derive_key(OUTBOX_SEAL_PURPOSE));
        let webhook_sealer = BodySealer::new(tokens.derive_key(WEBHOOK_SEAL_PURPOSE));
        Self {
            store,
            config,
            tokens,
            passwords,
            mail,
            limiter,
            clock,
            mail_wake,
            issue_wake: Arc::default(),
            decoy: Arc::default(),
            captcha_answers: Arc::new(RandomAnswers),
            sealer,
            webhook_sealer,
            webhook_wake: Arc::default(),
            metrics: Arc::new(Metrics::new(&known_labels())),
        }
    }

    /// The same core counting into `metrics` (the server's) instead of a registry of its own.
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// The sealer of queued mail bodies, for the outbox worker that opens them.
    pub fn outbox_sealer(&self) -> BodySealer {
        self.sealer.clone()
    }

    /// `mail` with its bodies sealed for its recipient, as it is queued.
    fn sealed(&self, mut mail: NewOutboxMessage) -> NewOutboxMessage {
        mail.body_text = self.sealer.seal(&mail.body_text, &mail.recipient);
        mail.body_html = self.sealer.seal(&mail.body_html, &mail.recipient);
        mail
    }

    /// The same core with captcha answers from `source`.
    pub fn with_captcha_answers(mut self, source: Arc<dyn AnswerSource>) -> Self {
        self.captcha_answers = source;
        self
    }

    /// This core on another handle of the same store (`Store::connect_beside`): same
    /// configuration, keys, hasher and wake-ups; limits counted through that handle.
    pub fn with_store(&self, store: Store) -> ResetCore {
        ResetCore {
            limiter: RateLimiter::new(store.clone(), self.tokens.clone(), &self.config.security),
            store,
            ..self.clone()
        }
    }

    /// Notified whenever the core queues a webhook delivery.
    pub fn webhook_wake(&self) -> Arc<Notify> {
        self.webhook_wake.clone()
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The core's clock, for the adapters that put the time in an answer (Strapi's JWT).
    pub fn now_ms(&self) -> crate::clock::Millis {
        self.clock.now_ms()
    }

    /// The outbox's depth as the store has it now (for `/metrics`).
    pub async fn outbox_depth(&self) -> Result<OutboxDepth, crate::store::StoreError> {
        Ok(OutboxDepth {
            pending: self.store.count_outbox(OutboxStatus::Pending).await?,
            dead: self.store.count_outbox(OutboxStatus::Dead).await?,
        })
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn is_enabled(&self, dialect: Dialect) -> bool {
        let d = &self.config.dialects;
        match dialect {
            Dialect::Ipcola => d.ipcola.enabled,
            Dialect::Strapi => d.strapi.enabled,
            Dialect::Cloudreve => d.cloudreve.enabled,
            Dialect::Selfcommunity => d.selfcommunity.enabled,
        }
    }

    fn token_ttl_ms(&self, dialect: Dialect) -> i64 {
        let d = &self.config.dialects;
        let secs = match dialect {
            Dialect::Ipcola => d.ipcola.token_ttl_secs,
            Dialect::Strapi => d.strapi.token_ttl_secs,
            Dialect::Cloudreve => d.cloudreve.token_ttl_secs,
            Dialect::Selfcommunity => d.selfcommunity.token_ttl_secs,
        };
        secs_to_ms(secs)
    }

    /// The name emails give the service (`product_name`).
    fn product_name(&self) -> &str {
        &self.config.product_name
    }

    /// The keyed hash under which a reset token of `dialect` is stored.
    fn reset_token_hash(&self, dialect: Dialect, token: &str) -> String {
        self.tokens.hash(&format!("reset:{dialect}"), token)
    }
}

/// Config durations are validated to at most a year, so this never saturates in practice.
fn secs_to_ms(secs: u64) -> i64 {
    i64::try_from(secs.saturating_mul(1_000)).unwrap_or(i64::MAX)
}

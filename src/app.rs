//! Assembling the service: store, secret, hashers, mailer, reset core, HTTP server, reset
//! issuer and outbox worker (those two on the background thread, `background.rs`); and
//! stopping it cleanly.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use dropshot::{ApiDescription, ConfigDropshot, HandlerTaskMode, HttpServer, ServerBuilder};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::background::{Background, Queues};
use crate::clock::SharedClock;
use crate::config::{Config, Switch};
use crate::mail::{MailTemplates, MailTransport};
use crate::mail::{OutboxWorker, RetryPolicy};
use crate::metrics::Metrics;
use crate::reset::{IssuerPolicy, ResetCore};
use crate::server::{access_log, RouteTable};
// Their home is the HTTP layer's `server`; named here too, where the service is assembled.
use crate::security::captcha::{AnswerSource, RandomAnswers};
use crate::security::keyed_hash::TokenHasher;
use crate::security::password_hash::PasswordHasher;
use crate::security::random;
pub use crate::server::{AppState, StartError};
use crate::store::Store;
use crate::templating::Templates;
use crate::webhooks::{WebhookPolicy, WebhookWorker};

/// What a caller may substitute in a running service: time, and where captcha answers come
/// from. The CLI uses the defaults ([`Seams::new`]); tests move the clock and learn the
/// answers of the captchas they are shown.
#[derive(Clone)]
pub struct Seams {
    pub clock: SharedClock,
    pub captcha_answers: Arc<dyn AnswerSource>,
}

impl Seams {
    /// `clock`, and random captcha answers.
    pub fn new(clock: SharedClock) -> Self {
        Seams {
            clock,
            captcha_answers: Arc::new(RandomAnswers),
        }
    }
}

/// The settings key under which a generated server secret is kept.
const SECRET_SETTING: &str = "server_secret";

/// Everything but the HTTP server: what the CLI's account commands need too.
pub struct Services {
    pub core: ResetCore,
    pub store: Store,
    pub mail_wake: Arc<Notify>,
    pub clock: SharedClock,
    pub config: Arc<Config>,
    pub metrics: Arc<Metrics>,
}

impl Services {
    /// Opens the store (running pending migrations) and builds the core.
    pub async fn open(config: Config, clock: SharedClock) -> Result<Services, StartError> {
        Services::open_with(config, Seams::new(clock)).await
    }

    pub async fn open_with(config: Config, seams: Seams) -> Result<Services, StartError> {
        let Seams {
            clock,
            captcha_answers,
        } = seams;
        // First: a broken template stops the start before the database is touched.
        let mail = MailTemplates::load(config.mail.templates_dir.as_deref())?;
        let overridden: Vec<&str> = mail.overridden().collect();
        if !overridden.is_empty() {
            tracing::info!(
                ?overridden,
                "mail templates overridden from mail.templates_dir"
            );
        }
        let store = Store::open(&config.database_url).await?;
        let secret = match &config.secret {
            Some(secret) => secret.expose().to_owned(),
            None => {
                let secret = store
                    .get_or_init_setting(SECRET_SETTING, &random::alphanumeric(64), clock.now_ms())
                    .await?;
                tracing::warn!(
                    "no `secret` configured: using one generated and kept in the database; \
                     set RESETD_SECRET so a copy of the database alone cannot check tokens"
                );
                secret
            }
        };
        let metrics = Arc::new(Metrics::new(&crate::reset::known_labels()));
        let passwords = PasswordHasher::new(
            config.argon2.memory_kib,
            config.argon2.iterations,
            config.argon2.parallelism,
            config.hash_concurrency(),
        )?
        .with_metrics(metrics.argon2.clone());
        let config = Arc::new(config);
        let mail_wake = Arc::new(Notify::new());
        let core = ResetCore::new(
            store.clone(),
            config.clone(),
            TokenHasher::from_secret(&secret),
            passwords,
            Arc::new(mail),
            clock.clone(),
            mail_wake.clone(),
        )
        .with_captcha_answers(captcha_answers)
        .with_metrics(metrics.clone());
        Ok(Services {
            core,
            store,
            mail_wake,
            clock,
            config,
            metrics,
        })
    }
}

/// A running server, its reset issuer (unless `issuer.enabled = false`) and its outbox
/// worker.
pub struct RunningServer {
    server: HttpServer<AppState>,
    background: Background,
    /// Stops the issuer and the outbox worker.
    stop: CancellationToken,
}

impl RunningServer {
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// Stops accepting requests and lets in-flight ones finish; then stops the reset issuer,
    /// which first drains the queue for a few seconds (what it leaves stays queued for the
    /// next start or another replica); then the outbox worker (unsent mail stays queued
    /// likewise). In that order (`background.rs`), so that the last requests' mail is at
    /// least in the outbox, and the worker may still send it.
    pub async fn shutdown(self) -> Result<(), String> {
        let closed = self.server.close().await;
        self.stop.cancel();
        self.background.join().await;
        closed
    }

    /// Resolves when the HTTP server has stopped for any reason.
    pub async fn wait(&self) -> Result<(), String> {
        self.server.wait_for_shutdown().await
    }
}

/// Every route the server serves: the generated trait's endpoints, implemented by the
/// dialect adapters, and the hand-written unpublished ones.
pub fn api_description() -> Result<ApiDescription<AppState>, StartError> {
    let mut api = resetd_api::resetd_api_mod::api_description::<crate::dialects::ResetdServer>()
        .map_err(|e| StartError::Api(e.to_string()))?;
    crate::routes::register(&mut api).map_err(|e| StartError::Api(e.to_string()))?;
    Ok(api)
}

/// The reset pages' templates, with `pages.templates_dir`'s overrides, all checked.
pub fn load_page_templates(config: &Config) -> Result<Templates, StartError> {
    let pages = crate::pages::load_templates(config.pages.templates_dir.as_deref())?;
    let overridden: Vec<&str> = pages.overridden().collect();
    if !overridden.is_empty() {
        tracing::info!(
            ?overridden,
            "page templates overridden from pages.templates_dir"
        );
    }
    Ok(pages)
}

/// Loads every template set with the overrides `config` names, as a start would (for
/// `resetd config check`): `mail templates overridden: a, b` for each set that has some.
pub fn template_overrides(config: &Config) -> Result<Vec<String>, StartError> {
    let mail = MailTemplates::load(config.mail.templates_dir.as_deref())?;
    let pages = crate::pages::load_templates(config.pages.templates_dir.as_deref())?;
    Ok([
        ("mail", mail.overridden().collect::<Vec<_>>()),
        ("page", pages.overridden().collect()),
    ]
    .into_iter()
    .filter(|(_, names)| !names.is_empty())
    .map(|(what, names)| format!("{what} templates overridden: {}", names.join(", ")))
    .collect())
}

/// Starts the HTTP server, the reset issuer and the outbox worker.
pub async fn serve(config: Config, clock: SharedClock) -> Result<RunningServer, StartError> {
    serve_with(config, Seams::new(clock)).await
}

/// [`serve`] with substitutes for time and captcha answers.
pub async fn serve_with(config: Config, seams: Seams) -> Result<RunningServer, StartError> {
    if config.security.rate_limits == Switch::Off {
        tracing::warn!("rate limits are off (RESETD_RATE_LIMITS=off)");
    }
    let transport = MailTransport::from_url(config.mail.url.expose())?;
    let from = crate::mail::parse_from(&config.mail.from)?;
    // Like the mail templates: a broken page template stops the start before the database
    // is touched.
    let pages = load_page_templates(&config)?;
    let services = Services::open_with(config, seams).await?;
    services.core.prepare_login().await?;
    let config = services.config.clone();

    let issuer = if config.issuer.enabled {
        Some(IssuerPolicy {
            lease: Duration::from_millis(config.issuer.lease_ms),
            poll_interval: Duration::from_millis(config.issuer.poll_interval_ms),
            ..IssuerPolicy::default()
        })
    } else {
        tracing::warn!(
            "the reset issuer is off (issuer.enabled = false): reset requests are queued here \
             but only processed by a replica that runs one"
        );
        None
    };
    let retry = RetryPolicy {
        max_attempts: config.outbox.max_attempts,
        base_delay: Duration::from_millis(config.outbox.base_delay_ms),
        max_delay: Duration::from_millis(config.outbox.max_delay_ms),
        lease: Duration::from_millis(config.outbox.lease_ms),
        poll_interval: Duration::from_millis(config.outbox.poll_interval_ms),
        ..RetryPolicy::default()
    };
    let outbox = OutboxWorker::new(
        services.store.clone(),
        transport,
        services.clock.clone(),
        from,
        retry,
        services.core.outbox_sealer(),
    )
    .with_metrics(services.metrics.mail.clone());
    let webhooks = if config.webhooks.is_empty() {
        None
    } else {
        let worker = WebhookWorker::new(
            services.store.clone(),
            services.clock.clone(),
            &config.webhooks,
            WebhookPolicy::from_config(&config.webhook_delivery),
            services.core.webhook_sealer(),
            services.metrics.webhooks.clone(),
        )
        .map_err(|e| StartError::Background(e.to_string()))?;
        Some((worker, services.core.webhook_wake()))
    };
    let queues = Queues {
        issuer,
        outbox,
        mail_wake: services.mail_wake.clone(),
        webhooks,
    };
    let stop = CancellationToken::new();
    let background = Background::start(
        services.core.clone(),
        config.database_url.clone(),
        queues,
        stop.clone(),
    )
    .await?;

    let api = api_description()?;
    let server_config = ConfigDropshot {
        bind_address: config.bind,
        default_request_body_max_bytes: config.security.max_body_bytes,
        // Handlers run to completion even when a client hangs up, so a reset is never
        // half-applied and shutdown drains them.
        default_handler_task_mode: HandlerTaskMode::Detached,
        ..ConfigDropshot::default()
    };
    // A second description of the same routes, for naming each request's route in its log
    // line and metrics (the server consumes the first).
    let routes = RouteTable::new(api_description()?);
    let server = ServerBuilder::new(
        api,
        AppState {
            core: services.core,
            pages: Arc::new(pages),
            metrics: services.metrics.clone(),
        },
        access_log::dropshot_logger(routes, services.metrics.http.clone()),
    )
    .config(server_config)
    .start()
    .map_err(|e| StartError::Bind {
        addr: config.bind,
        message: e.to_string(),
    })?;
    tracing::info!(address = %server.local_addr(), "resetd listening");
    Ok(RunningServer {
        server,
        background,
        stop,
    })
}

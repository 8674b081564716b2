//! The reset issuer and the outbox worker, on a thread of their own at lower priority
//! ([`crate::priority`]), with a tokio runtime and database connections of their own.
//!
//! Their work can wait; answering clients cannot. On the main runtime they took CPU from
//! the requests being answered: in the bench, a flood of reset requests for known emails
//! was answered at a quarter of the rate of the same flood for unknown ones, which cost
//! the issuer less. Here, when both want the CPU, the requests get it; the queue takes the
//! burst and is worked off as soon as the CPU is free, as it is at once on a machine that
//! is not saturated.
//!
//! The connections are their own (`Store::connect_beside`) so that no connection the
//! request handlers use is made, or on PostgreSQL driven, by this thread's runtime. On
//! SQLite the writer lock is shared, so writes of both still take turns.
//!
//! Both run in `crate::worker`'s driver, tracked by one [`TaskTracker`] and stopped by one
//! [`CancellationToken`].

use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::sync::{oneshot, Notify};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::mail::OutboxWorker;
use crate::reset::{IssuerPolicy, ResetCore};
use crate::server::StartError;
use crate::webhooks::WebhookWorker;

/// The running thread; see [`Background::start`].
pub struct Background {
    thread: JoinHandle<()>,
    tasks: TaskTracker,
}

/// What the thread runs.
pub struct Queues {
    /// The reset issuer's policy; `None` when this process runs no issuer.
    pub issuer: Option<IssuerPolicy>,
    /// The outbox worker (its store is replaced by the thread's own).
    pub outbox: OutboxWorker,
    /// Notified when mail is queued.
    pub mail_wake: Arc<Notify>,
    /// The webhook worker, when endpoints are configured, and what wakes it (its store is
    /// replaced by the thread's own).
    pub webhooks: Option<(WebhookWorker, Arc<Notify>)>,
}

impl Background {
    /// Starts the thread, connects to the database from it (a failure is returned here),
    /// and runs `queues` there, with `core` on the thread's own connections, until `stop`
    /// is cancelled.
    ///
    /// The issuer stops first, and drains the queue for a few seconds; the outbox worker
    /// only once the issuer has ended, so that the mail of the requests answered last may
    /// still be sent. What either leaves stays queued for the next start or another replica.
    pub async fn start(
        core: ResetCore,
        database_url: String,
        queues: Queues,
        stop: CancellationToken,
    ) -> Result<Background, StartError> {
        let (started, connected) = oneshot::channel::<Result<(), StartError>>();
        let tasks = TaskTracker::new();
        let tracker = tasks.clone();
        let thread = std::thread::Builder::new()
            .name("resetd-background".to_owned())
            .spawn(move || {
                crate::priority::lower_current_thread();
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(error) => {
                        let _ = started.send(Err(StartError::Background(error.to_string())));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let store = match core.store().connect_beside(&database_url).await {
                        Ok(store) => store,
                        Err(error) => {
                            let _ = started.send(Err(error.into()));
                            return;
                        }
                    };
                    let _ = started.send(Ok(()));
                    spawn_queues(
                        &tracker,
                        core.with_store(store.clone()),
                        queues,
                        stop,
                        store,
                    );
                    tracker.close();
                    tracker.wait().await;
                });
            })
            .map_err(|e| StartError::Background(e.to_string()))?;
        match connected.await {
            Ok(Ok(())) => Ok(Background { thread, tasks }),
            Ok(Err(error)) => Err(error),
            Err(_) => Err(StartError::Background(
                "the background thread ended while starting".to_owned(),
            )),
        }
    }

    /// Waits until every task has ended (after the stop), then for the thread (off the
    /// async threads).
    pub async fn join(self) {
        self.tasks.wait().await;
        let _ = tokio::task::spawn_blocking(move || self.thread.join()).await;
    }
}

/// The issuer (if any) on `stop`; the outbox and webhook workers on a stop of their own,
/// cancelled once `stop` is and the issuer has ended.
fn spawn_queues(
    tasks: &TaskTracker,
    core: ResetCore,
    queues: Queues,
    stop: CancellationToken,
    store: crate::store::Store,
) {
    let Queues {
        issuer,
        outbox,
        mail_wake,
        webhooks,
    } = queues;
    let issuer = issuer.map(|policy| tasks.spawn(core.issuer(policy).run(stop.clone())));
    let mail_stop = CancellationToken::new();
    if let Some((worker, wake)) = webhooks {
        // Like the mail: stopped once the issuer has queued its last events.
        tasks.spawn(
            worker
                .with_store(store.clone())
                .run(wake, mail_stop.clone()),
        );
    }
    tasks.spawn(outbox.with_store(store).run(mail_wake, mail_stop.clone()));
    tasks.spawn(async move {
        stop.cancelled().await;
        if let Some(issuer) = issuer {
            // A task that panicked has ended too.
            let _ = issuer.await;
        }
        mail_stop.cancel();
    });
}

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

use std::future::Future;
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use crate::reset::ResetCore;
use crate::server::StartError;
use crate::store::Store;

/// The running thread; see [`Background::start`].
pub struct Background {
    thread: JoinHandle<()>,
}

/// A task of the background thread: given the core on the thread's own store handle, the
/// future to run.
pub type Task =
    Box<dyn FnOnce(ResetCore, Store) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

impl Background {
    /// Starts the thread, connects to the database from it (a failure is returned here),
    /// and runs `tasks` there until all have ended; each gets `core` and the store on the
    /// thread's own connections.
    pub async fn start(
        core: ResetCore,
        database_url: String,
        tasks: Vec<Task>,
    ) -> Result<Background, StartError> {
        let (started, connected) = oneshot::channel::<Result<(), StartError>>();
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
                    let core = core.with_store(store.clone());
                    let running: Vec<_> = tasks
                        .into_iter()
                        .map(|task| tokio::spawn(task(core.clone(), store.clone())))
                        .collect();
                    for task in running {
                        // A task that panicked has ended too.
                        let _ = task.await;
                    }
                });
            })
            .map_err(|e| StartError::Background(e.to_string()))?;
        match connected.await {
            Ok(Ok(())) => Ok(Background { thread }),
            Ok(Err(error)) => Err(error),
            Err(_) => Err(StartError::Background(
                "the background thread ended while starting".to_owned(),
            )),
        }
    }

    /// Waits (off the async threads) until every task has ended.
    pub async fn join(self) {
        let _ = tokio::task::spawn_blocking(move || self.thread.join()).await;
    }
}

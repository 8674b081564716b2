//! The lock SQLite writers of this process take turns on, with the writers that answer
//! clients first.
//!
//! SQLite lets one writer in at a time and makes the others wait in its busy handler, which
//! sleeps (1, 2, 5, 10 ... 100 ms) and retries: under load the writers of this process woke
//! late and in no order, and a write could wait seconds behind later ones (`request` in
//! `cargo xtask bench`: p99 141 ms, max 4 s). Waiting here costs no sleep, and serves writers
//! in the order they came (tokio's mutex is fair). `busy_timeout` still covers other
//! processes on the same file (the CLI).
//!
//! Background writers (the reset issuer and the outbox worker, through a
//! `Store::connect_beside` handle) wait besides until the foreground has been quiet (no
//! writer waiting or writing) for [`QUIET`], or until they have waited
//! [`BACKGROUND_PATIENCE`]. Taking turns fairly, a burst of reset requests for known emails
//! was queued at a fifth of the rate of one for unknown emails: each batch of requests
//! waited behind a transaction of the issuer or the outbox (`cargo xtask bench`). The
//! background catches up when the burst is over, and during it still writes at least
//! every `BACKGROUND_PATIENCE`.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, OwnedMutexGuard};

/// Longest a background writer waits for the foreground to pause.
pub(super) const BACKGROUND_PATIENCE: Duration = Duration::from_millis(100);
/// How long the foreground must have been quiet for the background to go. Between two
/// batches of a burst the foreground is idle for a few microseconds only.
pub(super) const QUIET: Duration = Duration::from_millis(2);

pub(super) struct WriterLock {
    turn: Arc<Mutex<()>>,
    /// Foreground writers waiting for their turn or writing.
    foreground: AtomicUsize,
    /// When the last foreground turn ended, in microseconds since `epoch`.
    last_foreground_us: AtomicU64,
    epoch: Instant,
}

impl Default for WriterLock {
    fn default() -> Self {
        WriterLock {
            turn: Arc::new(Mutex::new(())),
            foreground: AtomicUsize::new(0),
            last_foreground_us: AtomicU64::new(0),
            epoch: Instant::now(),
        }
    }
}

/// A turn: the write may proceed while this is held. Owned, so that it can go to the
/// thread that writes.
pub(super) struct Turn {
    _turn: OwnedMutexGuard<()>,
    /// Set for a foreground turn, whose end may let the background in.
    foreground: Option<Arc<WriterLock>>,
}

impl Drop for Turn {
    fn drop(&mut self) {
        if let Some(lock) = &self.foreground {
            lock.foreground_done();
        }
    }
}

/// Counts a foreground writer from before it waits until its turn is over, even when the
/// wait is abandoned.
struct Waiting<'a>(Option<&'a WriterLock>);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if let Some(lock) = self.0.take() {
            lock.foreground_done();
        }
    }
}

impl WriterLock {
    /// A turn for a writer that answers a client.
    pub(super) async fn foreground(self: &Arc<Self>) -> Turn {
        self.foreground.fetch_add(1, Ordering::SeqCst);
        let mut waiting = Waiting(Some(self));
        let turn = self.turn.clone().lock_owned().await;
        // From here the turn carries the count.
        waiting.0 = None;
        Turn {
            _turn: turn,
            foreground: Some(self.clone()),
        }
    }

    /// A turn for background work: once the foreground has been quiet for [`QUIET`], or
    /// after [`BACKGROUND_PATIENCE`].
    pub(super) async fn background(&self) -> Turn {
        let deadline = Instant::now() + BACKGROUND_PATIENCE;
        while Instant::now() < deadline && !self.foreground_quiet() {
            // Polled: background work can afford a few wake-ups a millisecond apart.
            tokio::time::sleep(QUIET / 2).await;
        }
        Turn {
            _turn: self.turn.clone().lock_owned().await,
            foreground: None,
        }
    }

    fn foreground_quiet(&self) -> bool {
        let last = self.last_foreground_us.load(Ordering::SeqCst);
        let now = self.micros();
        self.foreground.load(Ordering::SeqCst) == 0
            && now.saturating_sub(last) >= QUIET.as_micros() as u64
    }

    fn foreground_done(&self) {
        self.last_foreground_us
            .store(self.micros(), Ordering::SeqCst);
        self.foreground.fetch_sub(1, Ordering::SeqCst);
    }

    fn micros(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[tokio::test]
    async fn the_background_waits_for_a_pause_in_the_foreground() {
        let lock = Arc::new(WriterLock::default());
        let writing = lock.foreground().await;
        let background = {
            let lock = lock.clone();
            tokio::spawn(async move {
                let started = Instant::now();
                let _turn = lock.background().await;
                started.elapsed()
            })
        };
        tokio::time::sleep(30 * MS).await;
        drop(writing);
        let waited = background.await.expect("background");
        assert!(
            waited >= 30 * MS && waited < BACKGROUND_PATIENCE,
            "{waited:?}"
        );
    }

    /// Past its patience the background queues like anyone: ahead of a foreground writer
    /// that came after, though the foreground never paused.
    #[tokio::test]
    async fn the_background_writes_at_least_every_patience() {
        let lock = Arc::new(WriterLock::default());
        let order = Arc::new(Mutex::new(Vec::new()));
        let holder = lock.foreground().await;
        let background = {
            let (lock, order) = (lock.clone(), order.clone());
            tokio::spawn(async move {
                let _turn = lock.background().await;
                order.lock().expect("order").push("background");
                tokio::time::sleep(10 * MS).await;
            })
        };
        tokio::time::sleep(BACKGROUND_PATIENCE + 50 * MS).await;
        let late = {
            let (lock, order) = (lock.clone(), order.clone());
            tokio::spawn(async move {
                let _turn = lock.foreground().await;
                order.lock().expect("order").push("late foreground");
            })
        };
        tokio::time::sleep(50 * MS).await;
        drop(holder);
        background.await.expect("background");
        late.await.expect("late");
        assert_eq!(
            *order.lock().expect("order"),
            ["background", "late foreground"]
        );
    }

    #[tokio::test]
    async fn a_quiet_foreground_lets_the_background_in_soon() {
        let lock = Arc::new(WriterLock::default());
        drop(lock.foreground().await);
        let started = Instant::now();
        drop(lock.background().await);
        let waited = started.elapsed();
        assert!(waited >= QUIET && waited < 50 * MS, "{waited:?}");
        // An abandoned foreground wait is counted no more.
        let held = lock.background().await;
        let abandoned = tokio::time::timeout(5 * MS, lock.foreground()).await;
        assert!(abandoned.is_err());
        drop(held);
        assert_eq!(lock.foreground.load(Ordering::SeqCst), 0);
    }
}

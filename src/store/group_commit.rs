//! Group commit: writes that arrive together share one statement and one commit.
//!
//! Each caller adds its row to the pending list and waits for its turn; whoever gets the
//! turn writes everything pending at that moment (its own row, unless an earlier turn
//! took it, and those of the callers queued behind it) in one go, and tells each caller
//! the outcome. So no caller answers before its row is committed, an idle server writes a
//! row at once (a batch of one), and a busy one pays one commit (one fsync, with SQLite's
//! `synchronous = FULL`; one round trip and WAL flush on PostgreSQL) per batch instead of
//! per row.
//!
//! The write runs in a task of its own: a caller that stops waiting (its future dropped)
//! neither abandons the rows of the others nor leaves a write half-done.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::oneshot;

use super::StoreError;

/// Largest batch written at once (rows beyond it wait for the next turn).
const MAX_BATCH: usize = 512;

type Reply = oneshot::Sender<Result<(), StoreError>>;

pub(super) struct GroupCommit<T> {
    pending: Mutex<Vec<(T, Reply)>>,
    turn: tokio::sync::Mutex<()>,
}

impl<T> Default for GroupCommit<T> {
    fn default() -> Self {
        GroupCommit {
            pending: Mutex::new(Vec::new()),
            turn: tokio::sync::Mutex::new(()),
        }
    }
}

impl<T: Send + 'static> GroupCommit<T> {
    /// Commits `row` with whatever else is pending, through `write` (which must write all
    /// the rows it is given, or none).
    pub(super) async fn submit<W, F>(&self, row: T, write: W) -> Result<(), StoreError>
    where
        W: Fn(Vec<T>) -> F,
        F: Future<Output = Result<(), StoreError>> + Send + 'static,
    {
        let (reply, mut answer) = oneshot::channel();
        self.lock_pending().push((row, reply));
        loop {
            {
                let _turn = self.turn.lock().await;
                // Written by the turn before this one.
                if let Some(answered) = try_answer(&mut answer) {
                    return answered;
                }
                let batch: Vec<(T, Reply)> = {
                    let mut pending = self.lock_pending();
                    let n = pending.len().min(MAX_BATCH);
                    pending.drain(..n).collect()
                };
                let (rows, replies): (Vec<T>, Vec<Reply>) = batch.into_iter().unzip();
                let written = write(rows);
                // The turn is held until the write is done, even if this caller stops
                // waiting.
                let _ = tokio::spawn(async move {
                    let result = written.await.map_err(Arc::new);
                    for reply in replies {
                        // A caller that went away gets nothing; its row is written all the
                        // same, like an answer lost on the way.
                        let _ = reply.send(result.clone().map_err(StoreError::Batched));
                    }
                })
                .await;
            }
            // Not answered: the row was past `MAX_BATCH` in the queue; take another turn.
            if let Some(answered) = try_answer(&mut answer) {
                return answered;
            }
        }
    }

    fn lock_pending(&self) -> std::sync::MutexGuard<'_, Vec<(T, Reply)>> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn try_answer(
    answer: &mut oneshot::Receiver<Result<(), StoreError>>,
) -> Option<Result<(), StoreError>> {
    match answer.try_recv() {
        Ok(result) => Some(result),
        Err(oneshot::error::TryRecvError::Empty) => None,
        // The task writing the row ended without a word: the runtime is shutting down.
        Err(oneshot::error::TryRecvError::Closed) => Some(Err(StoreError::Unavailable(
            "the batched write of this row did not complete".into(),
        ))),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    type Written = Arc<Mutex<Vec<Vec<u32>>>>;
    type Writing = std::pin::Pin<Box<dyn Future<Output = Result<(), StoreError>> + Send>>;

    /// A write that takes a while, so that rows pile up behind it, and fails when asked.
    fn slow_write(written: Written, fail: bool) -> impl Fn(Vec<u32>) -> Writing {
        move |rows| {
            let written = written.clone();
            Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                if fail {
                    return Err(StoreError::Unavailable("disk on fire".into()));
                }
                written.lock().expect("lock").push(rows);
                Ok(())
            })
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn rows_arriving_together_share_writes_and_every_caller_hears_back() {
        let commits = Arc::new(GroupCommit::<u32>::default());
        let written: Written = Arc::default();
        let calls = (0..40).map(|i| {
            let commits = commits.clone();
            let write = slow_write(written.clone(), false);
            tokio::spawn(async move { commits.submit(i, write).await })
        });
        for answer in futures_util::future::join_all(calls).await {
            answer.expect("task").expect("written");
        }
        let batches = written.lock().expect("lock").clone();
        let mut rows: Vec<u32> = batches.iter().flatten().copied().collect();
        rows.sort_unstable();
        assert_eq!(rows, (0..40).collect::<Vec<_>>(), "each row once");
        assert!(batches.len() < 10, "{} writes for 40 rows", batches.len());
    }

    #[tokio::test]
    async fn a_lone_row_is_written_at_once() {
        let commits = GroupCommit::<u32>::default();
        let written: Written = Arc::default();
        commits
            .submit(7, slow_write(written.clone(), false))
            .await
            .expect("written");
        assert_eq!(*written.lock().expect("lock"), [vec![7]]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_write_fails_each_of_its_callers() {
        let commits = Arc::new(GroupCommit::<u32>::default());
        let calls = (0..10).map(|i| {
            let commits = commits.clone();
            let write = slow_write(Written::default(), true);
            tokio::spawn(async move { commits.submit(i, write).await })
        });
        for answer in futures_util::future::join_all(calls).await {
            let err = answer.expect("task").expect_err("a failed write succeeded");
            assert!(err.is_unavailable(), "{err:?}");
            assert!(err.to_string().contains("disk on fire"), "{err}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn more_rows_than_a_batch_take_several_turns() {
        let commits = Arc::new(GroupCommit::<u32>::default());
        let written: Written = Arc::default();
        let total = u32::try_from(MAX_BATCH * 2 + 3).expect("small");
        let calls = (0..total).map(|i| {
            let commits = commits.clone();
            let write = slow_write(written.clone(), false);
            tokio::spawn(async move { commits.submit(i, write).await })
        });
        for answer in futures_util::future::join_all(calls).await {
            answer.expect("task").expect("written");
        }
        let batches = written.lock().expect("lock").clone();
        assert!(batches.iter().all(|b| b.len() <= MAX_BATCH));
        assert_eq!(
            batches.iter().map(Vec::len).sum::<usize>(),
            MAX_BATCH * 2 + 3
        );
    }
}

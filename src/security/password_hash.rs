//! argon2id on threads of its own: a hash takes tens of milliseconds and `memory_kib` of
//! memory, so it must never run on the reactor, and the number in flight caps both CPU and
//! peak memory. `max_concurrent` threads each take the next queued hash.
//!
//! The threads run at a lower priority ([`crate::priority`]): with every core hashing, a
//! health check or a reset request still gets a core within a scheduler tick, instead of
//! waiting for its share behind the hashes (`health-under-hash` in `cargo xtask bench`). On
//! an otherwise idle machine the hashes get the cores all the same.
//!
//! Each thread keeps the memory of its last hash for the next one. Allocating it afresh
//! for every hash (what `argon2::PasswordHasher::hash_password` does) costs a page fault
//! per 4 KiB page, which on the bench machine made a hash 40% slower alone and three times
//! slower with two at once; and the allocator kept the freed buffers in per-thread arenas,
//! so the resident memory grew far past `max_concurrent × memory_kib` (`cargo xtask bench`).
//! Kept, the memory is allocated once per thread: the peak is the steady state, and it is
//! bounded.

use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::oneshot;

use crate::config::ProductHashFormat;
use crate::metrics::{Argon2Metrics, HashOperation};

use super::stored_hash::StoredHash;

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("argon2 parameters rejected: {0}")]
    Params(String),
    #[error("password hashing failed: {0}")]
    Hashing(String),
    #[error("password hashing task did not complete")]
    Task,
    #[error("cannot start the hashing threads: {0}")]
    Threads(String),
}

#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    /// Where hashes queue for the threads; they stop once every clone is dropped.
    jobs: mpsc::Sender<Job>,
    metrics: Argon2Metrics,
}

/// One hash (or check), run on a hashing thread with that thread's memory.
type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl PasswordHasher {
    pub fn new(
        memory_kib: u32,
        iterations: u32,
        parallelism: u32,
        max_concurrent: usize,
    ) -> Result<Self, HashError> {
        let params = Params::new(memory_kib, iterations, parallelism, None)
            .map_err(|e| HashError::Params(e.to_string()))?;
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..max_concurrent.max(1) {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("resetd-argon2-{n}"))
                .spawn(move || hashing_thread(&queue))
                .map_err(|e| HashError::Threads(e.to_string()))?;
        }
        Ok(Self {
            params,
            jobs,
            metrics: Argon2Metrics::default(),
        })
    }

    /// Records hashing times and queue waits in `metrics` (the server's).
    pub fn with_metrics(self, metrics: Argon2Metrics) -> Self {
        Self { metrics, ..self }
    }

    /// The PHC string of `password` under a fresh salt.
    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        let params = self.params.clone();
        self.run(HashOperation::Hash, move |memory| {
            hash_into_phc(&params, password.as_bytes(), memory)
        })
        .await
    }

    /// `password` in a product's own format (`security::product_hash`), for a webhook.
    pub async fn hash_for_product(
        &self,
        format: ProductHashFormat,
        password: String,
    ) -> Result<String, HashError> {
        if format == ProductHashFormat::Argon2id {
            return self.hash(password).await;
        }
        self.run(HashOperation::ProductHash, move |_memory| {
            super::product_hash::hash(format, &password)
        })
        .await
    }

    /// Whether `password` matches `phc`. A malformed stored hash verifies as false.
    pub async fn verify(&self, password: String, phc: String) -> Result<bool, HashError> {
        self.run(HashOperation::Verify, move |memory| {
            Ok(verify_phc(password.as_bytes(), &phc, memory))
        })
        .await
    }

    /// Whether `password` matches `stored`, a hash that is not argon2 (those go to
    /// [`Self::verify`]). It first pays one argon2 verification against `decoy`, a hash with
    /// resetd's parameters, so an imported account on a fast salted digest answers a login
    /// no sooner than a native one or an unknown email (issue 16). Slow legacy formats
    /// (bcrypt, PBKDF2) cost their own time on top.
    pub async fn verify_legacy(
        &self,
        password: String,
        stored: StoredHash,
        decoy: String,
    ) -> Result<bool, HashError> {
        self.run(HashOperation::Verify, move |memory| {
            // The verdict is ignored: this is paid for its time only.
            let _ = verify_phc(password.as_bytes(), &decoy, memory);
            Ok(stored.verify(&password))
        })
        .await
    }

    /// Whether `stored` is resetd's own argon2id under the configured parameters; anything
    /// else is replaced after its next successful use.
    pub fn is_current(&self, stored: &StoredHash) -> bool {
        stored.is_current(&self.params)
    }

    /// Queues `work` for the next free hashing thread and waits for its answer. A caller
    /// that stops waiting does not cancel it: the cap is on the hashes actually running.
    async fn run<T: Send + 'static>(
        &self,
        operation: HashOperation,
        work: impl FnOnce(&mut Vec<Block>) -> Result<T, HashError> + Send + 'static,
    ) -> Result<T, HashError> {
        let (answer, answered) = oneshot::channel();
        let blocks = self.params.block_count();
        let metrics = self.metrics.clone();
        let queued = Instant::now();
        let job: Job = Box::new(move |memory: &mut Vec<Block>| {
            let started = Instant::now();
            metrics.waited(operation, started - queued);
            if memory.len() < blocks {
                // First use of this thread: its memory, kept from now on.
                *memory = vec![Block::new(); blocks];
            }
            let result = work(memory);
            metrics.computed(operation, started.elapsed());
            // Nobody waiting any more: nothing to tell.
            let _ = answer.send(result);
        });
        self.jobs.send(job).map_err(|_| HashError::Task)?;
        answered.await.map_err(|_| HashError::Task)?
    }
}

/// A hashing thread: lowers its priority, then runs queued jobs until the queue closes.
fn hashing_thread(queue: &Mutex<mpsc::Receiver<Job>>) {
    crate::priority::lower_current_thread();
    let mut memory: Vec<Block> = Vec::new();
    loop {
        // One idle thread waits on the queue, the others on the lock.
        let next = queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
        match next {
            Ok(job) => job(&mut memory),
            Err(mpsc::RecvError) => return,
        }
    }
}

/// What `argon2::PasswordHasher::hash_password` makes (argon2id, v19, a 16-byte random
/// salt, a 32-byte output, as a PHC string), in `memory`.
fn hash_into_phc(
    params: &Params,
    password: &[u8],
    memory: &mut [Block],
) -> Result<String, HashError> {
    let salt = argon2::password_hash::try_generate_salt()
        .map_err(|e| HashError::Hashing(e.to_string()))?;
    let mut output = [0u8; Params::DEFAULT_OUTPUT_LEN];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(password, &salt, &mut output, memory)
        .map_err(|e| HashError::Hashing(e.to_string()))?;
    let phc = PasswordHash {
        algorithm: argon2::ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(|e| HashError::Hashing(e.to_string()))?,
        salt: Some(Salt::new(&salt).map_err(|e| HashError::Hashing(e.to_string()))?),
        hash: Some(Output::new(&output).map_err(|e| HashError::Hashing(e.to_string()))?),
    };
    Ok(phc.to_string())
}

/// What `argon2::PasswordVerifier::verify_password` checks: the hash recomputed under the
/// stored algorithm, version, parameters and salt, compared in constant time. A hash made
/// under more memory than `memory` holds (the parameters were lowered since) gets memory of
/// its own.
fn verify_phc(password: &[u8], phc: &str, memory: &mut [Block]) -> bool {
    let Ok(stored) = PasswordHash::new(phc) else {
        return false;
    };
    let algorithm = Algorithm::try_from(stored.algorithm.as_str());
    let version = stored
        .version
        .map_or(Ok(Version::default()), Version::try_from);
    let params = Params::try_from(&stored);
    let (Ok(algorithm), Ok(version), Ok(params), Some(salt), Some(expected)) =
        (algorithm, version, params, &stored.salt, &stored.hash)
    else {
        return false;
    };
    let needs = params.block_count();
    let argon2 = Argon2::new(algorithm, version, params);
    let mut computed = vec![0u8; expected.len()];
    let hashed = match memory.get_mut(..needs) {
        Some(memory) => {
            argon2.hash_password_into_with_memory(password, salt.as_ref(), &mut computed, memory)
        }
        None => argon2.hash_password_into(password, salt.as_ref(), &mut computed),
    };
    // `Output`'s equality is constant-time.
    hashed.is_ok() && Output::new(&computed).is_ok_and(|computed| &computed == expected)
}

#[cfg(test)]
mod tests {
    use argon2::{PasswordHasher as _, PasswordVerifier as _};

    use super::*;

    #[tokio::test]
    async fn hash_then_verify() {
        let hasher = PasswordHasher::new(1024, 1, 1, 2).expect("params");
        let phc = hasher.hash("correct horse".to_owned()).await.expect("hash");
        assert!(phc.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"), "{phc}");
        assert!(hasher
            .verify("correct horse".to_owned(), phc.clone())
            .await
            .expect("verify"));
        assert!(!hasher
            .verify("wrong".to_owned(), phc)
            .await
            .expect("verify"));
        assert!(!hasher
            .verify("x".to_owned(), "not a hash".to_owned())
            .await
            .expect("verify"));
    }

    /// Hashes stored before the buffers were reused (made by the argon2 crate's own
    /// `hash_password`) still verify, and the crate verifies ours: same format, same hash.
    #[tokio::test]
    async fn interchangeable_with_the_argon2_crate() {
        let params = Params::new(1024, 1, 1, None).expect("params");
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let theirs = argon2
            .hash_password(b"correct horse")
            .expect("hash")
            .to_string();
        let hasher = PasswordHasher::new(1024, 1, 1, 1).expect("params");
        assert!(hasher
            .verify("correct horse".to_owned(), theirs.clone())
            .await
            .expect("verify"));
        assert!(!hasher
            .verify("correct horsf".to_owned(), theirs)
            .await
            .expect("verify"));

        let ours = hasher.hash("correct horse".to_owned()).await.expect("hash");
        let parsed = PasswordHash::new(&ours).expect("a PHC string");
        assert!(argon2.verify_password(b"correct horse", &parsed).is_ok());
        assert!(argon2.verify_password(b"correct horsf", &parsed).is_err());
    }

    /// A stored hash under other parameters than the configured ones (raised or lowered
    /// since) is checked under its own.
    #[tokio::test]
    async fn hashes_under_other_parameters_still_verify() {
        let bigger = PasswordHasher::new(2048, 2, 1, 1).expect("params");
        let smaller = PasswordHasher::new(1024, 1, 1, 1).expect("params");
        let big = bigger.hash("pw one".to_owned()).await.expect("hash");
        let small = smaller.hash("pw two".to_owned()).await.expect("hash");
        assert!(smaller
            .verify("pw one".to_owned(), big)
            .await
            .expect("verify"));
        assert!(bigger
            .verify("pw two".to_owned(), small.clone())
            .await
            .expect("verify"));
        // The smaller buffer, used for the larger hash's check, is intact for its own.
        assert!(smaller
            .verify("pw two".to_owned(), small)
            .await
            .expect("verify"));
    }

    /// At most `max_concurrent` hashes run at once, on threads of lowered priority.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrency_is_capped_on_low_priority_threads() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let hasher = PasswordHasher::new(8, 1, 1, 2).expect("params");
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let jobs = (0..8).map(|_| {
            let (running, most) = (running.clone(), most.clone());
            hasher.run(HashOperation::Hash, move |memory| {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(30));
                running.fetch_sub(1, Ordering::SeqCst);
                let thread = std::thread::current().name().map(str::to_owned);
                Ok((memory.len(), thread, crate::priority::current_thread_nice()))
            })
        });
        for job in futures_util::future::join_all(jobs).await {
            let (blocks, thread, nice) = job.expect("ran");
            assert_eq!(blocks, 8, "the thread's memory holds the hash");
            assert!(thread.is_some_and(|name| name.starts_with("resetd-argon2-")));
            assert!(nice >= crate::priority::BACKGROUND_NICE, "nice {nice}");
        }
        assert_eq!(most.load(Ordering::SeqCst), 2);
    }
}

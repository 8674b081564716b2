//! argon2id on tokio's blocking pool, bounded by a semaphore: a hash takes tens of
//! milliseconds and `memory_kib` of memory, so it must never run on the reactor and the
//! number in flight caps both CPU and peak memory.

use std::sync::Arc;
use std::time::Instant;

use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier as _, Version};
use tokio::sync::Semaphore;

use crate::metrics::{Argon2Metrics, HashOperation};

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("argon2 parameters rejected: {0}")]
    Params(String),
    #[error("password hashing failed: {0}")]
    Hashing(String),
    #[error("password hashing task did not complete")]
    Task,
}

#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    permits: Arc<Semaphore>,
    metrics: Argon2Metrics,
}

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
        Ok(Self {
            params,
            permits: Arc::new(Semaphore::new(max_concurrent.max(1))),
            metrics: Argon2Metrics::default(),
        })
    }

    /// Records hashing times and queue waits in `metrics` (the server's).
    pub fn with_metrics(self, metrics: Argon2Metrics) -> Self {
        Self { metrics, ..self }
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// The PHC string of `password` under a fresh salt.
    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        let argon2 = self.argon2();
        self.run(HashOperation::Hash, move || {
            argon2
                .hash_password(password.as_bytes())
                .map(|hash| hash.to_string())
                .map_err(|e| HashError::Hashing(e.to_string()))
        })
        .await
    }

    /// Whether `password` matches `phc`. A malformed stored hash verifies as false.
    pub async fn verify(&self, password: String, phc: String) -> Result<bool, HashError> {
        let argon2 = self.argon2();
        self.run(HashOperation::Verify, move || {
            Ok(argon2
                .verify_password(password.as_bytes(), phc.as_str())
                .is_ok())
        })
        .await
    }

    async fn run<T: Send + 'static>(
        &self,
        operation: HashOperation,
        work: impl FnOnce() -> Result<T, HashError> + Send + 'static,
    ) -> Result<T, HashError> {
        let queued = Instant::now();
        let _permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| HashError::Task)?;
        let metrics = self.metrics.clone();
        tokio::task::spawn_blocking(move || {
            // The wait ends when a blocking thread starts on it, not at the permit: a busy
            // blocking pool (shared with the database driver) delays hashes too.
            let started = Instant::now();
            metrics.waited(operation, started - queued);
            let result = work();
            metrics.computed(operation, started.elapsed());
            result
        })
        .await
        .map_err(|_| HashError::Task)?
    }
}

#[cfg(test)]
mod tests {
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
}

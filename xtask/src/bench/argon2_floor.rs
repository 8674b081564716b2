//! `floor-argon2`: the hashes a redemption costs, with no server. As many threads as the
//! server may hash at once (`[argon2] max_concurrent`) hash the bench's new password under
//! the server's parameters, each as resetd does it (`src/security/password_hash.rs`: a
//! fresh salt, the hash into a buffer of `memory_kib` kept for the next one, the PHC
//! string), back to back, at resetd's hashing priority (nice 10, `src/priority.rs`); the
//! completions per second are the most redemptions per second this machine can do.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};

use super::error::BenchError;
use super::load::{latency_histogram, ErrorTally, LoadResult};
use super::server::Argon2Config;

/// resetd's `priority::BACKGROUND_NICE`, the nice value of its hashing threads: on a
/// machine busy with other work, a nice-10 thread gets less of it than a nice-0 one.
const HASHING_NICE: i32 = 10;

pub fn measure(
    config: Argon2Config,
    password: &str,
    warmup: Duration,
    window: Duration,
) -> Result<LoadResult, BenchError> {
    let params = Params::new(
        config.memory_kib,
        config.iterations,
        config.parallelism,
        None,
    )
    .map_err(|e| BenchError::unexpected("argon2 parameters", e.to_string()))?;
    let threads = config.max_concurrent.max(1);
    let start_line = Arc::new(Barrier::new(threads + 1));
    let mut workers = Vec::with_capacity(threads);
    for _ in 0..threads {
        let params = params.clone();
        let password = password.to_owned();
        let start_line = start_line.clone();
        workers.push(std::thread::spawn(move || {
            lower_priority(HASHING_NICE);
            let mut memory = vec![Block::new(); params.block_count()];
            start_line.wait();
            let start = Instant::now();
            let (window_start, end) = (start + warmup, start + warmup + window);
            let mut out = LoadResult {
                latencies: latency_histogram(),
                window,
                succeeded_total: 0,
                errors: ErrorTally::default(),
                exhausted: false,
            };
            loop {
                let began = Instant::now();
                if began >= end {
                    break;
                }
                match hash_into_phc(&params, password.as_bytes(), &mut memory) {
                    Ok(phc) => {
                        std::hint::black_box(phc);
                        let done = Instant::now();
                        out.succeeded_total += 1;
                        if done >= window_start && done <= end {
                            let micros = (done - began).as_micros().max(1);
                            out.latencies
                                .saturating_record(u64::try_from(micros).unwrap_or(u64::MAX));
                        }
                    }
                    Err(err) => out.errors.record(format!("argon2: {err}")),
                }
            }
            out
        }));
    }
    start_line.wait();
    let mut total = LoadResult {
        latencies: latency_histogram(),
        window,
        succeeded_total: 0,
        errors: ErrorTally::default(),
        exhausted: false,
    };
    for worker in workers {
        match worker.join() {
            Ok(one) => {
                let _ = total.latencies.add(&one.latencies);
                total.succeeded_total += one.succeeded_total;
                total.errors.merge(one.errors);
            }
            Err(_) => total.errors.record("an argon2 thread panicked".to_owned()),
        }
    }
    Ok(total)
}

/// The calling thread's nice value raised to `nice` (as resetd's hashing threads do it with
/// [`HASHING_NICE`], `priority::lower_current_thread`).
pub(super) fn lower_priority(nice: i32) {
    // SAFETY: getpriority and setpriority have no memory effects; on Linux, PRIO_PROCESS
    // with `who` = 0 names the calling thread.
    unsafe {
        let nice = libc::getpriority(libc::PRIO_PROCESS, 0).max(nice);
        libc::setpriority(libc::PRIO_PROCESS, 0, nice);
    }
}

/// resetd's `hash_into_phc` (`src/security/password_hash.rs`), step for step.
fn hash_into_phc(params: &Params, password: &[u8], memory: &mut [Block]) -> Result<String, String> {
    let salt = argon2::password_hash::try_generate_salt().map_err(|e| e.to_string())?;
    let mut output = [0u8; Params::DEFAULT_OUTPUT_LEN];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(password, &salt, &mut output, memory)
        .map_err(|e| e.to_string())?;
    let phc = PasswordHash {
        algorithm: argon2::ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(|e| e.to_string())?,
        salt: Some(Salt::new(&salt).map_err(|e| e.to_string())?),
        hash: Some(Output::new(&output).map_err(|e| e.to_string())?),
    };
    Ok(phc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::PasswordVerifier as _;

    #[test]
    fn the_floor_makes_real_argon2id_hashes() {
        let params = Params::new(1024, 1, 1, None).expect("params");
        let mut memory = vec![Block::new(); params.block_count()];
        let phc = hash_into_phc(&params, b"pw", &mut memory).expect("hash");
        assert!(phc.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"), "{phc}");
        let parsed = PasswordHash::new(&phc).expect("PHC");
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        assert!(argon2.verify_password(b"pw", &parsed).is_ok());
    }

    #[test]
    fn measures_each_thread_and_counts_the_window_only() {
        let config = Argon2Config {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
            max_concurrent: 2,
        };
        let result = measure(
            config,
            "pw",
            Duration::from_millis(20),
            Duration::from_millis(100),
        )
        .expect("measured");
        assert_eq!(result.errors.count, 0);
        assert!(!result.latencies.is_empty());
        assert!(result.succeeded_total >= result.latencies.len());
    }
}

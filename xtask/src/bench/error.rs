//! What can stop a bench run. Request errors during a scenario do not stop it: they are
//! counted and reported (and make the exit code non-zero).

use std::path::PathBuf;
use std::process::ExitStatus;

use super::http::HttpError;

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("cannot run `{command}`: {source}")]
    Spawn {
        command: String,
        source: std::io::Error,
    },
    #[error("`{command}` failed ({status})")]
    CommandFailed { command: String, status: ExitStatus },
    #[error("`cargo metadata` gave no target directory")]
    NoTargetDir,
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("resetd did not start: {reason}; its log is {}", log.display())]
    ServerStart { reason: String, log: PathBuf },
    #[error("a PostgreSQL run needs RESETD_BENCH_PG_URL or RESETD_TEST_PG_URL (a server URL whose role may create databases)")]
    NoPostgresUrl,
    #[error("the bench's PostgreSQL database: {0}")]
    Postgres(#[from] resetd_test_support::postgres::TestDbError),
    #[error("{step}: {source}")]
    Http { step: String, source: HttpError },
    #[error("{step}: {message}")]
    Unexpected { step: String, message: String },
    #[error(
        "the reset queue did not drain within {seconds} s: {mails} of {expected} mails written"
    )]
    Drain {
        seconds: u64,
        mails: usize,
        expected: usize,
    },
}

impl BenchError {
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> BenchError {
        let path = path.into();
        move |source| BenchError::Io { path, source }
    }

    pub fn http(step: impl Into<String>) -> impl FnOnce(HttpError) -> BenchError {
        let step = step.into();
        move |source| BenchError::Http { step, source }
    }

    pub fn unexpected(step: impl Into<String>, message: impl Into<String>) -> BenchError {
        BenchError::Unexpected {
            step: step.into(),
            message: message.into(),
        }
    }
}

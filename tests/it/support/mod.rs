//! Test harness: a real resetd on a loopback port 0, on SQLite (a temp file) or PostgreSQL
//! (a fresh database per test), mail going to an SMTP sink inside the test, a clock the test
//! can move forward, and `resetd-client`.
//!
//! Every integration test runs on both backends:
//!
//! ```ignore
//! #[rstest]
//! #[case::sqlite(Backend::Sqlite)]
//! #[case::postgres(Backend::Postgres)]
//! #[tokio::test(flavor = "multi_thread")]
//! async fn a_test(#[case] backend: Backend) {
//!     let Some(server) = TestServer::start(backend).await else { return };
//!     ...
//! }
//! ```
//!
//! `start` gives `None` for PostgreSQL when `RESETD_TEST_PG_URL` is unset (the test is
//! skipped, or fails when `RESETD_TEST_REQUIRE_PG=1`; see `postgres.rs`).

pub mod browser;
pub mod dialects;
pub mod log_capture;
pub mod postgres;
pub mod process;
pub mod reset_links;
pub mod spec_diff;
pub mod tcp_proxy;
pub mod verifiers;
pub mod webhook_receiver;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use resetd::app::{self, RunningServer, Seams};
use resetd::clock::OffsetClock;
use resetd::config::{Config, Secret};
use resetd::security::captcha::{AnswerSource, RandomAnswers};
use resetd::store::{OutboxStatus, Store};
use resetd_client::types;

pub use postgres::PgDatabase;
pub use resetd_test_support::smtp_sink::{ReceivedMail, SmtpSink};

/// The database a test server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";
/// The bearer token `/v1/introspect` wants (`introspection.token`); `introspect` sends it.
pub const INTROSPECTION_TOKEN: &str = "test-introspection-token-0123456789";
pub const PUBLIC_BASE_URL: &str = "https://accounts.example.test/";
/// How long a test waits for mail before failing.
pub const MAIL_WAIT: Duration = Duration::from_secs(10);

/// Random captcha answers, as the server makes them, also kept for the test to read: the
/// test answers a captcha as a person reading its picture would.
#[derive(Clone, Default)]
pub struct CaptchaAnswers(Arc<Mutex<Vec<String>>>);

impl AnswerSource for CaptchaAnswers {
    fn next_answer(&self) -> String {
        let answer = RandomAnswers.next_answer();
        self.0.lock().expect("answers").push(answer.clone());
        answer
    }
}

impl CaptchaAnswers {
    /// The answer of the captcha handed out last.
    pub fn last(&self) -> String {
        let answers = self.0.lock().expect("answers");
        answers.last().cloned().expect("a captcha was handed out")
    }
}

pub struct TestServer {
    server: Option<RunningServer>,
    pub addr: SocketAddr,
    pub base_url: String,
    pub client: resetd_client::Client,
    pub clock: OffsetClock,
    pub captchas: CaptchaAnswers,
    pub sink: SmtpSink,
    pub config: Config,
    /// The PostgreSQL database to drop when the test ends.
    pg: Option<PgDatabase>,
    dir: tempfile::TempDir,
}

impl TestServer {
    pub async fn start(backend: Backend) -> Option<TestServer> {
        TestServer::start_with(backend, |_| {}).await
    }

    /// Starts a server whose configuration `adjust` may change first; `None` when the
    /// backend is not available here (see the module docs).
    pub async fn start_with(
        backend: Backend,
        adjust: impl FnOnce(&mut Config),
    ) -> Option<TestServer> {
        let dir = tempfile::tempdir().expect("temp dir");
        let pg = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(PgDatabase::create(&postgres::admin_url()?).await),
        };
        let database_url = match &pg {
            Some(db) => db.url.clone(),
            None => format!("sqlite://{}", dir.path().join("resetd.db").display()),
        };
        let sink = SmtpSink::start().await;
        let mut config = Config {
            bind: "127.0.0.1:0".parse().expect("address"),
            database_url,
            public_base_url: url::Url::parse(PUBLIC_BASE_URL).expect("url"),
            secret: Some(Secret::new("test-secret-0123456789abcdef0123456789")),
            admin_token: Some(Secret::new(ADMIN_TOKEN)),
            ..Config::default()
        };
        config.introspection.token = Some(Secret::new(INTROSPECTION_TOKEN));
        config.mail.url = Secret::new(sink.url());
        // Cheap hashes keep the suite fast; the parameters are exercised, not their cost.
        config.argon2.memory_kib = 1024;
        config.argon2.iterations = 1;
        config.outbox.base_delay_ms = 50;
        config.outbox.poll_interval_ms = 100;
        config.log.filter = "warn".to_owned();
        adjust(&mut config);
        config.validate().expect("test config is valid");

        let clock = OffsetClock::new();
        let captchas = CaptchaAnswers::default();
        let seams = Seams {
            clock: Arc::new(clock.clone()),
            captcha_answers: Arc::new(captchas.clone()),
        };
        let server = app::serve_with(config.clone(), seams)
            .await
            .expect("server starts");
        let addr = server.local_addr();
        let base_url = format!("http://{addr}");
        Some(TestServer {
            server: Some(server),
            addr,
            client: resetd_client::Client::new(&base_url),
            base_url,
            clock,
            captchas,
            sink,
            config,
            pg,
            dir,
        })
    }

    /// Asks for a Cloudreve reset link for `email` (no captcha), as a product would.
    pub async fn request_cloudreve_reset(&self, email: &str) -> types::CloudreveResponse {
        self.client
            .cloudreve_send_reset_email()
            .body(types::CloudreveSendResetEmailRequest {
                email: email.to_owned(),
                captcha: None,
                ticket: None,
            })
            .send()
            .await
            .expect("HTTP 200 envelope")
            .into_inner()
    }

    /// Sets a new password through Cloudreve's reset call, with the link's `id` and
    /// `secret`, as the reset page does.
    pub async fn reset_cloudreve_password(
        &self,
        user_id: &str,
        secret: &str,
        password: &str,
    ) -> types::CloudreveUserResponse {
        self.client
            .cloudreve_reset_password()
            .user_id(user_id)
            .body(types::CloudreveResetPasswordRequest {
                password: password.parse().expect("password within 6..=64"),
                secret: secret.to_owned(),
            })
            .send()
            .await
            .expect("HTTP 200 envelope")
            .into_inner()
    }

    /// A client that sends the admin bearer token.
    pub fn admin_client(&self) -> resetd_client::Client {
        self.client_with_bearer(ADMIN_TOKEN)
    }

    /// A client that sends the introspection bearer token, as a product checking tokens does.
    pub fn introspection_client(&self) -> resetd_client::Client {
        self.client_with_bearer(INTROSPECTION_TOKEN)
    }

    pub fn client_with_bearer(&self, token: &str) -> resetd_client::Client {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::AUTHORIZATION,
            reqwest::header::HeaderValue::from_str(&format!("Bearer {token}"))
                .expect("header value"),
        );
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .build()
            .expect("http client");
        resetd_client::Client::new_with_client(&self.base_url, http)
    }

    /// Creates an active account with a password through the admin API.
    pub async fn create_user(&self, email: &str, password: &str) -> types::ResetdUser {
        self.create_user_with_status(email, password, types::ResetdUserStatus::Active)
            .await
    }

    pub async fn create_user_with_status(
        &self,
        email: &str,
        password: &str,
        status: types::ResetdUserStatus,
    ) -> types::ResetdUser {
        self.admin_client()
            .resetd_admin_create_user()
            .body(types::ResetdCreateUserRequest {
                email: email.to_owned(),
                password: Some(password.to_owned()),
                nickname: Some("Test User".to_owned()),
                status: Some(status),
                language: None,
            })
            .send()
            .await
            .expect("account created")
            .into_inner()
    }

    /// Sets an account's status through the admin API.
    pub async fn set_status(&self, user_id: &str, status: types::ResetdUserStatus) {
        self.admin_client()
            .resetd_admin_update_user()
            .id(user_id)
            .body(types::ResetdUpdateUserRequest {
                nickname: None,
                status: Some(status),
            })
            .send()
            .await
            .expect("status changed");
    }

    /// Logs in through `/v1/login`: the tokens, or `None` for the (only) refusal, 401.
    pub async fn login(&self, email: &str, password: &str) -> Option<types::ResetdTokenResponse> {
        let answer = self
            .client
            .resetd_login()
            .body(types::ResetdLoginRequest {
                email: email.to_owned(),
                password: password.to_owned(),
                client_id: None,
                scope: None,
            })
            .send()
            .await;
        match answer {
            Ok(response) => Some(response.into_inner()),
            Err(resetd_client::Error::ErrorResponse(response)) => {
                assert_eq!(response.status().as_u16(), 401);
                assert_eq!(response.code, 401);
                None
            }
            Err(other) => panic!("login failed unexpectedly: {other}"),
        }
    }

    /// What `/v1/introspect` says of `token`.
    pub async fn introspect(&self, token: &str) -> types::ResetdIntrospection {
        self.introspection_client()
            .resetd_introspect()
            .body(types::ResetdIntrospectRequest {
                token: token.to_owned(),
            })
            .send()
            .await
            .expect("introspection answers")
            .into_inner()
    }

    /// The first mail titled `subject` to `email` among the messages after the first
    /// `since`, waiting for it.
    pub async fn mail_to_after(&self, email: &str, subject: &str, since: usize) -> ReceivedMail {
        let mut wanted = since + 1;
        loop {
            let mails = self.sink.wait_for(wanted, MAIL_WAIT).await;
            if let Some(mail) = mails[since..]
                .iter()
                .find(|m| m.to() == email && m.subject() == subject)
            {
                return mail.clone();
            }
            wanted = mails.len() + 1;
        }
    }

    /// The server's database, opened beside it to read rows.
    pub async fn store(&self) -> Store {
        Store::open(&self.config.database_url)
            .await
            .expect("store opens")
    }

    /// Writes `hash` as `email`'s stored password hash, as an import of a product's hash
    /// leaves it (through the store's compare-and-set on the hash it has now).
    pub async fn set_stored_hash(&self, email: &str, hash: &str) {
        let store = self.store().await;
        let user = store
            .user_by_email(email)
            .await
            .expect("read")
            .expect("user");
        let current = user.password_hash.expect("a hash");
        let replaced = store.upgrade_password_hash(user.id, current, hash.to_owned(), 1);
        assert!(replaced.await.expect("write"), "hash set");
    }

    /// Every mail the server sends for what has happened so far. Waits until the issuer's
    /// queue is empty, no outbox row is waiting or being sent, and every sent row has reached
    /// the sink: after that nothing more arrives without new requests, so a test asserting
    /// "no (more) mail" asserts it here, not after a guessed pause. Panics, showing the
    /// state, after [`MAIL_WAIT`].
    pub async fn settled_mail(&self) -> Vec<ReceivedMail> {
        let store = self.store().await;
        let deadline = Instant::now() + MAIL_WAIT;
        loop {
            let queued = store.list_reset_requests().await.expect("reset queue");
            let outbox = store.list_outbox(None).await.expect("outbox");
            let busy = outbox
                .iter()
                .filter(|r| matches!(r.status, OutboxStatus::Pending | OutboxStatus::Sending))
                .count();
            let sent = outbox
                .iter()
                .filter(|r| r.status == OutboxStatus::Sent)
                .count();
            let mails = self.sink.messages();
            if queued.is_empty() && busy == 0 && mails.len() >= sent {
                return mails;
            }
            assert!(
                Instant::now() < deadline,
                "mail did not settle within {MAIL_WAIT:?}: {} queued requests, {busy} outbox \
                 rows waiting, {sent} sent, {} at the sink",
                queued.len(),
                mails.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits for the `n`-th message (counting from 1) to reach the sink.
    pub async fn mail(&self, n: usize) -> ReceivedMail {
        let mails = self.sink.wait_for(n, MAIL_WAIT).await;
        mails
            .into_iter()
            .nth(n - 1)
            .unwrap_or_else(|| panic!("mail #{n} did not arrive"))
    }

    /// Stops the server and its outbox worker, keeping the database to inspect.
    pub async fn halt(&mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await.expect("clean shutdown");
        }
    }

    pub async fn stop(mut self) {
        self.halt().await;
        if let Some(db) = self.pg.take() {
            db.drop_database().await;
        }
    }

    pub fn temp_dir(&self) -> &std::path::Path {
        self.dir.path()
    }
}

//! Test harness: a real resetd on a loopback port 0 with a temp SQLite file, mail going to an
//! SMTP sink inside the test, a clock the test can move forward, and `resetd-client`.

#![allow(dead_code)] // each test binary uses part of the harness

pub mod smtp_sink;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use resetd::app::{self, RunningServer};
use resetd::clock::OffsetClock;
use resetd::config::{Config, Secret};
use resetd::store::Store;
use resetd_client::types;

pub use smtp_sink::{ReceivedMail, SmtpSink};

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";
pub const PUBLIC_BASE_URL: &str = "https://accounts.example.test/";
/// How long a test waits for mail before failing.
pub const MAIL_WAIT: Duration = Duration::from_secs(10);

pub struct TestServer {
    server: Option<RunningServer>,
    pub addr: SocketAddr,
    pub base_url: String,
    pub client: resetd_client::Client,
    pub clock: OffsetClock,
    pub sink: SmtpSink,
    pub config: Config,
    dir: tempfile::TempDir,
}

impl TestServer {
    pub async fn start() -> TestServer {
        TestServer::start_with(|_| {}).await
    }

    /// Starts a server whose configuration `adjust` may change first.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let sink = SmtpSink::start().await;
        let mut config = Config {
            bind: "127.0.0.1:0".parse().expect("address"),
            database_url: format!("sqlite://{}", dir.path().join("resetd.db").display()),
            public_base_url: url::Url::parse(PUBLIC_BASE_URL).expect("url"),
            secret: Some(Secret::new("test-secret-0123456789abcdef0123456789")),
            admin_token: Some(Secret::new(ADMIN_TOKEN)),
            ..Config::default()
        };
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
        let server = app::serve(config.clone(), Arc::new(clock.clone()))
            .await
            .expect("server starts");
        let addr = server.local_addr();
        let base_url = format!("http://{addr}");
        TestServer {
            server: Some(server),
            addr,
            client: resetd_client::Client::new(&base_url),
            base_url,
            clock,
            sink,
            config,
            dir,
        }
    }

    /// A client that sends the admin bearer token.
    pub fn admin_client(&self) -> resetd_client::Client {
        self.client_with_bearer(ADMIN_TOKEN)
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

    /// The server's database, opened beside it to read rows.
    pub async fn store(&self) -> Store {
        Store::open(&self.config.database_url)
            .await
            .expect("store opens")
    }

    /// Waits for the `n`-th message (counting from 1) to reach the sink.
    pub async fn mail(&self, n: usize) -> ReceivedMail {
        let mails = self.sink.wait_for(n, MAIL_WAIT).await;
        mails
            .into_iter()
            .nth(n - 1)
            .unwrap_or_else(|| panic!("mail #{n} did not arrive"))
    }

    pub async fn stop(mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await.expect("clean shutdown");
        }
    }

    pub fn temp_dir(&self) -> &std::path::Path {
        self.dir.path()
    }
}

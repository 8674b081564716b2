//! A headless Chromium driven through chromedriver (Debian's `chromium` and
//! `chromium-driver`) with the `fantoccini` WebDriver client.
//!
//! Without the two programs the tests that need them say they were skipped, unless
//! `RESETD_TEST_REQUIRE_BROWSER=1` (CI), which turns a skip into a failure. chromedriver runs
//! on a port it picks itself, in a process group of its own that is killed with the browser
//! when the [`Browser`] is dropped, and every browser gets a fresh profile directory.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

pub const REQUIRE_BROWSER_ENV: &str = "RESETD_TEST_REQUIRE_BROWSER";
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// How long chromedriver and the browser get to start, and a page to show what a test waits
/// for.
const START_WAIT: Duration = Duration::from_secs(30);
pub const PAGE_WAIT: Duration = Duration::from_secs(15);

/// The network is closed here, and a test must not depend on it anyway: nothing in the
/// background, no first-run or sync traffic, no QUIC.
const CHROMIUM_ARGS: [&str; 11] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--disable-extensions",
    "--window-size=1024,800",
];

/// One browser at a time: the machines this runs on have few cores, and a page that waits
/// for CPU is not what these tests are about.
pub static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub struct Browser {
    pub client: Client,
    driver: Driver,
}

impl Browser {
    /// Starts chromedriver and a browser session; `None` (after saying so) when chromium or
    /// chromedriver is not installed and `RESETD_TEST_REQUIRE_BROWSER` is not `1`.
    pub async fn start() -> Option<Browser> {
        Browser::start_in("en-US").await
    }

    /// [`Browser::start`] with `locale` as the browser's language: its interface and the
    /// `Accept-Language` it sends.
    pub async fn start_in(locale: &str) -> Option<Browser> {
        let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
            .into_iter()
            .filter(|program| !Path::new(program).exists())
            .collect();
        if !missing.is_empty() {
            if std::env::var(REQUIRE_BROWSER_ENV).is_ok_and(|v| v == "1") {
                panic!(
                    "{REQUIRE_BROWSER_ENV}=1 but {} missing: apt-get install chromium chromium-driver",
                    missing.join(" and ")
                );
            }
            eprintln!(
                "skipped: {} missing (apt-get install chromium chromium-driver)",
                missing.join(" and ")
            );
            return None;
        }
        let driver = Driver::start().await;
        let mut capabilities = serde_json::Map::new();
        let profile = format!("--user-data-dir={}", driver.profile.path().display());
        let lang = format!("--lang={locale}");
        let args: Vec<&str> = CHROMIUM_ARGS
            .iter()
            .copied()
            .chain([profile.as_str(), lang.as_str()])
            .collect();
        capabilities.insert(
            "goog:chromeOptions".to_owned(),
            serde_json::json!({
                "binary": CHROMIUM,
                "args": args,
                "prefs": { "intl.accept_languages": locale },
            }),
        );
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&driver.url)
            .await
            .unwrap_or_else(|err| {
                panic!(
                    "no browser session: {err}\nchromedriver said:\n{}",
                    driver.output()
                )
            });
        Some(Browser { client, driver })
    }

    /// Waits until the text of the element `id` satisfies `done`, and returns it.
    pub async fn wait_for_text(&self, id: &str, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + PAGE_WAIT;
        let mut last = String::new();
        while Instant::now() < deadline {
            if let Ok(element) = self.client.find(Locator::Id(id)).await {
                last = element.text().await.unwrap_or_default();
                if done(&last) {
                    return last;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("#{id} still reads {last:?} after {PAGE_WAIT:?}");
    }

    /// Ends the session (the browser quits), then chromedriver.
    pub async fn close(self) {
        let Browser { client, driver } = self;
        client.close().await.expect("session ends");
        drop(driver);
    }
}

/// chromedriver, killed with everything it started when dropped.
struct Driver {
    child: Child,
    url: String,
    output: Arc<Mutex<String>>,
    profile: tempfile::TempDir,
}

impl Driver {
    /// Starts chromedriver, again when it lost the race for its port: with `--port=0` it
    /// picks a port for one address family and then binds it on the other, which another
    /// process may have taken meanwhile ("IPv4 port not available").
    async fn start() -> Driver {
        let mut attempts = 0;
        loop {
            match Driver::try_start().await {
                Ok(driver) => return driver,
                Err(output) if attempts < 4 && output.contains("port not available") => {
                    attempts += 1;
                }
                Err(output) => panic!("chromedriver exited:\n{output}"),
            }
        }
    }

    async fn try_start() -> Result<Driver, String> {
        let profile = tempfile::tempdir().expect("profile dir");
        let mut child = Command::new(CHROMEDRIVER)
            // Port 0: chromedriver picks a free port and says which.
            .args(["--port=0", "--log-level=WARNING"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group, so that the browser it starts is killed with it.
            .process_group(0)
            .spawn()
            .expect("chromedriver starts");
        let output = Arc::new(Mutex::new(String::new()));
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let output = output.clone();
            std::thread::spawn(move || collect(stream, &output));
        }
        let mut driver = Driver {
            child,
            url: String::new(),
            output,
            profile,
        };
        let deadline = Instant::now() + START_WAIT;
        let port = loop {
            if let Some(port) = announced_port(&driver.output()) {
                break port;
            }
            if let Ok(Some(status)) = driver.child.try_wait() {
                return Err(format!("({status}) {}", driver.output()));
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not start in {START_WAIT:?}:\n{}",
                driver.output()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        driver.url = format!("http://127.0.0.1:{port}");
        Ok(driver)
    }

    fn output(&self) -> String {
        self.output.lock().map(|o| o.clone()).unwrap_or_default()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The whole group: chromedriver and any browser a failed test left open.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn collect(mut stream: Box<dyn Read + Send>, output: &Mutex<String>) {
    let mut buffer = [0u8; 4096];
    while let Ok(n) = stream.read(&mut buffer) {
        if n == 0 {
            break;
        }
        if let Ok(mut output) = output.lock() {
            output.push_str(&String::from_utf8_lossy(&buffer[..n]));
        }
    }
}

/// The port in chromedriver's "ChromeDriver was started successfully on port 41359." line.
fn announced_port(output: &str) -> Option<u16> {
    const MARK: &str = "started successfully on port ";
    let rest = &output[output.find(MARK)? + MARK.len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    // Only once the sentence is complete: the digits may still be arriving.
    rest[digits.len()..].starts_with('.').then_some(())?;
    digits.parse().ok()
}

/// Where screenshots go: the target directory (`CARGO_TARGET_DIR` included).
pub fn artifact_path(name: &str) -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).join(name)
}

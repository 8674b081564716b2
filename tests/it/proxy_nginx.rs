//! The README's nginx recipe, run: a real nginx (a non-root process on free ports, with the
//! recipe from the README and only its addresses replaced) sends the reset calls to resetd
//! and everything else to a stub product. The per-IP limit counts the browser's address, as
//! nginx forwards it, not nginx's; an `X-Forwarded-For` the browser writes itself does not
//! move it.
//!
//! Skipped (saying so) when nginx is not installed, unless `RESETD_TEST_REQUIRE_NGINX=1`
//! (CI), which turns the skip into a failure.

use crate::support;

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use rstest::rstest;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

use support::{Backend, TestServer};

const REQUIRE_NGINX_ENV: &str = "RESETD_TEST_REQUIRE_NGINX";
const NGINX_PATHS: [&str; 2] = ["/usr/sbin/nginx", "/usr/bin/nginx"];
const PRODUCT_PAGE: &str = "the product itself";
const LIMIT: u32 = 3;

fn nginx_binary() -> Option<PathBuf> {
    let found = NGINX_PATHS.iter().map(PathBuf::from).find(|p| p.is_file());
    if found.is_none() {
        if std::env::var(REQUIRE_NGINX_ENV).is_ok_and(|v| v == "1") {
            panic!("{REQUIRE_NGINX_ENV}=1 but nginx is missing: apt-get install nginx");
        }
        eprintln!("skipping the nginx test: nginx is not installed");
    }
    found
}

/// The recipe's nginx block from the README.
fn readme_recipe() -> String {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README");
    let begin = readme
        .find("<!-- nginx-recipe: begin")
        .expect("recipe start marker");
    let end = readme
        .find("<!-- nginx-recipe: end")
        .expect("recipe end marker");
    let block = &readme[begin..end];
    let code = block.split("```nginx\n").nth(1).expect("nginx code block");
    code.split("```")
        .next()
        .expect("closed code block")
        .to_owned()
}

/// A whole nginx.conf around the recipe, for an unprivileged nginx in `dir`.
fn nginx_conf(dir: &Path, listen: SocketAddr, resetd: SocketAddr, product: SocketAddr) -> String {
    let recipe = readme_recipe();
    for expected in [
        "listen 80;",
        "server 127.0.0.1:8080;",
        "server 127.0.0.1:3000;",
    ] {
        assert!(recipe.contains(expected), "the recipe has `{expected}`");
    }
    let recipe = recipe
        .replace("listen 80;", &format!("listen {listen};"))
        .replace("server 127.0.0.1:8080;", &format!("server {resetd};"))
        .replace("server 127.0.0.1:3000;", &format!("server {product};"));
    let d = dir.display();
    format!(
        "daemon off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
         events {{ worker_connections 64; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
         fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
         {recipe}\n}}\n"
    )
}

/// A product that answers every request with one page.
async fn stub_product() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("product binds");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let _ = stream.read(&mut buf).await;
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{PRODUCT_PAGE}",
                    PRODUCT_PAGE.len()
                );
                let _ = stream.write_all(answer.as_bytes()).await;
            });
        }
    });
    addr
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A browser at `ip` (another loopback address than nginx's own 127.0.0.1).
fn browser(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<IpAddr>().expect("ip"))
        .build()
        .expect("client")
}

struct Nginx(tokio::process::Child);

impl Nginx {
    async fn start(binary: &Path, dir: &Path, conf: &str, listen: SocketAddr) -> Nginx {
        let conf_path = dir.join("nginx.conf");
        std::fs::write(&conf_path, conf).expect("write nginx.conf");
        let child = tokio::process::Command::new(binary)
            .arg("-p")
            .arg(dir)
            .arg("-c")
            .arg(&conf_path)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("nginx starts");
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(listen).await.is_ok() {
                return Nginx(child);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let log = std::fs::read_to_string(dir.join("error.log")).unwrap_or_default();
        panic!("nginx did not listen on {listen}: {log}");
    }
}

async fn forgot_password(
    client: &reqwest::Client,
    front: &str,
    email: &str,
    spoof: Option<&str>,
) -> u16 {
    let mut request = client
        .post(format!("{front}/api/auth/forgot-password"))
        .json(&serde_json::json!({ "email": email }));
    if let Some(spoof) = spoof {
        request = request.header("x-forwarded-for", spoof);
    }
    request
        .send()
        .await
        .expect("nginx answers")
        .status()
        .as_u16()
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn nginx_routes_the_reset_paths_and_the_limits_see_the_browser(#[case] backend: Backend) {
    let Some(binary) = nginx_binary() else { return };
    let Some(server) = TestServer::start_with(backend, |config| {
        config.security.trusted_proxies = vec!["127.0.0.1/32".parse().expect("cidr")];
        config.security.ip_requests_per_window = LIMIT;
    })
    .await
    else {
        return;
    };
    let product = stub_product().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let listen: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
    let conf = nginx_conf(dir.path(), listen, server.addr, product);
    let mut nginx = Nginx::start(&binary, dir.path(), &conf, listen).await;
    let front = format!("http://{listen}");

    // Everything that is not a reset call is the product's.
    let alice = browser("127.0.0.2");
    let page = alice
        .get(format!("{front}/dashboard"))
        .send()
        .await
        .expect("answer");
    assert_eq!(page.text().await.expect("body"), PRODUCT_PAGE);
    // The reset calls are resetd's, in each dialect.
    let cloudreve = alice
        .post(format!("{front}/api/v4/user/reset"))
        .json(&serde_json::json!({ "email": "nobody@example.com" }))
        .send()
        .await
        .expect("answer");
    assert_eq!(
        cloudreve.json::<serde_json::Value>().await.expect("json")["code"],
        0
    );

    // Alice spends her allowance, writing a different X-Forwarded-For each time: had resetd
    // believed it, every request would be a new client. (The Cloudreve call above was one.)
    for n in 1..LIMIT {
        let spoof = format!("203.0.113.{n}");
        let status =
            forgot_password(&alice, &front, &format!("a{n}@example.com"), Some(&spoof)).await;
        assert_eq!(status, 200, "request {n} within the limit");
    }
    let refused = forgot_password(&alice, &front, "a@example.com", Some("198.51.100.77")).await;
    assert_eq!(
        refused, 429,
        "past the limit, whatever X-Forwarded-For says"
    );

    // Bob comes through the same nginx from another address: his own allowance, so the
    // limit counted Alice's address, not nginx's.
    let bob = browser("127.0.0.3");
    assert_eq!(
        forgot_password(&bob, &front, "b@example.com", None).await,
        200
    );

    let _ = nginx.0.start_kill();
    let _ = nginx.0.wait().await;
    server.stop().await;
}

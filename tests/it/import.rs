//! `resetd user import` (issue 16) on the database of a running server: every fixture
//! format is stored as it is, bad lines are named by number and the rest kept, re-importing
//! changes nothing, a dry run writes nothing, CSV reads the same fields; both backends.

use std::process::{Command, Output};

use rstest::rstest;

use crate::support::{Backend, TestServer};

const BIN: &str = env!("CARGO_BIN_EXE_resetd");
const FIXTURES: &str = include_str!("../fixtures/legacy_hashes.jsonl");

fn import(server: &TestServer, args: &[&str]) -> Output {
    let mut command = Command::new(BIN);
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("RESETD_")) {
        command.env_remove(key);
    }
    command
        .current_dir(server.temp_dir())
        .env("RESETD_LOG", "error")
        .env("RESETD_DATABASE_URL", &server.config.database_url)
        .args(["user", "import"])
        .args(args)
        .output()
        .expect("resetd runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// One line per fixture hash, with an external id.
fn fixture_lines() -> Vec<(String, String)> {
    FIXTURES
        .lines()
        .enumerate()
        .map(|(i, line)| {
            let fixture: serde_json::Value = serde_json::from_str(line).expect("fixture");
            let hash = fixture["hash"].as_str().expect("hash").to_owned();
            let line = serde_json::json!({
                "email": format!("user{i}@example.com"),
                "external_id": format!("ext-{i}"),
                "password_hash": hash,
            });
            (line.to_string(), hash)
        })
        .collect()
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn every_fixture_format_imports_and_bad_lines_are_named(#[case] backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let lines = fixture_lines();
    let mut file: Vec<String> = lines.iter().map(|(l, _)| l.clone()).collect();
    let bad = [
        r#"{"email":"not-an-email","password_hash":"$2b$10$abc"}"#,
        r#"{"email":"x@example.com","password_hash":"$2b$10$toosecrethash"}"#,
        r#"{"email":"y@example.com","password_hash":"plainsecret"}"#,
        r#"{"email":"z@example.com","password":"short"}"#,
        r#"{"email":"w@example.com","status":"gone"}"#,
        r#"{"email":"v@example.com","created_at":"yesterday"}"#,
        r#"{"email":"u@example.com","unknown":"1"}"#,
        "not json at all",
    ];
    file.extend(bad.iter().map(|l| (*l).to_owned()));
    let path = server.temp_dir().join("accounts.jsonl");
    std::fs::write(&path, file.join("\n") + "\n").expect("write");
    let path = path.to_str().expect("utf-8 path");

    let dry = import(&server, &[path, "--dry-run"]);
    assert_eq!(dry.status.code(), Some(1), "{}", text(&dry.stderr));
    let store = server.store().await;
    assert!(
        store.list_users().await.expect("list").is_empty(),
        "dry run wrote"
    );

    let first = import(&server, &[path]);
    let (stdout, stderr) = (text(&first.stdout), text(&first.stderr));
    assert_eq!(first.status.code(), Some(1), "{stderr}");
    let n = lines.len();
    assert!(
        stdout.contains(&format!("created {n}, updated 0, unchanged 0, refused 8")),
        "{stdout}"
    );
    for number in n + 1..=n + 8 {
        assert!(
            stderr.contains(&format!("line {number}: ")),
            "line {number}: {stderr}"
        );
    }
    assert!(
        !stderr.contains("secret") && !stderr.contains("$2b$"),
        "{stderr}"
    );
    for (i, (_, hash)) in lines.iter().enumerate() {
        let user = store
            .user_by_external_id(&format!("ext-{i}"))
            .await
            .expect("lookup");
        let user = user.expect("imported");
        assert_eq!(user.email, format!("user{i}@example.com"));
        assert_eq!(
            user.password_hash.as_deref(),
            Some(hash.as_str()),
            "stored as is"
        );
    }

    let again = import(&server, &[path]);
    assert!(
        text(&again.stdout).contains(&format!("created 0, updated 0, unchanged {n}, refused 8")),
        "{}",
        text(&again.stdout)
    );
    server.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn csv_upserts_by_external_id_then_by_email(#[case] backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let path = server.temp_dir().join("accounts.csv");
    let write = |body: &str| std::fs::write(&path, body).expect("write");
    let path_str = path.to_str().expect("utf-8 path").to_owned();
    write("email,external_id,nickname,status\nann@example.com,7,Ann,active\nbob@example.com,,Bob,inactive\n");
    let out = import(&server, &[&path_str, "--format", "csv"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("created 2, updated 0, unchanged 0, refused 0"));

    // Ann by her external id (a new address), Bob by email (gets an external id).
    write("email,external_id,nickname,status\nann.new@example.com,7,Ann,active\nbob@example.com,8,Bob,banned\n");
    let out = import(&server, &[&path_str, "--format", "csv"]);
    assert!(
        text(&out.stdout).contains("created 0, updated 2, unchanged 0, refused 0"),
        "{}",
        text(&out.stdout)
    );
    let store = server.store().await;
    let ann = store
        .user_by_external_id("7")
        .await
        .expect("lookup")
        .expect("ann");
    assert_eq!(ann.email, "ann.new@example.com");
    let bob = store
        .user_by_email("bob@example.com")
        .await
        .expect("lookup")
        .expect("bob");
    assert_eq!(bob.external_id.as_deref(), Some("8"));
    assert_eq!(bob.status.as_str(), "banned");

    // A line naming Ann's id with Bob's address is refused, by line number.
    write("email,external_id\nbob@example.com,7\n");
    let out = import(&server, &[&path_str, "--format", "csv"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("line 2: email belongs to another account"),
        "{}",
        text(&out.stderr)
    );
    server.stop().await;
}

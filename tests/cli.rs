//! The `resetd` binary as operators use it: exit codes, one-line errors, named config keys.

use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_resetd");

/// Runs `resetd` in `dir` with a clean `RESETD_*` environment plus `env`.
fn resetd(
    dir: &std::path::Path,
    args: &[&str],
    env: &[(&str, &str)],
    stdin: Option<&str>,
) -> Output {
    let mut command = Command::new(BIN);
    command.current_dir(dir).args(args);
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("RESETD_")) {
        command.env_remove(key);
    }
    command.env("RESETD_LOG", "error");
    for (key, value) in env {
        command.env(key, value);
    }
    command.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().expect("resetd starts");
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        use std::io::Write as _;
        pipe.write_all(input.as_bytes()).expect("write stdin");
    }
    child.wait_with_output().expect("resetd finishes")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_bad_config_value_stops_with_the_key_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = resetd(
        dir.path(),
        &["config", "check"],
        &[("RESETD_BIND", "nowhere")],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("`bind`"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );

    std::fs::write(
        dir.path().join("bad.toml"),
        "[argon2]\nmemory_kib = \"lots\"\n",
    )
    .expect("write");
    let out = resetd(
        dir.path(),
        &["--config", "bad.toml", "config", "check"],
        &[],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("argon2.memory_kib"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn config_check_prints_effective_values_with_secrets_redacted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let secret = "a-very-secret-value-0123456789abcdef";
    let out = resetd(
        dir.path(),
        &["config", "check"],
        &[("RESETD_SECRET", secret), ("RESETD_BIND", "127.0.0.1:9999")],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(shown.contains("bind = \"127.0.0.1:9999\""), "{shown}");
    assert!(shown.contains("memory_kib = 19456"), "{shown}");
    assert!(!shown.contains(secret), "{shown}");
}

#[test]
fn users_are_managed_from_the_command_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let env = [("RESETD_DATABASE_URL", "sqlite://accounts.db")];
    let out = resetd(dir.path(), &["migrate"], &env, None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(dir.path().join("accounts.db").exists());

    let out = resetd(
        dir.path(),
        &[
            "user",
            "add",
            "--email",
            "Ann@Example.com",
            "--password-stdin",
            "--nickname",
            "Ann",
        ],
        &env,
        Some("correct horse battery\n"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let id = text(&out.stdout).trim().to_owned();
    assert_eq!(id.len(), 12, "{id}");

    let out = resetd(
        dir.path(),
        &["user", "add", "--email", "ann@example.com"],
        &env,
        None,
    );
    assert_eq!(out.status.code(), Some(1), "a duplicate email is refused");
    assert!(
        text(&out.stderr).contains("already exists"),
        "{}",
        text(&out.stderr)
    );

    let out = resetd(
        dir.path(),
        &["user", "set-status", "ann@example.com", "banned"],
        &env,
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = resetd(dir.path(), &["user", "show", "ann@example.com"], &env, None);
    let shown = text(&out.stdout);
    assert!(
        shown.contains(&id) && shown.contains("banned") && shown.contains("password set"),
        "{shown}"
    );
    assert!(!shown.contains("argon2"), "no hash is printed: {shown}");

    let out = resetd(dir.path(), &["user", "list"], &env, None);
    assert_eq!(text(&out.stdout).lines().count(), 1);

    let out = resetd(
        dir.path(),
        &["user", "show", "nobody@example.com"],
        &env,
        None,
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn openapi_prints_the_merged_document() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = resetd(dir.path(), &["openapi"], &[], None);
    assert!(out.status.success());
    let spec = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/resetd.yaml"))
        .expect("spec");
    assert_eq!(text(&out.stdout), spec);
}

//! The `resetd` binary as operators use it: exit codes, one-line errors, named config keys.

use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_resetd");

/// Runs `resetd` in `dir` with a clean `RESETD_*` environment plus `env`.
pub(crate) fn resetd(
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

pub(crate) fn text(bytes: &[u8]) -> String {
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
fn config_check_prints_every_value_and_where_it_came_from() {
    let dir = tempfile::tempdir().expect("tempdir");
    let secret = "a-very-secret-value-0123456789abcdef";
    std::fs::write(
        dir.path().join("resetd.toml"),
        "bind = \"127.0.0.1:7777\"\n[security]\ncaptcha = true\ntrusted_proxies = [\"10.0.0.0/8\"]\n",
    )
    .expect("write");
    let out = resetd(
        dir.path(),
        &["--config", "resetd.toml", "config", "check"],
        &[("RESETD_SECRET", secret), ("RESETD_BIND", "127.0.0.1:9999")],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    let line = |key: &str| {
        shown
            .lines()
            .find(|l| l.starts_with(&format!("{key} = ")) || l.starts_with(&format!("# {key} ")))
            .unwrap_or_else(|| panic!("no line for {key}: {shown}"))
            .to_owned()
    };
    // The environment wins over the file, the file over the defaults.
    assert_eq!(line("bind"), "bind = \"127.0.0.1:9999\"  # env RESETD_BIND");
    assert_eq!(
        line("security.captcha"),
        "security.captcha = true  # file resetd.toml"
    );
    assert_eq!(
        line("security.trusted_proxies"),
        "security.trusted_proxies = [\"10.0.0.0/8\"]  # file resetd.toml"
    );
    assert_eq!(
        line("argon2.memory_kib"),
        "argon2.memory_kib = 19456  # default"
    );
    assert_eq!(
        line("secret"),
        "secret = \"<redacted>\"  # env RESETD_SECRET"
    );
    assert_eq!(line("admin_token"), "# admin_token unset  # default");
    assert!(!shown.contains(secret), "{shown}");
    // Every key of the reference has its line.
    let keys = resetd::config_reference::entries().len();
    assert_eq!(shown.lines().count(), keys + 1, "{shown}");
}

#[test]
fn config_reference_needs_no_valid_configuration() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = resetd(
        dir.path(),
        &["config", "reference"],
        &[("RESETD_BIND", "nowhere")],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), resetd::config_reference::markdown());
}

/// Overrides from `mail.templates_dir` are checked by `config check` and at `serve`: a
/// broken one is one line naming the file and exit code 1.
#[test]
fn mail_template_overrides_are_checked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let templates = dir.path().join("mail-templates");
    std::fs::create_dir(&templates).expect("mkdir");
    std::fs::write(
        templates.join("ipcola_reset.zh-CN.subject.j2"),
        "{{ product }} 验证码\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("resetd.toml"),
        "[mail]\ntemplates_dir = \"mail-templates\"\n",
    )
    .expect("write");
    let config = ["--config", "resetd.toml"];
    let out = resetd(
        dir.path(),
        &[&config[..], &["config", "check"]].concat(),
        &[],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(
        shown.contains("# mail templates overridden: ipcola_reset.zh-CN.subject.j2"),
        "{shown}"
    );
    assert!(
        shown.contains("templates_dir = \"mail-templates\""),
        "{shown}"
    );

    std::fs::write(templates.join("ipcola_reset.zh-CN.txt.j2"), "{{ code }").expect("write");
    for command in [&["config", "check"][..], &["serve"][..]] {
        let out = resetd(dir.path(), &[&config[..], command].concat(), &[], None);
        assert_eq!(out.status.code(), Some(1), "{command:?}");
        let err = text(&out.stderr);
        assert!(
            err.contains("mail-templates/ipcola_reset.zh-CN.txt.j2"),
            "{err}"
        );
        assert!(err.contains("syntax error"), "{err}");
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    }
    assert!(
        !dir.path().join("resetd.db").exists(),
        "serve stopped first"
    );
}

#[test]
fn users_are_managed_from_the_command_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let env = [("RESETD_DATABASE_URL", "sqlite://accounts.db")];
    let out = resetd(dir.path(), &["migrate"], &env, None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(dir.path().join("accounts.db").exists());
    // Each migration is announced as it starts, and the count is of this run's.
    let progress = text(&out.stderr);
    let steps: Vec<&str> = progress
        .lines()
        .filter(|l| l.starts_with("applying "))
        .collect();
    assert!(steps.len() >= 5, "{progress}");
    assert!(
        steps[0].ends_with(&format!("(1/{})", steps.len())),
        "{progress}"
    );
    assert_eq!(
        text(&out.stdout),
        format!(
            "database is up to date ({} migrations applied now)\n",
            steps.len()
        )
    );
    let out = resetd(dir.path(), &["migrate"], &env, None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "database is up to date (0 migrations applied now)\n"
    );

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

mod outbox {
    use super::{resetd, text};
    use crate::support::{Backend, TestServer};
    use resetd::config::Secret;
    use resetd::store::OutboxStatus;
    use resetd_client::types;
    use rstest::rstest;
    use std::time::{Duration, Instant};

    /// Mail that cannot be delivered ends `dead` after its attempts; the operator sees it
    /// in `resetd outbox list --status dead` and puts it back with `resetd outbox retry`.
    #[rstest]
    #[case::sqlite(Backend::Sqlite)]
    #[case::postgres(Backend::Postgres)]
    #[tokio::test(flavor = "multi_thread")]
    async fn dead_mail_is_listed_and_requeued(#[case] backend: Backend) {
        let Some(server) = TestServer::start_with(backend, |c| {
            // Nothing listens on port 1: every attempt fails at once.
            c.mail.url = Secret::new("smtp://127.0.0.1:1");
            c.outbox.max_attempts = 2;
            c.outbox.base_delay_ms = 20;
        })
        .await
        else {
            return;
        };
        server
            .create_user("ann@example.com", "ann-password-1")
            .await;
        server
            .client
            .strapi_forgot_password()
            .body(types::StrapiForgotPasswordRequest {
                email: "ann@example.com".to_owned(),
            })
            .send()
            .await
            .expect("accepted");

        let store = server.store().await;
        let deadline = Instant::now() + Duration::from_secs(10);
        let dead = loop {
            let dead = store
                .list_outbox(Some(OutboxStatus::Dead))
                .await
                .expect("rows");
            if !dead.is_empty() || Instant::now() > deadline {
                break dead;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(dead.len(), 1, "the message died after its attempts");
        assert_eq!(dead[0].attempts, 2);
        let id = dead[0].id.to_string();

        // No worker may touch the row while the operator looks at it.
        let mut server = server;
        server.halt().await;
        let dir = server.temp_dir().to_path_buf();
        let env = [("RESETD_DATABASE_URL", server.config.database_url.as_str())];
        let out = resetd(&dir, &["outbox", "list", "--status", "dead"], &env, None);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let listed = text(&out.stdout);
        assert!(
            listed.starts_with(&format!("{id}\tdead\tann@example.com\tattempts=2")),
            "{listed}"
        );
        assert!(
            !listed.contains("http"),
            "no link or code is printed: {listed}"
        );

        let out = resetd(&dir, &["outbox", "retry", &id], &env, None);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let row = store
            .outbox_message(dead[0].id)
            .await
            .expect("row")
            .expect("exists");
        assert_eq!(row.status, OutboxStatus::Pending);
        assert_eq!(row.attempts, 0);
        assert!(store
            .list_outbox(Some(OutboxStatus::Dead))
            .await
            .expect("rows")
            .is_empty());
        let out = resetd(&dir, &["outbox", "retry", "999999"], &env, None);
        assert_eq!(out.status.code(), Some(1));

        // Every dead message at once.
        store
            .mark_failed(dead[0].id, "gave up again", None)
            .await
            .expect("dead again");
        let out = resetd(&dir, &["outbox", "retry", "--all"], &env, None);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout), "1 dead messages queued for delivery\n");
        assert!(store
            .list_outbox(Some(OutboxStatus::Dead))
            .await
            .expect("rows")
            .is_empty());
        let out = resetd(&dir, &["outbox", "retry"], &env, None);
        assert_eq!(out.status.code(), Some(2), "an id or --all is needed");
        server.stop().await;
    }
}

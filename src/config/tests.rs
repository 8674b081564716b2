use std::collections::BTreeMap;

use super::*;

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn defaults_are_valid() {
    let config = Config::load(None, &BTreeMap::new()).expect("defaults load");
    assert_eq!(config.bind.to_string(), "127.0.0.1:8080");
    assert_eq!(config.database_url, "sqlite://resetd.db");
    assert_eq!(config.argon2.memory_kib, 19_456);
    assert!(config.dialects.cloudreve.enabled);
}

#[test]
fn env_overrides_file_and_file_overrides_defaults() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("resetd.toml");
    std::fs::write(
        &path,
        "bind = \"127.0.0.1:9000\"\n[argon2]\nmemory_kib = 8192\n[dialects.cloudreve]\ntoken_ttl_secs = 60\n",
    )
    .expect("write");
    let config = Config::load(
        Some(&path),
        &env(&[
            ("RESETD_BIND", "127.0.0.1:9100"),
            ("RESETD_LOG_FORMAT", "json"),
        ]),
    )
    .expect("loads");
    assert_eq!(config.bind.to_string(), "127.0.0.1:9100");
    assert_eq!(config.argon2.memory_kib, 8192);
    assert_eq!(config.dialects.cloudreve.token_ttl_secs, 60);
    assert_eq!(config.log.format, LogFormat::Json);
}

#[test]
fn a_bad_value_names_its_key() {
    let err = Config::load(None, &env(&[("RESETD_BIND", "not-an-address")])).expect_err("rejected");
    assert!(err.to_string().contains("`bind`"), "{err}");

    let err = Config::load(None, &env(&[("RESETD_MAIL_URL", "gopher://x")])).expect_err("rejected");
    assert!(err.to_string().contains("`mail.url`"), "{err}");

    let err =
        Config::load(None, &env(&[("RESETD_RATE_LIMITS", "sometimes")])).expect_err("rejected");
    assert!(err.to_string().contains("`security.rate_limits`"), "{err}");

    let err = Config::load(None, &env(&[("RESETD_SECRET", "short")])).expect_err("rejected");
    assert!(err.to_string().contains("`secret`"), "{err}");
    assert!(
        !err.to_string().contains("short"),
        "the secret is not echoed: {err}"
    );
}

#[test]
fn rate_limits_have_the_documented_defaults() {
    let security = Config::load(None, &BTreeMap::new())
        .expect("defaults load")
        .security;
    assert_eq!(security.rate_limits, Switch::On);
    assert_eq!(
        (
            security.account_requests_per_window,
            security.account_window_secs
        ),
        (3, 900)
    );
    assert_eq!(
        (security.ip_requests_per_window, security.ip_window_secs),
        (20, 60)
    );
    assert_eq!(
        (
            security.ip_failed_redemptions_per_window,
            security.ip_failed_window_secs
        ),
        (10, 900)
    );
    assert_eq!(
        (
            security.account_failed_logins_per_window,
            security.account_failed_window_secs
        ),
        (20, 900)
    );
    assert!(security.trusted_proxies.is_empty());
}

#[test]
fn rate_limit_settings_are_read_and_checked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("resetd.toml");
    std::fs::write(
        &path,
        "[security]\nrate_limits = \"off\"\nip_requests_per_window = 100\n\
         trusted_proxies = [\"127.0.0.1/32\", \"10.0.0.0/8\", \"::1\"]\n",
    )
    .expect("write");
    let config = Config::load(Some(&path), &BTreeMap::new()).expect("loads");
    assert_eq!(config.security.rate_limits, Switch::Off);
    assert_eq!(config.security.ip_requests_per_window, 100);
    let proxies: Vec<String> = config
        .security
        .trusted_proxies
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(proxies, ["127.0.0.1/32", "10.0.0.0/8", "::1/128"]);
    let shown = config.to_redacted_toml();
    assert!(shown.contains("\"10.0.0.0/8\""), "{shown}");

    let cases = [
        (
            "trusted_proxies = [\"10.0.0.0/8\", \"10.0.0.1/8\"]",
            "security.trusted_proxies",
        ),
        (
            "trusted_proxies = [\"proxy.local\"]",
            "security.trusted_proxies",
        ),
        (
            "account_requests_per_window = 0",
            "security.account_requests_per_window",
        ),
        (
            "ip_requests_per_window = 2000000",
            "security.ip_requests_per_window",
        ),
        (
            "ip_failed_redemptions_per_window = 0",
            "security.ip_failed_redemptions_per_window",
        ),
        ("account_window_secs = 0", "security.account_window_secs"),
        ("ip_window_secs = 99999999", "security.ip_window_secs"),
        (
            "ip_failed_window_secs = 0",
            "security.ip_failed_window_secs",
        ),
        ("ip_window_secs = -1", "security.ip_window_secs"),
        ("captcha_ttl_secs = 5", "security.captcha_ttl_secs"),
    ];
    for (line, key) in cases {
        std::fs::write(&path, format!("[security]\n{line}\n")).expect("write");
        let err = Config::load(Some(&path), &BTreeMap::new()).expect_err(line);
        assert!(err.to_string().contains(key), "{line}: {err}");
    }
}

#[test]
fn issuer_settings_are_read_and_checked() {
    let defaults = Config::load(None, &BTreeMap::new()).expect("defaults load");
    assert!(defaults.issuer.enabled);
    assert_eq!(defaults.issuer.lease_ms, 10_000);
    assert_eq!(defaults.issuer.poll_interval_ms, 1_000);

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("resetd.toml");
    std::fs::write(
        &path,
        "[issuer]\nenabled = false\nlease_ms = 2000\npoll_interval_ms = 50\n",
    )
    .expect("write");
    let config = Config::load(Some(&path), &BTreeMap::new()).expect("loads");
    assert!(!config.issuer.enabled);
    assert_eq!(config.issuer.lease_ms, 2_000);
    assert_eq!(config.issuer.poll_interval_ms, 50);

    for (line, key) in [
        ("lease_ms = 0", "issuer.lease_ms"),
        ("poll_interval_ms = 0", "issuer.poll_interval_ms"),
        ("lease_ms = 3600001", "issuer.lease_ms"),
    ] {
        std::fs::write(&path, format!("[issuer]\n{line}\n")).expect("write");
        let err = Config::load(Some(&path), &BTreeMap::new()).expect_err(line);
        assert!(err.to_string().contains(key), "{line}: {err}");
    }
}

#[test]
fn product_name_is_read_and_checked() {
    let defaults = Config::load(None, &BTreeMap::new()).expect("defaults load");
    assert_eq!(defaults.product_name, "resetd");

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("resetd.toml");
    std::fs::write(&path, "product_name = \"Acme <Drive>\"\n").expect("write");
    let config = Config::load(Some(&path), &BTreeMap::new()).expect("loads");
    assert_eq!(config.product_name, "Acme <Drive>");

    for value in [
        "\"\"",
        "\"   \"",
        "\"a\\nb\"",
        &format!("\"{}\"", "x".repeat(81)),
    ] {
        std::fs::write(&path, format!("product_name = {value}\n")).expect("write");
        let err = Config::load(Some(&path), &BTreeMap::new()).expect_err(value);
        assert!(err.to_string().contains("`product_name`"), "{value}: {err}");
    }
}

#[test]
fn login_clients_are_read_and_checked() {
    let defaults = Config::load(None, &BTreeMap::new()).expect("defaults load");
    assert_eq!(
        defaults.sessions.clients,
        [ClientConfig {
            id: "resetd".to_owned(),
            scopes: vec!["openid".to_owned()],
        }]
    );
    assert!(defaults.introspection.token.is_none());

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("resetd.toml");
    std::fs::write(
        &path,
        "[[sessions.clients]]\nid = \"my-app\"\nscopes = [\"read\", \"write\"]\n\
         [[sessions.clients]]\nid = \"resetd\"\nscopes = [\"openid\"]\n",
    )
    .expect("write");
    let config = Config::load(Some(&path), &BTreeMap::new()).expect("loads");
    assert_eq!(config.sessions.clients.len(), 2);
    assert_eq!(config.sessions.clients[0].id, "my-app");
    assert_eq!(config.sessions.clients[0].scopes, ["read", "write"]);

    std::fs::write(
        &path,
        "[[sessions.clients]]\nid = \"my-app\"\nscopes = []\n",
    )
    .expect("write");
    let err = Config::load(Some(&path), &BTreeMap::new()).expect_err("no scopes");
    assert!(
        err.to_string().contains("`sessions.clients[0].scopes`"),
        "{err}"
    );

    let err = Config::load(None, &env(&[("RESETD_INTROSPECTION_TOKEN", "short")]))
        .expect_err("too short");
    assert!(err.to_string().contains("`introspection.token`"), "{err}");
    assert!(!err.to_string().contains("short"), "{err}");
}

#[test]
fn unknown_keys_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("resetd.toml");
    std::fs::write(&path, "[argon2]\nmemroy_kib = 1\n").expect("write");
    let err = Config::load(Some(&path), &BTreeMap::new()).expect_err("rejected");
    assert!(err.to_string().contains("argon2"), "{err}");
}

#[test]
fn secrets_are_redacted() {
    let config = Config::load(
        None,
        &env(&[
            ("RESETD_SECRET", "0123456789abcdef0123456789abcdef-x"),
            ("RESETD_MAIL_URL", "smtp://user:hunter2hunter2@127.0.0.1:25"),
            ("RESETD_INTROSPECTION_TOKEN", "introspection-swordfish"),
        ]),
    )
    .expect("loads");
    let shown = config.to_redacted_toml();
    assert!(!shown.contains("0123456789abcdef"), "{shown}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(!shown.contains("swordfish"), "{shown}");
    assert_eq!(
        config.introspection.token.as_ref().map(Secret::expose),
        Some("introspection-swordfish")
    );
    assert!(format!("{config:?}").contains("<redacted>"));
}

#[test]
fn cors_is_off_by_default_and_its_env_var_takes_a_comma_list() {
    let config = Config::load(None, &BTreeMap::new()).expect("defaults load");
    assert!(config.cors.allowed_origins.is_empty());
    let config = Config::load(
        None,
        &env(&[(
            "RESETD_CORS_ALLOWED_ORIGINS",
            "https://app.example.com, http://localhost:3000",
        )]),
    )
    .expect("loads");
    assert_eq!(
        config.cors.allowed_origins,
        ["https://app.example.com", "http://localhost:3000"]
    );
    assert!(config.cors.allows("http://localhost:3000"));
    assert!(!config.cors.allows("http://localhost:3001"));
}

#[test]
fn cors_refuses_what_is_not_an_origin_and_a_wildcard_with_credentials() {
    for origin in [
        "https://app.example.com/",
        "https://app.example.com/path",
        "app.example.com",
        "ftp://app.example.com",
        "https://APP.example.com",
        "https://app.example.com:443",
    ] {
        let err =
            Config::load(None, &env(&[("RESETD_CORS_ALLOWED_ORIGINS", origin)])).expect_err(origin);
        assert!(err.to_string().contains("cors.allowed_origins"), "{err}");
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("resetd.toml");
    std::fs::write(
        &path,
        "[cors]\nallowed_origins = [\"*\"]\nallow_credentials = true\n",
    )
    .expect("write");
    let err = Config::load(Some(&path), &BTreeMap::new()).expect_err("rejected");
    assert!(err.to_string().contains("allow_credentials"), "{err}");
    std::fs::write(&path, "[cors]\nallowed_origins = [\"*\"]\n").expect("write");
    let config = Config::load(Some(&path), &BTreeMap::new()).expect("loads");
    assert!(config.cors.allows_any() && config.cors.allows("https://any.example"));
}

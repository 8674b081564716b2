//! The index of `SECURITY.md`: every behaviour it lists has a test named after its number
//! (`security_NN_...`), so the list can be checked against the suite. The tests of this file
//! show each item directly, through the real interface: a server on port 0, the four
//! dialects' own requests, mail from the SMTP sink, rows read back from the store.
//! Items 21-29 are the project's own, from the second security round (issue 13): each is a
//! hole an outside attack found, with the test that failed before its fix.
//!
//! | # | behaviour | shown by |
//! | --- | --- | --- |
//! | 01 | same answer for known, unknown, banned, unverified emails | `security_01_the_answer_does_not_tell_who_has_an_account` (here); also each dialect suite's `an_unknown_email_is_answered_like_a_known_one_and_gets_no_mail` |
//! | 02 | same time and store work for known and unknown emails | `security_02_enumeration_timing.rs`: `security_02_known_and_unknown_emails_answer_in_the_same_time` (ignored benchmark, `--ignored`); `reset_queue.rs`: `security_02_requests_queue_alike_and_survive_a_restart` |
//! | 03 | per-account and per-IP request limits, in the store | `rate_limits.rs`: `security_03_account_limit_answers_alike_and_sends_no_fourth_mail`, `security_03_ip_request_limit_answers_in_each_dialects_form`; unit test `store::rate_limits::security_03_two_store_handles_share_one_counter` |
//! | 04 | a new request replaces the live token of its dialect | `security_04_a_new_request_replaces_the_live_token_of_its_dialect_only` (here) |
//! | 05 | links only from `public_base_url` | `security_05_links_are_built_on_the_configured_base_url_only` (here) |
//! | 06 | CSPRNG tokens in each dialect's format | `security_06_tokens_have_their_dialects_format_and_never_repeat` (here) |
//! | 07 | stored only as HMAC-SHA256, found by the hash | `security_07_tokens_are_stored_only_as_their_keyed_hash` (here) |
//! | 08 | expiry: 1 h links, 15 min codes, configurable | `security_08_tokens_expire_at_the_end_of_their_lifetime` (here) |
//! | 09 | single use: of N concurrent redemptions one wins | `security_09_of_twenty_concurrent_redemptions_exactly_one_wins` (here) |
//! | 10 | failed redemptions counted per token and per IP | `security_10_a_token_burns_after_its_failed_redemptions` (here); `rate_limits.rs`: `security_10_failed_redemptions_per_ip_are_refused_before_lookup`, `security_10_spent_secrets_are_not_counted_as_guesses` |
//! | 11 | opening a link never consumes it | `security_11_opening_a_link_does_not_consume_it.rs`: `security_11_opening_a_cloudreve_link_does_not_consume_it`, `security_11_opening_a_selfcommunity_link_does_not_consume_it` |
//! | 12 | dialect rules, blocklist, not the email | `security_12_new_passwords_follow_the_dialect_rule_the_blocklist_and_not_the_email` (here) |
//! | 13 | no truncation, code points | `security_13_lengths_are_code_points_and_nothing_is_truncated` (here) |
//! | 14 | argon2id with the configured parameters, off the reactor | `security_14_passwords_are_hashed_with_argon2id_and_the_configured_parameters`, `security_14_hashing_does_not_stall_the_server` (here) |
//! | 15 | every session revoked | `security_15_a_reset_revokes_every_session_of_the_account` (here) |
//! | 16 | "password changed" email through the outbox | `security_16_a_password_changed_email_goes_out_through_the_outbox` (here) |
//! | 17 | audit: who, when, which IP, which dialect | `security_17_audit_events_record_who_when_where_and_which_dialect` (here) |
//! | 18 | bad input: dialect's error form, no 500, nothing written | `security_18_bad_input.rs`: `security_18_arbitrary_bytes`, `security_18_any_json_value`, `security_18_right_fields_wrong_values`, `security_18_deep_and_huge_bodies`, `security_18_bad_input_writes_nothing`; `security_18_fuzz_parsers.rs`: `security_18_fuzz_parsers_for_a_bounded_time` |
//! | 19 | no secret in logs or error messages | `security_19_no_secrets_in_logs.rs`: `security_19_no_secret_reaches_the_log`; `security_19_reset_page_links_stay_out_of_logs.rs`: `security_19_opening_a_reset_page_logs_no_secret` |
//! | 20 | reset page headers | `security_20_reset_page_headers.rs`: `security_20_a_reset_page_sends_the_strict_headers_and_leaves_the_link_usable`, `security_20_an_incomplete_link_gets_a_page_with_the_same_headers`, `security_20_the_product_name_is_escaped_and_a_disabled_dialect_has_the_headers_too` |
//! | 21 | no session opened with the old password survives a reset (issue 13) | `security_21_no_session_opened_with_the_old_password_survives_a_reset` (here) |
//! | 22 | failure limits hold under concurrency (exactly the limit judged); per-account login limit (issue 13) | `security_22_failure_limits_hold_under_concurrency` (here) |
//! | 23 | redemption calls naming an account take the same time and store work for known and unknown accounts (issue 13) | `security_02_enumeration_timing.rs` (ignored benchmarks, `--ignored`): `security_23_ipcola_redemption_by_email_takes_the_same_time`, `security_23_cloudreve_redemption_by_id_takes_the_same_time` |
//! | 24 | weak passwords refused in every dialect: control characters, nothing visible, one character repeated | `security_24_weak_passwords_are_refused_in_every_dialect` (here); unit tests in `src/reset/policy.rs` |
//! | 25 | a token that cannot be well formed writes nothing (issue 13) | `security_25_a_token_that_cannot_be_well_formed_writes_nothing` (here) |
//! | 26 | login issues only configured clients and scopes; introspection needs its own bearer token | `security_26_introspection_needs_its_own_bearer_token`, `security_26_login_issues_only_configured_clients_and_scopes` (here) |
//! | 27 | token answers carry `Cache-Control: no-store` (and `Pragma: no-cache`); every 429 carries `Retry-After`, the seconds until the refusing limit's window ends (the envelope dialects refuse in HTTP 200, without it) | `security_27_token_answers_carry_cache_control_no_store`, `security_27_too_many_requests_answers_say_when_to_retry` (here) |
//! | 28 | body read timeout (408, connection closed); `Expect: 100-continue` over the body limit refused before `100 Continue` | `security_28_a_trickled_body_is_cut_off_after_the_read_timeout`, `security_28_expect_continue_over_the_body_limit_gets_413_not_100` (here); header and idle timeouts are hyper's fixed 30 s, not configurable through dropshot 0.18: `security_28_trickled_headers_and_idle_connections_are_closed_after_30_s` (here) |
//! | 29 | bodies only as `application/json` objects (415 / 400 in the dialect's form) | `security_29_bodies_are_read_only_as_json_objects` (here) |
//! | 30 | login takes the same time for an unknown email, an argon2id account and one on a fast imported hash (a legacy check also pays the decoy's argon2id); a legacy hash is replaced by argon2id at its first successful login (issue 16) | `security_02_enumeration_timing.rs` (ignored benchmarks, `--ignored`): `security_30_login_takes_the_same_time_for_known_and_unknown_emails`, `security_30_login_takes_the_same_time_for_an_imported_fast_hash`; `legacy_login.rs`: `each_legacy_format_logs_in_once_and_is_upgraded` |
//!
//! `security_index_every_item_has_a_test` keeps this table and the suite in step.

use crate::support;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rstest::rstest;

use resetd::clock::Clock as _;
use resetd::security::keyed_hash::TokenHasher;
use resetd::store::{AuditEvent, OutboxMessage, OutboxStatus, User};
use resetd_client::types;
use support::dialects::{
    assert_accepted, assert_invalid_secret, assert_password_refused, assert_redeemed,
    assert_too_many, changed_subject, dialect_of, emailed_secret, made_up_secret, post_raw,
    redeem_with, request_reset, reset_and_log_in, reset_request, reset_subject, send,
    send_with_headers, Answer, Dialect, DIALECTS,
};
use support::{Backend, TestServer, ADMIN_TOKEN, INTROSPECTION_TOKEN, MAIL_WAIT};

/// `metrics.token` where a test reads the server's metrics.
const METRICS_TOKEN: &str = "test-metrics-token-0123456789";

const ANN: &str = "ann@example.com";
const BOB: &str = "bob@example.com";
const BANNED: &str = "banned@example.com";
const UNVERIFIED: &str = "unverified@example.com";
const UNKNOWN: &str = "nobody@example.com";
/// Good in every dialect (SelfCommunity wants three character classes).
const OLD_PASSWORD: &str = "Old-passw0rd-1";
const NEW_PASSWORD: &str = "New-passw0rd-2";
/// How the core says a password is too short or too long, and how a body parser does
/// where the spec gives the field a `minLength`/`maxLength` (Cloudreve, SelfCommunity); both count code
/// points.
const TOO_SHORT: &[&str] = &["at least", "shorter than"];
const TOO_LONG: &[&str] = &["at most", "longer than"];

// ---- helpers ----------------------------------------------------------------------------

/// The account's row.
async fn account(server: &TestServer, email: &str) -> User {
    server
        .store()
        .await
        .user_by_email(email)
        .await
        .expect("lookup")
        .expect("the account exists")
}

/// A recovery code of `dialect` for the account, issued through the admin API the way an
/// operator would: a live token without any mail.
async fn recovery(server: &TestServer, public_id: &str, dialect: Dialect) -> types::ResetdRecovery {
    server
        .admin_client()
        .resetd_admin_issue_recovery()
        .id(public_id)
        .body(types::ResetdRecoveryRequest {
            dialect: dialect.api(),
        })
        .send()
        .await
        .expect("recovery issued")
        .into_inner()
}

/// The server's token hasher, keyed as the server keys it.
fn hasher(server: &TestServer) -> TokenHasher {
    let secret = server.config.secret.as_ref().expect("the harness sets one");
    TokenHasher::from_secret(secret.expose())
}

/// The keyed hash the server stores for a reset token of `dialect`.
fn reset_hash(server: &TestServer, dialect: Dialect, token: &str) -> String {
    hasher(server).hash(&format!("reset:{}", dialect.name()), token)
}

/// Moves the server's clock forward to `target` (milliseconds since the epoch).
fn advance_to(server: &TestServer, target: i64) {
    let now = server.clock.now_ms();
    assert!(target > now, "the clock only moves forward");
    server.clock.advance(Duration::from_millis(
        u64::try_from(target - now).expect("positive"),
    ));
}

/// Waits until the issuer has processed every queued reset request.
async fn queue_drained(server: &TestServer) {
    let store = server.store().await;
    let deadline = Instant::now() + MAIL_WAIT;
    loop {
        let queued = store.list_reset_requests().await.expect("queue");
        if queued.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "requests still queued: {queued:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until the outbox holds `n` messages, all delivered, and returns them.
async fn outbox_delivered(server: &TestServer, n: usize) -> Vec<OutboxMessage> {
    let store = server.store().await;
    let deadline = Instant::now() + MAIL_WAIT;
    loop {
        let rows = store.list_outbox(None).await.expect("outbox");
        if rows.len() == n && rows.iter().all(|m| m.status == OutboxStatus::Sent) {
            return rows;
        }
        assert!(
            Instant::now() < deadline,
            "expected {n} delivered messages: {rows:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `n` characters cycling through lower, upper, digit and other: of every class, and on no
/// blocklist.
fn password_of(n: usize) -> String {
    "kQ7#vX2!mZ9$".chars().cycle().take(n).collect()
}

/// `n` code points, mostly `fill`, led by a digit (one-byte `1`: a password may not be one
/// character repeated, item 24); in a dialect that wants character classes, also by an
/// upper and a lower case letter (two-byte `É`, `é`).
fn wide_password(dialect: Dialect, n: usize, fill: char) -> String {
    let lead = if dialect.password_rule().classes > 0 {
        "Éé1"
    } else {
        "1"
    };
    let rest = n - lead.chars().count();
    format!("{lead}{}", String::from(fill).repeat(rest))
}

/// Everything two answers must share: status, every header but the ones that differ on
/// every answer (their presence still counts), and the body without per-request ids.
fn observable(answer: &Answer) -> (u16, Vec<(String, String)>, String) {
    let mut headers: Vec<(String, String)> = answer
        .headers
        .iter()
        .map(|(name, value)| {
            let value = match name.as_str() {
                "date" | "x-request-id" => "<differs per answer>".to_owned(),
                _ => value.to_str().unwrap_or("<binary>").to_owned(),
            };
            (name.as_str().to_owned(), value)
        })
        .collect();
    headers.sort();
    let body = match serde_json::from_str::<serde_json::Value>(&answer.body) {
        Ok(serde_json::Value::Object(mut fields)) => {
            // Cloudreve's per-request id, if an answer carries one.
            fields.remove("correlation_id");
            serde_json::Value::Object(fields).to_string()
        }
        _ => answer.body.clone(),
    };
    (answer.status, headers, body)
}

/// The message of `dialect`'s refusal of a new password. Where the spec gives the password a
/// `minLength`/`maxLength` (Cloudreve, SelfCommunity), a length outside them is refused by
/// the body parser, in the dialect's bad-input form: for SelfCommunity that is `invalid`
/// rather than `password_too_weak`, naming the field.
#[track_caller]
fn refusal(dialect: Dialect, answer: &Answer) -> String {
    let json = answer.json();
    if dialect == Dialect::Selfcommunity && json["code"] == "invalid" {
        assert_eq!(answer.status, 400, "{json}");
        let detail = json["detail"].as_str().expect("a detail");
        assert!(detail.contains("password:"), "{json}");
        return detail.to_owned();
    }
    assert_password_refused(dialect, answer)
}

/// Whether `answer` is `dialect`'s successful redemption.
fn audit_line(event: &AuditEvent) -> (String, Option<i64>, Option<String>, Option<String>) {
    (
        event.kind.as_str().to_owned(),
        event.user_id,
        event.dialect.clone(),
        event.client_ip.clone(),
    )
}

// ---- 01 -----------------------------------------------------------------------------------

/// SECURITY.md 1: in every dialect, a request for an account, an unknown email, a banned
/// and an unverified account get the same status, headers and body; only the account gets
/// mail. `reveal_unknown_accounts = true` lets Cloudreve answer as Cloudreve does.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn security_01_the_answer_does_not_tell_who_has_an_account(#[case] backend: Backend) {
    let Some(server) =
        TestServer::start_with(backend, |c| c.security.account_requests_per_window = 10).await
    else {
        return;
    };
    server.create_user(ANN, OLD_PASSWORD).await;
    server
        .create_user_with_status(BANNED, OLD_PASSWORD, types::ResetdUserStatus::Banned)
        .await;
    server
        .create_user_with_status(UNVERIFIED, OLD_PASSWORD, types::ResetdUserStatus::Inactive)
        .await;

    for dialect in DIALECTS {
        let known = request_reset(&server, dialect, ANN, None).await;
        assert_accepted(dialect, &known);
        assert!(known.headers.contains_key("x-request-id"));
        for email in [UNKNOWN, BANNED, UNVERIFIED] {
            let other = request_reset(&server, dialect, email, None).await;
            assert_eq!(
                observable(&other),
                observable(&known),
                "{dialect:?}: {email} is answered differently"
            );
        }
    }

    // Only the account's requests issued anything: one mail per dialect, all to Ann.
    queue_drained(&server).await;
    let rows = outbox_delivered(&server, 4).await;
    assert!(rows.iter().all(|m| m.recipient == ANN), "{rows:?}");
    let mails = server.sink.wait_for(4, MAIL_WAIT).await;
    assert!(mails.iter().all(|m| m.subject() == reset_subject(&server)));
    let dialects: BTreeSet<Dialect> = mails.iter().filter_map(dialect_of).collect();
    assert_eq!(dialects, DIALECTS.into_iter().collect());
    assert!(mails.iter().all(|m| m.rcpt_to == [ANN]), "{mails:?}");
    let ann = account(&server, ANN).await;
    let audit = server.store().await.list_audit(50).await.expect("audit");
    assert_eq!(audit.len(), 4, "{audit:?}");
    assert!(audit
        .iter()
        .all(|e| e.kind.as_str() == "reset_requested" && e.user_id == Some(ann.id)));
    server.stop().await;

    // Revealing: Cloudreve tells, as the product does; the other products never did.
    let Some(server) =
        TestServer::start_with(backend, |c| c.security.reveal_unknown_accounts = true).await
    else {
        return;
    };
    server.create_user(ANN, OLD_PASSWORD).await;
    server
        .create_user_with_status(BANNED, OLD_PASSWORD, types::ResetdUserStatus::Banned)
        .await;
    server
        .create_user_with_status(UNVERIFIED, OLD_PASSWORD, types::ResetdUserStatus::Inactive)
        .await;
    let cloudreve = [
        (ANN, 0, ""),
        (UNKNOWN, 40021, "User not found"),
        (BANNED, 40017, "This account has been blocked"),
        (UNVERIFIED, 40018, "This account is not activated"),
    ];
    for (email, code, msg) in cloudreve {
        let answer = request_reset(&server, Dialect::Cloudreve, email, None).await;
        let json = answer.json();
        assert_eq!(
            (answer.status, &json["code"]),
            (200, &code.into()),
            "{json}"
        );
        assert_eq!(json["msg"], msg, "{json}");
    }
    for dialect in [Dialect::Ipcola, Dialect::Strapi, Dialect::Selfcommunity] {
        let known = request_reset(&server, dialect, ANN, None).await;
        assert_accepted(dialect, &known);
        for email in [UNKNOWN, BANNED, UNVERIFIED] {
            let other = request_reset(&server, dialect, email, None).await;
            assert_eq!(observable(&other), observable(&known), "{dialect:?}");
        }
    }
    server.stop().await;
}

// ---- 04 -----------------------------------------------------------------------------------

/// SECURITY.md 4: asking again replaces the account's live token of that dialect (the
/// earlier one is deleted, not merely outlived) and leaves its tokens of other dialects be.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn security_04_a_new_request_replaces_the_live_token_of_its_dialect_only(
    #[case] backend: Backend,
) {
    let Some(server) =
        TestServer::start_with(backend, |c| c.security.account_requests_per_window = 10).await
    else {
        return;
    };
    let ann = server.create_user(ANN, OLD_PASSWORD).await;
    let user = account(&server, ANN).await;
    let store = server.store().await;

    let mut first = BTreeMap::new();
    for dialect in DIALECTS {
        first.insert(dialect, emailed_secret(&server, dialect, ANN).await);
    }
    let mut current = first.clone();
    for dialect in DIALECTS {
        let now = server.clock.now_ms();
        let mut before = BTreeMap::new();
        for other in DIALECTS {
            let row = store.live_reset_token(user.id, other.name(), now).await;
            before.insert(other, row.expect("lookup").expect("a live token").id);
        }
        let second = emailed_secret(&server, dialect, ANN).await;
        assert_ne!(second, first[&dialect]);
        current.insert(dialect, second);

        let now = server.clock.now_ms();
        for other in DIALECTS {
            let row = store
                .live_reset_token(user.id, other.name(), now)
                .await
                .expect("lookup")
                .expect("a live token");
            assert_eq!(
                row.token_hash,
                reset_hash(&server, other, &current[&other]),
                "{other:?} after a new {dialect:?} request"
            );
            if other != dialect {
                assert_eq!(row.id, before[&other], "{other:?} was touched");
            }
        }
        let old = reset_hash(&server, dialect, &first[&dialect]);
        assert!(
            store
                .find_reset_token(dialect.name(), &old)
                .await
                .expect("lookup")
                .is_none(),
            "{dialect:?}: the replaced token is gone"
        );
    }

    // Through the dialects: each first token is refused, and changes nothing ...
    for dialect in DIALECTS {
        let answer = redeem_with(
            &server,
            dialect,
            (ANN, &ann.id),
            &first[&dialect],
            NEW_PASSWORD,
            None,
        )
        .await;
        assert_invalid_secret(dialect, &answer);
    }
    assert!(server.login(ANN, OLD_PASSWORD).await.is_some());
    // ... while IPCola's second token, issued before the other dialects' second requests,
    // still works.
    let answer = redeem_with(
        &server,
        Dialect::Ipcola,
        (ANN, &ann.id),
        &current[&Dialect::Ipcola],
        NEW_PASSWORD,
        None,
    )
    .await;
    assert_redeemed(Dialect::Ipcola, &answer);
    assert!(server.login(ANN, NEW_PASSWORD).await.is_some());
    server.stop().await;
}

// ---- 05 -----------------------------------------------------------------------------------

/// SECURITY.md 5: whatever `Host`, `X-Forwarded-Host` or `Forwarded` a request carries, even
/// from a trusted proxy, every URL resetd mails or hands out is on `public_base_url`, path
/// prefix included.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn security_05_links_are_built_on_the_configured_base_url_only(#[case] backend: Backend) {
    const BASE: &str = "https://accounts.example.test/portal/";
    let Some(server) = TestServer::start_with(backend, |c| {
        c.public_base_url = url::Url::parse(BASE).expect("url");
        c.security.trusted_proxies = vec!["127.0.0.1/32".parse().expect("network")];
        c.security.account_requests_per_window = 10;
    })
    .await
    else {
        return;
    };
    let ann = server.create_user(ANN, OLD_PASSWORD).await;
    let forged = [
        ("host", "evil.example"),
        ("x-forwarded-host", "evil.example"),
        ("x-forwarded-proto", "http"),
        ("x-forwarded-for", "203.0.113.5"),
        ("forwarded", "for=203.0.113.5;host=evil.example;proto=http"),
        ("origin", "https://evil.example"),
        ("referer", "https://evil.example/reset"),
    ];

    for dialect in DIALECTS {
        let since = server.sink.messages().len();
        let (path, body) = reset_request(dialect, ANN);
        let answer = send_with_headers(&server, reqwest::Method::POST, path, body, &forged).await;
        assert_accepted(dialect, &answer);
        let mail = server
            .mail_to_after(ANN, &reset_subject(&server), since)
            .await;
        assert!(!mail.raw().contains("evil"), "{dialect:?}: {}", mail.raw());
        for body in [mail.text_body(), mail.html_body()] {
            for (at, _) in body.match_indices("://") {
                let start = body[..at]
                    .rfind(|c: char| !c.is_ascii_alphabetic())
                    .map_or(0, |i| i + 1);
                assert!(
                    body[start..].starts_with(BASE),
                    "{dialect:?}: a URL not on the base: {}",
                    &body[start..]
                );
            }
        }
        let link = match dialect {
            Dialect::Cloudreve => Some("session/reset?id="),
            Dialect::Selfcommunity => Some("account/recover/password?validation_code="),
            Dialect::Ipcola | Dialect::Strapi => None,
        };
        if let Some(tail) = link {
            let prefix = format!("{BASE}{tail}");
            let found = mail.find_link(&prefix);
            assert!(found.is_some(), "{dialect:?}: no link {prefix}…");
        }
    }

    // An operator's recovery link too.
    let http = reqwest::Client::new();
    let mut request = http
        .post(format!(
            "{}/admin/users/{}/recovery",
            server.base_url, ann.id
        ))
        .bearer_auth(support::ADMIN_TOKEN)
        .json(&serde_json::json!({ "dialect": "selfcommunity" }));
    for (name, value) in forged {
        request = request.header(name, value);
    }
    let response = request.send().await.expect("answer");
    assert_eq!(response.status(), 200, "recovery issued");
    let json: serde_json::Value = response.json().await.expect("JSON");
    let link = json["link"].as_str().expect("a link");
    assert!(
        link.starts_with(&format!("{BASE}account/recover/password?")),
        "{link}"
    );
    server.stop().await;
}

// ---- 06 -----------------------------------------------------------------------------------

/// SECURITY.md 6: emailed and operator-issued tokens have their dialect's format (IPCola 16
/// lower case letters, Strapi 128 hex, Cloudreve 32 alphanumerics, SelfCommunity 34 hex), no
/// two are alike, and they use the whole alphabet.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn security_06_tokens_have_their_dialects_format_and_never_repeat(#[case] backend: Backend) {
    let Some(server) =
        TestServer::start_with(backend, |c| c.security.account_requests_per_window = 10).await
    else {
        return;
    };
    let ann = server.create_user(ANN, OLD_PASSWORD).await;
    let mut seen = HashSet::new();
    for dialect in DIALECTS {
        let emailed = emailed_secret(&server, dialect, ANN).await;
        assert!(dialect.is_secret(&emailed), "{dialect:?}: {emailed}");
        assert!(seen.insert(emailed));
    }

    for dialect in DIALECTS {
        let mut used = BTreeSet::new();
        for _ in 0..20 {
            let issued = recovery(&server, &ann.id, dialect).await;
            assert_eq!(issued.dialect, dialect.api());
            assert!(
                dialect.is_secret(&issued.code),
                "{dialect:?}: {}",
                issued.code
            );
            assert!(seen.insert(issued.code.clone()), "{dialect:?}: repeated");
            used.extend(issued.code.chars());
        }
        // 20 tokens draw 320 to 2,560 characters: a uniform draw leaves out none (or, for
        // IPCola's 320 draws of 26 letters, at most a rare one or two).
        let alphabet: BTreeSet<char> = match dialect {
            Dialect::Ipcola => ('a'..='z').collect(),
            Dialect::Strapi | Dialect::Selfcommunity => ('0'..='9').chain('a'..='f').collect(),
            Dialect::Cloudreve => ('0'..='9').chain('a'..='z').chain('A'..='Z').collect(),
        };
        assert!(used.is_subset(&alphabet), "{dialect:?}: {used:?}");
        let slack = if dialect == Dialect::Ipcola { 2 } else { 0 };
        assert!(
            used.len() + slack >= alphabet.len(),
            "{dialect:?}: only {used:?}"
        );
    }
    server.stop().await;
}

// ---- 07 -----------------------------------------------------------------------------------

/// Database rows as text, for a search through everything stored (PostgreSQL).
#[derive(diesel::QueryableByName)]
struct Line {
    #[diesel(sql_type = diesel::sql_types::Text)]
    line: String,
}

/// Every row of every table of the server's PostgreSQL database, as JSON lines.
async fn postgres_rows(database_url: &str) -> String {
    use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};
    let mut conn = AsyncPgConnection::establish(database_url)
        .await
        .expect("connect");
    let tables: Vec<Line> = diesel::sql_query(
        "SELECT table_name::text AS line FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    )
    .load(&mut conn)
    .await
    .expect("tables");
    assert!(
        tables.iter().any(|t| t.line == "reset_tokens"),
        "schema read"
    );
    let mut everything = String::new();
    for table in tables {
        let rows: Vec<Line> = diesel::sql_query(format!(
            "SELECT row_to_json(t)::text AS line FROM \"{}\" t",
            table.line
        ))
        .load(&mut conn)
        .await
        .expect("rows");
        for row in rows {
            everything.push_str(&row.line);
            everything.push('\n');
        }
    }
    everything
}

/// The bytes of every file of the SQLite database in `dir` (`resetd.db`, `-wal`, `-shm`).
fn sqlite_files(dir: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir).expect("dir") {
        let path = entry.expect("entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with("resetd.db") {
            bytes.extend(std::fs::read(&path).expect("database file"));
        }
    }
    bytes
}

/// SECURITY.md 7: a reset token's row holds HMAC-SHA256 under the server secret (as the test
/// computes it) and is found by that hash; the token itself, the session tokens and the
/// passwords are nowhere in the database: not in any row (both backends), and on SQLite
/// not in its files either, WAL and free space included, while the server runs and after
/// it stopped. (Mail bodies wait in the outbox sealed: `tests/it/outbox_sealing.rs`.)
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn security_07_tokens_are_stored_only_as_their_keyed_hash(#[case] backend: Backend) {
    let Some(mut server) =
        TestServer::start_with(backend, |c| c.security.account_requests_per_window = 10).await
    else {
        return;
    };
    let ann = server.create_user(ANN, OLD_PASSWORD).await;
    let user = account(&server, ANN).await;
    let mut secrets: Vec<String> = vec![OLD_PASSWORD.to_owned(), NEW_PASSWORD.to_owned()];
    {
        let store = server.store().await;
        let mut emailed = BTreeMap::new();
        for dialect in DIALECTS {
            emailed.insert(dialect, emailed_secret(&server, dialect, ANN).await);
        }
        let now = server.clock.now_ms();
        for (&dialect, token) in &emailed {
            let row = store
                .live_reset_token(user.id, dialect.name(), now)
                .await
                .expect("lookup")
                .expect("a live token");
            let expected = reset_hash(&server, dialect, token);
            assert_eq!(row.token_hash, expected, "{dialect:?}");
            let found = store
                .find_reset_token(dialect.name(), &expected)
                .await
                .expect("lookup")
                .expect("found by its hash");
            assert_eq!(found.id, row.id);
            // Keyed: another secret, or none, gives another hash.
            let other = TokenHasher::from_secret("another-secret-0123456789abcdef0123")
                .hash(&format!("reset:{}", dialect.name()), token);
            assert_ne!(row.token_hash, other);
            use sha2::Digest as _;
            assert_ne!(row.token_hash, hex::encode(sha2::Sha256::digest(token)));
            secrets.push(token.clone());
        }
        // Operator-issued tokens, and session tokens, the same way.
        let issued = recovery(&server, &ann.id, Dialect::Strapi).await;
        let hash = reset_hash(&server, Dialect::Strapi, &issued.code);
        assert!(store
            .find_reset_token("strapi", &hash)
            .await
            .expect("lookup")
            .is_some());
        secrets.push(issued.code);
        let session = server.login(ANN, OLD_PASSWORD).await.expect("logged in");
        for token in [&session.access_token, &session.refresh_token] {
            let hash = hasher(&server).hash("session", token);
            assert!(store
                .find_access_token(&hash)
                .await
                .expect("lookup")
                .is_some());
            secrets.push(token.clone());
        }
        // The emailed Cloudreve token works: it is compared by its hash.
        let answer = redeem_with(
            &server,
            Dialect::Cloudreve,
            (ANN, &ann.id),
            &emailed[&Dialect::Cloudreve],
            NEW_PASSWORD,
            None,
        )
        .await;
        assert_redeemed(Dialect::Cloudreve, &answer);
        // Four reset mails and the notice, delivered (their bodies then leave the outbox).
        outbox_delivered(&server, 5).await;
    }

    let stored = match backend {
        Backend::Sqlite => {
            // The files of the running server (its WAL too), then of the stopped one (the WAL
            // checkpointed into the database file).
            let mut bytes = sqlite_files(server.temp_dir());
            server.halt().await;
            bytes.extend(sqlite_files(server.temp_dir()));
            bytes
        }
        Backend::Postgres => postgres_rows(&server.config.database_url)
            .await
            .into_bytes(),
    };
    // What is stored in clear is found: the search works.
    assert!(stored.windows(ANN.len()).any(|w| w == ANN.as_bytes()));
    for secret in &secrets {
        assert!(
            !stored.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "a secret of {} characters is stored in clear",
            secret.len()
        );
    }
    server.stop().await;
}

// ---- 08 -----------------------------------------------------------------------------------

/// Redeems a fresh emailed token of `dialect` a second before it expires (works), and another
/// just after (refused, nothing changed). `password` is the account's password; returns
/// the new one.
async fn check_expiry(
    server: &TestServer,
    dialect: Dialect,
    lifetime: Duration,
    password: String,
) -> String {
    let ann = account(server, ANN).await;
    let store = server.store().await;
    let lifetime_ms = i64::try_from(lifetime.as_millis()).expect("small");

    let token = emailed_secret(server, dialect, ANN).await;
    let row = store
        .find_reset_token(dialect.name(), &reset_hash(server, dialect, &token))
        .await
        .expect("lookup")
        .expect("issued");
    assert_eq!(row.expires_at - row.created_at, lifetime_ms, "{dialect:?}");
    advance_to(server, row.expires_at - 1_000);
    let next = format!("{password}x");
    let answer = redeem_with(server, dialect, (ANN, &ann.public_id), &token, &next, None).await;
    assert_redeemed(dialect, &answer);

    let token = emailed_secret(server, dialect, ANN).await;
    let row = store
        .find_reset_token(dialect.name(), &reset_hash(server, dialect, &token))
        .await
        .expect("lookup")
        .expect("issued");
    assert_eq!(row.expires_at - row.created_at, lifetime_ms, "{dialect:?}");
    advance_to(server, row.expires_at + 1);
    let refused = format!("{next}y");
    let answer = redeem_with(
        server,
        dialect,
        (ANN, &ann.public_id),
        &token,
        &refused,
        None,
    )
    .await;
    assert_invalid_secret(dialect, &answer);
    assert!(server.login(ANN, &next).await.is_some(), "{dialect:?}");
    next
}

/// SECURITY.md 8: links live an hour and IPCola's code 15 minutes by default; each dialect's
/// `token_ttl_secs` changes that; a token works a second before its end and not after.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn security_08_tokens_expire_at_the_end_of_their_lifetime(#[case] backend: Backend) {
    // Two requests per dialect, quickly after each other when lifetimes are short.
    let Some(server) =
        TestServer::start_with(backend, |c| c.security.account_requests_per_window = 10).await
    else {
        return;
    };
    server.create_user(ANN, OLD_PASSWORD).await;
    let mut password = OLD_PASSWORD.to_owned();
    for dialect in DIALECTS {
        let lifetime = match dialect {
            Dialect::Ipcola => Duration::from_secs(15 * 60),
            _ => Duration::from_secs(60 * 60),
        };
        password = check_expiry(&server, dialect, lifetime, password).await;
    }
    server.stop().await;

    let configured = [
        (Dialect::Ipcola, 120),
        (Dialect::Strapi, 7_200),
        (Dialect::Cloudreve, 600),
        (Dialect::Selfcommunity, 86_400),
    ];
    let Some(server) = TestServer::start_with(backend, |c| {
        c.dialects.ipcola.token_ttl_secs = configured[0].1;
        c.dialects.strapi.token_ttl_secs = configured[1].1;
        c.dialects.cloudreve.token_ttl_secs = configured[2].1;
        c.dialects.selfcommunity.token_ttl_secs = configured[3].1;
        c.security.account_requests_per_window = 10;
    })
    .await
    else {
        return;
    };
    server.create_user(ANN, OLD_PASSWORD).await;
    let mut password = OLD_PASSWORD.to_owned();
    for (dialect, secs) in configured {
        password = check_expiry(&server, dialect, Duration::from_secs(secs), password).await;
    }
    server.stop().await;
}

// ---- 09 -----------------------------------------------------------------------------------

/// SECURITY.md 9: twenty concurrent redemptions of one token, in each dialect: exactly one
/// sets its password, the others get the dialect's "invalid" answer.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn security_09_of_twenty_concurrent_redemptions_exactly_one_wins(#[case] backend: Backend) {
    let Some(server) = TestServer::start_with(backend, |c| {
        c.security.account_requests_per_window = 10;
        // Twenty redemptions in flight at once from one address hold twenty units of the
        // IP's failure allowance until each has looked its token up (item 22); this test is
        // about single use, not that limit.
        c.security.ip_failed_redemptions_per_window = 20;
    })
    .await
    else {
        return;
    };
    let ann = server.create_user(ANN, OLD_PASSWORD).await;
    for dialect in DIALECTS {
        // Asked for after the previous dialect's reset, which ended every live token.
        let token = emailed_secret(&server, dialect, ANN).await;
        let password = |i: usize| format!("Race-{}-pw-{i:02}", dialect.name());
        let attempts = (0..20).map(|i| {
            let (server, token, id, password) = (&server, &token, &ann.id, password(i));
            async move { redeem_with(server, dialect, (ANN, id), token, &password, None).await }
        });
        let answers = futures_util::future::join_all(attempts).await;
        let winners: Vec<usize> = (0..20)
            .filter(|&i| dialect.is_redeemed(&answers[i]))
            .collect();
        let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
        assert_eq!(
            winners.len(),
            1,
            "{dialect:?}: winners {winners:?} of {statuses:?}"
        );
        for (i, answer) in answers.iter().enumerate() {
            if i != winners[0] {
                assert_invalid_secret(dialect, answer);
            }
        }
        assert!(server.login(ANN, &password(winners[0])).await.is_some());
        let loser = (winners[0] + 1) % 20;
        assert!(server.login(ANN, &password(loser)).await.is_none());
    }
    let audit = server.store().await.list_audit(500).await.expect("audit");
    let count = |kind: &str| audit.iter().filter(|e| e.kind.as_str() == kind).count();
    assert_eq!(count("reset_completed"), 4);
    assert_eq!(count("redemption_failed"), 4 * 19);
    server.stop().await;
}

// ---- 10 -----------------------------------------------------------------------------------

/// SECURITY.md 10, per token: wrong secrets presented for an account (Cloudreve and IPCola
/// name it beside the secret) count against its live token, which the fifth failure burns:
/// the right secret is refused from then on.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn security_10_a_token_burns_after_its_failed_redemptions(#[case] backend: Backend) {
    let Some(server) = TestServer::start_with(backend, |c| {
        c.security.ip_failed_redemptions_per_window = 100
    })
    .await
    else {
        return;
    };
    let ann = server.create_user(ANN, OLD_PASSWORD).await;
    let user = account(&server, ANN).await;
    let store = server.store().await;
    for dialect in [Dialect::Cloudreve, Dialect::Ipcola] {
        // Four failures leave the token usable.
        let token = recovery(&server, &ann.id, dialect).await.code;
        for n in 0..4 {
            let guess = made_up_secret(dialect, n);
            let answer =
                redeem_with(&server, dialect, (ANN, &ann.id), &guess, NEW_PASSWORD, None).await;
            assert_invalid_secret(dialect, &answer);
        }
        let row = store
            .live_reset_token(user.id, dialect.name(), server.clock.now_ms())
            .await
            .expect("lookup")
            .expect("still live");
        assert_eq!(row.failed_attempts, 4);
        reset_and_log_in(&server, dialect, (ANN, &ann.id), &token, NEW_PASSWORD).await;

        // Five burn it.
        let token = recovery(&server, &ann.id, dialect).await.code;
        for n in 0..5 {
            let guess = made_up_secret(dialect, n);
            let answer =
                redeem_with(&server, dialect, (ANN, &ann.id), &guess, OLD_PASSWORD, None).await;
            assert_invalid_secret(dialect, &answer);
        }
        let answer =
            redeem_with(&server, dialect, (ANN, &ann.id), &token, OLD_PASSWORD, None).await;
        assert_invalid_secret(dialect, &answer);
        assert!(server.login(ANN, NEW_PASSWORD).await.is_some(), "unchanged");
        // Back to the old password for the next dialect.
        let token = recovery(&server, &ann.id, dialect).await.code;
        let answer =
            redeem_with(&server, dialect, (ANN, &ann.id), &token, OLD_PASSWORD, None).await;
        assert_redeemed(dialect, &answer);
    }
    server.stop().await;
}

// ---- 12 -----------------------------------------------------------------------------------

/// SECURITY.md 12: in each dialect, a password one code point outside its rule's bounds,
/// with too few character classes, on the blocklist (in any case) or equal to the account's
/// email (in any case) is refused in the dialect's error form and changes nothing; passwords
/// exactly at the bounds are accepted.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn security_12_new_passwords_follow_the_dialect_rule_the_blocklist_and_not_the_email(
    #[case] backend: Backend,
) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    for dialect in DIALECTS {
        let email = format!("{}@example.com", dialect.name());
        let user = server.create_user(&email, OLD_PASSWORD).await;
        let rule = dialect.password_rule();
        let code = recovery(&server, &user.id, dialect).await.code;

        // The email as its owner might type it: another case, spaces around it. (For
        // SelfCommunity's three classes the upper case and the `@` and `.` make three.)
        let shouting = format!(" {}{} ", dialect.name()[..1].to_uppercase(), &email[1..]);
        let mut refused: Vec<(String, &[&str])> = vec![
            (password_of(rule.min - 1), TOO_SHORT),
            (password_of(rule.max + 1), TOO_LONG),
            ("pASSWORD123".to_owned(), &["too common"]),
            (shouting, &["email"]),
        ];
        if rule.classes > 0 {
            refused.push(("kqvm7tp3xw".to_owned(), &["at least 3 of"]));
        } else {
            refused.push(("QwErTyUiOp".to_owned(), &["too common"]));
            refused.push((email.to_uppercase(), &["email"]));
        }
        for (password, why) in &refused {
            let answer =
                redeem_with(&server, dialect, (&email, &user.id), &code, password, None).await;
            let message = refusal(dialect, &answer);
            assert!(
                why.iter().any(|w| message.contains(w)),
                "{dialect:?}: {password:?} refused with {message:?}, expected {why:?}"
            );
        }
        assert!(
            server.login(&email, OLD_PASSWORD).await.is_some(),
            "{dialect:?}: nothing changed"
        );

        // Exactly at the bounds: accepted (the code survived the refusals).
        let at_min = password_of(rule.min);
        reset_and_log_in(&server, dialect, (&email, &user.id), &code, &at_min).await;
        let code = recovery(&server, &user.id, dialect).await.code;
        let at_max = password_of(rule.max);
        reset_and_log_in(&server, dialect, (&email, &user.id), &code, &at_max).await;
    }
    server.stop().await;
}

// ---- 13 -----------------------------------------------------------------------------------

/// SECURITY.md 13: lengths count code points, not bytes: one code point short of the
/// minimum is refused even in four-byte characters, exactly the maximum in two-byte
/// characters (twice as many bytes) is accepted, one more is refused rather than cut. The
/// whole password is what counts afterwards: only the exact one logs in.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn security_13_lengths_are_code_points_and_nothing_is_truncated(#[case] backend: Backend) {
    // Failed logins are limited per IP like failed redemptions; this test makes a dozen.
    let Some(server) = TestServer::start_with(backend, |c| {
        c.security.ip_failed_redemptions_per_window = 100;
    })
    .await
    else {
        return;
    };
    for dialect in DIALECTS {
        let email = format!("{}@example.com", dialect.name());
        let user = server.create_user(&email, OLD_PASSWORD).await;
        let rule = dialect.password_rule();
        let code = recovery(&server, &user.id, dialect).await.code;

        let short = wide_password(dialect, rule.min - 1, '😀');
        assert!(short.len() > rule.min, "more bytes than the minimum");
        let answer = redeem_with(&server, dialect, (&email, &user.id), &code, &short, None).await;
        let message = refusal(dialect, &answer);
        assert!(
            TOO_SHORT.iter().any(|w| message.contains(w)),
            "{dialect:?}: {message}"
        );

        let long = wide_password(dialect, rule.max + 1, 'é');
        let answer = redeem_with(&server, dialect, (&email, &user.id), &code, &long, None).await;
        let message = refusal(dialect, &answer);
        assert!(
            TOO_LONG.iter().any(|w| message.contains(w)),
            "{dialect:?}: {message}"
        );
        assert!(server.login(&email, OLD_PASSWORD).await.is_some());
        let cut: String = long.chars().take(rule.max).collect();
        assert!(server.login(&email, &cut).await.is_none(), "not truncated");

        let at_max = wide_password(dialect, rule.max, 'é');
        assert!(at_max.len() >= 2 * rule.max - 1, "about two bytes each");
        reset_and_log_in(&server, dialect, (&email, &user.id), &code, &at_max).await;
        let shorter: String = at_max.chars().take(rule.max - 1).collect();
        let last_changed = format!("{shorter}e");
        for almost in [shorter, last_changed] {
            assert!(
                server.login(&email, &almost).await.is_none(),
                "{dialect:?}: the whole password counts"
            );
        }

        let code = recovery(&server, &user.id, dialect).await.code;
        let at_min = wide_password(dialect, rule.min, '😀');
        reset_and_log_in(&server, dialect, (&email, &user.id), &code, &at_min).await;
    }
    server.stop().await;
}

// ---- 14 -----------------------------------------------------------------------------------

/// SECURITY.md 14: after a reset in any dialect the stored hash is an argon2id PHC string
/// with the configured parameters, of the new password, with a fresh salt; the default
/// parameters are OWASP's minimum.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn security_14_passwords_are_hashed_with_argon2id_and_the_configured_parameters(
    #[case] backend: Backend,
) {
    use argon2::PasswordVerifier as _;

    let defaults = resetd::config::Config::default().argon2;
    assert_eq!(
        (
            defaults.memory_kib,
            defaults.iterations,
            defaults.parallelism
        ),
        (19_456, 2, 1)
    );
    // Not the harness's cheap parameters, so that they are seen to be honoured.
    let Some(server) = TestServer::start_with(backend, |c| {
        c.argon2.memory_kib = 2_048;
        c.argon2.iterations = 2;
        c.argon2.parallelism = 2;
    })
    .await
    else {
        return;
    };
    let ann = server.create_user(ANN, OLD_PASSWORD).await;
    let mut previous = account(&server, ANN).await.password_hash;
    for dialect in DIALECTS {
        let password = format!("Hashed-{}-7", dialect.name());
        let code = recovery(&server, &ann.id, dialect).await.code;
        let answer = redeem_with(&server, dialect, (ANN, &ann.id), &code, &password, None).await;
        assert_redeemed(dialect, &answer);

        let stored = account(&server, ANN)
            .await
            .password_hash
            .expect("a password hash");
        assert!(
            stored.starts_with("$argon2id$v=19$m=2048,t=2,p=2$"),
            "{dialect:?}: parameters not honoured"
        );
        assert_ne!(Some(&stored), previous.as_ref());
        // `$argon2id$v=19$m=...,t=...,p=...$<salt>$<hash>`, unpadded base64.
        let fields: Vec<&str> = stored.split('$').collect();
        assert_eq!(fields.len(), 6, "{dialect:?}: not a PHC string");
        assert!(fields[4].len() >= 22, "a salt of at least 16 bytes");
        assert_eq!(fields[5].len(), 43, "a 32-byte hash");
        let phc = argon2::PasswordHash::new(&stored).expect("a PHC string");
        let argon2 = argon2::Argon2::default();
        assert!(argon2.verify_password(password.as_bytes(), &phc).is_ok());
        assert!(argon2
            .verify_password(OLD_PASSWORD.as_bytes(), &phc)
            .is_err());
        previous = Some(stored);
    }
    server.stop().await;
}

/// SECURITY.md 14: hashing runs on the bounded blocking pool, never on the async workers:
/// while more resets hash than there are cores (one alone takes `alone`), `/healthz` keeps
/// answering in a fraction of that.
///
/// The server runs on one async worker thread (the test's own code runs beside it, on the
/// test thread). Were a hash computed on that worker, it would hold up every other request
/// for the whole hash: each `/healthz`, sent just after the previous one came back, would
/// wait about `alone`.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn security_14_hashing_does_not_stall_the_server(#[case] backend: Backend) {
    const MEMORY_KIB: u32 = 32 * 1024;
    /// As many connections as the server's PostgreSQL pool holds (`store::connection`).
    const POSTGRES_POOL_SIZE: usize = 16;
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let Some(server) = TestServer::start_with(backend, |c| {
        c.argon2.memory_kib = MEMORY_KIB;
        c.argon2.iterations = 1;
        // The default: one hash per core at a time.
        c.argon2.max_concurrent = 0;
    })
    .await
    else {
        return;
    };
    // Accounts without a password (created without hashing), each with a Strapi code.
    let resets = cores + 1;
    let mut codes = Vec::new();
    for n in 0..resets {
        let user = server
            .admin_client()
            .resetd_admin_create_user()
            .body(types::ResetdCreateUserRequest {
                email: format!("user{n}@example.com"),
                password: None,
                nickname: None,
                status: None,
                language: None,
            })
            .send()
            .await
            .expect("account created")
            .into_inner();
        codes.push(recovery(&server, &user.id, Dialect::Strapi).await.code);
    }
    let reset = |code: String, n: usize| {
        let server = &server;
        async move {
            let password = format!("Hashed-slowly-{n}");
            redeem_with(server, Dialect::Strapi, ("", ""), &code, &password, None).await
        }
    };

    // What one hash with these parameters costs here, computed by the test itself (the
    // test body runs on the test thread, not on the server's worker).
    let params = argon2::Params::new(MEMORY_KIB, 1, 1, None).expect("parameters");
    let argon2 = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let started = Instant::now();
    let mut out = [0u8; 32];
    argon2
        .hash_password_into(b"Hashed-slowly-0", b"a sixteen-byte salt", &mut out)
        .expect("hash");
    let one_hash = started.elapsed();

    // The store's pool opens its connections first: a PostgreSQL connection authenticates
    // with SCRAM, whose key derivation tokio-postgres computes on the worker (milliseconds
    // in a release build, a few hundred in this unoptimised one) and would be measured here.
    let http = reqwest::Client::new();
    let ready =
        (0..POSTGRES_POOL_SIZE).map(|_| http.get(format!("{}/readyz", server.base_url)).send());
    for answer in futures_util::future::join_all(ready).await {
        assert_eq!(answer.expect("readyz answers").status(), 200);
    }

    // A reset alone, for the record.
    let started = Instant::now();
    let answer = reset(codes.pop().expect("a code"), 0).await;
    let alone = started.elapsed();
    assert_redeemed(Dialect::Strapi, &answer);

    // The rest at once, while `/healthz` is asked, one request at a time.
    let done = std::sync::atomic::AtomicBool::new(false);
    let all = async {
        let resets = codes
            .into_iter()
            .enumerate()
            .map(|(n, code)| reset(code, n + 1));
        let answers = futures_util::future::join_all(resets).await;
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        answers
    };
    let health = async {
        let http = reqwest::Client::new();
        let mut slowest = Duration::ZERO;
        let mut asked = 0;
        while !done.load(std::sync::atomic::Ordering::SeqCst) {
            let started = Instant::now();
            let response = http
                .get(format!("{}/healthz", server.base_url))
                .send()
                .await
                .expect("healthz answers");
            assert_eq!(response.status(), 200);
            slowest = slowest.max(started.elapsed());
            asked += 1;
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        (slowest, asked)
    };
    let started = Instant::now();
    let (answers, (slowest, asked)) = tokio::join!(all, health);
    let together = started.elapsed();
    for answer in &answers {
        assert_redeemed(Dialect::Strapi, answer);
    }
    eprintln!(
        "one hash: {one_hash:?}; one reset alone: {alone:?}; {} at once: {together:?}; \
         /healthz asked {asked} times, slowest {slowest:?}",
        answers.len()
    );
    assert!(asked >= 3, "/healthz was asked while hashing: {asked}");
    assert!(
        slowest < one_hash / 2,
        "/healthz took {slowest:?} while hashes ran; one hash takes about {one_hash:?}"
    );
    server.stop().await;
}

// ---- 15 -----------------------------------------------------------------------------------

/// SECURITY.md 15: a reset in any dialect revokes every access and refresh token the account
/// held (both of two logins, and the session an earlier reset opened); the session the reset
/// itself opens (Strapi, SelfCommunity) and other accounts' sessions stay active.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn security_15_a_reset_revokes_every_session_of_the_account(#[case] backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let ann = server.create_user(ANN, OLD_PASSWORD).await;
    server.create_user(BOB, OLD_PASSWORD).await;
    let bob = server.login(BOB, OLD_PASSWORD).await.expect("Bob logs in");
    let store = server.store().await;
    let mut password = OLD_PASSWORD.to_owned();
    // Tokens of Ann's the previous reset opened.
    let mut opened_by_reset: Vec<String> = Vec::new();
    for dialect in DIALECTS {
        let mut held = opened_by_reset.clone();
        for _ in 0..2 {
            let session = server.login(ANN, &password).await.expect("Ann logs in");
            held.push(session.access_token);
            held.push(session.refresh_token);
        }
        for token in &held {
            assert!(server.introspect(token).await.active);
        }

        let code = recovery(&server, &ann.id, dialect).await.code;
        let next = format!("Revoking-{}-1", dialect.name());
        let answer = redeem_with(&server, dialect, (ANN, &ann.id), &code, &next, None).await;
        assert_redeemed(dialect, &answer);

        for token in &held {
            assert!(
                !server.introspect(token).await.active,
                "{dialect:?}: a token held before the reset is still active"
            );
            let row = store
                .find_access_token(&hasher(&server).hash("session", token))
                .await
                .expect("lookup")
                .expect("the row stays, revoked");
            assert!(row.0.revoked_at.is_some(), "{dialect:?}");
        }
        let json = answer.json();
        opened_by_reset = match dialect {
            Dialect::Strapi => vec![json["jwt"].as_str().expect("jwt").to_owned()],
            Dialect::Selfcommunity => vec![
                json["token"]["access_token"]
                    .as_str()
                    .expect("access")
                    .to_owned(),
                json["token"]["refresh_token"]
                    .as_str()
                    .expect("refresh")
                    .to_owned(),
            ],
            Dialect::Ipcola | Dialect::Cloudreve => Vec::new(),
        };
        for token in &opened_by_reset {
            assert!(server.introspect(token).await.active, "{dialect:?}");
        }
        assert!(server.introspect(&bob.access_token).await.active);
        assert!(server.introspect(&bob.refresh_token).await.active);
        assert!(server.login(ANN, &password).await.is_none());
        password = next;
    }
    server.stop().await;
}

// ---- 16 -----------------------------------------------------------------------------------

/// SECURITY.md 16: each dialect's reset mails a "password changed" notice to the account,
/// through the outbox (the delivered message is the outbox row's, and a reset made while
/// the mail server is down still succeeds, its notice waiting in the outbox until the
/// server is back); the notice carries neither the code nor the password.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn security_16_a_password_changed_email_goes_out_through_the_outbox(
    #[case] backend: Backend,
) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let ann = server.create_user(ANN, OLD_PASSWORD).await;
    let store = server.store().await;
    for (n, dialect) in DIALECTS.into_iter().enumerate() {
        // An operator's code: no reset mail, so the notice is the only message.
        let code = recovery(&server, &ann.id, dialect).await.code;
        let password = format!("Noticed-{}-3", dialect.name());
        let answer = redeem_with(&server, dialect, (ANN, &ann.id), &code, &password, None).await;
        assert_redeemed(dialect, &answer);

        let notice = server.mail(n + 1).await;
        assert_eq!(notice.subject(), changed_subject(&server));
        assert_eq!(notice.to(), ANN);
        assert_eq!(notice.rcpt_to, [ANN]);
        assert!(!notice.raw().contains(&code), "{dialect:?}: the code");
        assert!(
            !notice.raw().contains(&password),
            "{dialect:?}: the password"
        );
        let rows = outbox_delivered(&server, n + 1).await;
        let row = rows.last().expect("the notice's row");
        assert_eq!(row.message_id, notice.message_id());
        assert_eq!(row.subject, changed_subject(&server));
        assert_eq!(row.recipient, ANN);
    }

    // The mail server is down: the reset is done at once, the notice waits and is retried.
    server.sink.stop().await;
    let code = recovery(&server, &ann.id, Dialect::Strapi).await.code;
    let answer = redeem_with(
        &server,
        Dialect::Strapi,
        (ANN, ""),
        &code,
        NEW_PASSWORD,
        None,
    )
    .await;
    assert_redeemed(Dialect::Strapi, &answer);
    assert!(server.login(ANN, NEW_PASSWORD).await.is_some());
    let deadline = Instant::now() + MAIL_WAIT;
    loop {
        let rows = store.list_outbox(None).await.expect("outbox");
        let row = rows.last().expect("the notice's row");
        assert_eq!(row.subject, changed_subject(&server));
        assert_ne!(row.status, OutboxStatus::Sent);
        if row.attempts >= 1 && row.last_error.is_some() {
            break;
        }
        assert!(Instant::now() < deadline, "no delivery attempt: {row:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.sink.restart().await;
    let notice = server.mail(5).await;
    assert_eq!(notice.subject(), changed_subject(&server));
    assert_eq!(notice.to(), ANN);
    outbox_delivered(&server, 5).await;
    // Its connections closed first, so the test database can be dropped at once.
    drop(store);
    server.stop().await;
}

// ---- 17 -----------------------------------------------------------------------------------

/// SECURITY.md 17: a reset requested, a redemption failed and a reset completed are each
/// recorded with the account, the time, the client's IP (here set by a trusted proxy's
/// `X-Forwarded-For`) and the dialect; a request for an unknown email is not; an
/// operator's recovery is. `resetd audit list` shows the same events.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn security_17_audit_events_record_who_when_where_and_which_dialect(
    #[case] backend: Backend,
) {
    let Some(server) = TestServer::start_with(backend, |c| {
        c.security.trusted_proxies = vec!["127.0.0.1/32".parse().expect("network")];
        c.security.account_requests_per_window = 10;
    })
    .await
    else {
        return;
    };
    let ann = server.create_user(ANN, OLD_PASSWORD).await;
    let id = account(&server, ANN).await.id;
    // (kind, user, dialect, ip) of each event, oldest first, and when it had to happen.
    let mut expected = Vec::new();
    for (n, dialect) in DIALECTS.into_iter().enumerate() {
        let asked_from = format!("203.0.113.{}", 10 + n);
        let guessed_from = format!("198.51.100.{}", 10 + n);
        let reset_from = format!("192.0.2.{}", 10 + n);
        let event = |kind: &str, user: Option<i64>, ip: &str| {
            (
                kind.to_owned(),
                user,
                Some(dialect.name().to_owned()),
                Some(ip.to_owned()),
            )
        };

        let before = server.clock.now_ms();
        let since = server.sink.messages().len();
        let answer = request_reset(&server, dialect, ANN, Some(&asked_from)).await;
        assert_accepted(dialect, &answer);
        let answer = request_reset(&server, dialect, UNKNOWN, Some(&asked_from)).await;
        assert_accepted(dialect, &answer);
        let mail = server
            .mail_to_after(ANN, &reset_subject(&server), since)
            .await;
        let token = support::dialects::secret_of(dialect, &mail);
        queue_drained(&server).await;
        expected.push((event("reset_requested", Some(id), &asked_from), before));

        let before = server.clock.now_ms();
        let guess = made_up_secret(dialect, n);
        let answer = redeem_with(
            &server,
            dialect,
            (ANN, &ann.id),
            &guess,
            NEW_PASSWORD,
            Some(&guessed_from),
        )
        .await;
        assert_invalid_secret(dialect, &answer);
        // A made-up Strapi or SelfCommunity code names no account; the other two dialects
        // name it beside the secret.
        let named = matches!(dialect, Dialect::Cloudreve | Dialect::Ipcola).then_some(id);
        expected.push((event("redemption_failed", named, &guessed_from), before));

        let before = server.clock.now_ms();
        let password = format!("Audited-{}-1", dialect.name());
        let answer = redeem_with(
            &server,
            dialect,
            (ANN, &ann.id),
            &token,
            &password,
            Some(&reset_from),
        )
        .await;
        assert_redeemed(dialect, &answer);
        expected.push((event("reset_completed", Some(id), &reset_from), before));
    }
    let before = server.clock.now_ms();
    recovery(&server, &ann.id, Dialect::Cloudreve).await;
    expected.push((
        (
            "recovery_issued".to_owned(),
            Some(id),
            Some("cloudreve".to_owned()),
            Some("127.0.0.1".to_owned()),
        ),
        before,
    ));
    let after = server.clock.now_ms();

    let mut events = server.store().await.list_audit(100).await.expect("audit");
    events.reverse();
    let got: Vec<_> = events.iter().map(audit_line).collect();
    let want: Vec<_> = expected.iter().map(|(e, _)| e.clone()).collect();
    assert_eq!(got, want);
    for (i, event) in events.iter().enumerate() {
        let not_before = expected[i].1;
        let not_after = expected.get(i + 1).map_or(after, |next| next.1);
        assert!(
            (not_before..=not_after).contains(&event.at),
            "event {i} at {} not in [{not_before}, {not_after}]",
            event.at
        );
    }

    // The operator's view.
    let secret = server
        .config
        .secret
        .as_ref()
        .expect("secret")
        .expose()
        .to_owned();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_resetd"))
        .args(["audit", "list", "--limit", "100"])
        .current_dir(server.temp_dir())
        .env_clear()
        .env("RESETD_DATABASE_URL", &server.config.database_url)
        .env("RESETD_SECRET", secret)
        .env("RESETD_LOG", "error")
        .output()
        .await
        .expect("resetd runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), events.len(), "{stdout}");
    // Newest first, as `list_audit`.
    for (line, event) in lines.iter().zip(events.iter().rev()) {
        let fields: Vec<&str> = line.split('\t').collect();
        let at = chrono::DateTime::from_timestamp_millis(event.at).expect("a time");
        let expected = [
            event.id.to_string(),
            at.to_rfc3339(),
            event.kind.as_str().to_owned(),
            format!(
                "user={}",
                event.user_id.map_or("-".to_owned(), |u| u.to_string())
            ),
            format!("dialect={}", event.dialect.as_deref().unwrap_or("-")),
            format!("ip={}", event.client_ip.as_deref().unwrap_or("-")),
        ];
        assert_eq!(fields, expected, "{line}");
    }
    server.stop().await;
}

// ---- 21 -----------------------------------------------------------------------------------

/// Item 21: a login that checked the old password while a reset was committing leaves no
/// session behind it. Eight clients log in with the current password in a loop while the
/// owner resets it through a Cloudreve link, three times over; afterwards every token any
/// of them got is inactive, however the logins and the reset interleaved.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn security_21_no_session_opened_with_the_old_password_survives_a_reset(
    #[case] backend: Backend,
) {
    // Logins that lose the race fail: no limit must stop the loops.
    let Some(server) = TestServer::start_with(backend, |c| {
        c.security.rate_limits = resetd::config::Switch::Off;
    })
    .await
    else {
        return;
    };
    let ann = server.create_user(ANN, OLD_PASSWORD).await;
    let mut password = OLD_PASSWORD.to_owned();
    for round in 0..3 {
        let code = recovery(&server, &ann.id, Dialect::Cloudreve).await.code;
        let next = format!("Raced-passw0rd-{round}");
        let resetting = AtomicBool::new(true);
        let logins = (0..8).map(|_| async {
            let mut tokens = Vec::new();
            while resetting.load(Ordering::SeqCst) {
                if let Some(session) = server.login(ANN, &password).await {
                    tokens.push(session.access_token);
                    tokens.push(session.refresh_token);
                }
            }
            tokens
        });
        let reset = async {
            // Let the logins get going first, so some are between their password check
            // and their session when the reset commits.
            tokio::time::sleep(Duration::from_millis(30)).await;
            let answer = redeem_with(
                &server,
                Dialect::Cloudreve,
                (ANN, &ann.id),
                &code,
                &next,
                None,
            )
            .await;
            resetting.store(false, Ordering::SeqCst);
            answer
        };
        let (tokens, answer) =
            futures_util::future::join(futures_util::future::join_all(logins), reset).await;
        assert_redeemed(Dialect::Cloudreve, &answer);
        let tokens: Vec<String> = tokens.into_iter().flatten().collect();
        assert!(
            !tokens.is_empty(),
            "round {round}: no login got in before the reset"
        );
        let mut alive = 0;
        for token in &tokens {
            if server.introspect(token).await.active {
                alive += 1;
            }
        }
        assert_eq!(
            alive,
            0,
            "round {round}: {alive} of {} tokens opened with the old password are still active",
            tokens.len()
        );
        assert!(server.login(ANN, &password).await.is_none());
        assert!(server.login(ANN, &next).await.is_some());
        password = next;
    }
    server.stop().await;
}

// ---- 22 -----------------------------------------------------------------------------------

/// Statuses of `answers`, counted.
fn statuses(answers: &[Answer]) -> BTreeMap<u16, usize> {
    let mut counted = BTreeMap::new();
    for answer in answers {
        *counted.entry(answer.status).or_insert(0) += 1;
    }
    counted
}

/// A wrong `/v1/login` for `email`, as if forwarded for `client`.
async fn wrong_login(server: &TestServer, email: &str, client: &str) -> Answer {
    let body = serde_json::json!({ "email": email, "password": "Not-the-passw0rd" });
    send(
        server,
        reqwest::Method::POST,
        "/v1/login",
        body,
        Some(client),
    )
    .await
}

/// Item 22: failure limits hold however many attempts arrive at once, because each attempt
/// takes its unit of the allowance before it is judged. The bound is exact: of hundreds of
/// concurrent wrong attempts, exactly the limit are judged (no overshoot), the rest are
/// refused with 429 before any password or token work. Shown for failed logins from one IP
/// (limit 10), failed logins for one account from as many IPs (limit 20, NIST SP 800-63B),
/// and failed redemptions from one IP (limit 10).
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn security_22_failure_limits_hold_under_concurrency(#[case] backend: Backend) {
    let Some(owned) = TestServer::start_with(backend, |c| {
        c.security.trusted_proxies = vec!["127.0.0.1/32".parse().expect("network")];
    })
    .await
    else {
        return;
    };
    let server = &owned;
    let security = &server.config.security;
    let (per_ip, per_account) = (
        security.ip_failed_redemptions_per_window as usize,
        security.account_failed_logins_per_window as usize,
    );
    server.create_user(ANN, OLD_PASSWORD).await;

    // 200 wrong logins at once from one IP, each for another email.
    let flood = (0..200).map(|n| {
        let email = format!("nobody-{n}@example.com");
        async move { wrong_login(server, &email, "203.0.113.1").await }
    });
    let answers = futures_util::future::join_all(flood).await;
    assert_eq!(
        statuses(&answers),
        BTreeMap::from([(401, per_ip), (429, 200 - per_ip)]),
        "one IP"
    );

    // 200 wrong logins at once for Ann, each from another IP.
    let flood = (0..200)
        .map(|n| async move { wrong_login(server, ANN, &format!("198.51.100.{}", n + 1)).await });
    let answers = futures_util::future::join_all(flood).await;
    assert_eq!(
        statuses(&answers),
        BTreeMap::from([(401, per_account), (429, 200 - per_account)]),
        "one account"
    );
    // Past the account's limit its password is not even checked, from anywhere: the price
    // of the limit, until the window ends.
    let body = serde_json::json!({ "email": ANN, "password": OLD_PASSWORD });
    let right = send(
        server,
        reqwest::Method::POST,
        "/v1/login",
        body,
        Some("192.0.2.77"),
    )
    .await;
    assert_eq!(right.status, 429);
    advance_to(server, server.clock.now_ms() + 15 * 60_000);
    assert!(server.login(ANN, OLD_PASSWORD).await.is_some());

    // 100 made-up Strapi codes at once from one IP.
    let flood = (0..100).map(|n| async move {
        let code = made_up_secret(Dialect::Strapi, n);
        redeem_with(
            server,
            Dialect::Strapi,
            (ANN, ""),
            &code,
            NEW_PASSWORD,
            Some("203.0.113.2"),
        )
        .await
    });
    let answers = futures_util::future::join_all(flood).await;
    assert_eq!(
        statuses(&answers),
        BTreeMap::from([(400, per_ip), (429, 100 - per_ip)]),
        "redemptions from one IP"
    );
    owned.stop().await;
}

// ---- 25 -----------------------------------------------------------------------------------

/// Item 25: a token no server could have issued (wrong length or alphabet, empty, a NUL, 5,000
/// characters) or a Cloudreve account id no account can have (2,000 characters) is refused
/// like any wrong token, and writes nothing: no audit row, no failure counted against the
/// account's live token or against the client IP (SECURITY.md 18).
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn security_25_a_token_that_cannot_be_well_formed_writes_nothing(#[case] backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let ann = server.create_user(ANN, OLD_PASSWORD).await;
    let store = server.store().await;
    let mut live = Vec::new();
    for dialect in DIALECTS {
        live.push((dialect, recovery(&server, &ann.id, dialect).await.code));
    }
    let audit_before = store.list_audit(1_000).await.expect("audit");
    let mut sent = 0;
    for (dialect, code) in &live {
        let mut wrong_alphabet: Vec<char> = made_up_secret(*dialect, 7).chars().collect();
        wrong_alphabet[0] = '!';
        let malformed = [
            "a".repeat(5_000),
            String::new(),
            "\0".to_owned(),
            wrong_alphabet.into_iter().collect(),
            format!("{code}0"),
        ];
        for token in &malformed {
            let answer =
                redeem_with(&server, *dialect, (ANN, &ann.id), token, NEW_PASSWORD, None).await;
            assert!(answer.status < 500, "{dialect:?}: {}", answer.status);
            assert!(!dialect.is_redeemed(&answer), "{dialect:?}");
            sent += 1;
        }
    }
    let long_id = "x".repeat(2_000);
    let code = &live[2].1;
    assert_eq!(live[2].0, Dialect::Cloudreve);
    let answer = redeem_with(
        &server,
        Dialect::Cloudreve,
        (ANN, &long_id),
        code,
        NEW_PASSWORD,
        None,
    )
    .await;
    assert!(!Dialect::Cloudreve.is_redeemed(&answer));
    sent += 1;
    assert!(sent > server.config.security.ip_failed_redemptions_per_window as usize);

    assert_eq!(store.list_audit(1_000).await.expect("audit"), audit_before);
    for (dialect, code) in &live {
        let row = store
            .find_reset_token(dialect.name(), &reset_hash(&server, *dialect, code))
            .await
            .expect("lookup")
            .expect("the token is there");
        assert_eq!(row.failed_attempts, 0, "{dialect:?}");
        assert_eq!(row.used_at, None, "{dialect:?}");
    }
    // Nothing counted against the IP either: a well-formed guess is still judged.
    let guess = made_up_secret(Dialect::Strapi, 1);
    let answer = redeem_with(
        &server,
        Dialect::Strapi,
        (ANN, ""),
        &guess,
        NEW_PASSWORD,
        None,
    )
    .await;
    assert_invalid_secret(Dialect::Strapi, &answer);
    server.stop().await;
}

// ---- 24 -----------------------------------------------------------------------------------

/// `n` code points cycling through `pattern`.
fn cycled(pattern: &str, n: usize) -> String {
    pattern.chars().cycle().take(n).collect()
}

/// Issue 13 item 24: in every dialect, a new password that has a control character (C0,
/// DEL, C1; alone or inside an otherwise good password), no visible character (only
/// spaces and/or combining marks) or a single character repeated is refused in the
/// dialect's own password-refusal form, however long it is; the refusal consumes nothing:
/// the emailed token then sets a good password.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn security_24_weak_passwords_are_refused_in_every_dialect(#[case] backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    for dialect in DIALECTS {
        let email = format!("{}@example.com", dialect.name());
        let user = server.create_user(&email, OLD_PASSWORD).await;
        let secret = emailed_secret(&server, dialect, &email).await;
        // Long enough for every dialect's minimum, so length is never the reason.
        let n = dialect.password_rule().min.max(10);
        let weak: Vec<(String, &str)> = vec![
            (" ".repeat(n), "visible"),
            (cycled(" \u{a0}\u{3000}\u{2003}", n), "visible"),
            ("\u{301}".repeat(n), "visible"),
            (cycled("\u{301}\u{308}\u{20dd}", n), "visible"),
            (cycled(" \u{301}", n), "visible"),
            ("\0".repeat(n), "control"),
            (cycled("\t\n\r", n), "control"),
            (cycled("\u{7f}\u{85}\u{9f}", n), "control"),
            (format!("Aa{}", "\0".repeat(n)), "control"),
            (format!("{NEW_PASSWORD}\0"), "control"),
            ("New-pass\nw0rd-2".to_owned(), "control"),
            ("New-passw0rd\u{85}-2".to_owned(), "control"),
            ("a".repeat(n), "repeated"),
            ("Z".repeat(n), "repeated"),
            ("😀".repeat(n), "repeated"),
        ];
        for (password, why) in &weak {
            let answer = redeem_with(
                &server,
                dialect,
                (&email, &user.id),
                &secret,
                password,
                None,
            )
            .await;
            let message = assert_password_refused(dialect, &answer);
            assert!(
                message.contains(why),
                "{dialect:?}: {password:?} refused with {message:?}, expected {why:?}"
            );
        }
        assert!(
            server.login(&email, OLD_PASSWORD).await.is_some(),
            "{dialect:?}: nothing changed"
        );
        reset_and_log_in(&server, dialect, (&email, &user.id), &secret, NEW_PASSWORD).await;
    }
    server.stop().await;
}

// ---- 26 -----------------------------------------------------------------------------------

/// `POST /v1/introspect` of `token`, with `authorization` as the header if any.
async fn introspect_as(server: &TestServer, authorization: Option<&str>, token: &str) -> Answer {
    let headers: Vec<(&str, &str)> = authorization
        .map(|value| ("authorization", value))
        .into_iter()
        .collect();
    send_with_headers(
        server,
        reqwest::Method::POST,
        "/v1/introspect",
        serde_json::json!({ "token": token }),
        &headers,
    )
    .await
}

/// Issue 13 item 26 (RFC 7662 §2.1): introspection tells who a token belongs to, so it
/// needs its own bearer token. Without `introspection.token` the endpoint answers 404 to
/// everyone; with it, a missing, malformed or wrong bearer (the admin token too) gets 401 in
/// resetd's error form, telling nothing of the token; the right one gets the answer.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn security_26_introspection_needs_its_own_bearer_token(#[case] backend: Backend) {
    let right = format!("Bearer {INTROSPECTION_TOKEN}");
    let admin = format!("Bearer {ADMIN_TOKEN}");
    let Some(server) = TestServer::start_with(backend, |c| c.introspection.token = None).await
    else {
        return;
    };
    server.create_user(ANN, OLD_PASSWORD).await;
    let session = server.login(ANN, OLD_PASSWORD).await.expect("Ann logs in");
    for authorization in [None, Some(right.as_str()), Some(admin.as_str())] {
        let answer = introspect_as(&server, authorization, &session.access_token).await;
        assert_eq!(
            (answer.status, answer.json()),
            (
                404,
                serde_json::json!({ "code": 404, "message": "Not Found" })
            ),
            "{authorization:?}"
        );
    }
    server.stop().await;

    let server = TestServer::start(backend)
        .await
        .expect("the backend is here");
    let user = server.create_user(ANN, OLD_PASSWORD).await;
    let session = server.login(ANN, OLD_PASSWORD).await.expect("Ann logs in");
    let wrong = [
        None,
        Some("Bearer wrong-token".to_owned()),
        Some(admin),
        Some(INTROSPECTION_TOKEN.to_owned()),
        Some(format!("Basic {INTROSPECTION_TOKEN}")),
        Some(format!("Bearer {INTROSPECTION_TOKEN}x")),
        Some(format!("Bearer {}", &INTROSPECTION_TOKEN[1..])),
        Some("Bearer ".to_owned()),
    ];
    for authorization in &wrong {
        for token in [session.access_token.as_str(), "no-such-token"] {
            let answer = introspect_as(&server, authorization.as_deref(), token).await;
            assert_eq!(
                (answer.status, answer.json()),
                (
                    401,
                    serde_json::json!({ "code": 401, "message": "unauthorized" })
                ),
                "{authorization:?}"
            );
        }
    }
    let answer = introspect_as(&server, Some(&right), &session.access_token).await;
    let json = answer.json();
    assert_eq!(answer.status, 200, "{json}");
    assert_eq!(json["active"], true, "{json}");
    assert_eq!(json["sub"], user.id.as_str(), "{json}");
    let answer = introspect_as(&server, Some(&right), "no-such-token").await;
    assert_eq!(
        (answer.status, answer.json()),
        (200, serde_json::json!({ "active": false }))
    );
    server.stop().await;
}

/// `POST /v1/login` for Ann with `client_id` and `scope` (`None`: left out).
async fn login_as(
    server: &TestServer,
    password: &str,
    client_id: Option<&str>,
    scope: Option<&str>,
) -> Answer {
    let mut body = serde_json::json!({ "email": ANN, "password": password });
    if let Some(client_id) = client_id {
        body["client_id"] = client_id.into();
    }
    if let Some(scope) = scope {
        body["scope"] = scope.into();
    }
    send_with_headers(server, reqwest::Method::POST, "/v1/login", body, &[]).await
}

/// How many argon2id verifications the server has made (its metrics).
async fn verifications(server: &TestServer) -> u64 {
    let text = reqwest::Client::new()
        .get(format!("{}/metrics", server.base_url))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("body");
    let line = text
        .lines()
        .find(|l| l.starts_with("resetd_argon2_duration_seconds_count{operation=\"verify\"}"))
        .unwrap_or_else(|| panic!("no verification count in {text}"));
    line.rsplit(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a count")
}

/// Issue 13 item 26 (RFC 6749 §3.3, §5.2): `/v1/login` issues sessions only to the
/// configured clients and scopes. An unknown `client_id` gets 401 `invalid_client`, a scope
/// the client may not have 400 `invalid_scope`, both before any password work (no argon2
/// verification, not even for the right password); an
/// allowed scope is granted, and introspection shows exactly the client and what was
/// granted. A login naming neither still gets the built-in client `resetd` and `openid`.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn security_26_login_issues_only_configured_clients_and_scopes(#[case] backend: Backend) {
    let Some(server) = TestServer::start_with(backend, |c| {
        c.metrics.token = Some(resetd::config::Secret::new(METRICS_TOKEN));
        for (id, scopes) in [("my-app", &["read", "write"][..]), ("reports", &["read"])] {
            c.sessions.clients.push(resetd::config::ClientConfig {
                id: id.to_owned(),
                scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            });
        }
    })
    .await
    else {
        return;
    };
    let user = server.create_user(ANN, OLD_PASSWORD).await;
    let verified_before = verifications(&server).await;

    let unknown_clients = ["evil-app", "My-App", "my-app ", "", "resetd2"];
    for client_id in unknown_clients {
        for password in [OLD_PASSWORD, "wrong-password"] {
            let answer = login_as(&server, password, Some(client_id), Some("read")).await;
            let json = answer.json();
            assert_eq!(
                (answer.status, &json["code"]),
                (401, &serde_json::json!(401))
            );
            let message = json["message"].as_str().expect("a message");
            assert!(
                message.starts_with("invalid_client"),
                "{client_id:?}: {json}"
            );
            assert!(!message.contains(OLD_PASSWORD), "{json}");
        }
    }
    let refused_scopes = [
        (Some("my-app"), "admin"),
        (Some("my-app"), "read admin"),
        (Some("my-app"), "READ"),
        (Some("my-app"), ""),
        (Some("my-app"), "   "),
        (Some("reports"), "write"),
        (Some("resetd"), "read"),
        (None, "read"),
        (None, "openid read"),
    ];
    for (client_id, scope) in refused_scopes {
        let answer = login_as(&server, OLD_PASSWORD, client_id, Some(scope)).await;
        let json = answer.json();
        assert_eq!(
            (answer.status, &json["code"]),
            (400, &serde_json::json!(400))
        );
        let message = json["message"].as_str().expect("a message");
        assert!(
            message.starts_with("invalid_scope"),
            "{client_id:?} {scope:?}: {json}"
        );
    }
    assert_eq!(
        verifications(&server).await,
        verified_before,
        "a refused client or scope costs no argon2 verification"
    );

    let granted = [
        (Some("my-app"), Some("read"), "my-app", "read"),
        (Some("my-app"), Some("write read"), "my-app", "write read"),
        (Some("my-app"), Some("read read"), "my-app", "read"),
        (Some("my-app"), None, "my-app", "read write"),
        (Some("reports"), Some("read"), "reports", "read"),
        (None, None, "resetd", "openid"),
        (None, Some("openid"), "resetd", "openid"),
    ];
    for (client_id, scope, expected_client, expected_scope) in granted {
        let answer = login_as(&server, OLD_PASSWORD, client_id, scope).await;
        let json = answer.json();
        assert_eq!(answer.status, 200, "{client_id:?} {scope:?}: {json}");
        assert_eq!(json["scope"], expected_scope, "{client_id:?} {scope:?}");
        let access = json["access_token"].as_str().expect("a token");
        let seen = server.introspect(access).await;
        assert!(seen.active);
        assert_eq!(seen.sub.as_deref(), Some(user.id.as_str()));
        assert_eq!(seen.client_id.as_deref(), Some(expected_client));
        assert_eq!(seen.scope.as_deref(), Some(expected_scope));
    }
    // A known client still needs the right password.
    let answer = login_as(&server, "wrong-password", Some("my-app"), Some("read")).await;
    assert_eq!(
        (answer.status, answer.json()),
        (
            401,
            serde_json::json!({ "code": 401, "message": "invalid email or password" })
        )
    );
    server.stop().await;
}

// ---- 27-29: HTTP hygiene ----------------------------------------------------------------

/// `answer` refuses a body in `dialect`'s own form: the envelope dialects with HTTP 200 and
/// their "bad parameters" code, the others with `status` and their error body.
fn assert_body_refused(dialect: Dialect, answer: &Answer, status: u16, what: &str) {
    let json = answer.json();
    let refused = match dialect {
        Dialect::Ipcola => answer.status == 200 && json["meta_status"] == -1,
        Dialect::Cloudreve => answer.status == 200 && json["code"] == 40001,
        Dialect::Strapi => answer.status == status && json["code"] == status,
        Dialect::Selfcommunity => {
            answer.status == status && json["detail"].is_string() && json["code"].is_string()
        }
    };
    assert!(refused, "{dialect:?} {what}: {answer:?}");
}

/// 29: a body is read only when it is sent as `application/json` and is a JSON object. A
/// plain cross-site form (`text/plain`, urlencoded, multipart: no CORS preflight) or a
/// request without a `Content-Type` gets 415 (in the envelope for IPCola and Cloudreve), a
/// JSON array where an object is expected 400, and neither starts a reset or a session.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn security_29_bodies_are_read_only_as_json_objects(#[case] backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    server.create_user(ANN, OLD_PASSWORD).await;
    let not_json = [
        None,
        Some("text/plain"),
        Some("text/plain; charset=utf-8"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("application/merge-patch+json"),
    ];
    for dialect in DIALECTS {
        let (path, body) = reset_request(dialect, ANN);
        for content_type in not_json {
            let answer = post_raw(&server, path, content_type, body.to_string()).await;
            assert_body_refused(dialect, &answer, 415, &format!("{content_type:?}"));
        }
        // The same request as an array, in the field order a derived struct would accept.
        let array = match dialect {
            Dialect::Ipcola => serde_json::json!([null, null, ANN, "ipcola"]),
            Dialect::Cloudreve => serde_json::json!([null, ANN, null]),
            Dialect::Strapi | Dialect::Selfcommunity => serde_json::json!([ANN]),
        };
        let answer = post_raw(&server, path, Some("application/json"), array.to_string()).await;
        assert_body_refused(dialect, &answer, 400, "array");
        assert!(answer.body.contains("expected a JSON object"), "{answer:?}");
    }

    let login = serde_json::json!({ "email": ANN, "password": OLD_PASSWORD }).to_string();
    for content_type in not_json {
        let answer = post_raw(&server, "/v1/login", content_type, login.clone()).await;
        assert_eq!(
            (answer.status, answer.json()["code"].clone()),
            (415, 415.into())
        );
        assert!(!answer.body.contains("access_token"), "{answer:?}");
    }
    let array = serde_json::json!([null, ANN, OLD_PASSWORD, null]).to_string();
    let answer = post_raw(&server, "/v1/login", Some("application/json"), array).await;
    assert_eq!(answer.status, 400, "{answer:?}");

    // Nothing above reached the core: no reset was queued, no mail written.
    queue_drained(&server).await;
    let store = server.store().await;
    let outbox = store.list_outbox(None).await.expect("outbox");
    assert!(outbox.is_empty(), "{} messages written", outbox.len());

    // The real thing, with a charset parameter, is read.
    let answer = post_raw(
        &server,
        "/v1/login",
        Some("Application/JSON; charset=utf-8"),
        login,
    )
    .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    server.stop().await;
}

/// Reads one HTTP/1.1 answer (or what arrives before the server closes) from `stream`,
/// giving up at `deadline`: the text, and whether the connection was closed after it.
async fn read_answer(
    stream: &mut (impl tokio::io::AsyncRead + Unpin),
    deadline: Instant,
) -> (String, bool) {
    use tokio::io::AsyncReadExt as _;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&got).into_owned(), true),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => return (String::from_utf8_lossy(&got).into_owned(), false),
        }
    }
}

/// The status code of the first answer in `text` (`HTTP/1.1 408 ...`).
fn first_status(text: &str) -> Option<u16> {
    text.split(' ').nth(1)?.parse().ok()
}

/// 28: a client that trickles its body (one byte every 100 ms) is answered 408 in the
/// dialect's form and cut off once `security.body_read_timeout_ms` has passed, while other
/// clients are served meanwhile.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn security_28_a_trickled_body_is_cut_off_after_the_read_timeout(#[case] backend: Backend) {
    use tokio::io::AsyncWriteExt as _;
    const TIMEOUT_MS: u64 = 500;
    let Some(server) = TestServer::start_with(backend, |config| {
        config.security.body_read_timeout_ms = TIMEOUT_MS;
    })
    .await
    else {
        return;
    };
    server.create_user(ANN, OLD_PASSWORD).await;
    let body = serde_json::json!({ "email": ANN, "password": OLD_PASSWORD }).to_string();
    for path in ["/v1/login", "/auth/forgot-password"] {
        let stream = tokio::net::TcpStream::connect(server.addr)
            .await
            .expect("connect");
        let (mut reader, mut writer) = stream.into_split();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: resetd\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n",
            body.len()
        );
        writer.write_all(head.as_bytes()).await.expect("headers");
        let started = Instant::now();
        // One byte every 100 ms: the whole body would take several seconds.
        let bytes = body.clone().into_bytes();
        let trickle = tokio::spawn(async move {
            for byte in bytes {
                tokio::time::sleep(Duration::from_millis(100)).await;
                if writer.write_all(&[byte]).await.is_err() {
                    return;
                }
            }
        });

        // Meanwhile another client is served at once.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let asked = Instant::now();
        assert!(server.login(ANN, OLD_PASSWORD).await.is_some());
        assert!(
            asked.elapsed() < Duration::from_secs(2),
            "{:?}",
            asked.elapsed()
        );

        let (answer, closed) = read_answer(&mut reader, started + Duration::from_secs(5)).await;
        let took = started.elapsed();
        assert_eq!(first_status(&answer), Some(408), "{path}: {answer:?}");
        assert!(closed, "{path}: the connection is closed after the 408");
        assert!(
            took >= Duration::from_millis(TIMEOUT_MS)
                && took < Duration::from_millis(TIMEOUT_MS + 1500),
            "{path}: cut off after {took:?}"
        );
        let json: serde_json::Value = answer
            .split("\r\n\r\n")
            .nth(1)
            .and_then(|body| serde_json::from_str(body).ok())
            .unwrap_or_else(|| panic!("{path}: a JSON error body: {answer:?}"));
        assert_eq!(
            json["code"], 408,
            "{path}: the dialect's error form: {json}"
        );
        trickle.abort();
    }
    server.stop().await;
}

/// 28: `Expect: 100-continue` with a declared length over `security.max_body_bytes` is
/// refused (413, the envelope dialects' bad-parameters envelope) before the body is read,
/// so the client is never told `100 Continue` and never sends the body.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn security_28_expect_continue_over_the_body_limit_gets_413_not_100(
    #[case] backend: Backend,
) {
    use tokio::io::AsyncWriteExt as _;
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let mut paths: Vec<(Option<Dialect>, &str)> = DIALECTS
        .iter()
        .map(|d| (Some(*d), reset_request(*d, ANN).0))
        .collect();
    paths.push((None, "/v1/login"));
    for (dialect, path) in paths {
        let mut stream = tokio::net::TcpStream::connect(server.addr)
            .await
            .expect("connect");
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: resetd\r\nContent-Type: application/json\r\n\
             Content-Length: 20000000\r\nExpect: 100-continue\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).await.expect("headers");
        let (answer, _) = read_answer(&mut stream, Instant::now() + Duration::from_secs(3)).await;
        assert!(!answer.contains(" 100 "), "{path}: {answer:?}");
        let status = first_status(&answer);
        let json: Option<serde_json::Value> = answer
            .split("\r\n\r\n")
            .nth(1)
            .and_then(|body| serde_json::from_str(body).ok());
        let json = json.unwrap_or_else(|| panic!("{path}: a JSON answer: {answer:?}"));
        match dialect {
            Some(Dialect::Ipcola) => assert_eq!(
                (status, json["meta_status"].clone()),
                (Some(200), (-1).into())
            ),
            Some(Dialect::Cloudreve) => {
                assert_eq!((status, json["code"].clone()), (Some(200), 40001.into()))
            }
            Some(Dialect::Selfcommunity) => assert_eq!(status, Some(413), "{answer:?}"),
            Some(Dialect::Strapi) | None => {
                assert_eq!((status, json["code"].clone()), (Some(413), 413.into()))
            }
        }
    }
    server.stop().await;
}

/// hyper's header read timeout, which dropshot 0.18 leaves at its default and gives no way
/// to set: a connection that has not sent a whole request head this long after it opened,
/// or after its last answer, is closed.
const HYPER_HEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// 28: a client that trickles its request head (a header byte a second) and a keep-alive
/// connection left idle after its answer are both closed once hyper's header timeout has
/// passed, while other clients are served meanwhile. The store plays no part, so one
/// backend shows it.
#[tokio::test(flavor = "multi_thread")]
async fn security_28_trickled_headers_and_idle_connections_are_closed_after_30_s() {
    use tokio::io::AsyncWriteExt as _;
    let Some(server) = TestServer::start(Backend::Sqlite).await else {
        return;
    };
    let trickled = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    let trickle_started = Instant::now();
    let (mut trickled_reader, mut trickled_writer) = trickled.into_split();
    let trickle = tokio::spawn(async move {
        let head = b"GET /healthz HTTP/1.1\r\nHost: resetd\r\nX-Slow: ";
        if trickled_writer.write_all(head).await.is_err() {
            return;
        }
        // Never ends the header: the head is never complete.
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if trickled_writer.write_all(b"a").await.is_err() {
                return;
            }
        }
    });

    let mut idle = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: resetd\r\n\r\n")
        .await
        .expect("request");
    let idle_since = Instant::now();

    // Other clients are served at once, again and again, while both are held.
    let client = reqwest::Client::new();
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let asked = Instant::now();
        let answer = client
            .get(format!("http://{}/healthz", server.addr))
            .send()
            .await
            .expect("health");
        assert_eq!(answer.status(), 200);
        assert!(
            asked.elapsed() < Duration::from_secs(2),
            "{:?}",
            asked.elapsed()
        );
    }

    let limit = HYPER_HEADER_TIMEOUT + Duration::from_secs(10);
    let (answer, idle_closed) = read_answer(&mut idle, idle_since + limit).await;
    let idle_took = idle_since.elapsed();
    assert_eq!(first_status(&answer), Some(200), "{answer:?}");
    assert!(
        idle_closed,
        "the idle connection is still open after {idle_took:?}"
    );
    assert!(
        idle_took >= HYPER_HEADER_TIMEOUT - Duration::from_secs(1),
        "the idle connection was closed early, after {idle_took:?}"
    );

    let (_, trickle_closed) = read_answer(&mut trickled_reader, trickle_started + limit).await;
    let trickle_took = trickle_started.elapsed();
    assert!(
        trickle_closed,
        "the trickling connection is still open after {trickle_took:?}"
    );
    assert!(
        trickle_took >= HYPER_HEADER_TIMEOUT - Duration::from_secs(1),
        "the trickling connection was closed early, after {trickle_took:?}"
    );
    trickle.abort();
    server.stop().await;
}

/// 27: every answer that carries a token or a reset code (`/v1/login`, Strapi's and
/// SelfCommunity's resets, which log the user in, and the admin API's recovery code) tells
/// caches not to keep it: `Cache-Control: no-store` and `Pragma: no-cache` (RFC 6749 §5.1).
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn security_27_token_answers_carry_cache_control_no_store(#[case] backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let user = server.create_user(ANN, OLD_PASSWORD).await;
    let bearer = format!("Bearer {}", support::ADMIN_TOKEN);
    let mut answers = vec![(
        "login",
        send_with_headers(
            &server,
            reqwest::Method::POST,
            "/v1/login",
            serde_json::json!({ "email": ANN, "password": OLD_PASSWORD }),
            &[],
        )
        .await,
    )];
    for (dialect, password) in [
        (Dialect::Strapi, NEW_PASSWORD),
        (Dialect::Selfcommunity, "Third-passw0rd-3"),
    ] {
        let issued = send_with_headers(
            &server,
            reqwest::Method::POST,
            &format!("/admin/users/{}/recovery", user.id),
            serde_json::json!({ "dialect": dialect.name() }),
            &[("authorization", bearer.as_str())],
        )
        .await;
        let code = issued.json()["code"]
            .as_str()
            .expect("a recovery code")
            .to_owned();
        answers.push(("admin recovery", issued));
        let redeemed = redeem_with(&server, dialect, (ANN, &user.id), &code, password, None).await;
        answers.push((dialect.name(), redeemed));
    }
    for (what, answer) in &answers {
        assert_eq!(answer.status, 200, "{what}: {answer:?}");
        assert_eq!(
            answer.headers.get("cache-control").map(|v| v.as_bytes()),
            Some(&b"no-store"[..]),
            "{what}: {answer:?}"
        );
        assert_eq!(
            answer.headers.get("pragma").map(|v| v.as_bytes()),
            Some(&b"no-cache"[..]),
            "{what}: {answer:?}"
        );
    }
    server.stop().await;
}

/// Checks the `Retry-After` of a 429 that a limit with a window of `window_secs` answered
/// between `before` and `after` (the server's clock, ms): an integer from 1 to the window,
/// and exactly the rest of the window the request was refused in.
fn assert_retry_after(what: &str, answer: &Answer, window_secs: i64, (before, after): (i64, i64)) {
    assert_eq!(answer.status, 429, "{what}: {answer:?}");
    let secs: i64 = answer
        .headers
        .get("retry-after")
        .unwrap_or_else(|| panic!("{what}: a 429 without Retry-After: {answer:?}"))
        .to_str()
        .expect("ASCII")
        .parse()
        .unwrap_or_else(|_| panic!("{what}: Retry-After is not an integer: {answer:?}"));
    assert!(
        (1..=window_secs).contains(&secs),
        "{what}: Retry-After {secs}"
    );
    let window_ms = window_secs * 1_000;
    let end = before - before % window_ms + window_ms;
    assert!(after < end, "{what}: the window ended while the test ran");
    let (least, most) = ((end - after + 999) / 1_000, (end - before + 999) / 1_000);
    assert!(
        (least..=most).contains(&secs),
        "{what}: Retry-After {secs}, the window ends in {least}..={most} s"
    );
}

/// SECURITY 27 (issue 13): every 429 says when to try again: `Retry-After`, the seconds until
/// the window of the limit that refused the request ends (RFC 6585 §4) — reset requests
/// (Strapi, SelfCommunity: the per-IP request limit), redemptions (the per-IP failure
/// limit) and `/v1/login` (the per-IP and the per-account failure limits, each its own
/// window). IPCola and Cloudreve refuse inside their HTTP 200 envelope, as the originals
/// do; they send no `Retry-After` (an HTTP 200 is not retried and their clients read the
/// envelope).
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn security_27_too_many_requests_answers_say_when_to_retry(#[case] backend: Backend) {
    const REQUEST_WINDOW: i64 = 60;
    const FAILED_WINDOW: i64 = 15 * 60;
    const ACCOUNT_LOGIN_WINDOW: i64 = 5 * 60;
    let Some(server) = TestServer::start_with(backend, |c| {
        c.security.trusted_proxies = vec!["127.0.0.1/32".parse().expect("network")];
        c.security.ip_requests_per_window = 1;
        c.security.ip_failed_redemptions_per_window = 1;
        c.security.account_failed_logins_per_window = 1;
        c.security.account_failed_window_secs = 5 * 60;
    })
    .await
    else {
        return;
    };
    let user = server.create_user(ANN, OLD_PASSWORD).await;
    // 10 s into a fresh 15-minute window, which every shorter window here divides.
    let now = server.clock.now_ms();
    let long = FAILED_WINDOW * 1_000;
    advance_to(&server, now - now % long + long + 10_000);
    let clock = || server.clock.now_ms();

    // Each dialect and step from its own address, so that only the limit under test trips.
    for (n, dialect) in DIALECTS.into_iter().enumerate() {
        let ip = format!("198.51.100.{}", n + 1);
        let first = request_reset(&server, dialect, &format!("r{n}@example.com"), Some(&ip)).await;
        assert_accepted(dialect, &first);
        let before = clock();
        let refused =
            request_reset(&server, dialect, &format!("s{n}@example.com"), Some(&ip)).await;
        let after = clock();
        assert_too_many(dialect, &refused);
        let what = format!("{} request", dialect.name());
        match dialect {
            Dialect::Strapi | Dialect::Selfcommunity => {
                assert_retry_after(&what, &refused, REQUEST_WINDOW, (before, after));
            }
            Dialect::Ipcola | Dialect::Cloudreve => {
                assert!(
                    refused.headers.get("retry-after").is_none(),
                    "{what}: {refused:?}"
                );
            }
        }

        let ip = format!("198.51.100.{}", n + 11);
        let guess = |k| made_up_secret(dialect, k);
        let who = (ANN, user.id.as_str());
        let first = redeem_with(&server, dialect, who, &guess(1), NEW_PASSWORD, Some(&ip)).await;
        assert_invalid_secret(dialect, &first);
        let before = clock();
        let refused = redeem_with(&server, dialect, who, &guess(2), NEW_PASSWORD, Some(&ip)).await;
        let after = clock();
        assert_too_many(dialect, &refused);
        let what = format!("{} redemption", dialect.name());
        match dialect {
            Dialect::Strapi | Dialect::Selfcommunity => {
                assert_retry_after(&what, &refused, FAILED_WINDOW, (before, after));
            }
            Dialect::Ipcola | Dialect::Cloudreve => {
                assert!(
                    refused.headers.get("retry-after").is_none(),
                    "{what}: {refused:?}"
                );
            }
        }
    }

    // `/v1/login`: the IP's failure limit refuses the second attempt from one address, the
    // account's (its own, shorter window) the next attempt from another.
    let login = |ip: &'static str| {
        let server = &server;
        async move {
            let body = serde_json::json!({ "email": ANN, "password": "Wrong-passw0rd-9" });
            send(server, reqwest::Method::POST, "/v1/login", body, Some(ip)).await
        }
    };
    assert_eq!(login("198.51.100.21").await.status, 401);
    let before = clock();
    let refused = login("198.51.100.21").await;
    let after = clock();
    assert_retry_after("login, IP limit", &refused, FAILED_WINDOW, (before, after));
    let before = clock();
    let refused = login("198.51.100.22").await;
    let after = clock();
    assert_retry_after(
        "login, account limit",
        &refused,
        ACCOUNT_LOGIN_WINDOW,
        (before, after),
    );
    server.stop().await;
}

// ---- the index itself ---------------------------------------------------------------------

/// The test functions named `security_NN_...` in `tests/it/*.rs`, by file.
fn security_tests() -> BTreeMap<String, Vec<String>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it");
    let mut found = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).expect("tests/it/") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("a test file");
        let names: Vec<String> = text
            .lines()
            .filter_map(|line| {
                let line = line.trim_start();
                let line = line.strip_prefix("pub ").unwrap_or(line);
                let line = line.strip_prefix("async ").unwrap_or(line);
                let name = line.strip_prefix("fn ")?;
                let end = name.find(|c: char| !(c.is_alphanumeric() || c == '_'))?;
                let name = &name[..end];
                let number = name.strip_prefix("security_")?.get(..3)?;
                (number.ends_with('_') && number[..2].bytes().all(|b| b.is_ascii_digit()))
                    .then(|| name.to_owned())
            })
            .collect();
        if !names.is_empty() {
            let file = path.file_name().and_then(|n| n.to_str()).expect("name");
            found.insert(file.to_owned(), names);
        }
    }
    found
}

/// Every item of SECURITY.md has at least one test named after it, and the table at the top
/// of this file names every such test.
#[test]
fn security_index_every_item_has_a_test() {
    let tests = security_tests();
    let names: Vec<&String> = tests.values().flatten().collect();
    let mut missing = Vec::new();
    // 1-20: SECURITY.md; 21-29: the second round of issue 13.
    for item in 1..=29 {
        let prefix = format!("security_{item:02}_");
        if !names.iter().any(|n| n.starts_with(&prefix)) {
            missing.push(item);
        }
    }
    assert!(
        missing.is_empty(),
        "security index items without a test: {missing:?}"
    );

    let index =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/security.rs"))
            .expect("this file");
    let table: String = index
        .lines()
        .filter(|l| l.starts_with("//!"))
        .collect::<Vec<_>>()
        .join("\n");
    for (file, names) in &tests {
        if file != "security.rs" {
            assert!(
                table.contains(file.as_str()),
                "the index does not name {file}"
            );
        }
        for name in names {
            assert!(
                table.contains(&format!("`{name}`")),
                "the index does not name {file}: {name}"
            );
        }
    }
}

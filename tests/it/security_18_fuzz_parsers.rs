//! SECURITY.md item 18, fuzzed: the code that takes what a client sends apart — request
//! bodies as dropshot parses them into the generated types, the message a parse failure is
//! answered with, token shapes, email normalization, password rules, `X-Forwarded-For`,
//! and the operator-facing parsers — run against generated input for a bounded time.
//!
//! cargo-fuzz needs a nightly toolchain and this project builds on stable only, so this is
//! the fallback: proptest's generators and shrinking, driven by a clock instead of
//! a case count. `RESETD_FUZZ_SECS` is the total time (default 4 s; `.ci/run` gives it 60),
//! shared equally by the targets; each prints how many cases it ran. A failure prints the
//! shrunk input.

use std::net::IpAddr;
use std::str::FromStr;
use std::time::{Duration, Instant};

use dropshot::HttpError;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};
use serde_json::Value;

use resetd::dialects::client_ip;
use resetd::mail::MailUrl;
use resetd::reset::{email_address, token_format::TokenFormat, Dialect};
use resetd::security::captcha::normalize_answer;
use resetd::security::cidr::Cidr;
use resetd_api::errors::client_message;
use resetd_api::types;

/// Runs `test` on values of `strategy` until `budget` has passed; returns the number of
/// cases. Panics with the shrunk failing value.
fn fuzz<S>(
    name: &str,
    budget: Duration,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) -> u64
where
    S: Strategy,
    S::Value: std::fmt::Debug,
{
    let mut runner = TestRunner::new(Config {
        failure_persistence: None,
        ..Config::default()
    });
    let deadline = Instant::now() + budget;
    let mut cases = 0u64;
    while Instant::now() < deadline {
        let tree = strategy
            .new_tree(&mut runner)
            .unwrap_or_else(|reason| panic!("{name}: cannot generate input: {reason}"));
        match runner.run_one(tree, &test) {
            Ok(_) => cases += 1,
            Err(TestError::Fail(reason, value)) => {
                panic!("{name}: {reason}\nshrunk input: {value:#?}")
            }
            Err(TestError::Abort(reason)) => panic!("{name}: aborted: {reason}"),
        }
    }
    println!("fuzz {name}: {cases} cases in {budget:?}");
    cases
}

/// Parses `body` as dropshot 0.18's `TypedBody` does (`serde_path_to_error` over
/// `serde_json`, its message prefix included), re-serializing what parsed.
fn dropshot_parse<T>(body: &[u8]) -> Result<Vec<u8>, HttpError>
where
    T: serde::de::DeserializeOwned + serde::Serialize,
{
    let de = &mut serde_json::Deserializer::from_slice(body);
    let value: T = serde_path_to_error::deserialize(de)
        .map_err(|e| HttpError::for_bad_request(None, format!("unable to parse JSON body: {e}")))?;
    Ok(serde_json::to_vec(&value).expect("a parsed body serializes"))
}

type Parser = fn(&[u8]) -> Result<Vec<u8>, HttpError>;

/// Every request body type of the merged spec, with its field names.
const BODIES: &[(&str, Parser, &[&str])] = &[
    (
        "IpcolaSendEmailVcodeRequest",
        dropshot_parse::<types::IpcolaSendEmailVcodeRequest>,
        &["email", "user_tag", "captcha", "captcha_id"],
    ),
    (
        "IpcolaResetPasswordRequest",
        dropshot_parse::<types::IpcolaResetPasswordRequest>,
        &["email", "password", "user_tag", "vcode"],
    ),
    (
        "StrapiForgotPasswordRequest",
        dropshot_parse::<types::StrapiForgotPasswordRequest>,
        &["email"],
    ),
    (
        "StrapiResetPasswordRequest",
        dropshot_parse::<types::StrapiResetPasswordRequest>,
        &["code", "password", "passwordConfirmation"],
    ),
    (
        "CloudreveSendResetEmailRequest",
        dropshot_parse::<types::CloudreveSendResetEmailRequest>,
        &["email", "captcha", "ticket"],
    ),
    (
        "CloudreveResetPasswordRequest",
        dropshot_parse::<types::CloudreveResetPasswordRequest>,
        &["password", "secret"],
    ),
    (
        "SelfcommunityRecoverRequest",
        dropshot_parse::<types::SelfcommunityRecoverRequest>,
        &["email"],
    ),
    (
        "SelfcommunityResetRequest",
        dropshot_parse::<types::SelfcommunityResetRequest>,
        &["validation_code", "password"],
    ),
    (
        "ResetdLoginRequest",
        dropshot_parse::<types::ResetdLoginRequest>,
        &["email", "password", "client_id", "scope"],
    ),
    (
        "ResetdIntrospectRequest",
        dropshot_parse::<types::ResetdIntrospectRequest>,
        &["token"],
    ),
    (
        "ResetdCreateUserRequest",
        dropshot_parse::<types::ResetdCreateUserRequest>,
        &["email", "password", "nickname", "status", "language"],
    ),
    (
        "ResetdUpdateUserRequest",
        dropshot_parse::<types::ResetdUpdateUserRequest>,
        &["status", "nickname"],
    ),
    (
        "ResetdRecoveryRequest",
        dropshot_parse::<types::ResetdRecoveryRequest>,
        &["dialect"],
    ),
];

/// Letters no parser message contains on its own: a run of four of them in a message can
/// only have come from a value in the body.
const MARK: &str = "QZXJ";

/// A secret-like string value: runs of marker letters, broken by the characters that end or
/// escape quoted text (`"`, `` ` ``, `\`), Unicode and controls.
fn secret_value() -> impl Strategy<Value = String> {
    let run = proptest::collection::vec(proptest::sample::select(MARK.as_bytes()), 4..12)
        .prop_map(|b| String::from_utf8(b).expect("ASCII"));
    let breaker = prop_oneof![
        Just("\"".to_owned()),
        Just("`".to_owned()),
        Just("\\".to_owned()),
        Just("'".to_owned()),
        Just("\u{0}".to_owned()),
        Just("\n".to_owned()),
        Just("é€😀".to_owned()),
        "[ -~]{0,3}",
    ];
    proptest::collection::vec((run, breaker), 1..5).prop_map(|parts| {
        parts
            .into_iter()
            .map(|(run, breaker)| run + &breaker)
            .collect()
    })
}

/// Any JSON value, secret-like strings included, nested a few levels.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        secret_value().prop_map(Value::String),
        ".{0,20}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z_]{1,8}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A body for `fields`: an object of some of its fields (and a stray one) with any values,
/// any JSON at all, or any bytes.
fn body_for(fields: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    let field = proptest::sample::select(
        fields
            .iter()
            .copied()
            .chain(["unexpected"])
            .collect::<Vec<_>>(),
    );
    let object = proptest::collection::btree_map(field, json_value(), 0..6).prop_map(|m| {
        let map: serde_json::Map<String, Value> =
            m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        serde_json::to_vec(&Value::Object(map)).expect("serializes")
    });
    prop_oneof![
        6 => object,
        2 => json_value().prop_map(|v| serde_json::to_vec(&v).expect("serializes")),
        1 => proptest::collection::vec(any::<u8>(), 0..64),
    ]
}

fn marker_runs(body: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(body);
    text.split(|c: char| !MARK.contains(c))
        .filter(|run| run.len() >= 4)
        .map(str::to_owned)
        .collect()
}

fn budget_per_target(targets: u32) -> Duration {
    let secs = std::env::var("RESETD_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(4.0);
    Duration::from_secs_f64(secs.max(0.1)) / targets
}

#[test]
fn security_18_fuzz_parsers_for_a_bounded_time() {
    const TARGETS: u32 = 7;
    let budget = budget_per_target(TARGETS);
    let mut total = 0;

    // Request bodies: whatever fails to parse is answered with a message that quotes no
    // value from the body (they may be passwords); whatever parses survives a round trip.
    total += fuzz(
        "request_bodies",
        budget,
        (0..BODIES.len()).prop_flat_map(|i| (Just(i), body_for(BODIES[i].2))),
        |(i, body)| {
            let (name, parse, _) = BODIES[i];
            match parse(&body) {
                Ok(json) => {
                    let again = parse(&json).map_err(|e| {
                        TestCaseError::fail(format!("{name}: re-parse failed: {e}"))
                    })?;
                    prop_assert_eq!(again, json, "{} does not round-trip", name);
                }
                Err(err) => {
                    let message = client_message(&err);
                    for run in marker_runs(&body) {
                        prop_assert!(
                            !message.contains(&run),
                            "{} quotes {:?} from the body: {}",
                            name,
                            run,
                            message
                        );
                    }
                }
            }
            Ok(())
        },
    );

    // Token shapes: a match has the format's length and alphabet, and every generated token
    // matches.
    let formats = [
        Dialect::Ipcola,
        Dialect::Strapi,
        Dialect::Cloudreve,
        Dialect::Selfcommunity,
    ]
    .map(Dialect::token_format);
    total += fuzz(
        "token_formats",
        budget,
        (
            0..formats.len(),
            prop_oneof!["[a-zA-Z0-9]{0,140}", ".{0,140}", "[a-f0-9]{34}|[a-z]{16}"],
        ),
        |(i, token)| {
            let format = formats[i];
            if format.matches(&token) {
                let (len, alphabet_ok) = match format {
                    TokenFormat::Alphanumeric(n) => {
                        (n, token.bytes().all(|b| b.is_ascii_alphanumeric()))
                    }
                    TokenFormat::LowercaseLetters(n) => {
                        (n, token.bytes().all(|b| b.is_ascii_lowercase()))
                    }
                    TokenFormat::Hex(n) => (
                        n,
                        token
                            .bytes()
                            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
                    ),
                };
                prop_assert_eq!(token.len(), len);
                prop_assert!(alphabet_ok, "{:?} matched {:?}", token, format);
            }
            prop_assert!(format.matches(&format.generate()));
            Ok(())
        },
    );

    // Emails: a normalized address is stable, bounded, and has a local part and a domain.
    total += fuzz(
        "email_addresses",
        budget,
        prop_oneof![
            ".{0,40}",
            "\\PC{0,12}@\\PC{0,12}",
            "[ \t]*[A-Za-zİẞΣ.+]{1,10}@[a-zA-Z.]{1,10}[ \t]*"
        ],
        |raw| {
            if let Ok(email) = email_address::normalize(&raw) {
                prop_assert_eq!(email_address::normalize(&email), Ok(email.clone()));
                prop_assert!(email.len() <= 254);
                prop_assert!(!email.chars().any(char::is_whitespace));
                let (local, domain) = email.rsplit_once('@').expect("an @");
                prop_assert!(!local.is_empty() && !domain.is_empty());
            }
            Ok(())
        },
    );

    // Password rules count code points, never bytes, and never accept out of bounds.
    total += fuzz(
        "password_rules",
        budget,
        (
            0..4usize,
            prop_oneof![".{0,140}", "\\PC{0,140}", "[a-zA-Z0-9!]{4,70}"],
        ),
        |(i, password)| {
            let policy = Dialect::ALL[i].password_policy();
            let chars = password.chars().count();
            match policy.check_shape(&password) {
                Ok(()) => prop_assert!((policy.min_chars..=policy.max_chars).contains(&chars)),
                Err(resetd::reset::policy::PolicyViolation::TooShort(_)) => {
                    prop_assert!(chars < policy.min_chars)
                }
                Err(resetd::reset::policy::PolicyViolation::TooLong(_)) => {
                    prop_assert!(chars > policy.max_chars)
                }
                Err(_) => {}
            }
            Ok(())
        },
    );

    // X-Forwarded-For: the client is the peer unless the peer is a trusted proxy, and is
    // always either the peer or an address written in the header.
    let trusted: Vec<Cidr> = ["127.0.0.0/8", "10.0.0.0/8", "::1/128"]
        .iter()
        .map(|c| c.parse().expect("a CIDR"))
        .collect();
    let hop = prop_oneof![
        any::<std::net::Ipv4Addr>().prop_map(|ip| ip.to_string()),
        any::<std::net::Ipv6Addr>().prop_map(|ip| format!("[{ip}]:443")),
        Just("10.1.2.3".to_owned()),
        Just("unknown".to_owned()),
        "[ -~]{0,12}",
    ];
    total += fuzz(
        "forwarded_for",
        budget,
        (
            prop_oneof![
                Just("127.0.0.1".parse::<IpAddr>().expect("ip")),
                Just("10.9.9.9".parse::<IpAddr>().expect("ip")),
                any::<IpAddr>()
            ],
            proptest::collection::vec(proptest::collection::vec(hop, 0..5), 0..3),
        ),
        |(peer, fields)| {
            let mut headers = http::HeaderMap::new();
            let mut written = String::new();
            for field in &fields {
                let value = field.join(", ");
                if let Ok(v) = http::HeaderValue::from_str(&value) {
                    headers.append("x-forwarded-for", v);
                    written.push_str(&value);
                    written.push(',');
                }
            }
            let client = client_ip(peer, &headers, &trusted);
            let peer = peer.to_canonical();
            if !trusted.iter().any(|net| net.contains(peer)) {
                prop_assert_eq!(client, peer);
            } else if client != peer {
                let named = written.split(',').any(|hop| {
                    let hop = hop.trim();
                    let bare = hop
                        .strip_prefix('[')
                        .and_then(|h| h.split(']').next())
                        .unwrap_or(hop);
                    bare.parse::<IpAddr>()
                        .is_ok_and(|ip| ip.to_canonical() == client)
                        || hop
                            .parse::<std::net::SocketAddr>()
                            .is_ok_and(|s| s.ip().to_canonical() == client)
                });
                prop_assert!(named, "{} is neither the peer nor in {:?}", client, written);
            }
            Ok(())
        },
    );

    // Operator input: a CIDR that parses prints as itself; a mail URL never panics.
    total += fuzz(
        "cidrs_and_mail_urls",
        budget,
        prop_oneof![
            ".{0,30}",
            "[0-9./]{1,20}",
            "[0-9a-f:/]{1,45}",
            "(smtps?|file)://[ -~]{0,40}"
        ],
        |text| {
            if let Ok(cidr) = Cidr::from_str(&text) {
                let printed = cidr.to_string();
                prop_assert_eq!(Cidr::from_str(&printed).map(|c| c.to_string()), Ok(printed));
            }
            let _ = MailUrl::parse(&text);
            Ok(())
        },
    );

    // Captcha answers compare in one normal form.
    total += fuzz("captcha_answers", budget, ".{0,20}", |typed| {
        let once = normalize_answer(&typed);
        prop_assert_eq!(normalize_answer(&once), once.clone());
        prop_assert!(!once.chars().any(char::is_whitespace));
        Ok(())
    });

    println!("fuzz total: {total} cases");
    assert!(total > 0);
}

//! `GET /metrics`: scraped before and after real flows, parsed as the exposition format it
//! claims to be, and every counter that should have moved checked to have moved by exactly
//! as much — requests by operation and status, resets, argon2, mail, rate limits.

use crate::support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use resetd::config::Secret;
use rstest::rstest;
use support::{Backend, ReceivedMail, TestServer, MAIL_WAIT};

const METRICS_TOKEN: &str = "test-metrics-token-0123456789";
const EMAIL: &str = "metered@example.com";
const LINK_PREFIX: &str = "https://accounts.example.test/session/reset?";
/// Cloudreve's codes.
const OK: i64 = 0;
const LINK_EXPIRED: i64 = 40030;
const TOO_MANY_REQUESTS: i64 = 42900;

// ---- the exposition format -----------------------------------------------------------------

/// One sample: `name{labels} value`.
#[derive(Debug, Clone, PartialEq)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// A parsed scrape.
#[derive(Debug)]
struct Exposition {
    /// Family name -> declared type.
    types: BTreeMap<String, String>,
    samples: Vec<Sample>,
}

impl Exposition {
    /// Parses OpenMetrics text strictly: every line is a `# HELP`, `# TYPE` or `# UNIT`
    /// comment, a sample of a declared family, or the final `# EOF`. Panics, naming the
    /// line, on anything else.
    fn parse(text: &str) -> Exposition {
        let body = text
            .strip_suffix("# EOF\n")
            .unwrap_or_else(|| panic!("the exposition does not end with `# EOF`:\n{text}"));
        let mut types = BTreeMap::new();
        let mut samples = Vec::new();
        for (number, line) in body.lines().enumerate() {
            let fail = |why: &str| -> ! { panic!("line {}: {why}: {line:?}", number + 1) };
            if let Some(comment) = line.strip_prefix("# ") {
                let mut parts = comment.splitn(3, ' ');
                let (kind, name, rest) = (parts.next(), parts.next(), parts.next());
                let (Some(kind), Some(name), Some(rest)) = (kind, name, rest) else {
                    fail("a comment that is not HELP, TYPE or UNIT");
                };
                if !is_metric_name(name) {
                    fail("a bad metric name");
                }
                match kind {
                    "HELP" => {}
                    "UNIT" if name.ends_with(&format!("_{rest}")) => {}
                    "TYPE"
                        if [
                            "counter",
                            "gauge",
                            "histogram",
                            "info",
                            "summary",
                            "unknown",
                        ]
                        .contains(&rest) =>
                    {
                        types.insert(name.to_owned(), rest.to_owned());
                    }
                    _ => fail("a comment that is not HELP, TYPE or UNIT"),
                }
                continue;
            }
            let sample = parse_sample(line).unwrap_or_else(|why| fail(&why));
            let family = family_of(&sample.name, &types)
                .unwrap_or_else(|| fail("a sample of no declared family"));
            if types[&family] == "counter" && !sample.name.ends_with("_total") {
                fail("a counter sample without `_total`");
            }
            samples.push(sample);
        }
        let exposition = Exposition { types, samples };
        exposition.check_histograms();
        exposition
    }

    /// Buckets are cumulative and the `+Inf` bucket is the count.
    fn check_histograms(&self) {
        for (family, kind) in &self.types {
            if kind != "histogram" {
                continue;
            }
            let bucket = format!("{family}_bucket");
            let mut series: BTreeMap<BTreeMap<String, String>, Vec<(f64, f64)>> = BTreeMap::new();
            for sample in self.samples.iter().filter(|s| s.name == bucket) {
                let mut labels = sample.labels.clone();
                let le = labels.remove("le").expect("a bucket has `le`");
                let le = if le == "+Inf" {
                    f64::INFINITY
                } else {
                    le.parse().expect("`le` is a number")
                };
                series.entry(labels).or_default().push((le, sample.value));
            }
            assert!(!series.is_empty(), "{family} has no buckets");
            for (labels, buckets) in series {
                assert!(
                    buckets
                        .windows(2)
                        .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1),
                    "{family}{labels:?}: buckets not cumulative: {buckets:?}"
                );
                let inf = buckets.last().expect("buckets");
                assert!(inf.0.is_infinite(), "{family}{labels:?} has no +Inf bucket");
                let pairs: Vec<(&str, &str)> = labels
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                assert_eq!(
                    inf.1,
                    self.value(&format!("{family}_count"), &pairs),
                    "{family}{labels:?}: +Inf bucket != count"
                );
            }
        }
    }

    /// The value of the sample `name` with exactly `labels`; 0 when there is none.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let wanted: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let found: Vec<&Sample> = self
            .samples
            .iter()
            .filter(|s| s.name == name && s.labels == wanted)
            .collect();
        assert!(found.len() <= 1, "{name}{labels:?} appears twice");
        found.first().map_or(0.0, |s| s.value)
    }

    /// Every `name` sample: labels -> value.
    fn series(&self, name: &str) -> BTreeMap<BTreeMap<String, String>, f64> {
        self.samples
            .iter()
            .filter(|s| s.name == name)
            .map(|s| (s.labels.clone(), s.value))
            .collect()
    }
}

fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// The family a sample belongs to: its name, or its name less a suffix of the family's type.
fn family_of(sample: &str, types: &BTreeMap<String, String>) -> Option<String> {
    if types.contains_key(sample) {
        return Some(sample.to_owned());
    }
    ["_total", "_created", "_bucket", "_count", "_sum", "_info"]
        .iter()
        .filter_map(|suffix| sample.strip_suffix(suffix))
        .find(|family| types.contains_key(*family))
        .map(str::to_owned)
}

/// `name{label="value",...} value`, label values with `\\`, `\"` and `\n` escapes.
fn parse_sample(line: &str) -> Result<Sample, String> {
    let name_end = line
        .find(['{', ' '])
        .ok_or("no value after the metric name")?;
    let name = &line[..name_end];
    if !is_metric_name(name) {
        return Err("a bad metric name".to_owned());
    }
    let mut rest = &line[name_end..];
    let mut labels = BTreeMap::new();
    if let Some(after_brace) = rest.strip_prefix('{') {
        let mut chars = after_brace.char_indices().peekable();
        loop {
            if let Some(&(i, '}')) = chars.peek() {
                rest = &after_brace[i + 1..];
                break;
            }
            let mut key = String::new();
            for (_, c) in chars.by_ref() {
                if c == '=' {
                    break;
                }
                key.push(c);
            }
            if !is_metric_name(&key) || key.contains(':') {
                return Err(format!("a bad label name {key:?}"));
            }
            if chars.next().map(|(_, c)| c) != Some('"') {
                return Err("a label value that is not quoted".to_owned());
            }
            let mut value = String::new();
            loop {
                match chars.next().map(|(_, c)| c) {
                    Some('"') => break,
                    Some('\\') => match chars.next().map(|(_, c)| c) {
                        Some('\\') => value.push('\\'),
                        Some('"') => value.push('"'),
                        Some('n') => value.push('\n'),
                        other => return Err(format!("a bad escape {other:?}")),
                    },
                    Some(c) => value.push(c),
                    None => return Err("an unterminated label value".to_owned()),
                }
            }
            if labels.insert(key.clone(), value).is_some() {
                return Err(format!("label {key} twice"));
            }
            match chars.peek().map(|&(_, c)| c) {
                Some(',') => {
                    chars.next();
                }
                Some('}') => {}
                _ => return Err("labels not separated by commas".to_owned()),
            }
        }
    }
    let mut fields = rest
        .strip_prefix(' ')
        .ok_or("no space before the value")?
        .split(' ');
    let value = match fields.next().ok_or("no value")? {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        number => number
            .parse::<f64>()
            .map_err(|_| format!("value {number:?} is not a number"))?,
    };
    match (fields.next(), fields.next()) {
        (None, None) => {}
        (Some(timestamp), None) if timestamp.parse::<f64>().is_ok() => {}
        _ => return Err("more than a value and a timestamp".to_owned()),
    }
    Ok(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

// ---- the server ------------------------------------------------------------------------------

async fn metered_server(
    backend: Backend,
    adjust: impl FnOnce(&mut resetd::config::Config),
) -> Option<TestServer> {
    TestServer::start_with(backend, |c| {
        c.metrics.token = Some(Secret::new(METRICS_TOKEN));
        adjust(c);
    })
    .await
}

async fn get_metrics(server: &TestServer, token: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(format!("{}/metrics", server.base_url));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("GET /metrics")
}

/// Scrapes and parses, checking what any scrape must satisfy.
async fn scrape(server: &TestServer) -> Exposition {
    let response = get_metrics(server, Some(METRICS_TOKEN)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()[reqwest::header::CONTENT_TYPE],
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    let text = response.text().await.expect("body");
    assert!(
        !text.contains('@'),
        "no email (nor anything like one) in the metrics:\n{text}"
    );
    Exposition::parse(&text)
}

async fn request_reset(server: &TestServer, email: &str) -> i64 {
    server.request_cloudreve_reset(email).await.code
}

fn link_params(mail: &ReceivedMail) -> (String, String) {
    let link = mail.find_link(LINK_PREFIX).expect("a reset link");
    let url = url::Url::parse(&link).expect("link is a URL");
    let param = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .expect("link parameter")
    };
    (param("id"), param("secret"))
}

/// `after - before` for one series.
fn delta(before: &Exposition, after: &Exposition, name: &str, labels: &[(&str, &str)]) -> f64 {
    after.value(name, labels) - before.value(name, labels)
}

// ---- the tests -----------------------------------------------------------------------------

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn a_reset_flow_moves_each_counter_by_exactly_its_events(#[case] backend: Backend) {
    let Some(server) = metered_server(backend, |_| {}).await else {
        return;
    };
    let before = scrape(&server).await;
    let mut scrapes = 1;
    for dialect in ["ipcola", "strapi", "cloudreve", "selfcommunity"] {
        assert_eq!(
            before.value("resetd_reset_requests_total", &[("dialect", dialect)]),
            0.0
        );
    }

    let user = server.create_user(EMAIL, "old-password-1").await;
    assert_eq!(request_reset(&server, EMAIL).await, OK);
    // Answered the same, queued the same, but issues nothing.
    assert_eq!(request_reset(&server, "nobody@example.com").await, OK);
    let (id, secret) = link_params(&server.mail(1).await);
    assert_eq!(id, user.id);
    assert_eq!(
        server
            .reset_cloudreve_password(&id, &"X".repeat(32), "new-password-2")
            .await
            .code,
        LINK_EXPIRED
    );
    assert_eq!(
        server
            .reset_cloudreve_password(&id, &secret, "new-password-2")
            .await
            .code,
        OK
    );
    let unmatched = reqwest::get(format!("{}/no/such/route?secret=abc", server.base_url))
        .await
        .expect("GET");
    assert_eq!(unmatched.status(), 404);

    // The reset mail and the "password changed" mail: wait until the worker has counted both.
    let deadline = Instant::now() + MAIL_WAIT;
    let after = loop {
        let now = scrape(&server).await;
        let sent = delta(
            &before,
            &now,
            "resetd_mail_deliveries_total",
            &[("outcome", "sent")],
        );
        if sent >= 2.0 {
            break now;
        }
        assert!(Instant::now() < deadline, "only {sent} deliveries counted");
        scrapes += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    assert_eq!(
        after.types.get("resetd_http_request_duration_seconds"),
        Some(&"histogram".to_owned())
    );
    // Requests by operation and status: these and nothing else (each scrape is counted once
    // it has been answered, so the last one is not in its own figures).
    let expected_requests = [
        ("resetd_admin_create_user", "201", 1.0),
        ("cloudreve_send_reset_email", "200", 2.0),
        ("cloudreve_reset_password", "200", 2.0),
        ("unmatched", "404", 1.0),
        ("metrics", "200", f64::from(scrapes)),
    ];
    for (operation, status, count) in expected_requests {
        let labels = [("operation", operation), ("status", status)];
        assert_eq!(
            delta(&before, &after, "resetd_http_requests_total", &labels),
            count,
            "{operation} {status}"
        );
    }
    let requests =
        |e: &Exposition| -> f64 { e.series("resetd_http_requests_total").values().sum() };
    let expected_total: f64 = expected_requests.iter().map(|(_, _, n)| n).sum();
    assert_eq!(requests(&after) - requests(&before), expected_total);
    for (operation, count) in [
        ("cloudreve_reset_password", 2.0),
        ("cloudreve_send_reset_email", 2.0),
        ("unmatched", 1.0),
    ] {
        let labels = [("operation", operation)];
        assert_eq!(
            delta(
                &before,
                &after,
                "resetd_http_request_duration_seconds_count",
                &labels
            ),
            count,
            "{operation}"
        );
        assert!(
            delta(
                &before,
                &after,
                "resetd_http_request_duration_seconds_sum",
                &labels
            ) > 0.0
        );
    }

    // Resets, by dialect.
    let cloudreve = ("dialect", "cloudreve");
    assert_eq!(
        delta(&before, &after, "resetd_reset_requests_total", &[cloudreve]),
        2.0,
        "known and unknown emails alike"
    );
    assert_eq!(
        delta(
            &before,
            &after,
            "resetd_reset_tokens_issued_total",
            &[cloudreve, ("via", "email")]
        ),
        1.0,
        "a token for the known email only"
    );
    for (outcome, count) in [("completed", 1.0), ("invalid_token", 1.0)] {
        assert_eq!(
            delta(
                &before,
                &after,
                "resetd_reset_redemptions_total",
                &[cloudreve, ("outcome", outcome)]
            ),
            count,
            "{outcome}"
        );
    }
    let all = |e: &Exposition, name: &str| -> f64 { e.series(name).values().sum() };
    assert_eq!(
        all(&after, "resetd_reset_requests_total") - all(&before, "resetd_reset_requests_total"),
        2.0
    );
    assert_eq!(
        all(&after, "resetd_reset_redemptions_total")
            - all(&before, "resetd_reset_redemptions_total"),
        2.0
    );

    // argon2: the account's first password and the new one; no verification.
    for histogram in [
        "resetd_argon2_duration_seconds",
        "resetd_argon2_queue_wait_seconds",
    ] {
        assert_eq!(
            delta(
                &before,
                &after,
                &format!("{histogram}_count"),
                &[("operation", "hash")]
            ),
            2.0,
            "{histogram}"
        );
        assert_eq!(
            delta(
                &before,
                &after,
                &format!("{histogram}_count"),
                &[("operation", "verify")]
            ),
            0.0,
            "{histogram}"
        );
    }
    assert!(
        delta(
            &before,
            &after,
            "resetd_argon2_duration_seconds_sum",
            &[("operation", "hash")]
        ) > 0.0
    );

    // Mail: both sent, nothing failed, nothing left.
    for (outcome, count) in [("sent", 2.0), ("failed", 0.0), ("dead", 0.0)] {
        assert_eq!(
            delta(
                &before,
                &after,
                "resetd_mail_deliveries_total",
                &[("outcome", outcome)]
            ),
            count,
            "{outcome}"
        );
    }
    for status in ["pending", "dead"] {
        assert_eq!(
            after.value("resetd_outbox_messages", &[("status", status)]),
            0.0,
            "{status}"
        );
    }
    assert_eq!(
        all(&after, "resetd_rate_limit_hits_total") - all(&before, "resetd_rate_limit_hits_total"),
        0.0
    );
    server.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn rate_limit_hits_are_counted_by_kind(#[case] backend: Backend) {
    let Some(server) = metered_server(backend, |c| {
        c.security.ip_requests_per_window = 2;
        c.security.ip_failed_redemptions_per_window = 1;
    })
    .await
    else {
        return;
    };
    let before = scrape(&server).await;
    let codes = [
        request_reset(&server, EMAIL).await,
        request_reset(&server, EMAIL).await,
        request_reset(&server, EMAIL).await,
    ];
    assert_eq!(codes, [OK, OK, TOO_MANY_REQUESTS]);
    // One wrong secret uses up the allowance; the next attempt is refused before any lookup.
    for expected in [LINK_EXPIRED, TOO_MANY_REQUESTS] {
        let code = server
            .reset_cloudreve_password("someone", &"X".repeat(32), "new-password-2")
            .await
            .code;
        assert_eq!(code, expected);
    }
    let after = scrape(&server).await;
    for (kind, count) in [
        ("ip_requests", 1.0),
        ("ip_failed_redemptions", 1.0),
        ("account_requests", 0.0),
        ("ip_failed_logins", 0.0),
    ] {
        assert_eq!(
            delta(
                &before,
                &after,
                "resetd_rate_limit_hits_total",
                &[("kind", kind)]
            ),
            count,
            "{kind}"
        );
    }
    let cloudreve = ("dialect", "cloudreve");
    assert_eq!(
        delta(&before, &after, "resetd_reset_requests_total", &[cloudreve]),
        2.0,
        "a refused request is not a reset request"
    );
    for (outcome, count) in [("invalid_token", 1.0), ("rate_limited", 1.0)] {
        assert_eq!(
            delta(
                &before,
                &after,
                "resetd_reset_redemptions_total",
                &[cloudreve, ("outcome", outcome)]
            ),
            count,
            "{outcome}"
        );
    }
    server.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn metrics_are_served_only_for_the_token(#[case] backend: Backend) {
    let Some(closed) = TestServer::start(backend).await else {
        return;
    };
    assert_eq!(
        get_metrics(&closed, Some(METRICS_TOKEN)).await.status(),
        404,
        "no token configured: no metrics"
    );
    closed.stop().await;

    let Some(server) = metered_server(backend, |_| {}).await else {
        return;
    };
    for token in [None, Some("wrong-token"), Some(support::ADMIN_TOKEN)] {
        assert_eq!(get_metrics(&server, token).await.status(), 401, "{token:?}");
    }
    let exposition = scrape(&server).await;
    // The refusals were requests too, counted under their status.
    assert_eq!(
        exposition.value(
            "resetd_http_requests_total",
            &[("operation", "metrics"), ("status", "401")]
        ),
        3.0
    );
    assert_eq!(
        exposition.value(
            "resetd_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        1.0
    );
    // Only bounded label sets: operation ids, dialects, statuses, fixed names.
    let labels: BTreeSet<&str> = exposition
        .samples
        .iter()
        .flat_map(|s| s.labels.keys().map(String::as_str))
        .collect();
    assert_eq!(
        labels,
        BTreeSet::from([
            "dialect",
            "kind",
            "le",
            "operation",
            "outcome",
            "status",
            "version",
            "via"
        ])
    );
    server.stop().await;
}

#[test]
fn the_parser_refuses_what_is_not_the_format() {
    let good = "# HELP x_requests Requests.\n# TYPE x_requests counter\n\
                x_requests_total{a=\"1\",b=\"q\\\"\\\\\"} 2\n# EOF\n";
    let parsed = Exposition::parse(good);
    assert_eq!(
        parsed.value("x_requests_total", &[("a", "1"), ("b", "q\"\\")]),
        2.0
    );
    for bad in [
        "# TYPE x counter\nx_total 1\n",                // no EOF
        "# TYPE x counter\nx_total one\n# EOF\n",       // not a number
        "# TYPE x counter\nx_total{a=1} 1\n# EOF\n",    // unquoted
        "# TYPE x counter\ny_total 1\n# EOF\n",         // undeclared family
        "# TYPE x counter\nx_total{a=\"1\"}1\n# EOF\n", // no space
        "# TYPE x counter\nx 1\n# EOF\n",               // counter without _total
        "just text\n# EOF\n",
    ] {
        assert!(
            std::panic::catch_unwind(|| Exposition::parse(bad)).is_err(),
            "accepted {bad:?}"
        );
    }
}

//! The four reset dialects as their clients see them, for tests that do the same thing
//! through each: how to ask for a reset, how to redeem a secret, and how each one answers.
//!
//! Requests are raw JSON through reqwest (not `resetd-client`), so a test sees every byte and
//! header of the answer and can send headers of its own (`X-Forwarded-For`, a forged `Host`).

use super::{ReceivedMail, TestServer};

/// The content type of every dialect's request bodies.
pub const JSON: &str = "application/json";

/// The user tag the IPCola calls carry (the configured default).
pub const IPCOLA_TAG: &str = "ipcola";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dialect {
    Ipcola,
    Strapi,
    Cloudreve,
    Selfcommunity,
}

pub const DIALECTS: [Dialect; 4] = [
    Dialect::Ipcola,
    Dialect::Strapi,
    Dialect::Cloudreve,
    Dialect::Selfcommunity,
];

/// A dialect's rule for new passwords (DIALECTS.md), in code points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordRule {
    pub min: usize,
    pub max: usize,
    /// How many of lower, upper, digit, other a password needs.
    pub classes: usize,
}

impl Dialect {
    /// The name resetd uses for it (config, audit rows, `reset_tokens.dialect`).
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Ipcola => "ipcola",
            Dialect::Strapi => "strapi",
            Dialect::Cloudreve => "cloudreve",
            Dialect::Selfcommunity => "selfcommunity",
        }
    }

    /// As the admin API's recovery request names it.
    pub fn api(self) -> resetd_client::types::ResetdDialect {
        use resetd_client::types::ResetdDialect as Api;
        match self {
            Dialect::Ipcola => Api::Ipcola,
            Dialect::Strapi => Api::Strapi,
            Dialect::Cloudreve => Api::Cloudreve,
            Dialect::Selfcommunity => Api::Selfcommunity,
        }
    }

    /// Whether `secret` has the dialect's token format (DIALECTS.md), checked here
    /// independently of the server's own code.
    pub fn is_secret(self, secret: &str) -> bool {
        let (len, ok): (usize, fn(char) -> bool) = match self {
            Dialect::Ipcola => (16, |c| c.is_ascii_lowercase()),
            Dialect::Strapi => (128, |c| matches!(c, '0'..='9' | 'a'..='f')),
            Dialect::Cloudreve => (32, |c| c.is_ascii_alphanumeric()),
            Dialect::Selfcommunity => (34, |c| matches!(c, '0'..='9' | 'a'..='f')),
        };
        secret.len() == len && secret.chars().all(ok)
    }

    /// How long an emailed secret lives by default: IPCola's codes 15 minutes, the others'
    /// codes and links an hour (SECURITY.md 8).
    pub fn secret_lifetime(self) -> std::time::Duration {
        match self {
            Dialect::Ipcola => std::time::Duration::from_secs(15 * 60),
            _ => std::time::Duration::from_secs(60 * 60),
        }
    }

    /// Whether `answer` is this dialect's successful redemption.
    pub fn is_redeemed(self, answer: &Answer) -> bool {
        if answer.status != 200 {
            return false;
        }
        let json = answer.json();
        match self {
            Dialect::Ipcola => json["meta_status"] == 1,
            Dialect::Strapi => json["jwt"].is_string(),
            Dialect::Cloudreve => json["code"] == 0,
            Dialect::Selfcommunity => json["token"]["access_token"].is_string(),
        }
    }

    pub fn password_rule(self) -> PasswordRule {
        match self {
            Dialect::Ipcola | Dialect::Strapi => PasswordRule {
                min: 6,
                max: 128,
                classes: 0,
            },
            Dialect::Cloudreve => PasswordRule {
                min: 6,
                max: 64,
                classes: 0,
            },
            Dialect::Selfcommunity => PasswordRule {
                min: 8,
                max: 128,
                classes: 3,
            },
        }
    }
}

/// One HTTP answer, as the client saw it.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    /// Everything a client can compare, minus what differs on every answer anyway.
    pub fn comparable(&self) -> (u16, Vec<(String, String)>, &str) {
        let mut headers: Vec<(String, String)> = self
            .headers
            .iter()
            .filter(|(name, _)| !matches!(name.as_str(), "date" | "x-request-id"))
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    value.to_str().unwrap_or("<binary>").to_owned(),
                )
            })
            .collect();
        headers.sort();
        (self.status, headers, &self.body)
    }
}

/// A JSON request with extra `headers`.
pub async fn send_with_headers(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    body: serde_json::Value,
    headers: &[(&str, &str)],
) -> Answer {
    let mut request = reqwest::Client::new()
        .request(method, format!("{}{path}", server.base_url))
        .json(&body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("an answer");
    Answer {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.text().await.expect("body"),
    }
}

/// A `POST` of `body` as is, with `content_type` if any (reqwest adds none of its own): for
/// bodies a typed client cannot send.
pub async fn post_raw(
    server: &TestServer,
    path: &str,
    content_type: Option<&str>,
    body: String,
) -> Answer {
    let mut request = reqwest::Client::new()
        .post(format!("{}{path}", server.base_url))
        .body(body);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    let response = request.send().await.expect("an answer");
    Answer {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.text().await.expect("body"),
    }
}

/// A JSON request from the test's own address or, with `forwarded_for`, claiming to come
/// through a proxy.
pub async fn send(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    body: serde_json::Value,
    forwarded_for: Option<&str>,
) -> Answer {
    let headers: Vec<(&str, &str)> = forwarded_for
        .map(|xff| ("x-forwarded-for", xff))
        .into_iter()
        .collect();
    send_with_headers(server, method, path, body, &headers).await
}

/// The path and body of `dialect`'s reset request for `email`.
pub fn reset_request(dialect: Dialect, email: &str) -> (&'static str, serde_json::Value) {
    match dialect {
        Dialect::Ipcola => (
            "/api/user/send_email_vcode",
            serde_json::json!({ "email": email, "user_tag": IPCOLA_TAG }),
        ),
        Dialect::Strapi => (
            "/auth/forgot-password",
            serde_json::json!({ "email": email }),
        ),
        Dialect::Cloudreve => ("/user/reset", serde_json::json!({ "email": email })),
        Dialect::Selfcommunity => (
            "/api/v2/account/recover/",
            serde_json::json!({ "email": email }),
        ),
    }
}

/// Asks for a reset of `email` in `dialect`.
pub async fn request_reset(
    server: &TestServer,
    dialect: Dialect,
    email: &str,
    forwarded_for: Option<&str>,
) -> Answer {
    let (path, body) = reset_request(dialect, email);
    send(server, reqwest::Method::POST, path, body, forwarded_for).await
}

/// Redeems `secret` in `dialect` for the account `email` / `user_id` (whichever the dialect
/// names), setting `password`.
pub async fn redeem_with(
    server: &TestServer,
    dialect: Dialect,
    (email, user_id): (&str, &str),
    secret: &str,
    password: &str,
    forwarded_for: Option<&str>,
) -> Answer {
    let (method, path, body) = match dialect {
        Dialect::Ipcola => (
            reqwest::Method::POST,
            "/api/user/reset_password".to_owned(),
            serde_json::json!({
                "email": email, "vcode": secret, "password": password, "user_tag": IPCOLA_TAG
            }),
        ),
        Dialect::Strapi => (
            reqwest::Method::POST,
            "/auth/reset-password".to_owned(),
            serde_json::json!({
                "code": secret, "password": password, "passwordConfirmation": password
            }),
        ),
        Dialect::Cloudreve => (
            reqwest::Method::PATCH,
            format!("/user/reset/{user_id}"),
            serde_json::json!({ "password": password, "secret": secret }),
        ),
        Dialect::Selfcommunity => (
            reqwest::Method::POST,
            "/api/v2/account/reset/".to_owned(),
            serde_json::json!({ "validation_code": secret, "password": password }),
        ),
    };
    send(server, method, &path, body, forwarded_for).await
}

/// A well-formed secret of `dialect` that the server never issued.
pub fn made_up_secret(dialect: Dialect, n: usize) -> String {
    match dialect {
        Dialect::Ipcola => format!("{:a>16}", "").replacen('a', "b", n % 16),
        Dialect::Strapi => format!("{n:0>128x}"),
        Dialect::Cloudreve => format!("{n:0>32}"),
        Dialect::Selfcommunity => format!("{n:0>34x}"),
    }
}

/// The secret a reset mail of `dialect` carries.
pub fn secret_of(dialect: Dialect, mail: &ReceivedMail) -> String {
    let len = match dialect {
        Dialect::Ipcola => 16,
        Dialect::Strapi => 128,
        Dialect::Cloudreve => 32,
        Dialect::Selfcommunity => 34,
    };
    mail.find_code(|w| w.len() == len)
        .unwrap_or_else(|| panic!("no {len}-character secret in {}", mail.text_body()))
}

/// The subject of every reset mail (it names the configured product, not the dialect).
pub fn reset_subject(server: &TestServer) -> String {
    format!("Reset your {} password", server.config.product_name)
}

/// The subject of the "password changed" notice.
pub fn changed_subject(server: &TestServer) -> String {
    format!("Your {} password was changed", server.config.product_name)
}

/// The dialect whose secret a reset mail carries (none: not a reset mail).
pub fn dialect_of(mail: &ReceivedMail) -> Option<Dialect> {
    DIALECTS
        .into_iter()
        .find(|&d| mail.find_code(|w| d.is_secret(w)).is_some())
}

/// Asks for a reset of `email` in `dialect` and returns the secret its mail carries. The
/// next reset mail to `email` is taken to be the answer: callers wait for each before
/// asking again.
pub async fn emailed_secret(server: &TestServer, dialect: Dialect, email: &str) -> String {
    let since = server.sink.messages().len();
    let answer = request_reset(server, dialect, email, None).await;
    assert_accepted(dialect, &answer);
    let mail = server
        .mail_to_after(email, &reset_subject(server), since)
        .await;
    secret_of(dialect, &mail)
}

/// Asserts `answer` is the normal "accepted" answer of `dialect`.
#[track_caller]
pub fn assert_accepted(dialect: Dialect, answer: &Answer) {
    let (status, body) = match dialect {
        Dialect::Ipcola => (200, r#"{"meta_status":1,"meta_message":"success"}"#),
        Dialect::Strapi => (200, r#"{"ok":true}"#),
        Dialect::Cloudreve => (200, r#"{"code":0,"msg":""}"#),
        Dialect::Selfcommunity => {
            assert_eq!((answer.status, answer.body.as_str()), (204, ""));
            return;
        }
    };
    let expected: serde_json::Value = serde_json::from_str(body).expect("JSON");
    assert_eq!(
        (answer.status, answer.json()),
        (status, expected),
        "{dialect:?}"
    );
}

/// Asserts `answer` is `dialect`'s successful redemption.
#[track_caller]
pub fn assert_redeemed(dialect: Dialect, answer: &Answer) {
    let json = answer.json();
    assert_eq!(answer.status, 200, "{dialect:?}: {json}");
    match dialect {
        Dialect::Ipcola => assert_eq!(json["meta_status"], 1, "{json}"),
        Dialect::Strapi => assert!(json["jwt"].is_string(), "{json}"),
        Dialect::Cloudreve => {
            assert_eq!(json["code"], 0, "{json}");
            assert!(json["data"].is_object(), "{json}");
        }
        Dialect::Selfcommunity => assert!(json["token"]["access_token"].is_string(), "{json}"),
    }
}

/// Redeems `secret` for `password` (from the test's own address) and asserts that it
/// worked and that the account now logs in with `password`.
pub async fn reset_and_log_in(
    server: &TestServer,
    dialect: Dialect,
    account: (&str, &str),
    secret: &str,
    password: &str,
) {
    let answer = redeem_with(server, dialect, account, secret, password, None).await;
    assert_redeemed(dialect, &answer);
    assert!(
        server.login(account.0, password).await.is_some(),
        "{dialect:?}: the new password logs in"
    );
}

/// Asserts `answer` is `dialect`'s "too many requests" (documented in its OpenAPI source).
#[track_caller]
pub fn assert_too_many(dialect: Dialect, answer: &Answer) {
    let json = answer.json();
    match dialect {
        Dialect::Ipcola => {
            assert_eq!(answer.status, 200, "{json}");
            assert_eq!(json["meta_status"], -5, "{json}");
            assert_eq!(
                json["meta_message"],
                "too many requests, please try again later"
            );
        }
        Dialect::Strapi => {
            assert_eq!(answer.status, 429, "{json}");
            assert_eq!(
                json,
                // The seed's `{code, message}` plus Strapi's own error envelope.
                serde_json::json!({
                    "code": 429, "message": "Too many requests, please try again later.",
                    "data": null,
                    "error": {
                        "status": 429, "name": "RateLimitError", "details": {},
                        "message": "Too many requests, please try again later."
                    }
                })
            );
        }
        Dialect::Cloudreve => {
            assert_eq!(answer.status, 200, "{json}");
            assert_eq!(json["code"], 42900, "{json}");
            assert_eq!(json["msg"], "Too many requests, please try again later");
            assert!(json["correlation_id"].is_string(), "{json}");
            assert!(json.get("data").is_none_or(|d| d.is_null()), "{json}");
        }
        Dialect::Selfcommunity => {
            assert_eq!(answer.status, 429, "{json}");
            assert_eq!(
                json,
                // DRF's `{detail, code}` plus the `errors` list SelfCommunity's SDK reads.
                serde_json::json!({
                    "detail": "Request was throttled.", "code": "throttled",
                    "errors": [{ "code": "throttled", "message": "Request was throttled." }]
                })
            );
        }
    }
}

/// The session a successful redemption opened, for the dialects that log the user in
/// (Strapi's `jwt`, SelfCommunity's access token).
pub fn session_token(dialect: Dialect, answer: &Answer) -> Option<String> {
    let json = answer.json();
    let token = match dialect {
        Dialect::Strapi => &json["jwt"],
        Dialect::Selfcommunity => &json["token"]["access_token"],
        Dialect::Ipcola | Dialect::Cloudreve => return None,
    };
    Some(token.as_str().expect("a session token").to_owned())
}

/// Asserts `answer` is `dialect`'s usual refusal of a wrong, spent or expired secret, to
/// the message, in the dialect's error shape.
#[track_caller]
pub fn assert_invalid_secret(dialect: Dialect, answer: &Answer) {
    let json = answer.json();
    let (status, field, value, message_field, message) = match dialect {
        Dialect::Ipcola => (
            200,
            "meta_status",
            serde_json::json!(-3),
            "meta_message",
            "vcode is invalid or has expired",
        ),
        // Strapi 5's answer: 400 ValidationError, in the seed's shape and Strapi's envelope.
        Dialect::Strapi => (
            400,
            "code",
            serde_json::json!(400),
            "message",
            "Incorrect code provided",
        ),
        Dialect::Cloudreve => (200, "code", serde_json::json!(40030), "msg", ""),
        Dialect::Selfcommunity => (
            400,
            "code",
            serde_json::json!("invalid_code"),
            "detail",
            "Invalid or expired validation code.",
        ),
    };
    assert_eq!(
        (answer.status, &json[field]),
        (status, &value),
        "{dialect:?}: {json}"
    );
    let said = json[message_field].as_str().unwrap_or_default();
    if message.is_empty() {
        assert!(!said.is_empty(), "{dialect:?}: no {message_field}: {json}");
    } else {
        assert_eq!(said, message, "{dialect:?}: {json}");
    }
    if dialect == Dialect::Strapi {
        let envelope = &json["error"];
        assert_eq!(
            (&envelope["status"], &envelope["name"], &envelope["message"]),
            (
                &serde_json::json!(400),
                &serde_json::json!("ValidationError"),
                &serde_json::json!("Incorrect code provided")
            ),
            "{json}"
        );
        assert!(json["data"].is_null(), "{json}");
    }
    if dialect == Dialect::Cloudreve {
        // Cloudreve's failures carry no data, and a correlation id.
        assert!(json.get("data").is_none_or(|d| d.is_null()), "{json}");
        assert!(json["correlation_id"].is_string(), "{json}");
    }
}

/// Asserts `answer` is `dialect`'s refusal of a new password, and returns its message.
#[track_caller]
pub fn assert_password_refused(dialect: Dialect, answer: &Answer) -> String {
    let json = answer.json();
    let (status, field, value, message) = match dialect {
        Dialect::Ipcola => (200, "meta_status", serde_json::json!(-4), "meta_message"),
        Dialect::Strapi => (400, "code", serde_json::json!(400), "message"),
        Dialect::Cloudreve => (200, "code", serde_json::json!(40001), "msg"),
        Dialect::Selfcommunity => (
            400,
            "code",
            serde_json::json!("password_too_weak"),
            "detail",
        ),
    };
    assert_eq!(
        (answer.status, &json[field]),
        (status, &value),
        "{dialect:?}: {json}"
    );
    json[message]
        .as_str()
        .unwrap_or_else(|| panic!("{dialect:?}: no {message} in {json}"))
        .to_owned()
}

//! Accounts and reset tokens, made through resetd's admin API before any window opens:
//! accounts without a password (no argon2 hash to pay for), and tokens from the operator
//! recovery endpoint, which hands the code over instead of mailing it.

use std::net::SocketAddr;

use hyper::header::HeaderValue;
use hyper::Method;
use serde_json::json;

use super::dialects::Dialect;
use super::error::BenchError;
use super::http::{Connection, Expect, PreparedRequest};

/// Admin calls in flight at once while seeding.
const SEED_CONNECTIONS: usize = 4;

#[derive(Debug, Clone)]
pub struct Account {
    /// The public id (`/admin/users/{id}`, Cloudreve's `user_id`).
    pub id: String,
    pub email: String,
}

/// A token issued for `account`, good for one redemption in `dialect`.
#[derive(Debug, Clone)]
pub struct Recovery {
    pub account: Account,
    pub dialect: Dialect,
    pub code: String,
}

#[derive(Clone)]
pub struct Admin {
    addr: SocketAddr,
    bearer: HeaderValue,
}

impl Admin {
    pub fn new(addr: SocketAddr, token: &str) -> Result<Admin, BenchError> {
        let bearer = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| BenchError::unexpected("admin token", "not a valid header value"))?;
        Ok(Admin { addr, bearer })
    }

    /// Creates one account per email.
    pub async fn create_accounts(&self, emails: Vec<String>) -> Result<Vec<Account>, BenchError> {
        let requests = emails
            .iter()
            .map(|email| {
                PreparedRequest::json(
                    Method::POST,
                    "/admin/users",
                    &json!({"email": email}),
                    Expect::Status(201),
                )
                .with_bearer(self.bearer.clone())
            })
            .collect();
        let answers = self.send_all("creating accounts", requests).await?;
        answers
            .into_iter()
            .zip(emails)
            .map(|(answer, email)| {
                let id = string_field(&answer, "id", "creating accounts")?;
                Ok(Account { id, email })
            })
            .collect()
    }

    /// Issues one token for each `(account, dialect)`.
    pub async fn issue_recoveries(
        &self,
        wanted: Vec<(Account, Dialect)>,
    ) -> Result<Vec<Recovery>, BenchError> {
        let requests = wanted
            .iter()
            .map(|(account, dialect)| {
                PreparedRequest::json(
                    Method::POST,
                    format!("/admin/users/{}/recovery", account.id),
                    &json!({"dialect": dialect.name()}),
                    Expect::Status(200),
                )
                .with_bearer(self.bearer.clone())
            })
            .collect();
        let answers = self.send_all("issuing recoveries", requests).await?;
        answers
            .into_iter()
            .zip(wanted)
            .map(|(answer, (account, dialect))| {
                let code = string_field(&answer, "code", "issuing recoveries")?;
                Ok(Recovery {
                    account,
                    dialect,
                    code,
                })
            })
            .collect()
    }

    /// Sends `requests` over a few connections and returns the JSON answers in order; the
    /// first failure stops the seeding.
    async fn send_all(
        &self,
        step: &'static str,
        requests: Vec<PreparedRequest>,
    ) -> Result<Vec<serde_json::Value>, BenchError> {
        let chunk = requests.len().div_ceil(SEED_CONNECTIONS).max(1);
        let mut tasks = tokio::task::JoinSet::new();
        for (index, part) in requests.chunks(chunk).enumerate() {
            let part = part.to_vec();
            let addr = self.addr;
            tasks.spawn(async move {
                let mut conn = Connection::open(addr)
                    .await
                    .map_err(BenchError::http(step))?;
                let mut answers = Vec::with_capacity(part.len());
                for request in &part {
                    let (status, body) =
                        conn.send(request).await.map_err(BenchError::http(step))?;
                    request
                        .expect
                        .check(status, &body)
                        .map_err(|e| BenchError::unexpected(step, e))?;
                    let answer = serde_json::from_slice(&body)
                        .map_err(|_| BenchError::unexpected(step, "an answer that is not JSON"))?;
                    answers.push(answer);
                }
                Ok::<_, BenchError>((index, answers))
            });
        }
        let mut parts = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            let part = joined.map_err(|e| BenchError::unexpected(step, e.to_string()))??;
            parts.push(part);
        }
        parts.sort_by_key(|(index, _)| *index);
        Ok(parts.into_iter().flat_map(|(_, answers)| answers).collect())
    }
}

fn string_field(answer: &serde_json::Value, field: &str, step: &str) -> Result<String, BenchError> {
    answer
        .get(field)
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| BenchError::unexpected(step, format!("an answer without `{field}`")))
}

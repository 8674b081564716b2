//! Resetting a password through the generated SDK (`resetd-client`), the way a product that
//! speaks Strapi's users-permissions API would: ask for a code, then set the new password
//! with the code from the email, then log in with it.
//!
//! ```text
//! cargo run --example reset_password -- request ann@example.com
//! # read the code in the email (./mail-out/*.eml with the default mail settings), then:
//! cargo run --example reset_password -- reset CODE 'a new long password'
//! ```
//!
//! `RESETD_URL` names the server (default `http://127.0.0.1:8080`);
//! `RESETD_INTROSPECTION_TOKEN`, the server's `introspection.token`, lets the example check
//! the new session.

use resetd_client::{types, Client, Error};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let url = std::env::var("RESETD_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".to_owned());
    let client = Client::new(&url);
    let outcome = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["request", email] => request(&client, email).await,
        ["reset", code, password] => reset(&client, &url, code, password).await,
        _ => {
            eprintln!("usage: reset_password request EMAIL | reset CODE NEW_PASSWORD");
            return std::process::ExitCode::from(2);
        }
    };
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Asks for a reset code. The answer is the same whether or not the email has an account.
async fn request(client: &Client, email: &str) -> Result<(), String> {
    let answer = client
        .strapi_forgot_password()
        .body(types::StrapiForgotPasswordRequest {
            email: email.to_owned(),
        })
        .send()
        .await
        .map_err(describe)?;
    println!(
        "requested (ok: {}); the code is on its way by email",
        answer.ok
    );
    Ok(())
}

/// Sets the new password with the emailed code; Strapi answers with a session for the
/// account, which `/v1/introspect` confirms (it needs the introspection bearer token).
async fn reset(client: &Client, url: &str, code: &str, password: &str) -> Result<(), String> {
    let answer = client
        .strapi_reset_password()
        .body(types::StrapiResetPasswordRequest {
            code: code.to_owned(),
            password: password.to_owned(),
            password_confirmation: password.to_owned(),
        })
        .send()
        .await
        .map_err(describe)?
        .into_inner();
    println!("password changed for {}", answer.user.email);
    let Ok(token) = std::env::var("RESETD_INTROSPECTION_TOKEN") else {
        println!("set RESETD_INTROSPECTION_TOKEN to check the new session");
        return Ok(());
    };
    let mut headers = reqwest::header::HeaderMap::new();
    let bearer = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|_| "RESETD_INTROSPECTION_TOKEN is not a valid header value".to_owned())?;
    headers.insert(reqwest::header::AUTHORIZATION, bearer);
    let http = reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .map_err(|err| err.to_string())?;
    let session = Client::new_with_client(url, http)
        .resetd_introspect()
        .body(types::ResetdIntrospectRequest { token: answer.jwt })
        .send()
        .await
        .map_err(|err| err.to_string())?;
    println!("new session active: {}", session.active);
    Ok(())
}

/// The message of Strapi's error body (`{code, message}`), or what went wrong on the way.
fn describe(err: Error<types::StrapiError>) -> String {
    match err {
        Error::ErrorResponse(answer) => format!("{} ({})", answer.message, answer.status()),
        other => other.to_string(),
    }
}

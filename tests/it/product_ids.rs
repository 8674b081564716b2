//! The product's own user ids where the dialects show an account (issue 16), and the Strapi
//! JWT the Strapi backend accepts (issue 17): HS256 over `{"id", "iat", "exp"}` with the
//! project's secret, checked here with that secret by Rust's `jsonwebtoken` crate and, as a
//! Strapi backend checks it, by the npm `jsonwebtoken` package (`tests/clients`; skipped,
//! saying so, without `npm ci` there, unless `RESETD_TEST_REQUIRE_CLIENTS=1`).

use crate::support;

use rstest::rstest;
use serde_json::json;

use resetd_client::types;
use support::{verifiers, Backend, TestServer};

const STRAPI_SECRET: &str = "the-strapi-projects-jwt-secret";
const PASSWORD: &str = "imported-password-1";
const NEW_PASSWORD: &str = "brand-new-password-2";
const THIRTY_DAYS: i64 = 30 * 24 * 3_600;

async fn server(backend: Backend) -> Option<TestServer> {
    TestServer::start_with(backend, |c| {
        c.dialects.strapi.jwt_secret = Some(resetd::config::Secret::new(STRAPI_SECRET));
    })
    .await
}

/// Imports `email` with the product's id `external_id` and a plaintext password.
async fn import(server: &TestServer, email: &str, external_id: Option<&str>) {
    let item = types::ResetdImportUser {
        email: email.to_owned(),
        external_id: external_id.map(str::to_owned),
        nickname: None,
        status: None,
        language: None,
        created_at: None,
        password_hash: None,
        password: Some(PASSWORD.to_owned()),
    };
    let answer = server
        .admin_client()
        .resetd_admin_import_users()
        .body(types::ResetdImportRequest {
            users: vec![item],
            dry_run: None,
        })
        .send()
        .await
        .expect("import answered");
    assert_eq!(
        answer.results[0].result,
        types::ResetdImportOutcome::Created
    );
}

/// Strapi's forgot-password, then reset-password with the mailed code.
async fn strapi_reset(server: &TestServer, email: &str) -> types::StrapiAuthResponse {
    let since = server.sink.messages().len();
    server
        .client
        .strapi_forgot_password()
        .body(types::StrapiForgotPasswordRequest {
            email: email.to_owned(),
        })
        .send()
        .await
        .expect("forgot-password");
    let mail = server
        .mail_to_after(email, "Reset your resetd password", since)
        .await;
    let code = mail.find_code(|w| w.len() == 128).expect("a code");
    server
        .client
        .strapi_reset_password()
        .body(types::StrapiResetPasswordRequest {
            code,
            password: NEW_PASSWORD.to_owned(),
            password_confirmation: NEW_PASSWORD.to_owned(),
        })
        .send()
        .await
        .expect("reset-password")
        .into_inner()
}

#[derive(serde::Deserialize)]
struct StrapiClaims {
    id: i64,
    iat: i64,
    exp: i64,
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn strapi_reset_answers_with_the_jwt_strapi_issues(#[case] backend: Backend) {
    let Some(server) = server(backend).await else {
        return;
    };
    import(&server, "strapi-user@example.com", Some("1042")).await;
    let answer = strapi_reset(&server, "strapi-user@example.com").await;
    assert_eq!(answer.user.id, 1042, "Strapi's own id");

    let key = jsonwebtoken::DecodingKey::from_secret(STRAPI_SECRET.as_bytes());
    let validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    let claims = jsonwebtoken::decode::<StrapiClaims>(&answer.jwt, &key, &validation)
        .expect("a valid HS256 token under the Strapi secret")
        .claims;
    assert_eq!(claims.id, 1042);
    assert_eq!(claims.exp - claims.iat, THIRTY_DAYS);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    assert!(claims.iat.abs_diff(now as i64) < 60, "issued now");
    let other = jsonwebtoken::DecodingKey::from_secret(b"another-secret");
    assert!(jsonwebtoken::decode::<StrapiClaims>(&answer.jwt, &other, &validation).is_err());
    verify_as_strapi_does(&answer.jwt, 1042);
    server.stop().await;
}

/// The token through Strapi's own check (users-permissions' `jwt.verify(token, secret, {})`
/// with the npm `jsonwebtoken`): accepted under the project's secret, naming `id` as a
/// number, living Strapi's 30 days; refused under another secret for its signature.
fn verify_as_strapi_does(token: &str, id: i64) {
    let Some(node) = verifiers::node("the Strapi JWT check in node") else {
        return;
    };
    let script = "verify-strapi-jwt.mjs";
    let accepted = node.run_json(script, &json!({"token": token, "secret": STRAPI_SECRET}));
    let payload = &accepted["payload"];
    let mut claims: Vec<&str> = payload
        .as_object()
        .unwrap_or_else(|| panic!("Strapi refuses it: {accepted}"))
        .keys()
        .map(String::as_str)
        .collect();
    claims.sort_unstable();
    assert_eq!(claims, ["exp", "iat", "id"], "{payload}");
    assert_eq!(payload["id"], json!(id), "the id as a number: {payload}");
    let lifetime = payload["exp"].as_i64().expect("exp") - payload["iat"].as_i64().expect("iat");
    assert_eq!(lifetime, THIRTY_DAYS, "{payload}");

    let refused = node.run_json(script, &json!({"token": token, "secret": "another-secret"}));
    assert_eq!(
        refused,
        json!({"error": {"name": "JsonWebTokenError", "message": "invalid signature"}})
    );
}

/// Without a numeric product id a JWT could only name resetd's own id, which in Strapi's
/// database may be someone else: resetd's own session token instead.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn strapi_reset_without_a_numeric_product_id_gets_resetds_token(#[case] backend: Backend) {
    let Some(server) = server(backend).await else {
        return;
    };
    import(&server, "no-id@example.com", None).await;
    import(&server, "text-id@example.com", Some("user-abc")).await;
    for email in ["no-id@example.com", "text-id@example.com"] {
        let answer = strapi_reset(&server, email).await;
        assert!(
            jsonwebtoken::decode_header(&answer.jwt).is_err(),
            "{email}: not a JWT"
        );
        assert!(server.introspect(&answer.jwt).await.active, "{email}");
    }
    server.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn cloudreve_and_introspection_show_the_product_id(#[case] backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    import(&server, "cloud@example.com", Some("lpua")).await;
    import(&server, "plain@example.com", None).await;

    let session = server
        .login("cloud@example.com", PASSWORD)
        .await
        .expect("login");
    let seen = server.introspect(&session.access_token).await;
    assert_eq!(seen.ext.map(|e| e.external_id).as_deref(), Some("lpua"));
    let session = server
        .login("plain@example.com", PASSWORD)
        .await
        .expect("login");
    assert!(server.introspect(&session.access_token).await.ext.is_none());

    server.request_cloudreve_reset("cloud@example.com").await;
    let mail = server.mail(1).await;
    let link = mail.find_link(support::PUBLIC_BASE_URL).expect("a link");
    let param = |name: &str| support::reset_links::param(&link, name);
    assert_ne!(param("id"), "lpua", "links keep resetd's own id");
    let answer = server
        .reset_cloudreve_password(&param("id"), &param("secret"), NEW_PASSWORD)
        .await;
    assert_eq!(answer.code, 0, "{answer:?}");
    let user = answer.data.expect("the user");
    assert_eq!(user.id, "lpua", "Cloudreve's own id");
    server.stop().await;
}

//! resetd's own API: health, the served spec, login and introspection, and the admin API.

use crate::support;

use rstest::rstest;

use resetd::config::ClientConfig;
use resetd_client::types;
use support::{Backend, TestServer, ADMIN_TOKEN};

fn status_of<T: std::fmt::Debug>(
    result: Result<T, resetd_client::Error<types::ResetdError>>,
) -> u16 {
    match result {
        Ok(value) => panic!("expected an error status, got {value:?}"),
        Err(resetd_client::Error::ErrorResponse(response)) => {
            assert_eq!(
                response.code,
                i64::from(response.status().as_u16()),
                "`code` repeats the HTTP status"
            );
            response.status().as_u16()
        }
        Err(other) => panic!("expected an error status, got {other}"),
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn health_and_readiness(#[case] backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let health = server
        .client
        .resetd_healthz()
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status, "ok");
    let ready = server.client.resetd_readyz().send().await.expect("readyz");
    assert_eq!(ready.status, "ready");
    assert_eq!(ready.database, "ok");
    assert!(health.headers().contains_key("x-request-id"));
    server.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn the_merged_spec_is_served_at_openapi_json(#[case] backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let served: serde_json::Value = reqwest::get(format!("{}/openapi.json", server.base_url))
        .await
        .expect("GET /openapi.json")
        .json()
        .await
        .expect("JSON");
    let spec_path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/resetd.yaml");
    let spec: serde_json::Value =
        serde_yaml::from_str(&std::fs::read_to_string(spec_path).expect("spec file"))
            .expect("spec parses");
    assert_eq!(served, spec);
    assert!(
        served["paths"]["/api/v2/account/reset/"].is_object(),
        "trailing slash kept"
    );
    server.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn login_issues_tokens_that_introspect(#[case] backend: Backend) {
    // Login issues only configured clients and scopes (issue 13, item 26).
    let Some(server) = TestServer::start_with(backend, |c| {
        c.sessions.clients.push(ClientConfig {
            id: "my-app".to_owned(),
            scopes: vec!["profile".to_owned()],
        });
    })
    .await
    else {
        return;
    };
    let user = server
        .create_user("ann@example.com", "a-good-password")
        .await;
    let tokens = server
        .client
        .resetd_login()
        .body(types::ResetdLoginRequest {
            email: "ANN@example.com ".to_owned(),
            password: "a-good-password".to_owned(),
            client_id: Some("my-app".to_owned()),
            scope: Some("profile".to_owned()),
        })
        .send()
        .await
        .expect("login")
        .into_inner();
    assert_eq!(tokens.token_type, "Bearer");
    assert_eq!(tokens.expires_in, 3600);
    assert_eq!(tokens.scope, "profile");
    assert_ne!(tokens.access_token, tokens.refresh_token);

    let seen = server
        .introspection_client()
        .resetd_introspect()
        .body(types::ResetdIntrospectRequest {
            token: tokens.access_token.clone(),
        })
        .send()
        .await
        .expect("introspect")
        .into_inner();
    assert!(seen.active);
    assert_eq!(seen.sub.as_deref(), Some(user.id.as_str()));
    assert_eq!(seen.email.as_deref(), Some("ann@example.com"));
    assert_eq!(seen.client_id.as_deref(), Some("my-app"));
    assert_eq!(seen.scope.as_deref(), Some("profile"));
    assert_eq!(seen.token_type.as_deref(), Some("access"));
    let (exp, iat) = (seen.exp.expect("exp"), seen.iat.expect("iat"));
    assert_eq!(exp - iat, 3600);

    // An expired token is just inactive.
    server.clock.advance(std::time::Duration::from_secs(3601));
    let expired = server
        .introspection_client()
        .resetd_introspect()
        .body(types::ResetdIntrospectRequest {
            token: tokens.access_token,
        })
        .send()
        .await
        .expect("introspect");
    assert!(!expired.active);
    assert_eq!(expired.sub, None);
    server.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn wrong_password_and_unknown_email_get_the_same_401(#[case] backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    server
        .create_user("ann@example.com", "a-good-password")
        .await;
    let attempt = |email: &'static str, password: &'static str| {
        server
            .client
            .resetd_login()
            .body(types::ResetdLoginRequest {
                email: email.to_owned(),
                password: password.to_owned(),
                client_id: None,
                scope: None,
            })
            .send()
    };
    let wrong = attempt("ann@example.com", "not-the-password").await;
    let unknown = attempt("nobody@example.com", "a-good-password").await;
    let message = |r: &Result<_, resetd_client::Error<types::ResetdError>>| match r {
        Err(resetd_client::Error::ErrorResponse(e)) => (e.status().as_u16(), e.message.clone()),
        _ => panic!("expected 401"),
    };
    assert_eq!(
        message(&wrong),
        (401, "invalid email or password".to_owned())
    );
    assert_eq!(message(&wrong), message(&unknown));
    assert_eq!(status_of(unknown), 401);
    server.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn unknown_tokens_are_inactive(#[case] backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    for token in ["", "nope", &"x".repeat(5000)] {
        let seen = server
            .introspection_client()
            .resetd_introspect()
            .body(types::ResetdIntrospectRequest {
                token: token.to_owned(),
            })
            .send()
            .await
            .expect("introspect");
        assert!(!seen.active);
    }
    server.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn admin_api_manages_accounts(#[case] backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let admin = server.admin_client();
    let created = server
        .create_user("carol@example.com", "carol-password")
        .await;
    assert_eq!(created.status, types::ResetdUserStatus::Active);
    assert_eq!(created.nickname.as_deref(), Some("Test User"));

    let fetched = admin
        .resetd_admin_get_user()
        .id(&created.id)
        .send()
        .await
        .expect("get");
    assert_eq!(fetched.email, "carol@example.com");

    let updated = admin
        .resetd_admin_update_user()
        .id(&created.id)
        .body(types::ResetdUpdateUserRequest {
            status: Some(types::ResetdUserStatus::Banned),
            nickname: Some("Carol".to_owned()),
        })
        .send()
        .await
        .expect("patch");
    assert_eq!(updated.status, types::ResetdUserStatus::Banned);
    assert_eq!(updated.nickname.as_deref(), Some("Carol"));

    let duplicate = admin
        .resetd_admin_create_user()
        .body(types::ResetdCreateUserRequest {
            email: "Carol@Example.com".to_owned(),
            password: None,
            nickname: None,
            status: None,
            language: None,
        })
        .send()
        .await;
    assert_eq!(status_of(duplicate), 409);

    let missing = admin.resetd_admin_get_user().id("nope").send().await;
    assert_eq!(status_of(missing), 404);
    server.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn admin_recovery_issues_a_working_link_without_mail(#[case] backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let user = server
        .create_user("dan@example.com", "dan-password-1")
        .await;
    let recovery = server
        .admin_client()
        .resetd_admin_issue_recovery()
        .id(&user.id)
        .body(types::ResetdRecoveryRequest {
            dialect: types::ResetdDialect::Cloudreve,
        })
        .send()
        .await
        .expect("recovery")
        .into_inner();
    assert_eq!(recovery.code.len(), 32);
    let link = recovery.link.expect("Cloudreve recoveries are links");
    assert!(
        link.starts_with("https://accounts.example.test/session/reset?id="),
        "{link}"
    );
    assert!(link.contains(&recovery.code));
    assert!(link.ends_with("&lang=en"), "the account's language: {link}");

    let answer = server
        .reset_cloudreve_password(&user.id, &recovery.code, "dan-password-2")
        .await;
    assert_eq!(answer.code, 0);
    // Only the "password changed" notice is mailed: the operator hands the link over.
    let notice = server.mail(1).await;
    assert_eq!(notice.subject(), "Your resetd password was changed");

    let strapi = server
        .admin_client()
        .resetd_admin_issue_recovery()
        .id(&user.id)
        .body(types::ResetdRecoveryRequest {
            dialect: types::ResetdDialect::Strapi,
        })
        .send()
        .await
        .expect("recovery");
    assert_eq!(strapi.code.len(), 128);
    assert_eq!(strapi.link, None);
    let audit = server
        .store()
        .await
        .list_audit(10)
        .await
        .expect("audit rows");
    let issued: Vec<_> = audit
        .iter()
        .filter(|e| e.kind.as_str() == "recovery_issued")
        .map(|e| e.dialect.clone().unwrap_or_default())
        .collect();
    assert_eq!(issued, ["strapi", "cloudreve"]);
    server.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn admin_api_needs_the_token_and_hides_when_unset(#[case] backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let user = server
        .create_user("eve@example.com", "eve-password-1")
        .await;
    for client in [
        server.client.clone(),
        server.client_with_bearer("wrong-token"),
        server.client_with_bearer(&ADMIN_TOKEN[..ADMIN_TOKEN.len() - 1]),
    ] {
        let result = client.resetd_admin_get_user().id(&user.id).send().await;
        assert_eq!(status_of(result), 401);
    }
    server.stop().await;

    let Some(closed) = TestServer::start_with(backend, |c| c.admin_token = None).await else {
        return;
    };
    let result = closed
        .client_with_bearer(ADMIN_TOKEN)
        .resetd_admin_get_user()
        .id("anything")
        .send()
        .await;
    assert_eq!(status_of(result), 404);
    closed.stop().await;
}

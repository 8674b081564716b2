//! The admin API's account changes reach the product as webhooks (issue 17), each queued in
//! the transaction that makes the change: an import (`user.created`; `user.updated` and
//! `password.changed` when it replaces the hash), a change of email (`user.updated`), a password
//! hash the product set itself (`password.changed`, without a hash: resetd never had the
//! password), a delete (`user.deleted`, delivered although the account is gone); all name the
//! account by the product's own id.

use crate::support;

use std::time::Duration;

use base64::Engine as _;
use resetd::config::{Secret, WebhookConfig, WebhookEventName};
use resetd_client::types;
use rstest::rstest;

use support::webhook_receiver::Receiver;
use support::{Backend, TestServer};

const BCRYPT: &str = "$2b$10$XYhQPPhMrRo8o6lxiVlTOuOK9hFG6spHXSNuh06zDrwRsQe2XV5l.";
const CLOUDREVE_V4: &str =
    "5u6Wwcyh0AmLiL8y:384eed09341e96043e2b1893294b6f4a212e8df4466dcc2038da5bba414f2ab2";

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn admin_changes_reach_the_product_in_order(#[case] backend: Backend) {
    let receiver = Receiver::start().await;
    let url = receiver.url("/hook");
    let Some(server) = TestServer::start_with(backend, |config| {
        let key = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        config.webhooks = vec![WebhookConfig {
            url: url.parse().expect("url"),
            secret: vec![Secret::new(format!("whsec_{key}"))],
            events: WebhookEventName::ALL.to_vec(),
            password_hash: None,
        }];
        config.webhook_delivery.poll_interval_ms = 50;
    })
    .await
    else {
        return;
    };
    let admin = server.admin_client();
    // Created, then imported again with another hash: updated, and its password changed.
    for hash in [BCRYPT, CLOUDREVE_V4] {
        let imported = admin
            .resetd_admin_import_users()
            .body(types::ResetdImportRequest {
                users: vec![types::ResetdImportUser {
                    email: "ann@example.test".to_owned(),
                    external_id: Some("77".to_owned()),
                    nickname: None,
                    status: None,
                    language: None,
                    created_at: None,
                    password_hash: Some(hash.to_owned()),
                    password: None,
                }],
                dry_run: None,
            })
            .send()
            .await
            .expect("import");
        assert_ne!(
            imported.results[0].result,
            types::ResetdImportOutcome::Refused
        );
    }
    let ann = admin
        .resetd_admin_find_user()
        .external_id("77")
        .send()
        .await
        .expect("found")
        .into_inner();

    admin
        .resetd_admin_change_email()
        .id(&ann.id)
        .body(types::ResetdChangeEmailRequest {
            email: "ann.new@example.test".to_owned(),
        })
        .send()
        .await
        .expect("email changed");
    admin
        .resetd_admin_set_password_hash()
        .id(&ann.id)
        .body(types::ResetdSetPasswordHashRequest {
            password_hash: BCRYPT.to_owned(),
        })
        .send()
        .await
        .expect("hash set");
    admin
        .resetd_admin_delete_user()
        .id(&ann.id)
        .send()
        .await
        .expect("deleted");

    let received = receiver
        .wait_for(Duration::from_secs(60), |r| r.len() >= 6)
        .await;
    let bodies: Vec<serde_json::Value> = received.iter().map(|r| r.json()).collect();
    let kinds: Vec<&str> = bodies.iter().filter_map(|b| b["type"].as_str()).collect();
    assert_eq!(
        kinds,
        [
            "user.created",
            "user.updated",
            "password.changed",
            "user.updated",
            "password.changed",
            "user.deleted"
        ]
    );
    for (n, body) in bodies.iter().enumerate() {
        assert_eq!(body["data"]["id"], ann.id.as_str(), "{body}");
        assert_eq!(body["data"]["external_id"], "77", "{body}");
        let email = if n < 3 {
            "ann@example.test"
        } else {
            "ann.new@example.test"
        };
        assert_eq!(body["data"]["email"], email, "{body}");
        assert!(body["data"].get("password_hash").is_none(), "{body}");
    }
    server.stop().await;
}

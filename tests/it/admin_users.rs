//! The admin API on accounts (issue 16), through the generated SDK: batch import, list with
//! a cursor and filters, find by external id, change of email, delete; both backends.

use resetd_client::types::{
    ResetdChangeEmailRequest, ResetdImportOutcome, ResetdImportRequest, ResetdImportUser,
};
use rstest::rstest;

use crate::support::{Backend, TestServer};

const BCRYPT: &str = "$2b$10$XYhQPPhMrRo8o6lxiVlTOuOK9hFG6spHXSNuh06zDrwRsQe2XV5l.";

fn item(email: &str, external_id: Option<&str>) -> ResetdImportUser {
    ResetdImportUser {
        email: email.to_owned(),
        external_id: external_id.map(str::to_owned),
        nickname: None,
        status: None,
        language: None,
        created_at: None,
        password_hash: Some(BCRYPT.to_owned()),
        password: None,
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn import_list_find_change_email_and_delete(#[case] backend: Backend) {
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let admin = server.admin_client();
    let mut users: Vec<ResetdImportUser> = (0..5)
        .map(|i| item(&format!("p{i}@example.com"), Some(&i.to_string())))
        .collect();
    let mut bad = item("q@example.com", None);
    bad.password_hash = Some("nonsense".to_owned());
    users.push(bad);
    let body = ResetdImportRequest {
        users: users.clone(),
        dry_run: None,
    };
    let result = admin
        .resetd_admin_import_users()
        .body(body.clone())
        .send()
        .await
        .expect("import");
    assert_eq!((result.created, result.refused), (5, 1));
    assert_eq!(result.results[5].result, ResetdImportOutcome::Refused);
    assert!(result.results[5]
        .reason
        .as_deref()
        .is_some_and(|r| !r.contains("nonsense")));
    let again = admin
        .resetd_admin_import_users()
        .body(body)
        .send()
        .await
        .expect("import");
    assert_eq!(again.unchanged, 5);

    // Pages of two, prefix filter, legacy filter.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut call = admin
            .resetd_admin_list_users()
            .email("p*")
            .legacy(true)
            .limit(2);
        if let Some(c) = &cursor {
            call = call.cursor(c.clone());
        }
        let page = call.send().await.expect("list").into_inner();
        assert!(page.users.len() <= 2);
        seen.extend(
            page.users
                .into_iter()
                .map(|u| u.external_id.expect("external id")),
        );
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, ["0", "1", "2", "3", "4"]);

    let found = admin
        .resetd_admin_find_user()
        .external_id("3")
        .send()
        .await
        .expect("find");
    assert_eq!(found.email, "p3@example.com");
    assert!(found.legacy_hash);

    let before = server.settled_mail().await.len();
    let moved = admin
        .resetd_admin_change_email()
        .id(&found.id)
        .body(ResetdChangeEmailRequest {
            email: "moved@example.com".to_owned(),
        })
        .send()
        .await
        .expect("change email");
    assert_eq!(moved.email, "moved@example.com");
    let notice = server
        .mail_to_after(
            "p3@example.com",
            "The email address of your resetd account was changed",
            before,
        )
        .await;
    assert!(
        !notice.text_body().contains("moved@example.com"),
        "the new address stays out"
    );

    admin
        .resetd_admin_delete_user()
        .id(&found.id)
        .send()
        .await
        .expect("delete");
    let gone = admin.resetd_admin_get_user().id(&found.id).send().await;
    assert_eq!(
        gone.expect_err("deleted").status().map(|s| s.as_u16()),
        Some(404)
    );
    server.stop().await;
}

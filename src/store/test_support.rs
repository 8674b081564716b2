//! Temp-file stores and fixtures for the store's unit tests.

use tempfile::TempDir;

use super::{NewOutboxMessage, NewUser, Store, User, UserStatus};
use crate::clock::Millis;

/// A migrated store on a fresh file; the directory lives as long as this value.
pub(crate) struct TestStore {
    pub store: Store,
    _dir: TempDir,
}

impl TestStore {
    pub async fn new() -> TestStore {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        let store = Store::open(&url).await.expect("open store");
        TestStore { store, _dir: dir }
    }

    pub async fn user(&self, email: &str, now: Millis) -> User {
        self.store
            .create_user(new_user(email, now))
            .await
            .expect("create user")
    }
}

pub(crate) fn new_user(email: &str, now: Millis) -> NewUser {
    NewUser {
        public_id: uuid::Uuid::new_v4().simple().to_string(),
        email: email.to_owned(),
        nickname: None,
        status: UserStatus::Active,
        language: "en-US".to_owned(),
        password_hash: Some("$argon2id$old".to_owned()),
        created_at: now,
        updated_at: now,
    }
}

pub(crate) fn mail(subject: &str) -> NewOutboxMessage {
    NewOutboxMessage {
        recipient: "someone@example.test".to_owned(),
        subject: subject.to_owned(),
        body_text: format!("{subject} (text)"),
        body_html: format!("<p>{subject}</p>"),
    }
}

//! The body of a delivery, in the Standard Webhooks shape `{"type", "timestamp", "data"}`,
//! built from its row: the same bytes on every attempt.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

use crate::clock::Millis;
use crate::store::WebhookDelivery;

fn rfc3339(at: Millis) -> Value {
    DateTime::<Utc>::from_timestamp_millis(at).map_or(Value::Null, |t| {
        Value::String(t.to_rfc3339_opts(SecondsFormat::Millis, true))
    })
}

/// The JSON body of `row`, with `password_hash` (opened) when it carries one.
pub fn body(row: &WebhookDelivery, password_hash: Option<&str>) -> Vec<u8> {
    let mut data = json!({
        "id": row.account_id,
        "external_id": row.external_id,
        "email": row.email,
        "dialect": row.dialect,
        "occurred_at": rfc3339(row.occurred_at),
    });
    if let (Some(hash), Some(fields)) = (password_hash, data.as_object_mut()) {
        fields.insert("password_hash".to_owned(), Value::String(hash.to_owned()));
    }
    let body = json!({
        "type": row.event.as_str(),
        "timestamp": rfc3339(row.occurred_at),
        "data": data,
    });
    // A `Value` always serializes.
    serde_json::to_vec(&body).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{WebhookEvent, WebhookStatus};

    #[test]
    fn the_body_names_the_account_the_event_and_the_time() {
        let row = WebhookDelivery {
            id: 1,
            webhook_id: "msg_1".to_owned(),
            endpoint: "https://x.test/hook".to_owned(),
            event: WebhookEvent::PasswordChanged,
            user_id: 7,
            account_id: "abc".to_owned(),
            email: "ann@example.test".to_owned(),
            external_id: Some("1042".to_owned()),
            dialect: Some("strapi".to_owned()),
            occurred_at: 1_700_000_000_123,
            password_hash: None,
            status: WebhookStatus::Sending,
            attempts: 1,
            next_attempt_at: 0,
            lease_until: None,
            last_error: None,
            delivered_at: None,
        };
        let value: Value = serde_json::from_slice(&body(&row, Some("$2a$10$x"))).expect("json");
        assert_eq!(value["type"], "password.changed");
        assert_eq!(value["timestamp"], "2023-11-14T22:13:20.123Z");
        assert_eq!(value["data"]["id"], "abc");
        assert_eq!(value["data"]["external_id"], "1042");
        assert_eq!(value["data"]["email"], "ann@example.test");
        assert_eq!(value["data"]["dialect"], "strapi");
        assert_eq!(value["data"]["password_hash"], "$2a$10$x");
        let without: Value = serde_json::from_slice(&body(&row, None)).expect("json");
        assert!(without["data"].get("password_hash").is_none());
    }
}

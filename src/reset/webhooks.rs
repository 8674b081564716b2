//! The webhooks of the core's changes: which endpoints get an event, and the new password in
//! each endpoint's format. The rows are queued by the store in the transaction of the change
//! (`Store::complete_reset`, `settle_reset_requests`, `create_user_announced`,
//! `update_user_announced`); the webhook worker (`crate::webhooks`) delivers them.
//!
//! For a new admin operation: `core.webhooks_for(&[event], None, None).await?`, then pass the
//! result to the store call that makes the change (`PendingWebhook::for_user` once the
//! account's row is known), so the event exists exactly when the change does.

use std::collections::HashMap;

use crate::config::{ProductHashFormat, WebhookEventName};
use crate::security::password_hash::HashError;
use crate::security::sealing::BodySealer;
use crate::store::{new_webhook_id, PendingWebhook, WebhookEvent, WebhookStatus};

use super::{Dialect, ResetCore};

/// The store's event of a configured event name (the two lists are the same; a test holds
/// them to it).
fn event_of(name: WebhookEventName) -> Option<WebhookEvent> {
    name.as_str().parse().ok()
}

impl ResetCore {
    /// One delivery per endpoint subscribed to each of `events` (in that order), happening
    /// now. With `new_password`, the events that carry it get it in the format each endpoint
    /// asks for, computed once per format on the hashing threads and sealed for the row.
    pub async fn webhooks_for(
        &self,
        events: &[WebhookEvent],
        dialect: Option<Dialect>,
        new_password: Option<&str>,
    ) -> Result<Vec<PendingWebhook>, HashError> {
        let endpoints = &self.config.webhooks;
        if endpoints.is_empty() {
            return Ok(Vec::new());
        }
        let now = self.clock.now_ms();
        let mut hashes: HashMap<ProductHashFormat, String> = HashMap::new();
        let mut out = Vec::new();
        for &event in events {
            for endpoint in endpoints {
                if !endpoint.events.iter().any(|&e| event_of(e) == Some(event)) {
                    continue;
                }
                let webhook_id = new_webhook_id();
                let password_hash = match (endpoint.password_hash, new_password) {
                    (Some(format), Some(password)) if event.carries_password() => {
                        let hash = match hashes.get(&format) {
                            Some(hash) => hash.clone(),
                            None => {
                                let hash = self
                                    .passwords
                                    .hash_for_product(format, password.to_owned())
                                    .await?;
                                hashes.insert(format, hash.clone());
                                hash
                            }
                        };
                        Some(self.webhook_sealer.seal(&hash, &webhook_id))
                    }
                    _ => None,
                };
                out.push(PendingWebhook {
                    webhook_id,
                    endpoint: endpoint.url.to_string(),
                    event,
                    dialect: dialect.map(|d| d.as_str().to_owned()),
                    occurred_at: now,
                    password_hash,
                });
            }
        }
        Ok(out)
    }

    /// Deliveries waiting and given up on, as the store has them now (for `/metrics`).
    pub async fn webhook_depth(&self) -> Result<(i64, i64), crate::store::StoreError> {
        Ok((
            self.store.count_webhooks(WebhookStatus::Pending).await?,
            self.store.count_webhooks(WebhookStatus::Dead).await?,
        ))
    }

    /// Opens the password hashes the core sealed into webhook rows, for the worker.
    pub fn webhook_sealer(&self) -> BodySealer {
        self.webhook_sealer.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_configured_event_is_a_stored_one() {
        for &name in WebhookEventName::ALL {
            assert_eq!(
                event_of(name).map(WebhookEvent::as_str),
                Some(name.as_str())
            );
        }
        assert_eq!(WebhookEvent::ALL.len(), WebhookEventName::ALL.len());
    }
}

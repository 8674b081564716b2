//! Webhook deliveries: the worker that POSTs queued events to the configured endpoints,
//! signed per Standard Webhooks (`security::webhook_signature`), with retries and backoff,
//! one account's events to one endpoint in order (the store's claim sees to that).

mod payload;
mod worker;

pub use payload::body;
pub use worker::{WebhookPolicy, WebhookStats, WebhookWorker, WorkerError};

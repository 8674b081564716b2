-- SQLite side of this migration; migrations/postgres/2026-12-07-000006_webhook_deliveries is
-- its PostgreSQL twin. A change here needs the same change there (and in
-- src/store/schema.rs), under the same version name.
--
-- Webhook deliveries (`[[webhooks]]`): one row per event and endpoint, queued in the
-- transaction of the change it reports, claimed and POSTed by the webhook worker
-- (src/webhooks/worker.rs). The body is built from the row at each attempt, so it is the
-- same on every retry; `webhook_id` is the Standard Webhooks `webhook-id` header, stable
-- across retries, so a receiver recognises a duplicate.
--
-- `password_hash` is the new password in the product's own format (when the endpoint asks
-- for one), sealed like queued mail bodies (src/security/sealing.rs), and cleared once
-- delivered. `last_error` is a summary for operators: never the body, secret or signature.
--
-- AUTOINCREMENT: ids order the events of one account (the claim delivers them in id order)
-- and must never be reused.
CREATE TABLE webhook_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    webhook_id TEXT NOT NULL UNIQUE,
    endpoint TEXT NOT NULL,
    event TEXT NOT NULL,
    -- The ordering key: of one account's deliveries to one endpoint, one is under way at a
    -- time, oldest first.
    user_id BIGINT NOT NULL,
    account_id TEXT NOT NULL,
    email TEXT NOT NULL,
    -- The product's own id of the account (users.external_id) when the event happened.
    external_id TEXT,
    dialect TEXT,
    -- When the change happened, which is when the row was queued (its transaction).
    occurred_at BIGINT NOT NULL,
    password_hash TEXT,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'delivered', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    -- while status = 'sending': the claim is void after this instant (the worker died)
    lease_until BIGINT,
    last_error TEXT,
    delivered_at BIGINT
);

-- The claim: due rows by status and time.
CREATE INDEX webhook_deliveries_status_next_idx ON webhook_deliveries (status, next_attempt_at);
-- The claim's ordering check: an older open delivery of the same account and endpoint.
CREATE INDEX webhook_deliveries_order_idx ON webhook_deliveries (user_id, endpoint, id);

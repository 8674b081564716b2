-- SQLite side; migrations/postgres/2026-12-07-000007_webhook_open_order/down.sql changes in step.
DROP INDEX webhook_deliveries_open_order_idx;
CREATE INDEX webhook_deliveries_order_idx ON webhook_deliveries (user_id, endpoint, id);

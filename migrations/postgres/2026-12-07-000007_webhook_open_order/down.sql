-- PostgreSQL twin of migrations/sqlite/2026-12-07-000007_webhook_open_order/down.sql.
DROP INDEX webhook_deliveries_open_order_idx;
CREATE INDEX webhook_deliveries_order_idx ON webhook_deliveries (user_id, endpoint, id);

-- PostgreSQL twin of migrations/sqlite/2026-12-07-000006_webhook_deliveries/down.sql: change
-- both in step.
DROP TABLE webhook_deliveries;

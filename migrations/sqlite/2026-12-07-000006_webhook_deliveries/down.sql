-- SQLite side; migrations/postgres/2026-12-07-000006_webhook_deliveries/down.sql changes in step.
DROP TABLE webhook_deliveries;

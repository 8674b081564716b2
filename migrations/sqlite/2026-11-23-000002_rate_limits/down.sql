-- SQLite side; migrations/postgres/2026-11-23-000002_rate_limits/down.sql changes in step.
DROP TABLE rate_limits;

-- PostgreSQL twin of migrations/sqlite/2026-11-23-000002_rate_limits/down.sql: change both
-- in step.
DROP TABLE rate_limits;

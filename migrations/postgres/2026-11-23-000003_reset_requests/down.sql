-- PostgreSQL twin of migrations/sqlite/2026-11-23-000003_reset_requests/down.sql: change both
-- in step.
DROP TABLE reset_requests;

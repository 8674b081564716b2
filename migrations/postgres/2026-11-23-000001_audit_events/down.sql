-- PostgreSQL twin of migrations/sqlite/2026-11-23-000001_audit_events/down.sql: change both
-- in step.
DROP TABLE audit_events;

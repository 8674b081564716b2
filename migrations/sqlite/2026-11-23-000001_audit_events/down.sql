-- SQLite side; migrations/postgres/2026-11-23-000001_audit_events/down.sql changes in step.
DROP TABLE audit_events;

-- SQLite side; migrations/postgres/2026-11-23-000003_reset_requests/down.sql changes in step.
DROP TABLE reset_requests;

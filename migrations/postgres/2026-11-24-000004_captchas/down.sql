-- PostgreSQL twin of migrations/sqlite/2026-11-24-000004_captchas/down.sql: change both in
-- step.
DROP TABLE captchas;

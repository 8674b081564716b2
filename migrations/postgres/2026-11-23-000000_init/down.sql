-- PostgreSQL twin of migrations/sqlite/2026-11-23-000000_init/down.sql: change both in step.
DROP TABLE settings;
DROP TABLE outbox;
DROP TABLE access_tokens;
DROP TABLE reset_tokens;
DROP TABLE users;

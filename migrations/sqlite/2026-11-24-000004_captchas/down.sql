-- SQLite side; migrations/postgres/2026-11-24-000004_captchas/down.sql changes in step.
DROP TABLE captchas;

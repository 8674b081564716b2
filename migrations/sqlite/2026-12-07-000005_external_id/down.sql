-- SQLite side; migrations/postgres/2026-12-07-000005_external_id/down.sql changes in step.
DROP INDEX users_external_id_key;
ALTER TABLE users DROP COLUMN external_id;

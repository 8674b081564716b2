-- PostgreSQL side; migrations/sqlite/2026-12-07-000005_external_id/down.sql changes in step.
ALTER TABLE users DROP COLUMN external_id;

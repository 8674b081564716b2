-- SQLite side of this migration; migrations/postgres/2026-12-07-000005_external_id is its
-- PostgreSQL twin. A change here needs the same change there (and in src/store/schema.rs),
-- under the same version name.
--
-- The product's own id of an imported account (`resetd user import`), shown by the dialects
-- in place of resetd's. Unique where set; NULLs do not clash. SQLite cannot add a UNIQUE
-- column, so a unique index does it; its name is the one PostgreSQL gives its constraint.
ALTER TABLE users ADD COLUMN external_id TEXT;

CREATE UNIQUE INDEX users_external_id_key ON users (external_id);

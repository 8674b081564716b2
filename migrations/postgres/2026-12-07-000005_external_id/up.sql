-- PostgreSQL twin of migrations/sqlite/2026-12-07-000005_external_id. A change here needs the
-- same change there (and in src/store/schema.rs), under the same version name.
--
-- The product's own id of an imported account (`resetd user import`), shown by the dialects
-- in place of resetd's. Unique where set; NULLs do not clash. The constraint's default name,
-- `users_external_id_key`, is what the store reads to tell which unique value clashed.
ALTER TABLE users ADD COLUMN external_id TEXT UNIQUE;

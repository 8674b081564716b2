-- PostgreSQL twin of migrations/sqlite/2026-11-24-000004_captchas: the same table, columns,
-- key and index, in PostgreSQL's types. A change here needs the same change there (and in
-- src/store/schema.rs), under the same version name.
--
-- Captchas handed out and not yet answered (`[security] captcha = true`). `id` is the keyed
-- hash of the ticket the client holds; `answer_hash` the keyed hash of ticket and answer, so
-- a copy of the table answers no captcha. A row is deleted by the one attempt to answer it,
-- right or wrong, or once expired.
CREATE TABLE captchas (
    id TEXT PRIMARY KEY NOT NULL,
    answer_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- Pruning deletes by expires_at alone.
CREATE INDEX captchas_expires_at_idx ON captchas (expires_at);

-- PostgreSQL twin of migrations/sqlite/2026-11-23-000000_init: the same tables, columns,
-- constraints and indexes, in PostgreSQL's types. A change here needs the same change there
-- (and in src/store/schema.rs), under the same version name.
--
-- Timestamps are milliseconds since the Unix epoch (BIGINT), so every backend compares them
-- the same way. Ids are BIGSERIAL (64-bit, from a sequence): a sequence never hands out an
-- id twice, so a token id read before a replacement never names the replacement (SQLite's
-- AUTOINCREMENT). Constraint names are PostgreSQL's defaults (`users_email_key`, ...), which
-- the store reads to tell which unique value clashed.

CREATE TABLE users (
    id BIGSERIAL PRIMARY KEY,
    -- opaque id shown to clients; the internal id never leaves the process
    public_id TEXT NOT NULL UNIQUE,
    -- stored lowercased by the caller, so uniqueness is case-insensitive
    email TEXT NOT NULL UNIQUE,
    nickname TEXT,
    status TEXT NOT NULL CHECK (status IN ('active', 'inactive', 'banned')),
    language TEXT NOT NULL DEFAULT 'en-US',
    password_hash TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE reset_tokens (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    dialect TEXT NOT NULL,
    -- hex HMAC-SHA256 of the token; the token itself is never stored
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    failed_attempts INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX reset_tokens_user_dialect_idx ON reset_tokens (user_id, dialect);

CREATE TABLE access_tokens (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
    client_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE INDEX access_tokens_user_id_idx ON access_tokens (user_id);

CREATE TABLE outbox (
    id BIGSERIAL PRIMARY KEY,
    -- stable across retries, so a receiver can recognise a duplicate delivery
    message_id TEXT NOT NULL UNIQUE,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    body_html TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    -- while status = 'sending': the claim is void after this instant (the worker died)
    lease_until BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    sent_at BIGINT
);

CREATE INDEX outbox_status_next_attempt_idx ON outbox (status, next_attempt_at);

CREATE TABLE settings (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

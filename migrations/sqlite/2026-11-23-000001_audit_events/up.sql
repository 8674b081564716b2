-- SQLite side of this migration; migrations/postgres/2026-11-23-000001_audit_events is its
-- PostgreSQL twin. A change here needs the same change there (and in src/store/schema.rs),
-- under the same version name.
--
-- Who did what to an account's password, when, from where, through which dialect
-- (SECURITY.md item 17). Never a token, password or hash.
CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN (
        'reset_requested', 'reset_completed', 'redemption_failed', 'recovery_issued'
    )),
    -- NULL when the request named no known account (a failed redemption of an unknown code)
    user_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    dialect TEXT,
    client_ip TEXT
);

CREATE INDEX audit_events_user_at_idx ON audit_events (user_id, at);

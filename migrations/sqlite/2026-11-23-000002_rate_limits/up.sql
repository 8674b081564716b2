-- SQLite side of this migration; migrations/postgres/2026-11-23-000002_rate_limits is its
-- PostgreSQL twin. A change here needs the same change there (and in src/store/schema.rs),
-- under the same version name.
--
-- Rate-limit counters in fixed windows (SECURITY.md items 3 and 10), kept in the database so
-- that every replica counts into the same row. `key` names what is counted: a limit kind and
-- a client IP, or the keyed hash of an email (never the email itself). `window_start` is
-- the window's first millisecond; old windows are deleted now and then.
CREATE TABLE rate_limits (
    key TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (key, window_start)
) WITHOUT ROWID;

-- Pruning deletes by window_start alone.
CREATE INDEX rate_limits_window_start_idx ON rate_limits (window_start);

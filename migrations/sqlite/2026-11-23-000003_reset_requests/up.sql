-- SQLite side of this migration; migrations/postgres/2026-11-23-000003_reset_requests is its
-- PostgreSQL twin. A change here needs the same change there (and in src/store/schema.rs),
-- under the same version name.
--
-- Reset requests answered but not yet processed (SECURITY.md items 1 and 2). The request
-- path does nothing but insert a row here, the same for every email, known or not; the
-- issuer (src/reset/issuer.rs) claims rows, and either issues a token, queues its mail and
-- deletes the row in one transaction, or just deletes the row (unknown, banned or inactive
-- account, or over the account's limit).
--
-- `email` is the normalized address as the client typed it, also for addresses that have no
-- account: it stays here only until the issuer has processed the row, normally a few
-- milliseconds after the answer (longer only while no issuer runs). Nothing else keeps it.
--
-- AUTOINCREMENT: an issuer whose lease ran out may still commit with the id it claimed, and
-- that id must never name a newer request (plain rowids are reused once the table is empty,
-- which this table usually is).
CREATE TABLE reset_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    dialect TEXT NOT NULL,
    email TEXT NOT NULL,
    client_ip TEXT,
    created_at BIGINT NOT NULL,
    -- NULL: waiting. Else claimed by an issuer until this instant; once it has passed (the
    -- issuer died) the row is claimed again.
    lease_until BIGINT
);

-- No index beyond the key: the table holds the requests of the last moments, and claims
-- read it in id order.

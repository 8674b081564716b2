-- PostgreSQL twin of migrations/sqlite/2026-12-07-000007_webhook_open_order: the same index.
-- A change here needs the same change there, under the same version name.
--
-- The claim's ordering check (src/store/webhooks.rs, first_in_line) asks whether an older
-- delivery of the same account and endpoint is still open. Over the whole table that walks
-- every delivery the account ever had, delivered or dead, and reads each row for its
-- status: a cost that grows with the account's history (355 deliveries each in the bench's
-- `request-webhooks`). Indexing only the open rows makes it a look at the one or two that
-- are still pending or sending. The predicate is the check's own, so both planners use it.
DROP INDEX webhook_deliveries_order_idx;
CREATE INDEX webhook_deliveries_open_order_idx ON webhook_deliveries (user_id, endpoint, id)
    WHERE status IN ('pending', 'sending');

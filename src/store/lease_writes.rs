//! The writes a lease queue's worker makes on its table after the claim: an attempt that
//! failed, items handed back unattempted, and leases renewed. The outbox and the webhook
//! deliveries keep their queue the same way (`status`, `lease_until`, `attempts`,
//! `next_attempt_at`, `last_error`), so one definition serves both: Diesel's columns are
//! types of their table's module, hence a macro rather than a generic function.

/// Implements, on `Store`, for the lease table `$table` whose status enum is `$Status`:
///
/// - `$mark_failed(id, error_summary, next_attempt_at)`: a failed attempt, back to `pending`
///   until `next_attempt_at`, or `dead` when there is none (retries exhausted).
///   `error_summary` must carry no secret.
/// - `$release(ids)`: claimed but unattempted items (a worker stopping) back to `pending`,
///   due at once, the claim's attempt not counted.
/// - `$renew(ids, held, until)`: the lease of those of `ids` still `sending` under the lease
///   ending at `held` moved to `until`. Items settled or released since, or claimed by
///   another worker after a lapse, are left alone.
///
/// The invoking module brings `diesel::prelude::*` and `diesel_async::RunQueryDsl` into
/// scope, as every store module does.
macro_rules! lease_writes {
    ($table:ident, $Status:ident, $mark_failed:ident, $release:ident, $renew:ident) => {
        impl $crate::store::Store {
            /// Records a failed attempt: `pending` until `next_attempt_at`, or `dead` when
            /// there is none. `error_summary` must carry no secret.
            pub async fn $mark_failed(
                &self,
                id: i64,
                error_summary: &str,
                next_attempt_at: Option<$crate::clock::Millis>,
            ) -> Result<(), $crate::store::StoreError> {
                let target = $table::table.find(id);
                let changes = (
                    $table::lease_until.eq(None::<$crate::clock::Millis>),
                    $table::last_error.eq(error_summary.to_owned()),
                );
                $crate::store::access::run!(self, write, |conn| {
                    match next_attempt_at {
                        Some(at) => {
                            diesel::update(target)
                                .set((
                                    changes,
                                    $table::status.eq($Status::Pending),
                                    $table::next_attempt_at.eq(at),
                                ))
                                .execute(conn)
                                .await?
                        }
                        None => {
                            diesel::update(target)
                                .set((changes, $table::status.eq($Status::Dead)))
                                .execute(conn)
                                .await?
                        }
                    };
                    Ok(())
                })
            }

            /// Hands claimed but unattempted items back: `pending`, due at once, the
            /// claim's attempt not counted.
            pub async fn $release(&self, ids: &[i64]) -> Result<(), $crate::store::StoreError> {
                if ids.is_empty() {
                    return Ok(());
                }
                let ids = ids.to_vec();
                $crate::store::access::run!(self, write, |conn| {
                    diesel::update(
                        $table::table
                            .filter($table::id.eq_any(ids))
                            .filter($table::status.eq($Status::Sending)),
                    )
                    .set((
                        $table::status.eq($Status::Pending),
                        $table::lease_until.eq(None::<$crate::clock::Millis>),
                        $table::attempts.eq($table::attempts - 1),
                    ))
                    .execute(conn)
                    .await?;
                    Ok(())
                })
            }

            /// Moves the lease of those of `ids` still `sending` under the lease ending at
            /// `held` to `until`.
            pub async fn $renew(
                &self,
                ids: &[i64],
                held: $crate::clock::Millis,
                until: $crate::clock::Millis,
            ) -> Result<(), $crate::store::StoreError> {
                if ids.is_empty() {
                    return Ok(());
                }
                let ids = ids.to_vec();
                $crate::store::access::run!(self, write, |conn| {
                    diesel::update(
                        $table::table
                            .filter($table::id.eq_any(ids))
                            .filter($table::status.eq($Status::Sending))
                            .filter($table::lease_until.eq(held)),
                    )
                    .set($table::lease_until.eq(until))
                    .execute(conn)
                    .await?;
                    Ok(())
                })
            }
        }
    };
}

pub(super) use lease_writes;

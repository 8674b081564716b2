//! How close `redeem` can come to `floor-argon2` on this machine at all.
//!
//! Both are measured on equal terms: the same argon2id parameters, as many hashes at once
//! (`max_concurrent`, one per core), the same nice 10 for the hashing threads. But the floor
//! keeps every core hashing and nothing else, while a redemption also costs CPU outside its
//! hash (HTTP, the store, the mail), and the load generator runs on the same cores. With
//! the cores saturated, `redeem / floor-argon2` is therefore at most the CPU of one hash
//! over the CPU of one redemption, everything on the machine counted. The bench measures
//! resetd's and its own CPU; a PostgreSQL server's is not counted, so on PostgreSQL the
//! real bound is lower still.

use super::report::{Row, Scenario};

/// The highest `redeem / floor-argon2` the CPU allows: the floor's CPU per hash over the
/// CPU per redemption of resetd and of the load generator. `None` when a figure is missing.
pub fn redeem_ceiling(rows: &[Row]) -> Option<f64> {
    let find = |scenario| rows.iter().find(|r| r.scenario == scenario);
    let (floor, redeem) = (find(Scenario::FloorArgon2)?, find(Scenario::Redeem)?);
    let per_hash_us = floor.cpu_per_request_us?;
    let server_us = redeem.cpu_per_request_us?;
    let bench_us =
        (redeem.rate > 0.0).then(|| redeem.bench_cpu.map(|c| c * 1e6 / redeem.rate))??;
    let per_redemption_us = server_us + bench_us;
    (per_redemption_us > 0.0).then(|| per_hash_us / per_redemption_us)
}

/// The report's note on [`redeem_ceiling`].
pub fn note(rows: &[Row]) -> Option<String> {
    let ceiling = redeem_ceiling(rows)?;
    let find = |scenario| rows.iter().find(|r| r.scenario == scenario);
    let per_hash_us = find(Scenario::FloorArgon2)?.cpu_per_request_us?;
    let redeem = find(Scenario::Redeem)?;
    let server_us = redeem.cpu_per_request_us?;
    let split = redeem
        .hashing_cpu_per_request_us
        .map(|hashing_us| split(per_hash_us, server_us, hashing_us))
        .unwrap_or_default();
    Some(format!(
        "`redeem / floor-argon2` can be at most {ceiling:.2} here: `floor-argon2` keeps every \
         core hashing ({per_hash_us:.0} µs of CPU per hash), while each redemption costs \
         {server_us:.0} µs of resetd's CPU ({:.0} µs beyond one hash) and the load \
         generator's on the same cores.{split} On PostgreSQL the database server's CPU per \
         redemption comes on top and is not measured.",
        server_us - per_hash_us
    ))
}

/// Where a redemption's CPU went: its hash, against the floor's, and the rest.
fn split(per_hash_us: f64, server_us: f64, hashing_us: f64) -> String {
    let slower = (hashing_us / per_hash_us - 1.0) * 100.0;
    format!(
        " Of that, {hashing_us:.0} µs ran on resetd's hashing threads ({slower:+.0}% against \
         the floor's hash: the same hash costs more beside the rest of the server) and \
         {:.0} µs elsewhere (HTTP, the store, the mail, the log).",
        server_us - hashing_us
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(scenario: Scenario, rate: f64, bench_cpu: f64, cpu_per_request_us: f64) -> Row {
        Row {
            scenario,
            rate,
            p50_us: 0,
            p99_us: 0,
            max_us: 0,
            errors: 0,
            peak_rss_kib: None,
            server_cpu: None,
            bench_cpu: Some(bench_cpu),
            cpu_per_request_us: Some(cpu_per_request_us),
            hashing_cpu_per_request_us: None,
        }
    }

    #[test]
    fn the_ceiling_is_cpu_per_hash_over_cpu_per_redemption() {
        // 15 ms a hash; a redemption: 17 ms of resetd's CPU and 1 ms of the bench's
        // (0.1 cores at 100 redemptions a second).
        let rows = [
            row(Scenario::FloorArgon2, 130.0, 2.0, 15_000.0),
            row(Scenario::Redeem, 100.0, 0.1, 17_000.0),
        ];
        let ceiling = redeem_ceiling(&rows).expect("ceiling");
        assert!((ceiling - 15.0 / 18.0).abs() < 1e-9, "{ceiling}");
        let note = note(&rows).expect("note");
        assert!(note.contains("at most 0.83"), "{note}");
        assert!(note.contains("2000 µs beyond one hash"), "{note}");
        // Without the hashing threads' own figure, no split.
        assert!(!note.contains("hashing threads"), "{note}");
    }

    #[test]
    fn the_note_splits_a_redemption_into_its_hash_and_the_rest() {
        let mut redeem = row(Scenario::Redeem, 100.0, 0.1, 17_000.0);
        redeem.hashing_cpu_per_request_us = Some(16_500.0);
        let rows = [row(Scenario::FloorArgon2, 130.0, 2.0, 15_000.0), redeem];
        let note = note(&rows).expect("note");
        assert!(
            note.contains("16500 µs ran on resetd's hashing threads (+10%"),
            "{note}"
        );
        assert!(note.contains("500 µs elsewhere"), "{note}");
    }

    #[test]
    fn no_ceiling_without_both_rows_or_with_no_redemptions() {
        let floor = row(Scenario::FloorArgon2, 130.0, 2.0, 15_000.0);
        assert_eq!(redeem_ceiling(std::slice::from_ref(&floor)), None);
        let idle = row(Scenario::Redeem, 0.0, 0.1, 17_000.0);
        assert_eq!(redeem_ceiling(&[floor, idle]), None);
    }
}

//! `redeem` and `floor-argon2` in turns: F R F R … R F.
//!
//! `redeem / floor-argon2` compares two loads that cannot run at once (each keeps every core
//! busy). On a virtual machine the speed of the cores moves while a run goes on: on the
//! machines this bench has run on, two floors of one run have differed by up to 29%. Measured
//! one after the other, the ratio took that drift in whole. Measured in turns, each `redeem`
//! window between two floor windows, the floor and the redemptions see the same machine
//! on average, and a slow or fast moment weighs on both. The rows are the windows taken
//! together (all the answers over all the windows' time, all the CPU); a note gives each
//! turn's own ratio, against the mean of the two floors beside it, so the spread shows.

use std::sync::Arc;

use super::error::BenchError;
use super::load::{LoadResult, Once};
use super::report::{Row, Scenario};
use super::scenarios::{Scenarios, Spent};

/// Loads of one kind, measured in several windows.
struct Windows {
    total: (LoadResult, Spent),
    rates: Vec<f64>,
}

impl Windows {
    fn new((result, spent): (LoadResult, Spent)) -> Self {
        Windows {
            rates: vec![result.rate()],
            total: (result, spent),
        }
    }

    fn push(&mut self, (result, spent): (LoadResult, Spent)) {
        self.rates.push(result.rate());
        let (total, total_spent) = &mut self.total;
        total.absorb(result);
        *total_spent = total_spent.add(spent);
    }
}

/// The `floor-argon2` row and, when `tokens` are given, the `redeem` row, measured in
/// `turns` turns after the floor window `first` (the one the tokens were counted from).
pub async fn floor_and_redeem(
    s: &mut Scenarios<'_>,
    first: (LoadResult, Spent),
    tokens: Option<Arc<Once>>,
) -> Result<(Row, Option<Row>), BenchError> {
    let mut floors = Windows::new(first);
    let mut redemptions: Option<Windows> = None;
    if let Some(tokens) = tokens {
        let turns = s.timing.turns.max(1);
        let window = s.timing.redeem / turns;
        for _ in 0..turns {
            let redeemed = s.redeem(tokens.clone(), window).await;
            match &mut redemptions {
                Some(windows) => windows.push(redeemed),
                None => redemptions = Some(Windows::new(redeemed)),
            }
            floors.push(s.floor_argon2().await?);
        }
    }
    let (result, spent) = &floors.total;
    let floor = spent.bench_row(Scenario::FloorArgon2, result);
    let redeem = redemptions.map(|redemptions| {
        let (result, spent) = &redemptions.total;
        s.note_exhausted(Scenario::Redeem, result);
        s.note_errors(Scenario::Redeem, result);
        s.notes.push(note(&floors.rates, &redemptions.rates));
        spent.server_row(Scenario::Redeem, result)
    });
    Ok((floor, redeem))
}

/// Each turn's `redeem` rate over the mean of the floors before and after it.
fn per_turn_ratios(floors: &[f64], redemptions: &[f64]) -> Vec<f64> {
    redemptions
        .iter()
        .zip(floors.windows(2))
        .filter_map(|(redeem, beside)| {
            let floor = (beside[0] + beside[1]) / 2.0;
            (floor > 0.0).then(|| redeem / floor)
        })
        .collect()
}

fn note(floors: &[f64], redemptions: &[f64]) -> String {
    let list = |values: &[f64], digits: usize| {
        values
            .iter()
            .map(|v| format!("{v:.digits$}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "`floor-argon2` and `redeem` ran in turns, a floor window before each `redeem` \
         window and after the last: floors {} hashes/s, `redeem` {} redemptions/s; each \
         turn's `redeem` over the mean of the floors beside it: {}. The table's rows take \
         the windows together.",
        list(floors, 1),
        list(redemptions, 1),
        list(&per_turn_ratios(floors, redemptions), 2),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_turn_is_set_against_the_floors_beside_it() {
        let ratios = per_turn_ratios(&[100.0, 120.0, 80.0], &[99.0, 90.0]);
        assert_eq!(ratios.len(), 2);
        assert!((ratios[0] - 0.9).abs() < 1e-12, "{ratios:?}");
        assert!((ratios[1] - 0.9).abs() < 1e-12, "{ratios:?}");
        // A floor that did nothing gives no ratio for its turns.
        assert!(per_turn_ratios(&[0.0, 0.0], &[5.0]).is_empty());
        let note = note(&[100.0, 120.0, 80.0], &[99.0, 90.0]);
        assert!(
            note.contains("floors 100.0, 120.0, 80.0 hashes/s"),
            "{note}"
        );
        assert!(note.contains("beside it: 0.90, 0.90."), "{note}");
    }

    #[test]
    fn windows_add_up_to_one_load() {
        use super::super::load::{latency_histogram, ErrorTally};
        use std::time::Duration;

        let load = |answers: u64, seconds: u64, cpu_ms: u64| {
            let mut latencies = latency_histogram();
            for _ in 0..answers {
                latencies.record(1_000).expect("in bounds");
            }
            let result = LoadResult {
                latencies,
                window: Duration::from_secs(seconds),
                succeeded_total: answers + 1,
                errors: ErrorTally::default(),
                exhausted: false,
            };
            let spent = Spent {
                elapsed: Duration::from_secs(seconds + 1),
                server_cpu: Some(Duration::from_millis(cpu_ms)),
                bench_cpu: Some(Duration::from_millis(1)),
                ..Spent::default()
            };
            (result, spent)
        };
        let mut windows = Windows::new(load(10, 1, 100));
        windows.push(load(30, 1, 300));
        assert_eq!(windows.rates, [10.0, 30.0]);
        let (result, spent) = windows.total;
        assert_eq!(result.rate(), 20.0);
        assert_eq!(result.succeeded_total, 42);
        assert_eq!(spent.elapsed, Duration::from_secs(4));
        assert_eq!(spent.server_cpu, Some(Duration::from_millis(400)));
        // A reading missing from one window leaves the whole without it.
        assert_eq!(spent.hashing_cpu, None);
    }
}

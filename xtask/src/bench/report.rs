//! The results as markdown: one table per store, the ratios against the floors with their
//! targets, the machine and the setup.

use std::fmt::Write as _;

use super::cli::Db;
use super::import::{self, ImportRun};
use super::load::LoadResult;
use super::machine::{format_kib, Machine};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    FloorHttp,
    Request,
    RequestUnknown,
    Redeem,
    FloorArgon2,
    HealthUnderHash,
    /// `request` with webhook endpoints configured (`webhooks`).
    RequestWebhooks,
}

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Scenario::FloorHttp => "floor-http",
            Scenario::Request => "request",
            Scenario::RequestUnknown => "request-unknown",
            Scenario::Redeem => "redeem",
            Scenario::FloorArgon2 => "floor-argon2",
            Scenario::HealthUnderHash => "health-under-hash",
            Scenario::RequestWebhooks => "request-webhooks",
        }
    }
}

/// One line of a table.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub scenario: Scenario,
    /// Successful requests (hashes, for `floor-argon2`) per second of window.
    pub rate: f64,
    /// Latencies in microseconds.
    pub p50_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
    pub errors: u64,
    pub peak_rss_kib: Option<u64>,
    /// CPU used, in cores kept busy on average.
    pub server_cpu: Option<f64>,
    pub bench_cpu: Option<f64>,
    /// Server CPU time per successful request, in microseconds, the background work the
    /// requests caused included (for `floor-argon2`: the bench's, per hash). Unlike rates,
    /// it hardly depends on what else the machine is doing.
    pub cpu_per_request_us: Option<f64>,
    /// The part of `cpu_per_request_us` spent on resetd's hashing threads.
    pub hashing_cpu_per_request_us: Option<f64>,
}

impl Row {
    pub fn from_load(scenario: Scenario, result: &LoadResult) -> Row {
        let latencies = &result.latencies;
        let empty = latencies.is_empty();
        Row {
            scenario,
            rate: result.rate(),
            p50_us: if empty {
                0
            } else {
                latencies.value_at_quantile(0.5)
            },
            p99_us: if empty {
                0
            } else {
                latencies.value_at_quantile(0.99)
            },
            max_us: if empty { 0 } else { latencies.max() },
            errors: result.errors.count,
            peak_rss_kib: None,
            server_cpu: None,
            bench_cpu: None,
            cpu_per_request_us: None,
            hashing_cpu_per_request_us: None,
        }
    }
}

/// What the server may hold beyond its hashing memory while it redeems: connections,
/// request buffers, SQLite's page caches (8 pooled connections of up to 2 MiB).
pub const OTHER_MEMORY_KIB: u64 = 16 * 1024;

/// What the server's memory did under hashing, against the cap on concurrent hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memory {
    /// Resident memory just before the hashing scenarios.
    pub idle_kib: u64,
    /// Peak over the whole run (`VmHWM`).
    pub peak_kib: u64,
    /// `idle + max_concurrent × memory_kib + OTHER_MEMORY_KIB`: what bounded hashing (and
    /// the rest of a server under load) can add to the idle server.
    pub bound_kib: u64,
}

/// Everything measured on one store.
#[derive(Debug, Clone, PartialEq)]
pub struct DbReport {
    pub db: Db,
    pub rows: Vec<Row>,
    pub memory: Option<Memory>,
    /// Errors logged by the server itself.
    pub server_errors: usize,
    pub notes: Vec<String>,
    /// The `import` scenario's runs, smaller file first.
    pub imports: Vec<ImportRun>,
}

impl DbReport {
    pub fn row(&self, scenario: Scenario) -> Option<&Row> {
        self.rows.iter().find(|r| r.scenario == scenario)
    }

    pub fn errors(&self) -> u64 {
        let failed_imports = self.imports.iter().filter(|r| r.failure.is_some()).count();
        self.rows.iter().map(|r| r.errors).sum::<u64>()
            + self.server_errors as u64
            + failed_imports as u64
    }

    /// The HTTP scenarios' ratios against their floors.
    fn ratio_targets(&self) -> Vec<Target> {
        let rate = |s| self.row(s).map(|r| r.rate);
        vec![
            Target::at_least(
                "request / floor-http",
                ratio(rate(Scenario::Request), rate(Scenario::FloorHttp)),
                // The target is set for SQLite; on PostgreSQL the ratio is reported only.
                (self.db == Db::Sqlite).then_some(0.25),
            ),
            Target::at_least(
                "request-unknown / request",
                ratio(rate(Scenario::RequestUnknown), rate(Scenario::Request)),
                None,
            ),
            Target::at_least(
                "request-webhooks / request",
                ratio(rate(Scenario::RequestWebhooks), rate(Scenario::Request)),
                Some(0.95),
            ),
            Target::at_least(
                "redeem / floor-argon2",
                ratio(rate(Scenario::Redeem), rate(Scenario::FloorArgon2)),
                // Lower on PostgreSQL (issue 15): its server's CPU shares the same cores.
                Some(match self.db {
                    Db::Sqlite => 0.9,
                    Db::Postgres => 0.8,
                }),
            ),
        ]
    }

    pub fn targets(&self) -> Vec<Target> {
        let mut targets = Vec::new();
        // A run of `import` alone has no ratios to miss.
        if !self.rows.is_empty() {
            targets.extend(self.ratio_targets());
        }
        if let Some(health) = self.row(Scenario::HealthUnderHash) {
            targets.push(Target {
                what: "health-under-hash p99".to_owned(),
                measured: format_ms(health.p99_us),
                target: "< 10 ms".to_owned(),
                met: Some(health.p99_us < 10_000),
            });
        }
        targets.extend(import::targets(self.db, &self.imports));
        targets.push(Target {
            what: "errors".to_owned(),
            measured: self.errors().to_string(),
            target: "0".to_owned(),
            met: Some(self.errors() == 0),
        });
        if let Some(memory) = self.memory {
            targets.push(Target {
                what: "server peak RSS".to_owned(),
                measured: format_kib(memory.peak_kib),
                target: format!(
                    "≤ {} (idle {} + cap × m + 16 MiB)",
                    format_kib(memory.bound_kib),
                    format_kib(memory.idle_kib)
                ),
                met: Some(memory.peak_kib <= memory.bound_kib),
            });
        }
        targets
    }
}

/// A measured figure against its target (`met: None` when there is none).
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub what: String,
    pub measured: String,
    pub target: String,
    pub met: Option<bool>,
}

impl Target {
    fn at_least(what: &str, value: Option<f64>, minimum: Option<f64>) -> Target {
        Target {
            what: what.to_owned(),
            measured: value.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.2}")),
            target: minimum.map_or_else(|| "—".to_owned(), |m| format!("≥ {m:.2}")),
            met: minimum.map(|m| value.is_some_and(|v| v >= m)),
        }
    }
}

/// `a / b`, when both exist and `b` is not zero.
pub fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

/// How the run was set up, for the report's preamble.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setup {
    pub command: String,
    pub profile: String,
    pub quick: bool,
    pub lines: Vec<String>,
}

pub struct Report<'a> {
    pub machine: &'a Machine,
    pub setup: &'a Setup,
    pub dbs: &'a [DbReport],
}

/// The whole report as markdown.
pub fn markdown(report: &Report<'_>) -> String {
    let mut out = String::new();
    let m = report.machine;
    let s = report.setup;
    let _ = writeln!(out, "# resetd benchmark\n");
    let _ = writeln!(
        out,
        "Written by `{}` on {}, commit `{}`, {} build.{}\n",
        s.command,
        m.date,
        m.commit,
        s.profile,
        if s.quick {
            " A `--quick` smoke run: its figures are not measurements."
        } else {
            ""
        }
    );
    let _ = writeln!(out, "## Machine\n");
    let _ = writeln!(out, "| | |\n| --- | --- |");
    for (key, value) in [
        ("cores", m.cores.to_string()),
        ("CPU", m.cpu_model.clone()),
        ("memory", m.memory.clone()),
        ("OS", m.os.clone()),
        ("compiler", m.rustc.clone()),
        ("load average before the run", m.load_before.clone()),
    ] {
        let _ = writeln!(out, "| {key} | {value} |");
    }
    let _ = writeln!(out, "\n## Setup\n");
    for line in &s.lines {
        let _ = writeln!(out, "- {line}");
    }
    for db in report.dbs {
        let _ = writeln!(out, "\n## {}\n", db.db.title());
        if !db.rows.is_empty() {
            out.push_str(&table(&db.rows));
            let _ = writeln!(out);
        }
        if !db.imports.is_empty() {
            out.push_str(&import::table(&db.imports));
            let _ = writeln!(out);
        }
        out.push_str(&targets_table(&db.targets()));
        if !db.notes.is_empty() {
            let _ = writeln!(out);
            for note in &db.notes {
                let _ = writeln!(out, "- {note}");
            }
        }
    }
    out
}

/// The scenario table.
pub fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| scenario | requests/s | p50 | p99 | max | errors | server peak RSS | server CPU | bench CPU | CPU per request |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for r in rows {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.scenario.name(),
            format_rate(r.rate),
            format_ms(r.p50_us),
            format_ms(r.p99_us),
            format_ms(r.max_us),
            r.errors,
            r.peak_rss_kib.map_or_else(|| "—".to_owned(), format_kib),
            format_cores(r.server_cpu),
            format_cores(r.bench_cpu),
            r.cpu_per_request_us
                .map_or_else(|| "—".to_owned(), |us| format!("{us:.0} µs")),
        );
    }
    out
}

fn targets_table(targets: &[Target]) -> String {
    let mut out = String::from("| measure | measured | target | |\n| --- | ---: | --- | --- |\n");
    for t in targets {
        let verdict = match t.met {
            Some(true) => "met",
            Some(false) => "**missed**",
            None => "",
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {verdict} |",
            t.what, t.measured, t.target
        );
    }
    out
}

/// Requests per second, with precision where it matters.
pub fn format_rate(rate: f64) -> String {
    if rate >= 100.0 {
        format!("{rate:.0}")
    } else if rate >= 10.0 {
        format!("{rate:.1}")
    } else {
        format!("{rate:.2}")
    }
}

/// Microseconds as milliseconds with three significant digits or so.
pub fn format_ms(micros: u64) -> String {
    let ms = micros as f64 / 1000.0;
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else if ms < 100.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

fn format_cores(cores: Option<f64>) -> String {
    cores.map_or_else(|| "—".to_owned(), |c| format!("{c:.2}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::load::{latency_histogram, ErrorTally};
    use std::time::Duration;

    fn row(scenario: Scenario, rate: f64) -> Row {
        Row {
            scenario,
            rate,
            p50_us: 420,
            p99_us: 1_234,
            max_us: 56_789,
            errors: 0,
            peak_rss_kib: Some(40_960),
            server_cpu: Some(1.5),
            bench_cpu: None,
            cpu_per_request_us: Some(87.4),
            hashing_cpu_per_request_us: None,
        }
    }

    fn report(db: Db, rows: Vec<Row>) -> DbReport {
        DbReport {
            db,
            rows,
            memory: Some(Memory {
                idle_kib: 20_000,
                peak_kib: 50_000,
                bound_kib: 60_912,
            }),
            server_errors: 0,
            notes: vec!["a note".to_owned()],
            imports: Vec::new(),
        }
    }

    #[test]
    fn numbers_are_formatted_for_reading() {
        assert_eq!(format_rate(12_345.6), "12346");
        assert_eq!(format_rate(54.321), "54.3");
        assert_eq!(format_rate(0.5), "0.50");
        assert_eq!(format_ms(420), "0.42 ms");
        assert_eq!(format_ms(12_345), "12.3 ms");
        assert_eq!(format_ms(1_234_567), "1235 ms");
        assert_eq!(format_cores(Some(1.234)), "1.23");
        assert_eq!(format_cores(None), "—");
    }

    #[test]
    fn ratios_need_a_nonzero_denominator() {
        assert_eq!(ratio(Some(3.0), Some(4.0)), Some(0.75));
        assert_eq!(ratio(Some(3.0), Some(0.0)), None);
        assert_eq!(ratio(None, Some(4.0)), None);
    }

    #[test]
    fn a_row_takes_rate_and_quantiles_from_the_histogram() {
        let mut latencies = latency_histogram();
        for micros in 1..=1000 {
            latencies.record(micros).expect("in range");
        }
        let result = LoadResult {
            latencies,
            window: Duration::from_secs(2),
            succeeded_total: 1100,
            errors: ErrorTally {
                count: 3,
                samples: vec![],
            },
            exhausted: false,
        };
        let r = Row::from_load(Scenario::Redeem, &result);
        assert_eq!(r.rate, 500.0);
        assert_eq!(r.p50_us, 500);
        assert_eq!(r.p99_us, 990);
        assert_eq!(r.max_us, 1000);
        assert_eq!(r.errors, 3);

        let empty = LoadResult {
            latencies: latency_histogram(),
            ..result
        };
        let r = Row::from_load(Scenario::Redeem, &empty);
        assert_eq!((r.rate, r.p50_us, r.max_us), (0.0, 0, 0));
    }

    #[test]
    fn targets_compare_ratios_in_one_run() {
        let mut health = row(Scenario::HealthUnderHash, 200.0);
        health.p99_us = 12_000;
        let sqlite = report(
            Db::Sqlite,
            vec![
                row(Scenario::FloorHttp, 10_000.0),
                row(Scenario::Request, 3_000.0),
                row(Scenario::RequestUnknown, 3_030.0),
                row(Scenario::FloorArgon2, 50.0),
                row(Scenario::Redeem, 44.0),
                health,
            ],
        );
        let targets = sqlite.targets();
        let find = |what: &str| target(&targets, what);
        assert_eq!(find("request / floor-http").measured, "0.30");
        assert_eq!(find("request / floor-http").met, Some(true));
        assert_eq!(find("request-unknown / request").measured, "1.01");
        assert_eq!(find("request-unknown / request").met, None);
        assert_eq!(find("redeem / floor-argon2").measured, "0.88");
        assert_eq!(find("redeem / floor-argon2").met, Some(false));
        assert_eq!(find("health-under-hash p99").met, Some(false));
        assert_eq!(find("errors").met, Some(true));
        assert_eq!(find("server peak RSS").met, Some(true));

        // The request ratio has a target on SQLite only; the redemption ratio's is lower
        // on PostgreSQL.
        let postgres = report(Db::Postgres, sqlite.rows.clone()).targets();
        let request = target(&postgres, "request / floor-http");
        assert_eq!((request.measured.as_str(), request.met), ("0.30", None));
        let redeem = target(&postgres, "redeem / floor-argon2");
        assert_eq!(redeem.target, "≥ 0.80");
        assert_eq!((redeem.measured.as_str(), redeem.met), ("0.88", Some(true)));
        assert_eq!(target(&targets, "redeem / floor-argon2").target, "≥ 0.90");
    }

    /// The target named `what` among `targets`.
    fn target<'t>(targets: &'t [Target], what: &str) -> &'t Target {
        targets
            .iter()
            .find(|t| t.what == what)
            .unwrap_or_else(|| panic!("no target {what}"))
    }

    #[test]
    fn errors_anywhere_count() {
        let mut r = report(Db::Sqlite, vec![row(Scenario::FloorHttp, 1.0)]);
        assert_eq!(r.errors(), 0);
        r.rows[0].errors = 2;
        r.server_errors = 1;
        assert_eq!(r.errors(), 3);
    }

    #[test]
    fn the_markdown_has_the_machine_the_tables_and_the_verdicts() {
        let machine = Machine {
            cores: 2,
            cpu_model: "Test CPU".to_owned(),
            memory: "1.0 GiB".to_owned(),
            os: "TestOS, Linux 6.1".to_owned(),
            rustc: "rustc 1.95.0".to_owned(),
            date: "2026-11-24 00:00 UTC".to_owned(),
            commit: "abc123".to_owned(),
            load_before: "0.10 0.20 0.30".to_owned(),
        };
        let setup = Setup {
            command: "cargo xtask bench".to_owned(),
            profile: "release".to_owned(),
            quick: false,
            lines: vec!["rate limits off".to_owned()],
        };
        let dbs = [report(
            Db::Sqlite,
            vec![
                row(Scenario::FloorHttp, 10_000.0),
                row(Scenario::Request, 2_000.0),
            ],
        )];
        let text = markdown(&Report {
            machine: &machine,
            setup: &setup,
            dbs: &dbs,
        });
        for expected in [
            "Written by `cargo xtask bench` on 2026-11-24 00:00 UTC, commit `abc123`, release build.",
            "| cores | 2 |",
            "| CPU | Test CPU |",
            "- rate limits off",
            "## SQLite",
            "| `floor-http` | 10000 | 0.42 ms | 1.23 ms | 56.8 ms | 0 | 40.0 MiB | 1.50 | — | 87 µs |",
            "| request / floor-http | 0.20 | ≥ 0.25 | **missed** |",
            "- a note",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
        assert!(!text.contains("smoke"));
    }
}

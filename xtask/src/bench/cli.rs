//! `cargo xtask bench` arguments.

use std::path::PathBuf;
use std::time::Duration;

pub const USAGE: &str = "usage: cargo xtask bench [--db sqlite|postgres|all] [--quick] [--out FILE]
                        [--profile release|dev] [--connections N]

  --db            the store to run against; repeat or list with commas (default sqlite).
                  postgres: a fresh database on the server named by RESETD_BENCH_PG_URL
                  (else RESETD_TEST_PG_URL), dropped afterwards
  --quick         a smoke run of a few seconds: every scenario, tiny windows; fails
                  on any request error, never on performance figures
  --out FILE      where to write the markdown table (default bench/results.md)
  --profile P     build resetd (and the load generator) with this cargo profile
                  (default release; dev reuses the test build, for CI smoke runs:
                  its figures say nothing about performance)
  --connections N keep-alive connections for the HTTP scenarios (default 16)
  --only LIST     run only these scenarios (comma-separated names), e.g. while
                  profiling one of them; ratios without both sides read n/a";

/// The stores a run can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

impl Db {
    pub fn name(self) -> &'static str {
        match self {
            Db::Sqlite => "sqlite",
            Db::Postgres => "postgres",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Db::Sqlite => "SQLite",
            Db::Postgres => "PostgreSQL",
        }
    }
}

/// The cargo profile resetd and the load generator are built with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Release,
    Dev,
}

impl Profile {
    pub fn name(self) -> &'static str {
        match self {
            Profile::Release => "release",
            Profile::Dev => "dev",
        }
    }

    /// The directory under the target dir that holds the profile's binaries.
    pub fn dir(self) -> &'static str {
        match self {
            Profile::Release => "release",
            Profile::Dev => "debug",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenchArgs {
    pub dbs: Vec<Db>,
    pub quick: bool,
    /// `None`: `bench/results.md` under the workspace root.
    pub out: Option<PathBuf>,
    pub profile: Profile,
    pub connections: usize,
    /// Scenario names to run; empty: all.
    pub only: Vec<String>,
}

/// Every scenario, by name, in the order a run takes them.
pub const SCENARIOS: [&str; 6] = [
    "floor-http",
    "request",
    "request-unknown",
    "floor-argon2",
    "redeem",
    "health-under-hash",
];

impl Default for BenchArgs {
    fn default() -> Self {
        BenchArgs {
            dbs: vec![Db::Sqlite],
            quick: false,
            out: None,
            profile: Profile::Release,
            connections: 16,
            only: Vec::new(),
        }
    }
}

impl BenchArgs {
    /// The arguments again, as the command line of a re-run (the release build of the
    /// bench runs itself with them).
    pub fn to_args(&self) -> Vec<String> {
        let mut args = vec!["bench".to_owned()];
        let dbs: Vec<&str> = self.dbs.iter().map(|db| db.name()).collect();
        args.extend(["--db".to_owned(), dbs.join(",")]);
        if self.quick {
            args.push("--quick".to_owned());
        }
        if let Some(out) = &self.out {
            args.extend(["--out".to_owned(), out.display().to_string()]);
        }
        args.extend(["--profile".to_owned(), self.profile.name().to_owned()]);
        args.extend(["--connections".to_owned(), self.connections.to_string()]);
        if !self.only.is_empty() {
            args.extend(["--only".to_owned(), self.only.join(",")]);
        }
        args
    }

    /// Whether the scenario named `name` is to run.
    pub fn runs(&self, name: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|n| n == name)
    }

    pub fn timing(&self) -> Timing {
        if self.quick {
            Timing::QUICK
        } else {
            Timing::FULL
        }
    }
}

/// How long each part of a run lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Load before each measured window, not recorded (connections open, caches warm,
    /// the hashing pool full).
    pub warmup: Duration,
    pub floor_http: Duration,
    pub request: Duration,
    pub floor_argon2: Duration,
    pub redeem: Duration,
    pub health_under_hash: Duration,
    /// How long the reset queue may take to drain after a request scenario.
    pub drain_timeout: Duration,
    /// Accounts seeded for the request scenarios.
    pub accounts: usize,
}

impl Timing {
    pub const FULL: Timing = Timing {
        warmup: Duration::from_secs(2),
        floor_http: Duration::from_secs(15),
        request: Duration::from_secs(15),
        floor_argon2: Duration::from_secs(10),
        redeem: Duration::from_secs(20),
        health_under_hash: Duration::from_secs(15),
        drain_timeout: Duration::from_secs(300),
        accounts: 1000,
    };

    pub const QUICK: Timing = Timing {
        warmup: Duration::from_millis(200),
        floor_http: Duration::from_millis(500),
        request: Duration::from_millis(500),
        floor_argon2: Duration::from_millis(500),
        redeem: Duration::from_millis(1000),
        health_under_hash: Duration::from_millis(1000),
        drain_timeout: Duration::from_secs(60),
        accounts: 40,
    };
}

/// Parses what follows `bench` on the command line.
pub fn parse(args: &[String]) -> Result<BenchArgs, String> {
    let mut parsed = BenchArgs::default();
    let mut dbs: Vec<Db> = Vec::new();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_owned())),
            _ => (arg.as_str(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            inline
                .clone()
                .or_else(|| rest.next().cloned())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag {
            "--db" => {
                for name in value("--db")?.split(',') {
                    let more: &[Db] = match name.trim() {
                        "sqlite" => &[Db::Sqlite],
                        "postgres" | "postgresql" => &[Db::Postgres],
                        "all" => &[Db::Sqlite, Db::Postgres],
                        other => return Err(format!("unknown --db `{other}`")),
                    };
                    for db in more {
                        if !dbs.contains(db) {
                            dbs.push(*db);
                        }
                    }
                }
            }
            "--quick" if inline.is_none() => parsed.quick = true,
            "--out" => parsed.out = Some(PathBuf::from(value("--out")?)),
            "--profile" => {
                parsed.profile = match value("--profile")?.as_str() {
                    "release" => Profile::Release,
                    "dev" | "debug" => Profile::Dev,
                    other => return Err(format!("unknown --profile `{other}`")),
                }
            }
            "--connections" => {
                let text = value("--connections")?;
                parsed.connections = match text.parse::<usize>() {
                    Ok(n) if (1..=1024).contains(&n) => n,
                    _ => return Err(format!("--connections must be 1 to 1024, not `{text}`")),
                };
            }
            "--only" => {
                for name in value("--only")?.split(',') {
                    let name = name.trim();
                    if !SCENARIOS.contains(&name) {
                        return Err(format!(
                            "unknown scenario `{name}` (one of {})",
                            SCENARIOS.join(", ")
                        ));
                    }
                    parsed.only.push(name.to_owned());
                }
            }
            other => return Err(format!("unexpected argument `{other}`")),
        }
    }
    if !dbs.is_empty() {
        parsed.dbs = dbs;
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn defaults_to_a_full_release_run_on_sqlite() {
        let parsed = parse(&[]).expect("no arguments");
        assert_eq!(parsed, BenchArgs::default());
        assert_eq!(parsed.dbs, [Db::Sqlite]);
        assert_eq!(parsed.profile, Profile::Release);
        assert_eq!(parsed.timing(), Timing::FULL);
    }

    #[test]
    fn parses_every_flag() {
        let parsed = parse(&args(&[
            "--db",
            "postgres",
            "--quick",
            "--out=/tmp/x.md",
            "--profile",
            "dev",
            "--connections",
            "4",
        ]))
        .expect("valid");
        assert_eq!(
            parsed,
            BenchArgs {
                dbs: vec![Db::Postgres],
                quick: true,
                out: Some(PathBuf::from("/tmp/x.md")),
                profile: Profile::Dev,
                connections: 4,
                only: Vec::new(),
            }
        );
        assert_eq!(parsed.timing(), Timing::QUICK);
    }

    #[test]
    fn databases_accumulate_without_duplicates() {
        let both = parse(&args(&["--db", "sqlite,postgres", "--db", "sqlite"])).expect("valid");
        assert_eq!(both.dbs, [Db::Sqlite, Db::Postgres]);
        let all = parse(&args(&["--db=all"])).expect("valid");
        assert_eq!(all.dbs, [Db::Sqlite, Db::Postgres]);
    }

    #[test]
    fn refuses_what_it_does_not_know() {
        for bad in [
            &["--db", "mysql"][..],
            &["--db"],
            &["--profile", "fast"],
            &["--connections", "0"],
            &["--connections", "many"],
            &["--quick=yes"],
            &["--verbose"],
            &["--only", "redeem,nap"],
        ] {
            assert!(parse(&args(bad)).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn only_selects_scenarios() {
        let all = parse(&[]).expect("valid");
        assert!(SCENARIOS.iter().all(|s| all.runs(s)));
        let some = parse(&args(&["--only", "redeem, floor-argon2"])).expect("valid");
        assert!(some.runs("redeem") && some.runs("floor-argon2"));
        assert!(!some.runs("request"));
    }

    #[test]
    fn a_rerun_parses_back_to_the_same_arguments() {
        let original = BenchArgs {
            dbs: vec![Db::Postgres, Db::Sqlite],
            quick: true,
            out: Some(PathBuf::from("/tmp/out.md")),
            profile: Profile::Release,
            connections: 3,
            only: vec!["redeem".to_owned(), "floor-argon2".to_owned()],
        };
        let rerun = original.to_args();
        assert_eq!(rerun[0], "bench");
        assert_eq!(parse(&rerun[1..]).expect("parses"), original);
    }
}

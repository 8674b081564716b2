//! `cargo xtask bench` arguments.

use std::path::PathBuf;
use std::time::Duration;

use clap::ValueEnum;

/// The stores a run can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// What `--db` accepts: a store, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DbChoice {
    Sqlite,
    #[value(alias = "postgresql")]
    Postgres,
    All,
}

impl DbChoice {
    fn dbs(self) -> &'static [Db] {
        match self {
            DbChoice::Sqlite => &[Db::Sqlite],
            DbChoice::Postgres => &[Db::Postgres],
            DbChoice::All => &[Db::Sqlite, Db::Postgres],
        }
    }
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Profile {
    Release,
    #[value(alias = "debug")]
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
    /// Accounts in the `import` scenario's larger file; `None`: the timing's.
    pub import_accounts: Option<u64>,
}

/// Every scenario, by name, in the order a run takes them.
pub const SCENARIOS: [&str; 8] = [
    "floor-http",
    "request",
    "request-unknown",
    "floor-argon2",
    "redeem",
    "health-under-hash",
    "webhooks",
    "import",
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
            import_accounts: None,
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
        if let Some(accounts) = self.import_accounts {
            args.extend(["--import-accounts".to_owned(), accounts.to_string()]);
        }
        args
    }

    /// Whether the scenario named `name` is to run.
    pub fn runs(&self, name: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|n| n == name)
    }

    /// Whether any scenario other than `import` (which needs no server) is to run.
    pub fn runs_server(&self) -> bool {
        SCENARIOS
            .iter()
            .any(|&name| name != "import" && self.runs(name))
    }

    /// Accounts in the `import` scenario's larger file (the smaller has a tenth).
    pub fn import_accounts(&self) -> u64 {
        self.import_accounts
            .unwrap_or_else(|| self.timing().import_accounts)
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
    /// Each `floor-argon2` window.
    pub floor_argon2: Duration,
    /// All `redeem` windows together.
    pub redeem: Duration,
    /// `redeem` windows, each after a `floor-argon2` window, with one more floor after the
    /// last (`turns.rs`).
    pub turns: u32,
    pub health_under_hash: Duration,
    /// How long the reset queue may take to drain after a request scenario.
    pub drain_timeout: Duration,
    /// Accounts seeded for the request scenarios.
    pub accounts: usize,
    /// Accounts in the `import` scenario's larger file.
    pub import_accounts: u64,
}

impl Timing {
    pub const FULL: Timing = Timing {
        warmup: Duration::from_secs(2),
        floor_http: Duration::from_secs(15),
        request: Duration::from_secs(15),
        floor_argon2: Duration::from_secs(4),
        redeem: Duration::from_secs(20),
        turns: 4,
        health_under_hash: Duration::from_secs(15),
        drain_timeout: Duration::from_secs(300),
        accounts: 1000,
        import_accounts: 1_000_000,
    };

    pub const QUICK: Timing = Timing {
        warmup: Duration::from_millis(200),
        floor_http: Duration::from_millis(500),
        request: Duration::from_millis(500),
        floor_argon2: Duration::from_millis(500),
        redeem: Duration::from_millis(1000),
        turns: 1,
        health_under_hash: Duration::from_millis(1000),
        drain_timeout: Duration::from_secs(60),
        accounts: 40,
        import_accounts: 2_000,
    };
}

/// `cargo xtask bench`'s command line, as clap reads it; [`BenchArgs`] is what a run uses.
#[derive(Debug, clap::Args)]
pub struct BenchCli {
    /// The store to run against; repeat or list with commas. postgres: a fresh database on
    /// the server named by RESETD_BENCH_PG_URL (else RESETD_TEST_PG_URL), dropped afterwards.
    #[arg(
        long = "db",
        value_enum,
        value_delimiter = ',',
        default_value = "sqlite"
    )]
    db: Vec<DbChoice>,
    /// A smoke run of a few seconds: every scenario, tiny windows; fails on any request
    /// error, never on performance figures.
    #[arg(long)]
    quick: bool,
    /// Where to write the markdown table [default: bench/results.md].
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Build resetd (and the load generator) with this cargo profile; dev reuses the test
    /// build, for CI smoke runs: its figures say nothing about performance.
    #[arg(long, value_enum, default_value = "release")]
    profile: Profile,
    /// Keep-alive connections for the HTTP scenarios.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=1024))]
    connections: u16,
    /// Run only these scenarios (comma-separated), e.g. while profiling one of them; ratios
    /// without both sides read n/a.
    #[arg(long, value_delimiter = ',', value_parser = scenario)]
    only: Vec<String>,
    /// Accounts in the `import` scenario's larger file; it also imports a tenth as many, to
    /// compare memory [default: 1000000, with --quick 2000].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(10..))]
    import_accounts: Option<u64>,
}

/// One name of [`SCENARIOS`], spaces around it allowed (`--only "redeem, floor-argon2"`).
fn scenario(name: &str) -> Result<String, String> {
    let name = name.trim();
    if SCENARIOS.contains(&name) {
        Ok(name.to_owned())
    } else {
        Err(format!("one of {}", SCENARIOS.join(", ")))
    }
}

impl From<BenchCli> for BenchArgs {
    fn from(cli: BenchCli) -> Self {
        let mut dbs: Vec<Db> = Vec::new();
        for db in cli.db.iter().flat_map(|choice| choice.dbs()) {
            if !dbs.contains(db) {
                dbs.push(*db);
            }
        }
        BenchArgs {
            dbs,
            quick: cli.quick,
            out: cli.out,
            profile: cli.profile,
            connections: usize::from(cli.connections),
            only: cli.only,
            import_accounts: cli.import_accounts,
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;

    /// Parses what follows `bench` on the command line.
    fn parse(args: &[String]) -> Result<BenchArgs, clap::Error> {
        #[derive(clap::Parser)]
        struct Bench {
            #[command(flatten)]
            bench: BenchCli,
        }
        let argv = std::iter::once("bench".to_owned()).chain(args.iter().cloned());
        Bench::try_parse_from(argv).map(|parsed| parsed.bench.into())
    }

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
            "--import-accounts",
            "5000",
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
                import_accounts: Some(5000),
            }
        );
        assert_eq!(parsed.timing(), Timing::QUICK);
        assert_eq!(parsed.import_accounts(), 5000);
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
            &["--import-accounts", "9"],
            &["--import-accounts", "-5"],
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
        assert!(some.runs_server());
        let import = parse(&args(&["--only", "import"])).expect("valid");
        assert!(import.runs("import") && !import.runs_server());
        assert_eq!(import.import_accounts(), 1_000_000);
        let quick = parse(&args(&["--quick"])).expect("valid");
        assert_eq!(quick.import_accounts(), 2_000);
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
            import_accounts: Some(20_000),
        };
        let rerun = original.to_args();
        assert_eq!(rerun[0], "bench");
        assert_eq!(parse(&rerun[1..]).expect("parses"), original);
    }
}

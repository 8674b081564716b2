//! Building what the bench runs, and finding it: resetd with the chosen profile, and for a
//! release run the release build of this very program, which then runs the bench (a load
//! generator built without optimisations would measure itself rather than resetd).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};

use super::cli::{BenchArgs, Profile};
use super::error::BenchError;

/// Set for the release build of the bench that a debug `cargo xtask bench` starts: it
/// finds everything built already.
const BUILT_VAR: &str = "RESETD_BENCH_BUILT";

pub enum Next {
    /// Run the bench in this process, against this resetd binary.
    RunHere { resetd: PathBuf },
    /// The release build of the bench ran it, with this outcome.
    RanElsewhere(ExitStatus),
}

pub fn prepare(root: &Path, args: &BenchArgs) -> Result<Next, BenchError> {
    let target_dir = target_dir(root)?;
    let resetd = target_dir.join(args.profile.dir()).join("resetd");
    if std::env::var_os(BUILT_VAR).is_some() {
        return Ok(Next::RunHere { resetd });
    }
    let rerun = args.profile == Profile::Release && cfg!(debug_assertions);
    let mut build = cargo();
    build
        .current_dir(root)
        .args(["build", "--profile", args.profile.name(), "-p", "resetd"]);
    if rerun {
        build.args(["-p", "xtask"]);
    }
    run(&mut build, "cargo build")?;
    if !rerun {
        return Ok(Next::RunHere { resetd });
    }
    let bench = target_dir.join(Profile::Release.dir()).join("xtask");
    let status = Command::new(&bench)
        .args(args.to_args())
        .current_dir(root)
        .env(BUILT_VAR, "1")
        .status()
        .map_err(|source| BenchError::Spawn {
            command: bench.display().to_string(),
            source,
        })?;
    Ok(Next::RanElsewhere(status))
}

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

fn run(command: &mut Command, name: &str) -> Result<(), BenchError> {
    let status = command.status().map_err(|source| BenchError::Spawn {
        command: name.to_owned(),
        source,
    })?;
    if status.success() {
        Ok(())
    } else {
        Err(BenchError::CommandFailed {
            command: name.to_owned(),
            status,
        })
    }
}

/// Cargo's target directory (`CARGO_TARGET_DIR`, a config, or `target/`), as `cargo
/// metadata` reports it.
fn target_dir(root: &Path) -> Result<PathBuf, BenchError> {
    let output = cargo()
        .current_dir(root)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .map_err(|source| BenchError::Spawn {
            command: "cargo metadata".to_owned(),
            source,
        })?;
    if !output.status.success() {
        return Err(BenchError::CommandFailed {
            command: "cargo metadata".to_owned(),
            status: output.status,
        });
    }
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).map_err(|_| BenchError::NoTargetDir)?;
    metadata
        .get("target_directory")
        .and_then(serde_json::Value::as_str)
        .map(PathBuf::from)
        .ok_or(BenchError::NoTargetDir)
}

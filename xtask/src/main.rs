//! `cargo xtask regen [--check]`: turns the hand-written OpenAPI sources in
//! `openapi/sources/` into the merged `openapi/resetd.yaml`, the `resetd-api`
//! crate (schema types, error types, the dropshot trait) and the `resetd-client`
//! crate (the progenitor SDK).
//!
//! The pipeline is a straight line, one module per step:
//! `sources` (parse) -> `merge` -> `validate` (into `model`) -> `gen_types`,
//! `gen_schemas`, `gen_errors`, `gen_trait`, `gen_body`, `gen_api`, `gen_client` -> `render`
//! (prettyplease + header) -> `output` (write, or compare for `--check`).
//! `regen` strings the steps together.
//!
//! `cargo xtask bench` measures resetd under load; see `bench/mod.rs`.

mod bench;
mod error;
mod gen_api;
mod gen_body;
mod gen_client;
mod gen_errors;
mod gen_preflight;
mod gen_responses;
mod gen_schemas;
mod gen_trait;
mod gen_types;
mod merge;
mod model;
mod output;
mod regen;
mod render;
mod sources;
mod validate;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The project's own tasks, run as `cargo xtask TASK`.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Merge openapi/sources/*.yaml into openapi/resetd.yaml and regenerate generated/api and
    /// generated/client.
    Regen {
        /// Generate in memory and compare with the files on disk; exits non-zero naming every
        /// stale, missing or extra file.
        #[arg(long)]
        check: bool,
    },
    /// Run resetd under load and write bench/results.md.
    Bench(bench::BenchCli),
}

/// The workspace root: xtask lives one level below it. Using the compile-time
/// manifest dir (rather than the current directory) makes `cargo xtask` work
/// from any subdirectory.
fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| manifest_dir.to_path_buf())
}

fn main() -> ExitCode {
    match Cli::parse().task {
        Task::Regen { check } => run_regen(&workspace_root(), check),
        Task::Bench(args) => bench::main(&workspace_root(), args.into()),
    }
}

fn run_regen(root: &Path, check: bool) -> ExitCode {
    let files = match regen::generate(root) {
        Ok(files) => files,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::FAILURE;
        }
    };
    if check {
        match output::check(root, &files) {
            Ok(stale) if stale.is_empty() => {
                println!("regen --check: {} files up to date", files.len());
                ExitCode::SUCCESS
            }
            Ok(stale) => {
                eprintln!(
                    "error: generated files are out of date with openapi/sources \
                     (run `cargo xtask regen`):"
                );
                for entry in &stale {
                    eprintln!("  {entry}");
                }
                ExitCode::FAILURE
            }
            Err(err) => {
                eprintln!("error: {err}");
                ExitCode::FAILURE
            }
        }
    } else {
        match output::write(root, &files) {
            Ok(report) => {
                for line in report {
                    println!("{line}");
                }
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("error: {err}");
                ExitCode::FAILURE
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::*;

    fn parse(list: &[&str]) -> Result<Task, clap::Error> {
        let argv = std::iter::once("cargo xtask").chain(list.iter().copied());
        Cli::try_parse_from(argv).map(|cli| cli.task)
    }

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_regen_and_check() {
        assert!(matches!(
            parse(&["regen"]),
            Ok(Task::Regen { check: false })
        ));
        assert!(matches!(
            parse(&["regen", "--check"]),
            Ok(Task::Regen { check: true })
        ));
        assert!(parse(&["regen", "--chek"]).is_err());
        assert!(parse(&["bnech"]).is_err());
        assert!(parse(&[]).is_err());
    }

    #[test]
    fn hands_bench_its_arguments() {
        let Ok(Task::Bench(args)) = parse(&["bench", "--quick", "--db", "sqlite"]) else {
            panic!("bench not parsed");
        };
        let args = bench::BenchArgs::from(args);
        assert!(args.quick);
        assert!(matches!(parse(&["bench"]), Ok(Task::Bench(_))));
    }
}

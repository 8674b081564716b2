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

const USAGE: &str = "usage: cargo xtask regen [--check]
       cargo xtask bench [--help | OPTIONS]

  regen          merge openapi/sources/*.yaml into openapi/resetd.yaml and
                 regenerate generated/api and generated/client
  regen --check  generate in memory and compare with the files on disk;
                 exits non-zero naming every stale, missing or extra file
  bench          run resetd under load and write bench/results.md";

/// What the command line asked for.
#[derive(Debug, PartialEq, Eq)]
enum Command {
    Regen {
        check: bool,
    },
    /// The arguments after `bench`, parsed by `bench::main`.
    Bench(Vec<String>),
    Help,
}

fn parse_args(args: &[String]) -> Result<Command, String> {
    match args {
        [] => Err("missing subcommand".to_string()),
        [cmd, rest @ ..] if cmd == "regen" => match rest {
            [] => Ok(Command::Regen { check: false }),
            [flag] if flag == "--check" => Ok(Command::Regen { check: true }),
            _ => Err(format!("unexpected arguments to regen: {}", rest.join(" "))),
        },
        [cmd, rest @ ..] if cmd == "bench" => Ok(Command::Bench(rest.to_vec())),
        [flag, ..] if flag == "-h" || flag == "--help" || flag == "help" => Ok(Command::Help),
        [other, ..] => Err(format!("unknown subcommand `{other}`")),
    }
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
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match parse_args(&args) {
        Ok(command) => command,
        Err(message) => {
            eprintln!("error: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match command {
        Command::Help => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Command::Regen { check } => run_regen(&workspace_root(), check),
        Command::Bench(args) if args.iter().any(|a| a == "-h" || a == "--help") => {
            println!("{}", bench::USAGE);
            ExitCode::SUCCESS
        }
        Command::Bench(args) => bench::main(&workspace_root(), &args),
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
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_regen_and_check() {
        assert_eq!(
            parse_args(&args(&["regen"])),
            Ok(Command::Regen { check: false })
        );
        assert_eq!(
            parse_args(&args(&["regen", "--check"])),
            Ok(Command::Regen { check: true })
        );
        assert!(parse_args(&args(&["regen", "--chek"])).is_err());
        assert!(parse_args(&args(&["bnech"])).is_err());
        assert!(parse_args(&args(&[])).is_err());
    }

    #[test]
    fn hands_bench_its_arguments() {
        assert_eq!(
            parse_args(&args(&["bench", "--quick", "--db", "sqlite"])),
            Ok(Command::Bench(args(&["--quick", "--db", "sqlite"])))
        );
        assert_eq!(parse_args(&args(&["bench"])), Ok(Command::Bench(vec![])));
    }
}

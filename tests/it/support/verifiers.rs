//! The products' own libraries, run from the tests as child processes: node with the npm
//! packages in `tests/clients/` (the published clients, `bcryptjs`, `standardwebhooks`,
//! `jsonwebtoken`) and Python in the venv `target/test-python` (Django, `bcrypt`).
//!
//! Each is looked for once per test; missing, the test says it skipped that part, unless
//! `RESETD_TEST_REQUIRE_CLIENTS=1` (node) or `RESETD_TEST_REQUIRE_PYTHON=1` (Python), as in
//! `.ci/run`, which turns the skip into a failure.
//!
//! ```ignore
//! if let Some(python) = support::verifiers::python("the Python checks") {
//!     let result = python.run_json("verify_product_hashes.py", &items);
//! }
//! ```

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

pub const REQUIRE_CLIENTS_ENV: &str = "RESETD_TEST_REQUIRE_CLIENTS";
pub const REQUIRE_PYTHON_ENV: &str = "RESETD_TEST_REQUIRE_PYTHON";
/// Names a Python interpreter to use instead of `target/test-python/bin/python`.
pub const PYTHON_ENV: &str = "RESETD_TEST_PYTHON";

/// `tests/clients`: the npm packages and the node scripts.
pub fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

/// `tests/python`: the Python scripts and their requirements.
pub fn python_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python")
}

/// An interpreter and the directory its scripts live in.
pub struct Verifier {
    program: PathBuf,
    dir: PathBuf,
}

/// Whether the environment variable `name` is `1`.
fn required(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| v == "1")
}

/// Panics when `require_env` is `1`, else says that `part` was skipped.
fn skip(require_env: &str, part: &str, missing: &str) -> Option<Verifier> {
    assert!(
        !required(require_env),
        "{require_env}=1 but {missing} is missing"
    );
    eprintln!("skipping {part}: {missing} is missing");
    None
}

/// node with `tests/clients/node_modules`, or `None` (saying so) when either is missing.
pub fn node(part: &str) -> Option<Verifier> {
    let runs = Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !runs {
        return skip(REQUIRE_CLIENTS_ENV, part, "node");
    }
    if !clients_dir().join("node_modules").is_dir() {
        return skip(
            REQUIRE_CLIENTS_ENV,
            part,
            "tests/clients/node_modules (run `npm ci` in tests/clients)",
        );
    }
    Some(Verifier {
        program: "node".into(),
        dir: clients_dir(),
    })
}

/// The venv's Python (or `RESETD_TEST_PYTHON`), or `None` (saying so) when it is missing.
pub fn python(part: &str) -> Option<Verifier> {
    let program = std::env::var_os(PYTHON_ENV).map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-python/bin/python"),
        PathBuf::from,
    );
    if !program.is_file() {
        let missing = format!(
            "{} (python3 -m venv target/test-python && target/test-python/bin/pip install \
             -r tests/python/requirements.txt)",
            program.display()
        );
        return skip(REQUIRE_PYTHON_ENV, part, &missing);
    }
    Some(Verifier {
        program,
        dir: python_dir(),
    })
}

impl Verifier {
    /// Runs `script` (in the verifier's directory) on a file holding `input`, and reads
    /// the JSON it prints. Panics, with its standard error, if it fails or prints no JSON.
    /// The input goes through a file, not the command line, so that no secret in it shows
    /// in the process list.
    pub fn run_json(&self, script: &str, input: &Value) -> Value {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("input.json");
        std::fs::write(&file, input.to_string()).expect("write the input");
        let output = Command::new(&self.program)
            .arg(script)
            .arg(&file)
            .current_dir(&self.dir)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.program.display()));
        assert!(
            output.status.success(),
            "{} {script} failed: {}",
            self.program.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!(
                "{script} printed no JSON ({e}): {}",
                String::from_utf8_lossy(&output.stdout)
            )
        })
    }
}

//! `generated/` and `openapi/resetd.yaml` are exactly what `cargo xtask regen` makes of the
//! sources: a hand edit or a forgotten regen fails here, naming the stale files.

use std::process::Command;

#[test]
fn generated_code_is_up_to_date() {
    let out = Command::new(env!("CARGO"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "run",
            "--quiet",
            "--package",
            "xtask",
            "--",
            "regen",
            "--check",
        ])
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "run `cargo xtask regen`:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

//! Embeds the merged OpenAPI document: `GET /openapi.json` serves it as JSON and
//! `resetd openapi` prints the YAML. Writes only to OUT_DIR.

use std::path::Path;
use std::{env, fs};

const SPEC: &str = "openapi/resetd.yaml";

fn main() {
    println!("cargo::rerun-if-changed={SPEC}");
    // embed_migrations! notices edited SQL but not a new migration folder.
    println!("cargo::rerun-if-changed=migrations");
    let out_dir = env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let yaml = fs::read_to_string(SPEC)
        .unwrap_or_else(|e| panic!("{SPEC} is missing ({e}): run `cargo xtask regen`"));
    let doc: serde_json::Value =
        serde_yaml::from_str(&yaml).unwrap_or_else(|e| panic!("{SPEC} is not valid YAML: {e}"));
    let json = serde_json::to_string(&doc).expect("a YAML document serializes as JSON");
    fs::write(Path::new(&out_dir).join("openapi.json"), json).expect("OUT_DIR is writable");
    fs::write(Path::new(&out_dir).join("openapi.yaml"), yaml).expect("OUT_DIR is writable");
}

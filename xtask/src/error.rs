//! The errors `regen` reports. Every variant names what the user has to fix:
//! a file, a schema, an operation.

use std::fmt;
use std::path::PathBuf;

use crate::merge::MergeConflict;
use crate::validate::Problem;

#[derive(Debug, thiserror::Error)]
pub enum RegenError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("no OpenAPI sources (*.yaml) in {}", .0.display())]
    NoSources(PathBuf),

    #[error("{file}: not valid YAML: {source}")]
    Yaml {
        file: String,
        source: serde_yaml::Error,
    },

    #[error("{file}: not an OpenAPI 3.0 document (at `{at}`): {message}")]
    NotOpenApi {
        file: String,
        at: String,
        message: String,
    },

    #[error("{file}: openapi version `{version}` is not supported; sources must be OpenAPI 3.0.x")]
    OpenApiVersion { file: String, version: String },

    #[error("cannot merge the sources:\n{}", Bullets(.0))]
    Merge(Vec<MergeConflict>),

    #[error("the merged document cannot be generated:\n{}", Bullets(.0))]
    Invalid(Vec<Problem>),

    #[error("progenitor refused the merged document ({purpose}): {source}")]
    Progenitor {
        purpose: &'static str,
        source: progenitor::Error,
    },

    /// progenitor asserts on shapes it cannot express. `validate` should refuse
    /// those first; this variant is the safety net if it missed one.
    #[error(
        "progenitor panicked while generating {purpose}: {message}\n\
         (the validator should have refused this document; please report it)"
    )]
    ProgenitorPanic {
        purpose: &'static str,
        message: String,
    },

    #[error("typify produced no type `{type_name}` for schema `{schema}`")]
    MissingType { schema: String, type_name: String },

    #[error("schema `{schema}`: {message}")]
    SchemaJson { schema: String, message: String },

    #[error("generated code for {file} is not valid Rust: {source}")]
    Syntax { file: String, source: syn::Error },

    #[error("cannot serialise the merged document: {0}")]
    Serialize(serde_yaml::Error),
}

/// Formats a list of problems one per line, indented, so that every problem in
/// a document is reported at once instead of one per run.
struct Bullets<'a, T>(&'a [T]);

impl<T: fmt::Display> fmt::Display for Bullets<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, item) in self.0.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            write!(f, "  - {item}")?;
        }
        Ok(())
    }
}

//! Step 3: check the merged document against the conventions in
//! openapi/README.md and against what dropshot and progenitor can express, and
//! build the `model::Api` the generators work from.
//!
//! Every problem found is collected (not just the first) and each one names
//! the operation or schema and the source file it is in. progenitor asserts on
//! some of these shapes (more than one success or error type), so the checks
//! must run before it is ever called.

mod error_template;
mod operation;
mod parameters;
mod problem;
mod refs;
mod resolve;
mod responses;
mod schemas;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use openapiv3::{Components, ReferenceOr};

pub use error_template::by_body_kind;
use operation::OpContext;
pub use problem::Problem;
use refs::check_refs;
use schemas::check_schemas;

use crate::merge::Merged;
use crate::model::{Api, ErrorType, TagInfo};

/// The extension that turns a component schema into an error schema.
pub const ERROR_TYPE_EXT: &str = "x-resetd-error-type";
/// The operation extension that routes malformed bodies into the envelope.
pub const ENVELOPE_EXT: &str = "x-resetd-envelope-errors";
/// An operation's own request body limit in bytes, for a body larger than
/// `security.max_body_bytes` allows everywhere else (a batch import).
pub const MAX_BODY_EXT: &str = "x-resetd-max-body-bytes";
const JSON: &str = "application/json";

/// Where an operation is, for messages: `POST /api/x (strapi.yaml)`.
fn op_location(merged: &Merged, path: &str, method: &str) -> String {
    format!(
        "{} {path} in {}",
        method.to_uppercase(),
        merged.origins.operation(path, method)
    )
}

pub fn validate(merged: &Merged) -> Result<Api, Vec<Problem>> {
    let doc = &merged.doc;
    let empty = Components::default();
    let components = doc.components.as_ref().unwrap_or(&empty);
    let mut problems = Vec::new();

    check_refs(merged, &mut problems);
    // Unresolved references make every later check noisy and can make
    // progenitor panic; stop here if there are any.
    if !problems.is_empty() {
        return Err(problems);
    }

    let error_types = check_schemas(merged, components, &mut problems);
    let error_names: BTreeMap<&str, &ErrorType> = error_types
        .iter()
        .map(|error| (error.schema.as_str(), error))
        .collect();

    let mut seen_ids: BTreeMap<String, String> = BTreeMap::new();
    let mut operations = Vec::new();
    for (path, item) in &doc.paths.paths {
        let ReferenceOr::Item(item) = item else {
            continue; // refused by the merge
        };
        for (method, op) in item.iter() {
            let at = op_location(merged, path, method);
            let Some(id) = op.operation_id.clone() else {
                problems.push(Problem::MissingOperationId { at });
                continue;
            };
            if let Some(first) = seen_ids.get(&id) {
                problems.push(Problem::DuplicateOperationId {
                    id: id.clone(),
                    first: first.clone(),
                    second: at.clone(),
                });
                continue;
            }
            seen_ids.insert(id.clone(), at.clone());
            let mut cx = OpContext {
                id: &id,
                at: &at,
                components,
                problems: &mut problems,
            };
            if let Some(operation) = cx.operation(path, method, item, op, &error_names) {
                operations.push(operation);
            }
        }
    }

    if problems.is_empty() {
        Ok(Api {
            tags: doc
                .tags
                .iter()
                .map(|tag| TagInfo {
                    name: tag.name.clone(),
                    description: tag.description.clone(),
                })
                .collect(),
            operations,
            error_types,
        })
    } else {
        Err(problems)
    }
}

/// Merges a single hand-built document and validates it (tests only).
#[cfg(test)]
pub fn validate_doc(doc: openapiv3::OpenAPI) -> Result<Api, Vec<Problem>> {
    let merged = crate::merge::merge(&[crate::sources::Source {
        file: "test.yaml".to_string(),
        doc,
    }])
    .map_err(|conflicts| {
        conflicts
            .into_iter()
            .map(|conflict| Problem::Unsupported {
                id: "-".to_string(),
                at: "merge".to_string(),
                reason: conflict.to_string(),
            })
            .collect::<Vec<_>>()
    })?;
    validate(&merged)
}

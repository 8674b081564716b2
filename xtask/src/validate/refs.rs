//! Every `$ref` of the merged document is local and resolves.

use openapiv3::ReferenceOr;
use serde_json::Value;

use super::{op_location, Problem};
use crate::merge::Merged;

/// Walks the document as JSON and checks that every `$ref` is local and points
/// at something that exists. Walking JSON (rather than the typed document)
/// finds references in every position, including ones openapiv3 models
/// loosely.
pub(super) fn check_refs(merged: &Merged, problems: &mut Vec<Problem>) {
    let Ok(json) = serde_json::to_value(&merged.doc) else {
        return;
    };
    let mut trail = Vec::new();
    walk_refs(&json, &json, &mut trail, merged, problems);
}

pub(super) fn walk_refs(
    root: &Value,
    value: &Value,
    trail: &mut Vec<String>,
    merged: &Merged,
    problems: &mut Vec<Problem>,
) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref") {
                let resolves = reference
                    .strip_prefix('#')
                    .filter(|pointer| pointer.starts_with("/components/"))
                    .and_then(|pointer| root.pointer(pointer))
                    .is_some();
                if !resolves {
                    problems.push(Problem::UnresolvedRef {
                        reference: reference.clone(),
                        location: describe_trail(trail, merged),
                    });
                }
            }
            for (key, child) in map {
                trail.push(key.clone());
                walk_refs(root, child, trail, merged, problems);
                trail.pop();
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                trail.push(index.to_string());
                walk_refs(root, child, trail, merged, problems);
                trail.pop();
            }
        }
        _ => {}
    }
}

/// `["paths", "/x", "post", "requestBody", ...]` -> "operation `op_x` (POST /x
/// in a.yaml) at requestBody...."; `["components", "schemas", "A", ...]` ->
/// "schema `A` (a.yaml) at properties.b".
pub(super) fn describe_trail(trail: &[String], merged: &Merged) -> String {
    match trail {
        [paths, path, method, rest @ ..] if paths == "paths" => {
            let id = merged
                .doc
                .paths
                .paths
                .get(path)
                .and_then(ReferenceOr::as_item)
                .and_then(|item| item.iter().find(|(m, _)| m == method))
                .and_then(|(_, op)| op.operation_id.clone())
                .unwrap_or_else(|| "?".to_string());
            format!(
                "operation `{id}` ({}) at {}",
                op_location(merged, path, method),
                rest.join(".")
            )
        }
        [components, kind, name, rest @ ..] if components == "components" => {
            let singular = component_kind(kind);
            let place = if rest.is_empty() {
                String::new()
            } else {
                format!(" at {}", rest.join("."))
            };
            format!(
                "{singular} `{name}` ({}){place}",
                merged.origins.component(singular, name)
            )
        }
        _ => trail.join("."),
    }
}

/// The document key of a component map -> the kind name `merge` records.
pub(super) fn component_kind(key: &str) -> &str {
    match key {
        "schemas" => "schema",
        "responses" => "response",
        "parameters" => "parameter",
        "examples" => "example",
        "requestBodies" => "request body",
        "headers" => "header",
        "securitySchemes" => "security scheme",
        "links" => "link",
        "callbacks" => "callback",
        other => other,
    }
}

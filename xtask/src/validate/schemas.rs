//! Component schemas: their names, and the ones marked as error schemas.

use std::collections::BTreeMap;

use heck::ToUpperCamelCase;
use openapiv3::{Components, ReferenceOr};

use super::error_template::error_type;
use super::{Problem, ERROR_TYPE_EXT};
use crate::merge::Merged;
use crate::model::ErrorType;

pub(super) fn check_schemas(
    merged: &Merged,
    components: &Components,
    problems: &mut Vec<Problem>,
) -> Vec<ErrorType> {
    let mut error_types = Vec::new();
    let mut type_names: BTreeMap<String, String> = BTreeMap::new();
    for (name, schema) in &components.schemas {
        let file = merged.origins.component("schema", name);
        let problem = |reason: String| Problem::Schema {
            schema: name.clone(),
            file: file.clone(),
            reason,
        };
        // typify names the Rust type after the schema; requiring the name to
        // already be a PascalCase identifier keeps `types::{name}` exact.
        if !is_pascal_ident(name) {
            problems.push(problem(format!(
                "component schema names must be PascalCase identifiers (e.g. `{}`)",
                name.to_upper_camel_case()
            )));
        }
        if name == "Error" {
            problems.push(problem(
                "`Error` collides with dropshot's built-in error schema (dropshot would \
                 silently rename it `Error2`); use a dialect prefix"
                    .to_string(),
            ));
        }
        let ReferenceOr::Item(schema) = schema else {
            continue;
        };
        for key in schema.schema_data.extensions.keys() {
            if key.starts_with("x-resetd-") && key != ERROR_TYPE_EXT {
                problems.push(problem(format!(
                    "unknown extension `{key}` (known: `{ERROR_TYPE_EXT}`)"
                )));
            }
        }
        let Some(ext) = schema.schema_data.extensions.get(ERROR_TYPE_EXT) else {
            continue;
        };
        match error_type(name, schema, ext, components) {
            Ok(error) => {
                if let Some(other) = type_names.get(&error.type_name) {
                    problems.push(Problem::ErrorTypeExt {
                        schema: name.clone(),
                        file: file.clone(),
                        reason: format!(
                            "error type name `{}` is already used by schema `{other}`",
                            error.type_name
                        ),
                    });
                } else {
                    type_names.insert(error.type_name.clone(), name.clone());
                    error_types.push(error);
                }
            }
            Err(reason) => problems.push(Problem::ErrorTypeExt {
                schema: name.clone(),
                file: file.clone(),
                reason,
            }),
        }
    }
    error_types
}

pub(super) fn is_pascal_ident(name: &str) -> bool {
    name.to_upper_camel_case() == name && syn::parse_str::<syn::Ident>(name).is_ok()
}

pub(super) fn is_snake_ident(name: &str) -> bool {
    let shape_ok = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.contains("__")
        && !name.ends_with('_');
    shape_ok && syn::parse_str::<syn::Ident>(name).is_ok()
}

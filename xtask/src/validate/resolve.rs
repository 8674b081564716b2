//! Following `$ref`s to the schemas and components they name.

use openapiv3::{Components, ReferenceOr, Schema};

/// `#/components/schemas/Name` -> `Name`.
pub(super) fn schema_ref_name(reference: &str) -> Option<&str> {
    reference.strip_prefix("#/components/schemas/")
}

/// Follows `$ref`s (a bounded number of hops) to a schema.
pub(super) fn resolve_schema<'a>(
    schema: &'a ReferenceOr<Schema>,
    components: &'a Components,
) -> Option<&'a Schema> {
    let mut current = schema;
    for _ in 0..16 {
        match current {
            ReferenceOr::Item(schema) => return Some(schema),
            ReferenceOr::Reference { reference } => {
                current = components.schemas.get(schema_ref_name(reference)?)?;
            }
        }
    }
    None
}

pub(super) fn resolve_boxed<'a>(
    schema: &'a ReferenceOr<Box<Schema>>,
    components: &'a Components,
) -> Option<&'a Schema> {
    match schema {
        ReferenceOr::Item(schema) => Some(schema),
        ReferenceOr::Reference { reference } => resolve_schema(
            components.schemas.get(schema_ref_name(reference)?)?,
            components,
        ),
    }
}

/// Resolves `#/components/{kind}/{name}` in one of the component maps.
pub(super) fn resolve_component<'a, T>(
    item: &'a ReferenceOr<T>,
    prefix: &str,
    map: &'a indexmap::IndexMap<String, ReferenceOr<T>>,
) -> Result<&'a T, String> {
    let mut current = item;
    for _ in 0..16 {
        match current {
            ReferenceOr::Item(item) => return Ok(item),
            ReferenceOr::Reference { reference } => {
                let name = reference
                    .strip_prefix(prefix)
                    .ok_or_else(|| format!("`{reference}` should point into `{prefix}`"))?;
                current = map
                    .get(name)
                    .ok_or_else(|| format!("`{reference}` does not resolve"))?;
            }
        }
    }
    Err("$ref chain too long".to_string())
}

//! Step 3: check the merged document against the conventions in
//! openapi/README.md and against what dropshot and progenitor can express, and
//! build the `model::Api` the generators work from.
//!
//! Every problem found is collected (not just the first) and each one names
//! the operation or schema and the source file it is in. progenitor asserts on
//! some of these shapes (more than one success or error type), so the checks
//! must run before it is ever called.

use std::collections::{BTreeMap, BTreeSet};

use heck::{ToSnakeCase, ToUpperCamelCase};
use openapiv3::{
    Components, Parameter, ParameterSchemaOrContent, ReferenceOr, RequestBody, Response, Schema,
    SchemaKind, StatusCode, Type, VariantOrUnknownOrEmpty,
};
use serde_json::Value;

use crate::merge::Merged;
use crate::model::{
    Api, ErrorType, HttpMethod, IntegerFormat, Operation, Param, ParamSchema, ResponseHeader,
    StringFormat, Success, TagInfo,
};

/// The extension that turns a component schema into an error schema.
pub const ERROR_TYPE_EXT: &str = "x-resetd-error-type";
/// The operation extension that routes malformed bodies into the envelope.
pub const ENVELOPE_EXT: &str = "x-resetd-envelope-errors";
const JSON: &str = "application/json";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("{at}: operation has no operationId")]
    MissingOperationId { at: String },

    #[error("operationId `{id}` is used twice: {first} and {second}")]
    DuplicateOperationId {
        id: String,
        first: String,
        second: String,
    },

    #[error("operationId `{id}` ({at}) is not snake_case; expected something like `{suggestion}`")]
    NotSnakeCase {
        id: String,
        at: String,
        suggestion: String,
    },

    #[error("operation `{id}` ({at}): {reason}")]
    Tags {
        id: String,
        at: String,
        reason: String,
    },

    #[error("unresolvable $ref `{reference}` used at {location}")]
    UnresolvedRef { reference: String, location: String },

    #[error(
        "operation `{id}` ({at}) has {count} success (2xx) statuses [{statuses}]; \
         exactly one is allowed"
    )]
    SuccessCount {
        id: String,
        at: String,
        count: usize,
        statuses: String,
    },

    #[error(
        "operation `{id}` ({at}) has a `default` response; list the error statuses \
         explicitly (progenitor reads `default` as a second success type)"
    )]
    DefaultResponse { id: String, at: String },

    #[error(
        "operation `{id}` ({at}): its error statuses use different schemas ({schemas}); \
         all error statuses of one operation must share one $ref schema"
    )]
    MixedErrorSchemas {
        id: String,
        at: String,
        schemas: String,
    },

    #[error("operation `{id}` ({at}): error response {status} {reason}")]
    ErrorResponse {
        id: String,
        at: String,
        status: String,
        reason: String,
    },

    #[error(
        "operation `{id}` ({at}): error schema `{schema}` has no `{ERROR_TYPE_EXT}`, \
         so no Rust error type can be generated for it"
    )]
    ErrorSchemaWithoutType {
        id: String,
        at: String,
        schema: String,
    },

    #[error("operation `{id}` ({at}): {what} has media type `{media}`; only {JSON} is supported")]
    NonJson {
        id: String,
        at: String,
        what: String,
        media: String,
    },

    #[error("operation `{id}` ({at}): {reason}")]
    Unsupported {
        id: String,
        at: String,
        reason: String,
    },

    #[error("schema `{schema}` ({file}): {reason}")]
    Schema {
        schema: String,
        file: String,
        reason: String,
    },

    #[error("schema `{schema}` ({file}): invalid `{ERROR_TYPE_EXT}`: {reason}")]
    ErrorTypeExt {
        schema: String,
        file: String,
        reason: String,
    },
}

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

// ---------------------------------------------------------------------------
// $ref resolution over the whole document

/// Walks the document as JSON and checks that every `$ref` is local and points
/// at something that exists. Walking JSON (rather than the typed document)
/// finds references in every position, including ones openapiv3 models
/// loosely.
fn check_refs(merged: &Merged, problems: &mut Vec<Problem>) {
    let Ok(json) = serde_json::to_value(&merged.doc) else {
        return;
    };
    let mut trail = Vec::new();
    walk_refs(&json, &json, &mut trail, merged, problems);
}

fn walk_refs(
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
fn describe_trail(trail: &[String], merged: &Merged) -> String {
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
fn component_kind(key: &str) -> &str {
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

// ---------------------------------------------------------------------------
// component schemas and x-resetd-error-type

fn check_schemas(
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

fn is_pascal_ident(name: &str) -> bool {
    name.to_upper_camel_case() == name && syn::parse_str::<syn::Ident>(name).is_ok()
}

fn is_snake_ident(name: &str) -> bool {
    let shape_ok = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.contains("__")
        && !name.ends_with('_');
    shape_ok && syn::parse_str::<syn::Ident>(name).is_ok()
}

/// Parses and type-checks `x-resetd-error-type` on schema `name`.
fn error_type(
    name: &str,
    schema: &Schema,
    ext: &Value,
    components: &Components,
) -> Result<ErrorType, String> {
    let Value::Object(ext) = ext else {
        return Err("must be a mapping with `name` and `from-http-error`".to_string());
    };
    for key in ext.keys() {
        if key != "name" && key != "from-http-error" {
            return Err(format!(
                "unknown key `{key}` (known: `name`, `from-http-error`)"
            ));
        }
    }
    let type_name = match ext.get("name") {
        Some(Value::String(type_name)) if is_pascal_ident(type_name) => type_name.clone(),
        Some(Value::String(type_name)) => {
            return Err(format!(
                "`name: {type_name}` is not a PascalCase Rust identifier"
            ));
        }
        _ => return Err("`name` (the Rust error type) is missing or not a string".to_string()),
    };
    if type_name == name {
        return Err(format!(
            "`name: {type_name}` equals the schema name; the error type wraps the body \
             type, so give it its own name (e.g. `{type_name}Response`)"
        ));
    }
    let template = match ext.get("from-http-error") {
        Some(template @ Value::Object(_)) => template.clone(),
        _ => {
            return Err(
                "`from-http-error` is missing or not a mapping; it says how a framework \
                 failure (malformed JSON, wrong content type) fills this body"
                    .to_string(),
            )
        }
    };
    if !matches!(schema.schema_kind, SchemaKind::Type(Type::Object(_))) {
        return Err("an error schema must be `type: object`".to_string());
    }
    let mut message_pointer = None;
    check_template(&template, schema, components, "", &mut message_pointer, 0)
        .map_err(|reason| format!("from-http-error: {reason}"))?;
    Ok(ErrorType {
        schema: name.to_string(),
        type_name,
        template,
        message_pointer,
    })
}

/// Checks that the `from-http-error` template, with `$status` replaced by an
/// HTTP error status and `$message` by any message, always deserialises into
/// the schema's type; the generated `From<HttpError>` relies on it.
fn check_template(
    value: &Value,
    schema: &Schema,
    components: &Components,
    pointer: &str,
    message_pointer: &mut Option<String>,
    depth: usize,
) -> Result<(), String> {
    let at = if pointer.is_empty() { "/" } else { pointer };
    if depth > 32 {
        return Err(format!("{at}: nesting too deep"));
    }
    if let Value::String(text) = value {
        if text.starts_with('$') {
            return check_placeholder(text, schema, at, pointer, message_pointer);
        }
    }
    if let Some((malformed, invalid)) = by_body_kind(value) {
        // `{$malformed: a, $invalid: b}`: `a` when the body is not JSON at all, `b` when it
        // is JSON that does not fit the schema. Both must fit this property.
        for choice in [malformed, invalid] {
            if !(choice.is_string() || choice.is_number() || choice.is_boolean()) {
                return Err(format!("{at}: $malformed/$invalid take plain values"));
            }
            check_template(
                choice,
                schema,
                components,
                pointer,
                message_pointer,
                depth + 1,
            )?;
        }
        return Ok(());
    }
    if value.is_null() {
        return if schema.schema_data.nullable || matches!(schema.schema_kind, SchemaKind::Any(_)) {
            Ok(())
        } else {
            Err(format!("{at}: null, but the schema is not nullable"))
        };
    }
    let kind = match &schema.schema_kind {
        SchemaKind::Type(kind) => kind,
        // Composite schemas are not checked here; the generated test in
        // resetd-api exercises the conversion.
        _ => return Ok(()),
    };
    match (kind, value) {
        (Type::Object(object), Value::Object(map)) => {
            for (key, child) in map {
                let Some(property) = object.properties.get(key) else {
                    return Err(format!("{at}: `{key}` is not a property of the schema"));
                };
                let property = resolve_boxed(property, components)
                    .ok_or_else(|| format!("{at}/{key}: unresolvable $ref"))?;
                check_template(
                    child,
                    property,
                    components,
                    &format!("{pointer}/{key}"),
                    message_pointer,
                    depth + 1,
                )?;
            }
            for required in &object.required {
                if map.contains_key(required) {
                    continue;
                }
                // typify makes a nullable property an Option, which serde
                // fills with None when it is missing.
                let nullable = object
                    .properties
                    .get(required)
                    .and_then(|property| resolve_boxed(property, components))
                    .is_some_and(|property| property.schema_data.nullable);
                if !nullable {
                    return Err(format!("{at}: required property `{required}` is missing"));
                }
            }
            Ok(())
        }
        (Type::Array(array), Value::Array(items)) => {
            let Some(item_schema) = &array.items else {
                return Ok(());
            };
            let item_schema = resolve_boxed(item_schema, components)
                .ok_or_else(|| format!("{at}: unresolvable $ref in items"))?;
            for (index, item) in items.iter().enumerate() {
                check_template(
                    item,
                    item_schema,
                    components,
                    &format!("{pointer}/{index}"),
                    message_pointer,
                    depth + 1,
                )?;
            }
            Ok(())
        }
        (Type::String(string), Value::String(text)) => {
            if !string.enumeration.is_empty()
                && !string
                    .enumeration
                    .iter()
                    .any(|v| v.as_deref() == Some(text))
            {
                return Err(format!(
                    "{at}: `{text}` is not one of the schema's enum values"
                ));
            }
            let length = text.chars().count();
            if string.min_length.is_some_and(|min| length < min)
                || string.max_length.is_some_and(|max| length > max)
            {
                return Err(format!(
                    "{at}: `{text}` violates the schema's length limits"
                ));
            }
            Ok(())
        }
        (Type::Integer(integer), Value::Number(number)) => {
            let Some(n) = number.as_i64() else {
                return Err(format!("{at}: {number} is not an integer"));
            };
            if (!integer.enumeration.is_empty() && !integer.enumeration.contains(&Some(n)))
                || integer.minimum.is_some_and(|min| n < min)
                || integer.maximum.is_some_and(|max| n > max)
            {
                return Err(format!("{at}: {n} is outside what the schema allows"));
            }
            Ok(())
        }
        (Type::Number(_), Value::Number(_)) | (Type::Boolean(_), Value::Bool(_)) => Ok(()),
        (kind, value) => Err(format!(
            "{at}: {value} does not match the schema's type `{}`",
            type_name(kind)
        )),
    }
}

/// The two values of a `{$malformed: a, $invalid: b}` template slot.
pub fn by_body_kind(value: &Value) -> Option<(&Value, &Value)> {
    let map = value.as_object()?;
    match (map.len(), map.get("$malformed"), map.get("$invalid")) {
        (2, Some(malformed), Some(invalid)) => Some((malformed, invalid)),
        _ => None,
    }
}

fn check_placeholder(
    text: &str,
    schema: &Schema,
    at: &str,
    pointer: &str,
    message_pointer: &mut Option<String>,
) -> Result<(), String> {
    match (text, &schema.schema_kind) {
        ("$status", SchemaKind::Type(Type::Integer(integer))) => {
            // Any 4xx/5xx status must fit.
            if !integer.enumeration.is_empty()
                || integer.minimum.is_some_and(|min| min > 400)
                || integer.maximum.is_some_and(|max| max < 599)
            {
                Err(format!(
                    "{at}: $status can be any 4xx/5xx status, but the schema restricts it"
                ))
            } else {
                Ok(())
            }
        }
        ("$status", SchemaKind::Type(Type::Number(_))) => Ok(()),
        ("$status", _) => Err(format!("{at}: $status needs an integer property")),
        ("$message", SchemaKind::Type(Type::String(string))) => {
            // Framework messages are arbitrary text: a constrained string
            // would make the conversion fail at run time.
            if !string.enumeration.is_empty()
                || string.pattern.is_some()
                || string.max_length.is_some()
                || string.min_length.is_some_and(|min| min > 1)
            {
                return Err(format!(
                    "{at}: $message can be any text, but the schema constrains it \
                     (enum, pattern or length)"
                ));
            }
            if message_pointer.is_none() {
                *message_pointer = Some(pointer.to_string());
            }
            Ok(())
        }
        ("$message", _) => Err(format!("{at}: $message needs a string property")),
        (other, _) => Err(format!(
            "{at}: unknown placeholder `{other}` (known: $status, $message)"
        )),
    }
}

fn type_name(kind: &Type) -> &'static str {
    match kind {
        Type::String(_) => "string",
        Type::Number(_) => "number",
        Type::Integer(_) => "integer",
        Type::Object(_) => "object",
        Type::Array(_) => "array",
        Type::Boolean(_) => "boolean",
    }
}

/// `#/components/schemas/Name` -> `Name`.
fn schema_ref_name(reference: &str) -> Option<&str> {
    reference.strip_prefix("#/components/schemas/")
}

/// Follows `$ref`s (a bounded number of hops) to a schema.
fn resolve_schema<'a>(
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

fn resolve_boxed<'a>(
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
fn resolve_component<'a, T>(
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

// ---------------------------------------------------------------------------
// operations

struct OpContext<'a> {
    id: &'a str,
    at: &'a str,
    components: &'a Components,
    problems: &'a mut Vec<Problem>,
}

impl OpContext<'_> {
    fn unsupported(&mut self, reason: impl Into<String>) {
        self.problems.push(Problem::Unsupported {
            id: self.id.to_string(),
            at: self.at.to_string(),
            reason: reason.into(),
        });
    }

    fn non_json(&mut self, what: impl Into<String>, media: &str) {
        self.problems.push(Problem::NonJson {
            id: self.id.to_string(),
            at: self.at.to_string(),
            what: what.into(),
            media: media.to_string(),
        });
    }

    /// Builds the model of one operation, recording every problem; `None` if
    /// there was any.
    fn operation(
        &mut self,
        path: &str,
        method: &str,
        item: &openapiv3::PathItem,
        op: &openapiv3::Operation,
        error_types: &BTreeMap<&str, &ErrorType>,
    ) -> Option<Operation> {
        let before = self.problems.len();
        let id = self.id.to_string();

        if !is_snake_ident(&id) {
            self.problems.push(Problem::NotSnakeCase {
                id: id.clone(),
                at: self.at.to_string(),
                suggestion: id.to_snake_case(),
            });
        }
        match op.tags.first() {
            None => self.problems.push(Problem::Tags {
                id: id.clone(),
                at: self.at.to_string(),
                reason: "has no tags; its first tag must be its dialect".to_string(),
            }),
            Some(tag) if !id.starts_with(&format!("{tag}_")) => self.problems.push(Problem::Tags {
                id: id.clone(),
                at: self.at.to_string(),
                reason: format!("operationId must start with its dialect, the first tag: `{tag}_`"),
            }),
            Some(_) => {}
        }
        let http_method = HttpMethod::from_lower(method);
        if http_method.is_none() {
            self.unsupported(format!("method {method} cannot be served by dropshot"));
        }

        // Every body reaches its handler as `JsonBody<T>`, which hands it the parse result,
        // so the extension no longer changes the generated code: it documents, for readers
        // of the spec, that the dialect answers malformed bodies inside its envelope.
        for (key, value) in &op.extensions {
            if key == ENVELOPE_EXT {
                if !matches!(value, Value::Bool(_)) {
                    self.unsupported(format!("`{ENVELOPE_EXT}` must be true or false"));
                }
            } else if key.starts_with("x-resetd-") {
                self.unsupported(format!(
                    "unknown extension `{key}` (known: `{ENVELOPE_EXT}`)"
                ));
            }
        }

        let (path_params, query_params) = self.parameters(path, &item.parameters, &op.parameters);
        let body = op
            .request_body
            .as_ref()
            .and_then(|body| self.request_body(body));
        let (success, error_schema, retry_after) = self.responses(&op.responses, error_types);
        let error_type = error_schema
            .as_deref()
            .and_then(|schema| error_types.get(schema))
            .map(|error| error.type_name.clone());

        if self.problems.len() > before {
            return None;
        }
        Some(Operation {
            id,
            method: http_method?,
            path: path.to_string(),
            tags: op.tags.clone(),
            summary: op.summary.clone(),
            description: op.description.clone(),
            deprecated: op.deprecated,
            path_params,
            query_params,
            body,
            success: success?,
            error_type,
            retry_after,
        })
    }

    fn parameters(
        &mut self,
        path: &str,
        path_level: &[ReferenceOr<Parameter>],
        op_level: &[ReferenceOr<Parameter>],
    ) -> (Vec<Param>, Vec<Param>) {
        // Operation-level parameters override path-level ones with the same
        // name and location (OpenAPI 3.0 §4.7.9).
        let mut resolved: Vec<Parameter> = Vec::new();
        for parameter in path_level.iter().chain(op_level) {
            match resolve_component(
                parameter,
                "#/components/parameters/",
                &self.components.parameters,
            ) {
                Ok(parameter) => {
                    let key = (
                        location(parameter),
                        parameter.parameter_data_ref().name.clone(),
                    );
                    resolved.retain(|known| {
                        (location(known), known.parameter_data_ref().name.clone()) != key
                    });
                    resolved.push(parameter.clone());
                }
                Err(reason) => self.unsupported(format!("parameter: {reason}")),
            }
        }

        let template = match path_template_names(path) {
            Ok(names) => names,
            Err(reason) => {
                self.unsupported(reason);
                Vec::new()
            }
        };
        let mut path_params = Vec::new();
        let mut query_params = Vec::new();
        for parameter in &resolved {
            let data = parameter.parameter_data_ref();
            let name = &data.name;
            let schema = match &data.format {
                ParameterSchemaOrContent::Schema(schema) => schema,
                ParameterSchemaOrContent::Content(_) => {
                    self.unsupported(format!(
                        "parameter `{name}` uses `content`; only `schema` parameters are supported"
                    ));
                    continue;
                }
            };
            let Some(param_schema) = self.param_schema(name, schema) else {
                continue;
            };
            let param = Param {
                name: name.clone(),
                description: data.description.clone(),
                required: data.required,
                schema: param_schema,
            };
            match parameter {
                Parameter::Path { .. } => {
                    if !template.contains(name) {
                        self.unsupported(format!(
                            "path parameter `{name}` does not appear in the path"
                        ));
                    }
                    if !data.required {
                        self.unsupported(format!("path parameter `{name}` must be required"));
                    }
                    path_params.push(param);
                }
                Parameter::Query { .. } => query_params.push(param),
                Parameter::Header { .. } | Parameter::Cookie { .. } => {
                    self.unsupported(format!(
                        "{} parameter `{name}` is not supported by the generator; \
                         only path and query parameters are",
                        location(parameter)
                    ));
                }
            }
        }
        for name in &template {
            if !path_params.iter().any(|param| &param.name == name) {
                self.unsupported(format!("path segment `{{{name}}}` has no path parameter"));
            }
        }
        for (list, what) in [(&path_params, "path"), (&query_params, "query")] {
            let mut fields = BTreeSet::new();
            for param in list {
                let field = param.name.to_snake_case();
                if !fields.insert(field.clone()) {
                    self.unsupported(format!(
                        "two {what} parameters map to the same Rust field `{field}`"
                    ));
                }
            }
        }
        (path_params, query_params)
    }

    fn param_schema(&mut self, name: &str, schema: &ReferenceOr<Schema>) -> Option<ParamSchema> {
        let schema_item = match schema {
            ReferenceOr::Reference { reference } => {
                let Some(target) = schema_ref_name(reference) else {
                    self.unsupported(format!("parameter `{name}`: `{reference}` is not a schema"));
                    return None;
                };
                // A named schema works as a field type as long as it is a
                // scalar (dropshot cannot take objects in a path or query).
                let scalar = resolve_schema(schema, self.components).is_some_and(|s| {
                    matches!(
                        s.schema_kind,
                        SchemaKind::Type(
                            Type::String(_) | Type::Integer(_) | Type::Number(_) | Type::Boolean(_)
                        )
                    )
                });
                if !scalar {
                    self.unsupported(format!(
                        "parameter `{name}`: `{reference}` is not a string, number or boolean schema"
                    ));
                    return None;
                }
                return Some(ParamSchema::Named(target.to_string()));
            }
            ReferenceOr::Item(schema) => schema,
        };
        if schema_item.schema_data.default.is_some() {
            self.unsupported(format!(
                "parameter `{name}`: `default` cannot be expressed by the generated struct; \
                 describe the default in the description"
            ));
            return None;
        }
        let result = match &schema_item.schema_kind {
            SchemaKind::Type(Type::String(string)) => {
                if !string.enumeration.is_empty() {
                    Err("an inline enum; put it in components.schemas and $ref it".to_string())
                } else {
                    let format = match &string.format {
                        VariantOrUnknownOrEmpty::Item(openapiv3::StringFormat::DateTime) => {
                            StringFormat::DateTime
                        }
                        VariantOrUnknownOrEmpty::Item(openapiv3::StringFormat::Date) => {
                            StringFormat::Date
                        }
                        VariantOrUnknownOrEmpty::Unknown(format) if format == "uuid" => {
                            StringFormat::Uuid
                        }
                        _ => StringFormat::Plain,
                    };
                    Ok(ParamSchema::String {
                        format,
                        min_length: string.min_length,
                        max_length: string.max_length,
                        pattern: string.pattern.clone(),
                    })
                }
            }
            SchemaKind::Type(Type::Integer(integer)) => {
                if !integer.enumeration.is_empty()
                    || integer.exclusive_minimum
                    || integer.exclusive_maximum
                    || integer.multiple_of.is_some()
                {
                    Err("enum, exclusive bounds or multipleOf on an integer".to_string())
                } else {
                    let format = match &integer.format {
                        VariantOrUnknownOrEmpty::Item(openapiv3::IntegerFormat::Int32) => {
                            IntegerFormat::Int32
                        }
                        _ => IntegerFormat::Int64,
                    };
                    Ok(ParamSchema::Integer {
                        format,
                        minimum: integer.minimum,
                        maximum: integer.maximum,
                    })
                }
            }
            SchemaKind::Type(Type::Number(number)) => {
                if !number.enumeration.is_empty()
                    || number.exclusive_minimum
                    || number.exclusive_maximum
                    || number.multiple_of.is_some()
                {
                    Err("enum, exclusive bounds or multipleOf on a number".to_string())
                } else {
                    Ok(ParamSchema::Number {
                        minimum: number.minimum,
                        maximum: number.maximum,
                    })
                }
            }
            SchemaKind::Type(Type::Boolean(boolean)) if boolean.enumeration.is_empty() => {
                Ok(ParamSchema::Boolean)
            }
            _ => Err("only string, integer, number and boolean schemas are supported".to_string()),
        };
        match result {
            Ok(schema) => Some(schema),
            Err(reason) => {
                self.unsupported(format!("parameter `{name}`: {reason}"));
                None
            }
        }
    }

    /// The request body: required, JSON, a `$ref` to a named schema.
    fn request_body(&mut self, body: &ReferenceOr<RequestBody>) -> Option<String> {
        let body = match resolve_component(
            body,
            "#/components/requestBodies/",
            &self.components.request_bodies,
        ) {
            Ok(body) => body,
            Err(reason) => {
                self.unsupported(format!("requestBody: {reason}"));
                return None;
            }
        };
        if !body.required {
            // dropshot's TypedBody always requires a body (and documents it so).
            self.unsupported("the request body must be `required: true`");
        }
        let schema = self.json_schema_name("the request body", &body.content)?;
        Some(schema)
    }

    /// The single `application/json` content of a body, which must be a `$ref`
    /// to `components.schemas` (README: bodies are named schemas).
    fn json_schema_name(
        &mut self,
        what: &str,
        content: &indexmap::IndexMap<String, openapiv3::MediaType>,
    ) -> Option<String> {
        for media in content.keys() {
            if media != JSON {
                self.non_json(what, media);
                return None;
            }
        }
        let Some(media) = content.get(JSON) else {
            self.unsupported(format!("{what} has no content"));
            return None;
        };
        match &media.schema {
            Some(ReferenceOr::Reference { reference }) => match schema_ref_name(reference) {
                Some(name) => Some(name.to_string()),
                None => {
                    self.unsupported(format!("{what}: `{reference}` is not a component schema"));
                    None
                }
            },
            Some(ReferenceOr::Item(_)) => {
                self.unsupported(format!(
                    "{what} has an inline schema; bodies must be a $ref to a named \
                     schema in components.schemas"
                ));
                None
            }
            None => {
                self.unsupported(format!("{what} has no schema"));
                None
            }
        }
    }

    fn responses(
        &mut self,
        responses: &openapiv3::Responses,
        error_types: &BTreeMap<&str, &ErrorType>,
    ) -> (Option<Success>, Option<String>, bool) {
        if responses.default.is_some() {
            self.problems.push(Problem::DefaultResponse {
                id: self.id.to_string(),
                at: self.at.to_string(),
            });
        }
        let mut successes: Vec<(u16, &ReferenceOr<Response>)> = Vec::new();
        let mut errors: Vec<(String, &ReferenceOr<Response>)> = Vec::new();
        for (status, response) in &responses.responses {
            match status {
                StatusCode::Code(code @ 200..=299) => successes.push((*code, response)),
                StatusCode::Code(400..=599) | StatusCode::Range(4 | 5) => {
                    errors.push((status.to_string(), response));
                }
                other => self.unsupported(format!(
                    "response status {other} is not supported; use one explicit 2xx and \
                     explicit 4xx/5xx statuses"
                )),
            }
        }
        if successes.len() != 1 {
            self.problems.push(Problem::SuccessCount {
                id: self.id.to_string(),
                at: self.at.to_string(),
                count: successes.len(),
                statuses: successes
                    .iter()
                    .map(|(code, _)| code.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        let success = match successes.as_slice() {
            [(status, response)] => self.success(*status, response),
            _ => None,
        };

        let mut schemas: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut retry_after = false;
        for (status, response) in errors {
            let response = match resolve_component(
                response,
                "#/components/responses/",
                &self.components.responses,
            ) {
                Ok(response) => response,
                Err(reason) => {
                    self.unsupported(format!("response {status}: {reason}"));
                    continue;
                }
            };
            if response.content.is_empty() {
                self.problems.push(Problem::ErrorResponse {
                    id: self.id.to_string(),
                    at: self.at.to_string(),
                    status,
                    reason: "has no JSON body; every error status needs the error schema"
                        .to_string(),
                });
                continue;
            }
            retry_after |= self.error_headers(&status, response);
            if let Some(name) =
                self.json_schema_name(&format!("error response {status}"), &response.content)
            {
                schemas.entry(name).or_default().push(status);
            }
        }
        let error_schema = match schemas.len() {
            0 => None,
            1 => schemas.keys().next().cloned(),
            _ => {
                self.problems.push(Problem::MixedErrorSchemas {
                    id: self.id.to_string(),
                    at: self.at.to_string(),
                    schemas: schemas
                        .iter()
                        .map(|(schema, statuses)| format!("{schema} for {}", statuses.join("/")))
                        .collect::<Vec<_>>()
                        .join("; "),
                });
                None
            }
        };
        if let Some(schema) = &error_schema {
            if !error_types.contains_key(schema.as_str()) {
                self.problems.push(Problem::ErrorSchemaWithoutType {
                    id: self.id.to_string(),
                    at: self.at.to_string(),
                    schema: schema.clone(),
                });
            }
        }
        if retry_after && error_schema.is_none() {
            self.unsupported("a 429 with `Retry-After` needs the operation's error schema");
        }
        (success, error_schema, retry_after)
    }

    /// Headers of an error response: dropshot sends a custom error type's body only, so the
    /// one header the generator can express is a 429's `Retry-After` (an inline integer),
    /// sent by `OrTooManyRequests`. Whether it was declared.
    fn error_headers(&mut self, status: &str, response: &Response) -> bool {
        let mut retry_after = false;
        for (name, header) in &response.headers {
            if status != "429" || !name.eq_ignore_ascii_case("Retry-After") {
                self.unsupported(format!(
                    "error response {status} declares header {name}: error answers carry \
                     no headers, except `Retry-After` on 429"
                ));
                continue;
            }
            let is_integer = matches!(
                header,
                ReferenceOr::Item(openapiv3::Header {
                    format: openapiv3::ParameterSchemaOrContent::Schema(ReferenceOr::Item(schema)),
                    ..
                }) if matches!(schema.schema_kind, openapiv3::SchemaKind::Type(openapiv3::Type::Integer(_)))
            );
            if !is_integer {
                self.unsupported(format!(
                    "error response 429 header {name}: write it inline as `type: integer` \
                     (seconds)"
                ));
                continue;
            }
            retry_after = true;
        }
        retry_after
    }

    fn success(&mut self, status: u16, response: &ReferenceOr<Response>) -> Option<Success> {
        let response = match resolve_component(
            response,
            "#/components/responses/",
            &self.components.responses,
        ) {
            Ok(response) => response,
            Err(reason) => {
                self.unsupported(format!("response {status}: {reason}"));
                return None;
            }
        };
        let headers = self.success_headers(status, response);
        match status {
            200..=202 => {
                let schema =
                    self.json_schema_name(&format!("response {status}"), &response.content)?;
                Some(Success {
                    status,
                    schema: Some(schema),
                    headers,
                })
            }
            204 => {
                if !response.content.is_empty() {
                    self.unsupported("response 204 must not have content");
                    return None;
                }
                if !headers.is_empty() {
                    self.unsupported("response 204 cannot declare headers");
                }
                Some(Success {
                    status,
                    schema: None,
                    headers,
                })
            }
            other => {
                self.unsupported(format!(
                    "success status {other} is not supported (use 200, 201, 202 or 204)"
                ));
                None
            }
        }
    }

    /// The declared headers of a success response: inline, `type: string`, each becoming
    /// a `String` (or `Option<String>`) field of `{OperationId}Headers`, which dropshot
    /// documents exactly so.
    fn success_headers(&mut self, status: u16, response: &Response) -> Vec<ResponseHeader> {
        let mut headers = Vec::new();
        for (name, header) in &response.headers {
            let ReferenceOr::Item(header) = header else {
                self.unsupported(format!("response {status} header {name}: write it inline"));
                continue;
            };
            let is_string = matches!(
                &header.format,
                openapiv3::ParameterSchemaOrContent::Schema(ReferenceOr::Item(schema))
                    if matches!(schema.schema_kind, openapiv3::SchemaKind::Type(openapiv3::Type::String(_)))
            );
            if !is_string {
                self.unsupported(format!(
                    "response {status} header {name}: only `type: string` headers are supported"
                ));
                continue;
            }
            headers.push(ResponseHeader {
                name: name.clone(),
                description: header.description.clone(),
                required: header.required,
            });
        }
        headers
    }
}

fn location(parameter: &Parameter) -> &'static str {
    match parameter {
        Parameter::Query { .. } => "query",
        Parameter::Header { .. } => "header",
        Parameter::Path { .. } => "path",
        Parameter::Cookie { .. } => "cookie",
    }
}

/// The `{name}` variables of a path. dropshot only matches a variable that is
/// a whole segment, so `/a/{id}.json` is refused.
fn path_template_names(path: &str) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    for segment in path.split('/') {
        if !segment.contains('{') && !segment.contains('}') {
            continue;
        }
        let inner = segment
            .strip_prefix('{')
            .and_then(|rest| rest.strip_suffix('}'))
            .filter(|inner| !inner.is_empty() && !inner.contains(['{', '}']));
        match inner {
            Some(name) => names.push(name.to_string()),
            None => {
                return Err(format!(
                    "path segment `{segment}`: a path variable must be a whole segment"
                ))
            }
        }
    }
    Ok(names)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::parse;

    fn problems(text: &str) -> String {
        let doc = parse("test.yaml", text).expect("fixture parses").doc;
        match validate_doc(doc) {
            Ok(_) => String::new(),
            Err(problems) => problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }

    /// A valid one-operation document with hooks for breaking it.
    fn doc(op_id: &str, responses: &str, extra_schema: &str) -> String {
        format!(
            r##"
openapi: 3.0.3
info: {{title: t, version: 1.0.0}}
paths:
  /demo/{{id}}/:
    post:
      operationId: {op_id}
      tags: [demo]
      parameters:
        - {{name: id, in: path, required: true, schema: {{type: string, minLength: 1}}}}
      requestBody:
        required: true
        content:
          application/json:
            schema: {{$ref: '#/components/schemas/DemoRequest'}}
      responses:
{responses}
components:
  schemas:
    DemoRequest:
      type: object
      properties: {{a: {{type: string}}}}
    DemoError:
      type: object
      required: [code, message]
      properties:
        code: {{type: integer}}
        message: {{type: string}}
        detail: {{type: string, nullable: true}}
      x-resetd-error-type:
        name: DemoHttpError
        from-http-error: {{code: $status, message: $message}}
{extra_schema}
"##
        )
    }

    const OK_RESPONSES: &str = r##"        '200':
          description: ok
          content:
            application/json:
              schema: {$ref: '#/components/schemas/DemoRequest'}
        '400':
          description: bad
          content:
            application/json:
              schema: {$ref: '#/components/schemas/DemoError'}"##;

    #[test]
    fn the_base_fixture_is_valid() {
        let text = doc("demo_post", OK_RESPONSES, "");
        assert_eq!(problems(&text), "");
        let api = validate_doc(parse("t.yaml", &text).expect("parses").doc).expect("valid");
        let op = &api.operations[0];
        assert_eq!(op.success.status, 200);
        assert_eq!(op.error_type.as_deref(), Some("DemoHttpError"));
        assert_eq!(
            api.error_types[0].message_pointer.as_deref(),
            Some("/message")
        );
    }

    #[test]
    fn bad_ref_is_named_with_its_operation() {
        let text = doc("demo_post", OK_RESPONSES, "").replace(
            "schemas/DemoRequest'}\n      responses",
            "schemas/DemoRequset'}\n      responses",
        );
        let text = problems(&text);
        assert!(text.contains("#/components/schemas/DemoRequset"), "{text}");
        assert!(text.contains("demo_post"), "{text}");
    }

    #[test]
    fn bad_ref_inside_a_schema_names_the_schema() {
        let extra = "    Broken:\n      type: object\n      properties:\n        x: {$ref: '#/components/schemas/Nope'}";
        let text = problems(&doc("demo_post", OK_RESPONSES, extra));
        assert!(text.contains("`#/components/schemas/Nope`"), "{text}");
        assert!(text.contains("schema `Broken`"), "{text}");
    }

    #[test]
    fn snake_case_and_prefix_are_enforced() {
        let text = problems(&doc("demoPost", OK_RESPONSES, ""));
        assert!(
            text.contains("`demoPost`") && text.contains("snake_case"),
            "{text}"
        );
        let text = problems(&doc("other_post", OK_RESPONSES, ""));
        assert!(text.contains("`demo_`"), "{text}");
    }

    #[test]
    fn duplicate_operation_id_names_both_places() {
        let text = doc("demo_post", OK_RESPONSES, "").replace(
            "paths:\n",
            "paths:\n  /other:\n    get:\n      operationId: demo_post\n      tags: [demo]\n      responses:\n        '204': {description: ok}\n",
        );
        let text = problems(&text);
        assert!(text.contains("`demo_post` is used twice"), "{text}");
        assert!(
            text.contains("GET /other") && text.contains("POST /demo/{id}/"),
            "{text}"
        );
    }

    #[test]
    fn two_success_statuses_are_refused() {
        let responses = format!(
            "{OK_RESPONSES}\n        '201':\n          description: created\n          content:\n            application/json:\n              schema: {{$ref: '#/components/schemas/DemoRequest'}}"
        );
        let text = problems(&doc("demo_post", &responses, ""));
        assert!(
            text.contains("demo_post") && text.contains("200, 201"),
            "{text}"
        );
    }

    #[test]
    fn default_response_is_refused() {
        let responses = format!("{OK_RESPONSES}\n        default:\n          description: any");
        let text = problems(&doc("demo_post", &responses, ""));
        assert!(
            text.contains("demo_post") && text.contains("`default`"),
            "{text}"
        );
    }

    /// A 429 with its error body and the given `Retry-After` schema (or another header).
    fn too_many(header: &str, schema: &str) -> String {
        format!(
            "{OK_RESPONSES}\n        '429':\n          description: slow down\n          headers:\n            {header}:\n              required: true\n              schema: {schema}\n          content:\n            application/json:\n              schema: {{$ref: '#/components/schemas/DemoError'}}"
        )
    }

    #[test]
    fn retry_after_on_429_is_read() {
        let text = doc("demo_post", OK_RESPONSES, "");
        let api = validate_doc(parse("t.yaml", &text).expect("parses").doc).expect("valid");
        assert!(!api.operations[0].retry_after);
        let text = doc(
            "demo_post",
            &too_many("Retry-After", "{type: integer, minimum: 1}"),
            "",
        );
        assert_eq!(problems(&text), "");
        let api = validate_doc(parse("t.yaml", &text).expect("parses").doc).expect("valid");
        assert!(api.operations[0].retry_after);
    }

    #[test]
    fn error_headers_other_than_retry_after_on_429_are_refused() {
        let text = problems(&doc(
            "demo_post",
            &too_many("X-Limit", "{type: integer}"),
            "",
        ));
        assert!(text.contains("declares header X-Limit"), "{text}");
        let text = problems(&doc(
            "demo_post",
            &too_many("Retry-After", "{type: string}"),
            "",
        ));
        assert!(text.contains("`type: integer`"), "{text}");
        let on_400 = OK_RESPONSES.replace(
            "          description: bad\n",
            "          description: bad\n          headers:\n            Retry-After:\n              schema: {type: integer}\n",
        );
        assert_ne!(on_400, OK_RESPONSES);
        let text = problems(&doc("demo_post", &on_400, ""));
        assert!(
            text.contains("error response 400 declares header Retry-After"),
            "{text}"
        );
    }

    #[test]
    fn mixed_error_schemas_are_refused() {
        let responses = format!(
            "{OK_RESPONSES}\n        '500':\n          description: boom\n          content:\n            application/json:\n              schema: {{$ref: '#/components/schemas/DemoRequest'}}"
        );
        let text = problems(&doc("demo_post", &responses, ""));
        assert!(text.contains("different schemas"), "{text}");
        assert!(
            text.contains("DemoError for 400") && text.contains("DemoRequest for 500"),
            "{text}"
        );
    }

    #[test]
    fn error_schema_needs_the_extension() {
        let responses = OK_RESPONSES.replace("schemas/DemoError'}", "schemas/DemoRequest'}");
        let text = problems(&doc("demo_post", &responses, ""));
        assert!(
            text.contains("`DemoRequest` has no `x-resetd-error-type`"),
            "{text}"
        );
    }

    #[test]
    fn non_json_bodies_are_refused() {
        let text = doc("demo_post", OK_RESPONSES, "").replacen(
            "application/json:\n            schema: {$ref: '#/components/schemas/DemoRequest'}\n      responses",
            "application/x-www-form-urlencoded:\n            schema: {$ref: '#/components/schemas/DemoRequest'}\n      responses",
            1,
        );
        let text = problems(&text);
        assert!(text.contains("application/x-www-form-urlencoded"), "{text}");
    }

    #[test]
    fn templates_are_type_checked() {
        let text = doc("demo_post", OK_RESPONSES, "").replace(
            "{code: $status, message: $message}",
            "{code: $message, message: $message}",
        );
        let text = problems(&text);
        assert!(
            text.contains("DemoError") && text.contains("$message needs a string"),
            "{text}"
        );

        let text = doc("demo_post", OK_RESPONSES, "")
            .replace("{code: $status, message: $message}", "{message: $message}");
        let text = problems(&text);
        assert!(text.contains("required property `code`"), "{text}");
    }

    #[test]
    fn path_variables_must_match_parameters() {
        let text = doc("demo_post", OK_RESPONSES, "").replace("/demo/{id}/", "/demo/{ident}/");
        let text = problems(&text);
        assert!(
            text.contains("`id` does not appear") && text.contains("`{ident}`"),
            "{text}"
        );
    }

    #[test]
    fn path_template_parsing() {
        assert_eq!(
            path_template_names("/a/{x}/b/{y}/").expect("ok"),
            ["x".to_string(), "y".to_string()]
        );
        assert!(path_template_names("/a/{x}.json").is_err());
    }
}

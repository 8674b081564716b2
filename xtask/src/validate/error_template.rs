//! `x-resetd-error-type`: an error schema's Rust type and its answer templates, type-checked
//! against the schema.

use openapiv3::{Components, Schema, SchemaKind, Type};
use serde_json::Value;

use super::resolve::resolve_boxed;
use super::schemas::is_pascal_ident;
use crate::model::ErrorType;

/// Parses and type-checks `x-resetd-error-type` on schema `name`.
pub(super) fn error_type(
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
pub(super) fn check_template(
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

pub(super) fn check_placeholder(
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

pub(super) fn type_name(kind: &Type) -> &'static str {
    match kind {
        Type::String(_) => "string",
        Type::Number(_) => "number",
        Type::Integer(_) => "integer",
        Type::Object(_) => "object",
        Type::Array(_) => "array",
        Type::Boolean(_) => "boolean",
    }
}

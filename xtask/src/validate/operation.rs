//! One operation into the model: the shared context, its request body, and path templates.

use std::collections::BTreeMap;

use heck::ToSnakeCase;
use openapiv3::{Components, Parameter, ReferenceOr, RequestBody};
use serde_json::Value;

use super::resolve::{resolve_component, schema_ref_name};
use super::schemas::is_snake_ident;
use super::{Problem, ENVELOPE_EXT, JSON, MAX_BODY_EXT};
use crate::model::{ErrorType, HttpMethod, Operation};

pub(super) struct OpContext<'a> {
    pub(super) id: &'a str,
    pub(super) at: &'a str,
    pub(super) components: &'a Components,
    pub(super) problems: &'a mut Vec<Problem>,
}

impl OpContext<'_> {
    pub(super) fn unsupported(&mut self, reason: impl Into<String>) {
        self.problems.push(Problem::Unsupported {
            id: self.id.to_string(),
            at: self.at.to_string(),
            reason: reason.into(),
        });
    }

    pub(super) fn non_json(&mut self, what: impl Into<String>, media: &str) {
        self.problems.push(Problem::NonJson {
            id: self.id.to_string(),
            at: self.at.to_string(),
            what: what.into(),
            media: media.to_string(),
        });
    }

    /// Builds the model of one operation, recording every problem; `None` if
    /// there was any.
    pub(super) fn operation(
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
        let mut max_body_bytes = None;
        for (key, value) in &op.extensions {
            if key == ENVELOPE_EXT {
                if !matches!(value, Value::Bool(_)) {
                    self.unsupported(format!("`{ENVELOPE_EXT}` must be true or false"));
                }
            } else if key == MAX_BODY_EXT {
                match value.as_u64().filter(|&n| n >= 1024) {
                    Some(n) if op.request_body.is_some() => max_body_bytes = Some(n),
                    Some(_) => self.unsupported(format!("`{MAX_BODY_EXT}` without a body")),
                    None => self.unsupported(format!(
                        "`{MAX_BODY_EXT}` must be a whole number of bytes, at least 1024"
                    )),
                }
            } else if key.starts_with("x-resetd-") {
                self.unsupported(format!(
                    "unknown extension `{key}` (known: `{ENVELOPE_EXT}`, `{MAX_BODY_EXT}`)"
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
            max_body_bytes,
        })
    }
}

impl OpContext<'_> {
    /// The request body: required, JSON, a `$ref` to a named schema.
    pub(super) fn request_body(&mut self, body: &ReferenceOr<RequestBody>) -> Option<String> {
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
    pub(super) fn json_schema_name(
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
}

pub(super) fn location(parameter: &Parameter) -> &'static str {
    match parameter {
        Parameter::Query { .. } => "query",
        Parameter::Header { .. } => "header",
        Parameter::Path { .. } => "path",
        Parameter::Cookie { .. } => "cookie",
    }
}

/// The `{name}` variables of a path. dropshot only matches a variable that is
/// a whole segment, so `/a/{id}.json` is refused.
pub(super) fn path_template_names(path: &str) -> Result<Vec<String>, String> {
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

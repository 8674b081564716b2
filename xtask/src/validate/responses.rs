//! An operation's responses: exactly one success, one error schema, the headers allowed.

use std::collections::BTreeMap;

use openapiv3::{ReferenceOr, Response, StatusCode};

use super::operation::OpContext;
use super::resolve::resolve_component;
use super::Problem;
use crate::model::{ErrorType, ResponseHeader, Success};

impl OpContext<'_> {
    pub(super) fn responses(
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
    /// sent by `responses::Answer`. Whether it was declared.
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

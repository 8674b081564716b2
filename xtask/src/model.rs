//! What the code generators need to know about the merged document, in a shape
//! they cannot misread. `validate` builds it and refuses anything that does not
//! fit; the generators only ever see a model that is known to be expressible.

use heck::ToUpperCamelCase;

#[derive(Debug, Clone)]
pub struct Api {
    pub tags: Vec<TagInfo>,
    pub operations: Vec<Operation>,
    pub error_types: Vec<ErrorType>,
}

#[derive(Debug, Clone)]
pub struct TagInfo {
    pub name: String,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum HttpMethod {
    Get,
    Put,
    Post,
    Delete,
    Options,
    Head,
    Patch,
}

impl HttpMethod {
    /// The spelling `#[endpoint { method = ... }]` expects.
    pub fn upper(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Put => "PUT",
            HttpMethod::Post => "POST",
            HttpMethod::Delete => "DELETE",
            HttpMethod::Options => "OPTIONS",
            HttpMethod::Head => "HEAD",
            HttpMethod::Patch => "PATCH",
        }
    }

    pub fn from_lower(method: &str) -> Option<Self> {
        Some(match method {
            "get" => HttpMethod::Get,
            "put" => HttpMethod::Put,
            "post" => HttpMethod::Post,
            "delete" => HttpMethod::Delete,
            "options" => HttpMethod::Options,
            "head" => HttpMethod::Head,
            "patch" => HttpMethod::Patch,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone)]
pub struct Operation {
    /// The operationId: snake_case, names the trait method.
    pub id: String,
    pub method: HttpMethod,
    /// As written in the source, trailing slash included.
    pub path: String,
    pub tags: Vec<String>,
    pub summary: Option<String>,
    pub description: Option<String>,
    pub deprecated: bool,
    pub path_params: Vec<Param>,
    pub query_params: Vec<Param>,
    /// Name of the `components.schemas` entry the JSON request body uses.
    pub body: Option<String>,
    pub success: Success,
    /// The Rust error type: `x-resetd-error-type.name` of the schema shared by
    /// the error statuses; `None` (no error statuses) means `dropshot::HttpError`.
    pub error_type: Option<String>,
    /// The 429 response declares a `Retry-After` header. The generator needs no branch on
    /// it (every answer goes through `responses::Answer`, which can send it); the
    /// validator's reading of it is what its tests check.
    #[allow(dead_code)]
    pub retry_after: bool,
    /// `x-resetd-max-body-bytes`: the operation's own body limit, above the configured one.
    pub max_body_bytes: Option<u64>,
}

impl Operation {
    /// `strapi_reset_password` -> `StrapiResetPassword`, the stem of the
    /// generated parameter struct names.
    pub fn pascal_name(&self) -> String {
        self.id.to_upper_camel_case()
    }
}

#[derive(Debug, Clone)]
pub struct Param {
    pub name: String,
    pub description: Option<String>,
    pub required: bool,
    pub schema: ParamSchema,
}

/// The parameter shapes a dropshot `Path<...>` / `Query<...>` struct field can
/// take. Anything richer is refused by `validate`.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamSchema {
    /// A `$ref` to `components.schemas`.
    Named(String),
    String {
        format: StringFormat,
        min_length: Option<usize>,
        max_length: Option<usize>,
        pattern: Option<String>,
    },
    Integer {
        format: IntegerFormat,
        minimum: Option<i64>,
        maximum: Option<i64>,
    },
    Number {
        minimum: Option<f64>,
        maximum: Option<f64>,
    },
    Boolean,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StringFormat {
    Plain,
    Uuid,
    DateTime,
    Date,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntegerFormat {
    Int32,
    Int64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Success {
    pub status: u16,
    /// The JSON body schema (a `components.schemas` name); `None` for 204.
    pub schema: Option<String>,
    /// Response headers the operation declares (string values), in source order: the
    /// trait answers `HttpResponseHeaders<_, {OperationId}Headers>`.
    pub headers: Vec<ResponseHeader>,
}

/// A declared success-response header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHeader {
    /// As written in the source (`Cache-Control`).
    pub name: String,
    pub description: Option<String>,
    pub required: bool,
}

/// A component schema carrying `x-resetd-error-type`.
#[derive(Debug, Clone)]
pub struct ErrorType {
    /// The schema name (and the name of its body type in `resetd_api::types`).
    pub schema: String,
    /// The Rust type in `resetd_api::errors`.
    pub type_name: String,
    /// The `from-http-error` template with `$status` / `$message` placeholders.
    pub template: serde_json::Value,
    /// JSON pointer to the `$message` slot in the body, which `Display` shows.
    pub message_pointer: Option<String>,
}

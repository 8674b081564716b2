//! Every problem `validate` can report, each naming where it is.

use super::{ERROR_TYPE_EXT, JSON};

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

//! Routes that are not part of the API spec, registered beside the generated trait's
//! endpoints and left out of the published document.

use dropshot::{endpoint, ApiDescription, ApiDescriptionRegisterError, RequestContext};
use http::{header, Response, StatusCode};

use crate::app::AppState;

/// The merged OpenAPI document, embedded by `build.rs`.
pub const OPENAPI_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/openapi.json"));
pub const OPENAPI_YAML: &str = include_str!(concat!(env!("OUT_DIR"), "/openapi.yaml"));

pub fn register(api: &mut ApiDescription<AppState>) -> Result<(), ApiDescriptionRegisterError> {
    api.register(openapi_json)?;
    crate::pages::register(api)
}

/// The merged OpenAPI document, as served to SDK generators and API explorers.
#[endpoint { method = GET, path = "/openapi.json", unpublished = true }]
async fn openapi_json(
    _rqctx: RequestContext<AppState>,
) -> Result<Response<dropshot::Body>, dropshot::HttpError> {
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(OPENAPI_JSON.into())
        .map_err(|e| dropshot::HttpError::for_internal_error(e.to_string()))
}

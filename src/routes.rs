//! Routes that are not part of the API spec, registered beside the generated trait's
//! endpoints and left out of the published document.

use dropshot::{endpoint, ApiDescription, ApiDescriptionRegisterError, HttpError, RequestContext};
use http::{header, Response, StatusCode};
use subtle::ConstantTimeEq as _;
use tracing::Instrument as _;

use crate::server::AppState;

/// The merged OpenAPI document, embedded by `build.rs`.
pub const OPENAPI_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/openapi.json"));
pub const OPENAPI_YAML: &str = include_str!(concat!(env!("OUT_DIR"), "/openapi.yaml"));

pub fn register(api: &mut ApiDescription<AppState>) -> Result<(), ApiDescriptionRegisterError> {
    api.register(openapi_json)?;
    api.register(metrics)?;
    crate::pages::register(api)
}

/// The merged OpenAPI document, as served to SDK generators and API explorers.
#[endpoint { method = GET, path = "/openapi.json", unpublished = true }]
async fn openapi_json(
    _rqctx: RequestContext<AppState>,
) -> Result<Response<dropshot::Body>, HttpError> {
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(OPENAPI_JSON.into())
        .map_err(|e| HttpError::for_internal_error(e.to_string()))
}

/// Prometheus metrics (`crate::metrics`), for holders of `metrics.token` only: 404 when none
/// is configured, 401 for a missing or wrong token (see `MetricsConfig` for why).
#[endpoint { method = GET, path = "/metrics", unpublished = true }]
async fn metrics(rqctx: RequestContext<AppState>) -> Result<Response<dropshot::Body>, HttpError> {
    let span = crate::logging::request_span(&rqctx.request_id);
    async {
        let state = rqctx.context();
        let Some(expected) = &state.core.config().metrics.token else {
            return Err(HttpError::for_not_found(None, "metrics are off".to_owned()));
        };
        let presented = rqctx
            .request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !bool::from(presented.as_bytes().ct_eq(expected.expose().as_bytes())) {
            return Err(HttpError::for_client_error(
                None,
                dropshot::ClientErrorStatusCode::UNAUTHORIZED,
                "unauthorized".to_owned(),
            ));
        }
        // Without the store the rest is still worth a scrape; the depth is left out.
        match state.core.outbox_depth().await {
            Ok(depth) => state
                .metrics
                .mail
                .set_outbox_depth(depth.pending, depth.dead),
            Err(error) => {
                state.metrics.mail.forget_outbox_depth();
                tracing::warn!(%error, "metrics: cannot read the outbox depth");
            }
        }
        // One count over the accounts; it also sets the gauge.
        if let Err(error) = state.core.legacy_hash_count().await {
            tracing::warn!(%error, "metrics: cannot count the accounts on a legacy hash");
        }
        match state.core.webhook_depth().await {
            Ok((pending, dead)) => state.metrics.webhooks.set_depth(pending, dead),
            Err(error) => {
                state.metrics.webhooks.forget_depth();
                tracing::warn!(%error, "metrics: cannot read the webhook queue depth");
            }
        }
        let text = state
            .metrics
            .encode()
            .map_err(|e| HttpError::for_internal_error(e.to_string()))?;
        Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)
            .header(header::CACHE_CONTROL, "no-store")
            .body(text.into())
            .map_err(|e| HttpError::for_internal_error(e.to_string()))
    }
    .instrument(span)
    .await
}

//! The pages emailed reset links open: `GET /session/reset` (Cloudreve) and
//! `GET /account/recover/password` (SelfCommunity). Each is a self-contained HTML page with
//! a new-password form whose script sends the password to that dialect's own API call, so
//! the dialect adapters stay the only way in.
//!
//! Opening a page never looks at the token (SECURITY.md 11): a mail scanner's prefetch and a
//! second click cost nothing. A link that lacks part of its query gets a page saying so
//! (400). These are unpublished routes, outside the API spec.

mod headers;
mod link;
mod render;

use dropshot::{endpoint, ApiDescription, ApiDescriptionRegisterError, Body, RequestContext};
use http::{Response, StatusCode};

use crate::reset::Dialect;
use crate::server::AppState;

use link::ResetLink;

pub fn register(api: &mut ApiDescription<AppState>) -> Result<(), ApiDescriptionRegisterError> {
    api.register(cloudreve_reset_page)?;
    api.register(cloudreve_reset_page_head)?;
    api.register(selfcommunity_reset_page)?;
    api.register(selfcommunity_reset_page_head)
}

/// Cloudreve's emailed link: `/session/reset?id=<user_id>&secret=<secret>`.
#[endpoint { method = GET, path = "/session/reset", unpublished = true }]
async fn cloudreve_reset_page(
    rqctx: RequestContext<AppState>,
) -> Result<Response<Body>, dropshot::HttpError> {
    reset_page(&rqctx, Dialect::Cloudreve, ResetLink::cloudreve)
}

#[endpoint { method = HEAD, path = "/session/reset", unpublished = true }]
async fn cloudreve_reset_page_head(
    rqctx: RequestContext<AppState>,
) -> Result<Response<Body>, dropshot::HttpError> {
    reset_page(&rqctx, Dialect::Cloudreve, ResetLink::cloudreve)
}

/// SelfCommunity's emailed link: `/account/recover/password?validation_code=<code>&next=/`.
#[endpoint { method = GET, path = "/account/recover/password", unpublished = true }]
async fn selfcommunity_reset_page(
    rqctx: RequestContext<AppState>,
) -> Result<Response<Body>, dropshot::HttpError> {
    reset_page(&rqctx, Dialect::Selfcommunity, ResetLink::selfcommunity)
}

#[endpoint { method = HEAD, path = "/account/recover/password", unpublished = true }]
async fn selfcommunity_reset_page_head(
    rqctx: RequestContext<AppState>,
) -> Result<Response<Body>, dropshot::HttpError> {
    reset_page(&rqctx, Dialect::Selfcommunity, ResetLink::selfcommunity)
}

fn reset_page(
    rqctx: &RequestContext<AppState>,
    dialect: Dialect,
    read_link: fn(Option<&str>) -> Option<ResetLink>,
) -> Result<Response<Body>, dropshot::HttpError> {
    let core = &rqctx.context().core;
    let product = &core.config().product_name;
    let (status, html) = if !core.is_enabled(dialect) {
        (StatusCode::NOT_FOUND, render::unavailable_page(product))
    } else {
        match read_link(rqctx.request.uri().query()) {
            Some(link) => (StatusCode::OK, render::form_page(product, &link)),
            None => (StatusCode::BAD_REQUEST, render::incomplete_page(product)),
        }
    };
    headers::page_response(status, html)
}

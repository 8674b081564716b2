//! The pages emailed reset links open: `GET /session/reset` (Cloudreve) and
//! `GET /account/recover/password` (SelfCommunity). Each is a self-contained HTML page with
//! a new-password form whose script sends the password to that dialect's own API call, so
//! the dialect adapters stay the only way in.
//!
//! Opening a page never looks at the token (SECURITY.md 11): a mail scanner's prefetch and a
//! second click cost nothing. A link that lacks part of its query gets a page saying so
//! (400). These are unpublished routes, outside the API spec.
//!
//! Each page is in the reader's language: the one the link names (`lang`, which resetd adds
//! to the links it emails: the language of the email), else the browser's
//! (`Accept-Language`), else English. The texts are templates (`templates/`), overridable
//! from `pages.templates_dir` like the mail templates, with the same machinery
//! (`crate::templating`).

mod check;
mod headers;
mod link;
mod render;

use dropshot::{endpoint, ApiDescription, ApiDescriptionRegisterError, Body, RequestContext};
use http::{header, Response, StatusCode};

use crate::reset::Dialect;
use crate::server::AppState;
use crate::templating::Language;

pub use check::load as load_templates;
use link::ResetLink;
use render::PageView;

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
    let state = rqctx.context();
    let product = &state.core.config().product_name;
    let query = rqctx.request.uri().query();
    let language = language(rqctx, query);
    let (status, html) = if !state.core.is_enabled(dialect) {
        let html = render::unavailable_page(&state.pages, product, language);
        (StatusCode::NOT_FOUND, html)
    } else {
        let link = read_link(query);
        let view = PageView {
            product,
            language,
            link: link.as_ref(),
        };
        let status = match link {
            Some(_) => StatusCode::OK,
            None => StatusCode::BAD_REQUEST,
        };
        (status, render::link_page(&state.pages, &view))
    };
    // The error names the template only, never a value from the link.
    let html = html.map_err(|err| dropshot::HttpError::for_internal_error(err.to_string()))?;
    headers::page_response(status, html)
}

/// The link's `lang` if resetd has that language, else the browser's first choice among
/// resetd's, else English.
fn language(rqctx: &RequestContext<AppState>, query: Option<&str>) -> Language {
    link::lang(query)
        .and_then(|tag| Language::recognize(&tag))
        .or_else(|| {
            rqctx
                .request
                .headers()
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|value| value.to_str().ok())
                .and_then(Language::for_accept_language)
        })
        .unwrap_or(Language::English)
}

#[cfg(test)]
mod tests;

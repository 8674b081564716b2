//! The dialect adapters: each translates its product's requests into core calls and the
//! core's outcomes into that product's envelope or status. No SQL, hashing or mail here.
//!
//! This file is only the routing table from the generated trait to the adapters.

mod call;
mod cloudreve;
mod ipcola;
mod resetd;
mod selfcommunity;
mod strapi;

/// Who a request came from, `X-Forwarded-For` considered (public for the parser fuzz test).
pub use call::client_ip;

use dropshot::{
    HttpResponseCreated, HttpResponseOk, HttpResponseUpdatedNoContent, Path, RequestContext,
    TypedBody,
};
use resetd_api::errors::{
    CloudreveHttpError, IpcolaHttpError, ResetdHttpError, SelfcommunityHttpError, StrapiHttpError,
};
use resetd_api::params::{
    CloudreveResetPasswordPath, ResetdAdminGetUserPath, ResetdAdminIssueRecoveryPath,
    ResetdAdminUpdateUserPath,
};
use resetd_api::types;
use resetd_api::{EnvelopeBody, ResetdApi};
use tracing::Instrument as _;

use crate::app::AppState;
use crate::logging::request_span;
use call::Call;

/// The server's implementation of the generated API trait.
pub enum ResetdServer {}

impl ResetdApi for ResetdServer {
    type Context = AppState;

    async fn ipcola_send_email_vcode(
        rqctx: RequestContext<AppState>,
        body: EnvelopeBody<types::IpcolaSendEmailVcodeRequest>,
    ) -> Result<HttpResponseOk<types::IpcolaResult>, IpcolaHttpError> {
        ipcola::send_email_vcode(&Call::new(&rqctx), body.into_inner())
            .instrument(request_span(&rqctx.request_id))
            .await
    }

    async fn ipcola_reset_password(
        rqctx: RequestContext<AppState>,
        body: EnvelopeBody<types::IpcolaResetPasswordRequest>,
    ) -> Result<HttpResponseOk<types::IpcolaResult>, IpcolaHttpError> {
        ipcola::reset_password(&Call::new(&rqctx), body.into_inner())
            .instrument(request_span(&rqctx.request_id))
            .await
    }

    async fn ipcola_get_captcha(
        rqctx: RequestContext<AppState>,
    ) -> Result<HttpResponseOk<types::IpcolaCaptchaResponse>, IpcolaHttpError> {
        ipcola::get_captcha(&Call::new(&rqctx))
            .instrument(request_span(&rqctx.request_id))
            .await
    }

    async fn strapi_forgot_password(
        rqctx: RequestContext<AppState>,
        body: TypedBody<types::StrapiForgotPasswordRequest>,
    ) -> Result<HttpResponseOk<types::StrapiOkResponse>, StrapiHttpError> {
        strapi::forgot_password(&Call::new(&rqctx), body.into_inner())
            .instrument(request_span(&rqctx.request_id))
            .await
    }

    async fn strapi_reset_password(
        rqctx: RequestContext<AppState>,
        body: TypedBody<types::StrapiResetPasswordRequest>,
    ) -> Result<HttpResponseOk<types::StrapiAuthResponse>, StrapiHttpError> {
        strapi::reset_password(&Call::new(&rqctx), body.into_inner())
            .instrument(request_span(&rqctx.request_id))
            .await
    }

    async fn cloudreve_send_reset_email(
        rqctx: RequestContext<AppState>,
        body: EnvelopeBody<types::CloudreveSendResetEmailRequest>,
    ) -> Result<HttpResponseOk<types::CloudreveResponse>, CloudreveHttpError> {
        cloudreve::send_reset_email(&Call::new(&rqctx), body.into_inner())
            .instrument(request_span(&rqctx.request_id))
            .await
    }

    async fn cloudreve_reset_password(
        rqctx: RequestContext<AppState>,
        path: Path<CloudreveResetPasswordPath>,
        body: EnvelopeBody<types::CloudreveResetPasswordRequest>,
    ) -> Result<HttpResponseOk<types::CloudreveUserResponse>, CloudreveHttpError> {
        let path = path.into_inner();
        cloudreve::reset_password(&Call::new(&rqctx), &path.user_id, body.into_inner())
            .instrument(request_span(&rqctx.request_id))
            .await
    }

    async fn cloudreve_get_captcha(
        rqctx: RequestContext<AppState>,
    ) -> Result<HttpResponseOk<types::CloudreveCaptchaResponse>, CloudreveHttpError> {
        cloudreve::get_captcha(&Call::new(&rqctx))
            .instrument(request_span(&rqctx.request_id))
            .await
    }

    async fn selfcommunity_recover_account(
        rqctx: RequestContext<AppState>,
        body: TypedBody<types::SelfcommunityRecoverRequest>,
    ) -> Result<HttpResponseUpdatedNoContent, SelfcommunityHttpError> {
        selfcommunity::recover_account(&Call::new(&rqctx), body.into_inner())
            .instrument(request_span(&rqctx.request_id))
            .await
    }

    async fn selfcommunity_reset_password(
        rqctx: RequestContext<AppState>,
        body: TypedBody<types::SelfcommunityResetRequest>,
    ) -> Result<HttpResponseOk<types::SelfcommunityResetResponse>, SelfcommunityHttpError> {
        selfcommunity::reset_password(&Call::new(&rqctx), body.into_inner())
            .instrument(request_span(&rqctx.request_id))
            .await
    }

    async fn resetd_healthz(
        _rqctx: RequestContext<AppState>,
    ) -> Result<HttpResponseOk<types::ResetdHealth>, ResetdHttpError> {
        resetd::healthz()
    }

    async fn resetd_readyz(
        rqctx: RequestContext<AppState>,
    ) -> Result<HttpResponseOk<types::ResetdReadiness>, ResetdHttpError> {
        resetd::readyz(&Call::new(&rqctx))
            .instrument(request_span(&rqctx.request_id))
            .await
    }

    async fn resetd_login(
        rqctx: RequestContext<AppState>,
        body: TypedBody<types::ResetdLoginRequest>,
    ) -> Result<HttpResponseOk<types::ResetdTokenResponse>, ResetdHttpError> {
        resetd::login(&Call::new(&rqctx), body.into_inner())
            .instrument(request_span(&rqctx.request_id))
            .await
    }

    async fn resetd_introspect(
        rqctx: RequestContext<AppState>,
        body: TypedBody<types::ResetdIntrospectRequest>,
    ) -> Result<HttpResponseOk<types::ResetdIntrospection>, ResetdHttpError> {
        resetd::introspect(&Call::new(&rqctx), body.into_inner())
            .instrument(request_span(&rqctx.request_id))
            .await
    }

    async fn resetd_admin_create_user(
        rqctx: RequestContext<AppState>,
        body: TypedBody<types::ResetdCreateUserRequest>,
    ) -> Result<HttpResponseCreated<types::ResetdUser>, ResetdHttpError> {
        resetd::admin_create_user(&Call::new(&rqctx), body.into_inner())
            .instrument(request_span(&rqctx.request_id))
            .await
    }

    async fn resetd_admin_get_user(
        rqctx: RequestContext<AppState>,
        path: Path<ResetdAdminGetUserPath>,
    ) -> Result<HttpResponseOk<types::ResetdUser>, ResetdHttpError> {
        resetd::admin_get_user(&Call::new(&rqctx), &path.into_inner().id)
            .instrument(request_span(&rqctx.request_id))
            .await
    }

    async fn resetd_admin_update_user(
        rqctx: RequestContext<AppState>,
        path: Path<ResetdAdminUpdateUserPath>,
        body: TypedBody<types::ResetdUpdateUserRequest>,
    ) -> Result<HttpResponseOk<types::ResetdUser>, ResetdHttpError> {
        let id = path.into_inner().id;
        resetd::admin_update_user(&Call::new(&rqctx), &id, body.into_inner())
            .instrument(request_span(&rqctx.request_id))
            .await
    }

    async fn resetd_admin_issue_recovery(
        rqctx: RequestContext<AppState>,
        path: Path<ResetdAdminIssueRecoveryPath>,
        body: TypedBody<types::ResetdRecoveryRequest>,
    ) -> Result<HttpResponseOk<types::ResetdRecovery>, ResetdHttpError> {
        let id = path.into_inner().id;
        resetd::admin_issue_recovery(&Call::new(&rqctx), &id, body.into_inner())
            .instrument(request_span(&rqctx.request_id))
            .await
    }
}

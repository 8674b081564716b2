//! The dialect adapters: each translates its product's requests into core calls and the
//! core's outcomes into that product's envelope or status. No SQL, hashing or mail here.
//!
//! This file is only the routing table from the generated trait to the adapters. Each
//! handler reads its body here (`Call::read`, under the configured deadline): envelope
//! dialects (IPCola, Cloudreve) get the `Result` and answer a bad body in their envelope;
//! the others answer it through their error type's `From<HttpError>`.

mod call;
mod cloudreve;
mod ipcola;
mod resetd;
mod selfcommunity;
mod strapi;

/// Who a request came from, `X-Forwarded-For` considered (public for the parser fuzz test).
pub use call::client_ip;

use dropshot::{
    HttpResponseCreated, HttpResponseHeaders, HttpResponseOk, HttpResponseUpdatedNoContent, Path,
    RequestContext,
};
use resetd_api::errors::{
    CloudreveHttpError, IpcolaHttpError, ResetdHttpError, SelfcommunityHttpError, StrapiHttpError,
};
use resetd_api::params::{
    CloudreveResetPasswordPath, CloudreveV4ResetPasswordPath, ResetdAdminGetUserPath,
    ResetdAdminIssueRecoveryHeaders, ResetdAdminIssueRecoveryPath, ResetdAdminUpdateUserPath,
    ResetdLoginHeaders, SelfcommunityResetPasswordHeaders, StrapiApiResetPasswordHeaders,
    StrapiResetPasswordHeaders,
};
use resetd_api::responses::OrTooManyRequests;
use resetd_api::types;
use resetd_api::{JsonBody, ResetdApi};
use tracing::Instrument as _;

use crate::logging::request_span;
use crate::server::AppState;
use call::Call;

/// The headers of an answer that carries a token or a reset code: no cache may keep it
/// (RFC 6749 §5.1 asks for both fields; `Pragma` is for HTTP/1.0 caches).
macro_rules! no_store {
    ($headers:ident) => {
        $headers {
            cache_control: "no-store".to_owned(),
            pragma: "no-cache".to_owned(),
        }
    };
}

/// The server's implementation of the generated API trait.
pub enum ResetdServer {}

impl ResetdApi for ResetdServer {
    type Context = AppState;

    async fn ipcola_send_email_vcode(
        rqctx: RequestContext<AppState>,
        body: JsonBody<types::IpcolaSendEmailVcodeRequest>,
    ) -> Result<HttpResponseOk<types::IpcolaResult>, IpcolaHttpError> {
        let call = Call::new(&rqctx);
        async { ipcola::send_email_vcode(&call, call.read(body).await).await }
            .instrument(request_span(&rqctx.request_id))
            .await
    }

    async fn ipcola_reset_password(
        rqctx: RequestContext<AppState>,
        body: JsonBody<types::IpcolaResetPasswordRequest>,
    ) -> Result<HttpResponseOk<types::IpcolaResult>, IpcolaHttpError> {
        let call = Call::new(&rqctx);
        async { ipcola::reset_password(&call, call.read(body).await).await }
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
        body: JsonBody<types::StrapiForgotPasswordRequest>,
    ) -> Result<
        OrTooManyRequests<HttpResponseOk<types::StrapiOkResponse>, StrapiHttpError>,
        StrapiHttpError,
    > {
        let call = Call::new(&rqctx);
        async { strapi::forgot_password(&call, call.read(body).await?).await }
            .instrument(request_span(&rqctx.request_id))
            .await
    }

    async fn strapi_reset_password(
        rqctx: RequestContext<AppState>,
        body: JsonBody<types::StrapiResetPasswordRequest>,
    ) -> Result<
        OrTooManyRequests<
            HttpResponseHeaders<
                HttpResponseOk<types::StrapiAuthResponse>,
                StrapiResetPasswordHeaders,
            >,
            StrapiHttpError,
        >,
        StrapiHttpError,
    > {
        let call = Call::new(&rqctx);
        async { strapi::reset_password(&call, call.read(body).await?).await }
            .instrument(request_span(&rqctx.request_id))
            .await
            .map(|answer| {
                answer.map(|ok| HttpResponseHeaders::new(ok, no_store!(StrapiResetPasswordHeaders)))
            })
    }

    async fn cloudreve_send_reset_email(
        rqctx: RequestContext<AppState>,
        body: JsonBody<types::CloudreveSendResetEmailRequest>,
    ) -> Result<HttpResponseOk<types::CloudreveResponse>, CloudreveHttpError> {
        let call = Call::new(&rqctx);
        async { cloudreve::send_reset_email(&call, call.read(body).await).await }
            .instrument(request_span(&rqctx.request_id))
            .await
    }

    async fn cloudreve_reset_password(
        rqctx: RequestContext<AppState>,
        path: Path<CloudreveResetPasswordPath>,
        body: JsonBody<types::CloudreveResetPasswordRequest>,
    ) -> Result<HttpResponseOk<types::CloudreveUserResponse>, CloudreveHttpError> {
        let path = path.into_inner();
        let call = Call::new(&rqctx);
        async { cloudreve::reset_password(&call, &path.user_id, call.read(body).await).await }
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

    async fn strapi_api_forgot_password(
        rqctx: RequestContext<AppState>,
        body: JsonBody<types::StrapiForgotPasswordRequest>,
    ) -> Result<
        OrTooManyRequests<HttpResponseOk<types::StrapiOkResponse>, StrapiHttpError>,
        StrapiHttpError,
    > {
        let call = Call::new(&rqctx);
        async { strapi::forgot_password(&call, call.read(body).await?).await }
            .instrument(request_span(&rqctx.request_id))
            .await
    }

    async fn strapi_api_reset_password(
        rqctx: RequestContext<AppState>,
        body: JsonBody<types::StrapiResetPasswordRequest>,
    ) -> Result<
        OrTooManyRequests<
            HttpResponseHeaders<
                HttpResponseOk<types::StrapiAuthResponse>,
                StrapiApiResetPasswordHeaders,
            >,
            StrapiHttpError,
        >,
        StrapiHttpError,
    > {
        let call = Call::new(&rqctx);
        async { strapi::reset_password(&call, call.read(body).await?).await }
            .instrument(request_span(&rqctx.request_id))
            .await
            .map(|answer| {
                answer.map(|ok| {
                    HttpResponseHeaders::new(ok, no_store!(StrapiApiResetPasswordHeaders))
                })
            })
    }

    async fn cloudreve_v4_send_reset_email(
        rqctx: RequestContext<AppState>,
        body: JsonBody<types::CloudreveSendResetEmailRequest>,
    ) -> Result<HttpResponseOk<types::CloudreveResponse>, CloudreveHttpError> {
        let call = Call::new(&rqctx);
        async { cloudreve::send_reset_email(&call, call.read(body).await).await }
            .instrument(request_span(&rqctx.request_id))
            .await
    }

    async fn cloudreve_v4_reset_password(
        rqctx: RequestContext<AppState>,
        path: Path<CloudreveV4ResetPasswordPath>,
        body: JsonBody<types::CloudreveResetPasswordRequest>,
    ) -> Result<HttpResponseOk<types::CloudreveUserResponse>, CloudreveHttpError> {
        let path = path.into_inner();
        let call = Call::new(&rqctx);
        async { cloudreve::reset_password(&call, &path.user_id, call.read(body).await).await }
            .instrument(request_span(&rqctx.request_id))
            .await
    }

    async fn cloudreve_v4_get_captcha(
        rqctx: RequestContext<AppState>,
    ) -> Result<HttpResponseOk<types::CloudreveCaptchaResponse>, CloudreveHttpError> {
        cloudreve::get_captcha(&Call::new(&rqctx))
            .instrument(request_span(&rqctx.request_id))
            .await
    }

    async fn selfcommunity_verify_validation_code(
        rqctx: RequestContext<AppState>,
        body: JsonBody<types::SelfcommunityValidationCodeRequest>,
    ) -> Result<
        OrTooManyRequests<HttpResponseUpdatedNoContent, SelfcommunityHttpError>,
        SelfcommunityHttpError,
    > {
        let call = Call::new(&rqctx);
        async { selfcommunity::verify_validation_code(&call, call.read(body).await?).await }
            .instrument(request_span(&rqctx.request_id))
            .await
    }

    async fn selfcommunity_recover_account(
        rqctx: RequestContext<AppState>,
        body: JsonBody<types::SelfcommunityRecoverRequest>,
    ) -> Result<
        OrTooManyRequests<HttpResponseUpdatedNoContent, SelfcommunityHttpError>,
        SelfcommunityHttpError,
    > {
        let call = Call::new(&rqctx);
        async { selfcommunity::recover_account(&call, call.read(body).await?).await }
            .instrument(request_span(&rqctx.request_id))
            .await
    }

    async fn selfcommunity_reset_password(
        rqctx: RequestContext<AppState>,
        body: JsonBody<types::SelfcommunityResetRequest>,
    ) -> Result<
        OrTooManyRequests<
            HttpResponseHeaders<
                HttpResponseOk<types::SelfcommunityResetResponse>,
                SelfcommunityResetPasswordHeaders,
            >,
            SelfcommunityHttpError,
        >,
        SelfcommunityHttpError,
    > {
        let call = Call::new(&rqctx);
        async { selfcommunity::reset_password(&call, call.read(body).await?).await }
            .instrument(request_span(&rqctx.request_id))
            .await
            .map(|answer| {
                answer.map(|ok| {
                    HttpResponseHeaders::new(ok, no_store!(SelfcommunityResetPasswordHeaders))
                })
            })
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
        body: JsonBody<types::ResetdLoginRequest>,
    ) -> Result<
        OrTooManyRequests<
            HttpResponseHeaders<HttpResponseOk<types::ResetdTokenResponse>, ResetdLoginHeaders>,
            ResetdHttpError,
        >,
        ResetdHttpError,
    > {
        let call = Call::new(&rqctx);
        async { resetd::login(&call, call.read(body).await?).await }
            .instrument(request_span(&rqctx.request_id))
            .await
            .map(|answer| {
                answer.map(|ok| HttpResponseHeaders::new(ok, no_store!(ResetdLoginHeaders)))
            })
    }

    async fn resetd_introspect(
        rqctx: RequestContext<AppState>,
        body: JsonBody<types::ResetdIntrospectRequest>,
    ) -> Result<HttpResponseOk<types::ResetdIntrospection>, ResetdHttpError> {
        let call = Call::new(&rqctx);
        async { resetd::introspect(&call, call.read(body).await?).await }
            .instrument(request_span(&rqctx.request_id))
            .await
    }

    async fn resetd_admin_create_user(
        rqctx: RequestContext<AppState>,
        body: JsonBody<types::ResetdCreateUserRequest>,
    ) -> Result<HttpResponseCreated<types::ResetdUser>, ResetdHttpError> {
        let call = Call::new(&rqctx);
        async { resetd::admin_create_user(&call, call.read(body).await?).await }
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
        body: JsonBody<types::ResetdUpdateUserRequest>,
    ) -> Result<HttpResponseOk<types::ResetdUser>, ResetdHttpError> {
        let id = path.into_inner().id;
        let call = Call::new(&rqctx);
        async { resetd::admin_update_user(&call, &id, call.read(body).await?).await }
            .instrument(request_span(&rqctx.request_id))
            .await
    }

    async fn resetd_admin_issue_recovery(
        rqctx: RequestContext<AppState>,
        path: Path<ResetdAdminIssueRecoveryPath>,
        body: JsonBody<types::ResetdRecoveryRequest>,
    ) -> Result<
        HttpResponseHeaders<HttpResponseOk<types::ResetdRecovery>, ResetdAdminIssueRecoveryHeaders>,
        ResetdHttpError,
    > {
        let id = path.into_inner().id;
        let call = Call::new(&rqctx);
        async { resetd::admin_issue_recovery(&call, &id, call.read(body).await?).await }
            .instrument(request_span(&rqctx.request_id))
            .await
            .map(|answer| {
                HttpResponseHeaders::new(answer, no_store!(ResetdAdminIssueRecoveryHeaders))
            })
    }
}

//! The dialect adapters: each translates its product's requests into core calls and the
//! core's outcomes into that product's envelope or status. No SQL, hashing or mail here.
//!
//! This file is only the routing table from the generated trait to the adapters. Each
//! handler reads its body here (`Call::read`, under the configured deadline): envelope
//! dialects (IPCola, Cloudreve) get the `Result` and answer a bad body in their envelope;
//! the others answer it through their error type's `From<HttpError>`.

mod answered;
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
use resetd_api::responses::Answer;
use resetd_api::types;
use resetd_api::{JsonBody, ResetdApi};
use tracing::Instrument as _;

use crate::logging::request_span;
use crate::server::AppState;
use answered::Answered as _;
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

    fn preflight(
        rqctx: &RequestContext<AppState>,
        methods: &'static [http::Method],
    ) -> http::Response<dropshot::Body> {
        let cors = &rqctx.context().core.config().cors;
        crate::server::cors::preflight(cors, rqctx.request.headers(), methods)
    }

    async fn ipcola_send_email_vcode(
        rqctx: RequestContext<AppState>,
        body: JsonBody<types::IpcolaSendEmailVcodeRequest>,
    ) -> Result<Answer<HttpResponseOk<types::IpcolaResult>, IpcolaHttpError>, IpcolaHttpError> {
        let call = Call::new(&rqctx);
        async { ipcola::send_email_vcode(&call, call.read(body).await).await }
            .instrument(request_span(&rqctx.request_id))
            .await
            .answered(&rqctx)
    }

    async fn ipcola_reset_password(
        rqctx: RequestContext<AppState>,
        body: JsonBody<types::IpcolaResetPasswordRequest>,
    ) -> Result<Answer<HttpResponseOk<types::IpcolaResult>, IpcolaHttpError>, IpcolaHttpError> {
        let call = Call::new(&rqctx);
        async { ipcola::reset_password(&call, call.read(body).await).await }
            .instrument(request_span(&rqctx.request_id))
            .await
            .answered(&rqctx)
    }

    async fn ipcola_get_captcha(
        rqctx: RequestContext<AppState>,
    ) -> Result<
        Answer<HttpResponseOk<types::IpcolaCaptchaResponse>, IpcolaHttpError>,
        IpcolaHttpError,
    > {
        ipcola::get_captcha(&Call::new(&rqctx))
            .instrument(request_span(&rqctx.request_id))
            .await
            .answered(&rqctx)
    }

    async fn strapi_forgot_password(
        rqctx: RequestContext<AppState>,
        body: JsonBody<types::StrapiForgotPasswordRequest>,
    ) -> Result<Answer<HttpResponseOk<types::StrapiOkResponse>, StrapiHttpError>, StrapiHttpError>
    {
        let call = Call::new(&rqctx);
        async { strapi::forgot_password(&call, call.read(body).await?).await }
            .instrument(request_span(&rqctx.request_id))
            .await
            .answered(&rqctx)
    }

    async fn strapi_reset_password(
        rqctx: RequestContext<AppState>,
        body: JsonBody<types::StrapiResetPasswordRequest>,
    ) -> Result<
        Answer<
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
            .answered(&rqctx)
    }

    async fn cloudreve_send_reset_email(
        rqctx: RequestContext<AppState>,
        body: JsonBody<types::CloudreveSendResetEmailRequest>,
    ) -> Result<
        Answer<HttpResponseOk<types::CloudreveResponse>, CloudreveHttpError>,
        CloudreveHttpError,
    > {
        let call = Call::new(&rqctx);
        async { cloudreve::send_reset_email(&call, call.read(body).await).await }
            .instrument(request_span(&rqctx.request_id))
            .await
            .answered(&rqctx)
    }

    async fn cloudreve_reset_password(
        rqctx: RequestContext<AppState>,
        path: Path<CloudreveResetPasswordPath>,
        body: JsonBody<types::CloudreveResetPasswordRequest>,
    ) -> Result<
        Answer<HttpResponseOk<types::CloudreveUserResponse>, CloudreveHttpError>,
        CloudreveHttpError,
    > {
        let path = path.into_inner();
        let call = Call::new(&rqctx);
        async { cloudreve::reset_password(&call, &path.user_id, call.read(body).await).await }
            .instrument(request_span(&rqctx.request_id))
            .await
            .answered(&rqctx)
    }

    async fn cloudreve_get_captcha(
        rqctx: RequestContext<AppState>,
    ) -> Result<
        Answer<HttpResponseOk<types::CloudreveCaptchaResponse>, CloudreveHttpError>,
        CloudreveHttpError,
    > {
        cloudreve::get_captcha(&Call::new(&rqctx))
            .instrument(request_span(&rqctx.request_id))
            .await
            .answered(&rqctx)
    }

    async fn strapi_api_forgot_password(
        rqctx: RequestContext<AppState>,
        body: JsonBody<types::StrapiForgotPasswordRequest>,
    ) -> Result<Answer<HttpResponseOk<types::StrapiOkResponse>, StrapiHttpError>, StrapiHttpError>
    {
        let call = Call::new(&rqctx);
        async { strapi::forgot_password(&call, call.read(body).await?).await }
            .instrument(request_span(&rqctx.request_id))
            .await
            .answered(&rqctx)
    }

    async fn strapi_api_reset_password(
        rqctx: RequestContext<AppState>,
        body: JsonBody<types::StrapiResetPasswordRequest>,
    ) -> Result<
        Answer<
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
            .answered(&rqctx)
    }

    async fn cloudreve_v4_send_reset_email(
        rqctx: RequestContext<AppState>,
        body: JsonBody<types::CloudreveSendResetEmailRequest>,
    ) -> Result<
        Answer<HttpResponseOk<types::CloudreveResponse>, CloudreveHttpError>,
        CloudreveHttpError,
    > {
        let call = Call::new(&rqctx);
        async { cloudreve::send_reset_email(&call, call.read(body).await).await }
            .instrument(request_span(&rqctx.request_id))
            .await
            .answered(&rqctx)
    }

    async fn cloudreve_v4_reset_password(
        rqctx: RequestContext<AppState>,
        path: Path<CloudreveV4ResetPasswordPath>,
        body: JsonBody<types::CloudreveResetPasswordRequest>,
    ) -> Result<
        Answer<HttpResponseOk<types::CloudreveUserResponse>, CloudreveHttpError>,
        CloudreveHttpError,
    > {
        let path = path.into_inner();
        let call = Call::new(&rqctx);
        async { cloudreve::reset_password(&call, &path.user_id, call.read(body).await).await }
            .instrument(request_span(&rqctx.request_id))
            .await
            .answered(&rqctx)
    }

    async fn cloudreve_v4_get_captcha(
        rqctx: RequestContext<AppState>,
    ) -> Result<
        Answer<HttpResponseOk<types::CloudreveCaptchaResponse>, CloudreveHttpError>,
        CloudreveHttpError,
    > {
        cloudreve::get_captcha(&Call::new(&rqctx))
            .instrument(request_span(&rqctx.request_id))
            .await
            .answered(&rqctx)
    }

    async fn selfcommunity_verify_validation_code(
        rqctx: RequestContext<AppState>,
        body: JsonBody<types::SelfcommunityValidationCodeRequest>,
    ) -> Result<Answer<HttpResponseUpdatedNoContent, SelfcommunityHttpError>, SelfcommunityHttpError>
    {
        let call = Call::new(&rqctx);
        async { selfcommunity::verify_validation_code(&call, call.read(body).await?).await }
            .instrument(request_span(&rqctx.request_id))
            .await
            .answered(&rqctx)
    }

    async fn selfcommunity_recover_account(
        rqctx: RequestContext<AppState>,
        body: JsonBody<types::SelfcommunityRecoverRequest>,
    ) -> Result<Answer<HttpResponseUpdatedNoContent, SelfcommunityHttpError>, SelfcommunityHttpError>
    {
        let call = Call::new(&rqctx);
        async { selfcommunity::recover_account(&call, call.read(body).await?).await }
            .instrument(request_span(&rqctx.request_id))
            .await
            .answered(&rqctx)
    }

    async fn selfcommunity_reset_password(
        rqctx: RequestContext<AppState>,
        body: JsonBody<types::SelfcommunityResetRequest>,
    ) -> Result<
        Answer<
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
            .answered(&rqctx)
    }

    async fn resetd_healthz(
        rqctx: RequestContext<AppState>,
    ) -> Result<Answer<HttpResponseOk<types::ResetdHealth>, ResetdHttpError>, ResetdHttpError> {
        resetd::healthz().answered(&rqctx)
    }

    async fn resetd_readyz(
        rqctx: RequestContext<AppState>,
    ) -> Result<Answer<HttpResponseOk<types::ResetdReadiness>, ResetdHttpError>, ResetdHttpError>
    {
        resetd::readyz(&Call::new(&rqctx))
            .instrument(request_span(&rqctx.request_id))
            .await
            .answered(&rqctx)
    }

    async fn resetd_login(
        rqctx: RequestContext<AppState>,
        body: JsonBody<types::ResetdLoginRequest>,
    ) -> Result<
        Answer<
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
            .answered(&rqctx)
    }

    async fn resetd_introspect(
        rqctx: RequestContext<AppState>,
        body: JsonBody<types::ResetdIntrospectRequest>,
    ) -> Result<Answer<HttpResponseOk<types::ResetdIntrospection>, ResetdHttpError>, ResetdHttpError>
    {
        let call = Call::new(&rqctx);
        async { resetd::introspect(&call, call.read(body).await?).await }
            .instrument(request_span(&rqctx.request_id))
            .await
            .answered(&rqctx)
    }

    async fn resetd_admin_create_user(
        rqctx: RequestContext<AppState>,
        body: JsonBody<types::ResetdCreateUserRequest>,
    ) -> Result<Answer<HttpResponseCreated<types::ResetdUser>, ResetdHttpError>, ResetdHttpError>
    {
        let call = Call::new(&rqctx);
        async { resetd::admin_create_user(&call, call.read(body).await?).await }
            .instrument(request_span(&rqctx.request_id))
            .await
            .answered(&rqctx)
    }

    async fn resetd_admin_get_user(
        rqctx: RequestContext<AppState>,
        path: Path<ResetdAdminGetUserPath>,
    ) -> Result<Answer<HttpResponseOk<types::ResetdUser>, ResetdHttpError>, ResetdHttpError> {
        resetd::admin_get_user(&Call::new(&rqctx), &path.into_inner().id)
            .instrument(request_span(&rqctx.request_id))
            .await
            .answered(&rqctx)
    }

    async fn resetd_admin_update_user(
        rqctx: RequestContext<AppState>,
        path: Path<ResetdAdminUpdateUserPath>,
        body: JsonBody<types::ResetdUpdateUserRequest>,
    ) -> Result<Answer<HttpResponseOk<types::ResetdUser>, ResetdHttpError>, ResetdHttpError> {
        let id = path.into_inner().id;
        let call = Call::new(&rqctx);
        async { resetd::admin_update_user(&call, &id, call.read(body).await?).await }
            .instrument(request_span(&rqctx.request_id))
            .await
            .answered(&rqctx)
    }

    async fn resetd_admin_issue_recovery(
        rqctx: RequestContext<AppState>,
        path: Path<ResetdAdminIssueRecoveryPath>,
        body: JsonBody<types::ResetdRecoveryRequest>,
    ) -> Result<
        Answer<
            HttpResponseHeaders<
                HttpResponseOk<types::ResetdRecovery>,
                ResetdAdminIssueRecoveryHeaders,
            >,
            ResetdHttpError,
        >,
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
            .answered(&rqctx)
    }
}

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
mod resetd_admin;
mod selfcommunity;
mod strapi;
mod strapi_jwt;

/// Who a request came from, `X-Forwarded-For` considered (public for the parser fuzz test).
pub use call::client_ip;

use dropshot::{
    HttpResponseCreated, HttpResponseHeaders, HttpResponseOk, HttpResponseUpdatedNoContent, Path,
    Query, RequestContext,
};
use resetd_api::errors::{
    CloudreveHttpError, IpcolaHttpError, ResetdHttpError, SelfcommunityHttpError, StrapiHttpError,
};
use resetd_api::params::{
    CloudreveResetPasswordPath, CloudreveV4ResetPasswordPath, ResetdAdminChangeEmailPath,
    ResetdAdminDeleteUserPath, ResetdAdminFindUserQuery, ResetdAdminGetUserPath,
    ResetdAdminIssueRecoveryHeaders, ResetdAdminIssueRecoveryPath, ResetdAdminListUsersQuery,
    ResetdAdminSetPasswordHashPath, ResetdAdminUpdateUserPath, ResetdLoginHeaders,
    SelfcommunityResetPasswordHeaders, StrapiApiResetPasswordHeaders, StrapiResetPasswordHeaders,
};
use resetd_api::responses::Answer;
use resetd_api::types;
use resetd_api::{JsonBody, ResetdApi};
use tracing::Instrument as _;

use crate::logging::request_span;
use crate::server::AppState;
use answered::route;
use answered::Answered as _;
use call::Call;
use resetd_admin as admin;

/// What the handlers of resetd's own API answer with.
type ResetdOk<T> = Result<Answer<HttpResponseOk<T>, ResetdHttpError>, ResetdHttpError>;

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
        route!(rqctx, |call| async {
            ipcola::send_email_vcode(call, call.read(body).await).await
        })
    }

    async fn ipcola_reset_password(
        rqctx: RequestContext<AppState>,
        body: JsonBody<types::IpcolaResetPasswordRequest>,
    ) -> Result<Answer<HttpResponseOk<types::IpcolaResult>, IpcolaHttpError>, IpcolaHttpError> {
        route!(rqctx, |call| async {
            ipcola::reset_password(call, call.read(body).await).await
        })
    }

    async fn ipcola_get_captcha(
        rqctx: RequestContext<AppState>,
    ) -> Result<
        Answer<HttpResponseOk<types::IpcolaCaptchaResponse>, IpcolaHttpError>,
        IpcolaHttpError,
    > {
        route!(rqctx, |call| ipcola::get_captcha(call))
    }

    async fn strapi_forgot_password(
        rqctx: RequestContext<AppState>,
        body: JsonBody<types::StrapiForgotPasswordRequest>,
    ) -> Result<Answer<HttpResponseOk<types::StrapiOkResponse>, StrapiHttpError>, StrapiHttpError>
    {
        route!(rqctx, |call| async {
            strapi::forgot_password(call, call.read(body).await?).await
        })
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
        route!(
            rqctx,
            |call| async { strapi::reset_password(call, call.read(body).await?).await },
            no_store: StrapiResetPasswordHeaders
        )
    }

    async fn cloudreve_send_reset_email(
        rqctx: RequestContext<AppState>,
        body: JsonBody<types::CloudreveSendResetEmailRequest>,
    ) -> Result<
        Answer<HttpResponseOk<types::CloudreveResponse>, CloudreveHttpError>,
        CloudreveHttpError,
    > {
        route!(rqctx, |call| async {
            cloudreve::send_reset_email(call, call.read(body).await).await
        })
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
        route!(rqctx, |call| async {
            cloudreve::reset_password(call, &path.user_id, call.read(body).await).await
        })
    }

    async fn cloudreve_get_captcha(
        rqctx: RequestContext<AppState>,
    ) -> Result<
        Answer<HttpResponseOk<types::CloudreveCaptchaResponse>, CloudreveHttpError>,
        CloudreveHttpError,
    > {
        route!(rqctx, |call| cloudreve::get_captcha(call))
    }

    async fn strapi_api_forgot_password(
        rqctx: RequestContext<AppState>,
        body: JsonBody<types::StrapiForgotPasswordRequest>,
    ) -> Result<Answer<HttpResponseOk<types::StrapiOkResponse>, StrapiHttpError>, StrapiHttpError>
    {
        route!(rqctx, |call| async {
            strapi::forgot_password(call, call.read(body).await?).await
        })
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
        route!(
            rqctx,
            |call| async { strapi::reset_password(call, call.read(body).await?).await },
            no_store: StrapiApiResetPasswordHeaders
        )
    }

    async fn cloudreve_v4_send_reset_email(
        rqctx: RequestContext<AppState>,
        body: JsonBody<types::CloudreveSendResetEmailRequest>,
    ) -> Result<
        Answer<HttpResponseOk<types::CloudreveResponse>, CloudreveHttpError>,
        CloudreveHttpError,
    > {
        route!(rqctx, |call| async {
            cloudreve::send_reset_email(call, call.read(body).await).await
        })
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
        route!(rqctx, |call| async {
            cloudreve::reset_password(call, &path.user_id, call.read(body).await).await
        })
    }

    async fn cloudreve_v4_get_captcha(
        rqctx: RequestContext<AppState>,
    ) -> Result<
        Answer<HttpResponseOk<types::CloudreveCaptchaResponse>, CloudreveHttpError>,
        CloudreveHttpError,
    > {
        route!(rqctx, |call| cloudreve::get_captcha(call))
    }

    async fn selfcommunity_verify_validation_code(
        rqctx: RequestContext<AppState>,
        body: JsonBody<types::SelfcommunityValidationCodeRequest>,
    ) -> Result<Answer<HttpResponseUpdatedNoContent, SelfcommunityHttpError>, SelfcommunityHttpError>
    {
        route!(rqctx, |call| async {
            selfcommunity::verify_validation_code(call, call.read(body).await?).await
        })
    }

    async fn selfcommunity_recover_account(
        rqctx: RequestContext<AppState>,
        body: JsonBody<types::SelfcommunityRecoverRequest>,
    ) -> Result<Answer<HttpResponseUpdatedNoContent, SelfcommunityHttpError>, SelfcommunityHttpError>
    {
        route!(rqctx, |call| async {
            selfcommunity::recover_account(call, call.read(body).await?).await
        })
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
        route!(
            rqctx,
            |call| async { selfcommunity::reset_password(call, call.read(body).await?).await },
            no_store: SelfcommunityResetPasswordHeaders
        )
    }

    async fn resetd_healthz(rqctx: RequestContext<AppState>) -> ResetdOk<types::ResetdHealth> {
        resetd::healthz().answered(&rqctx)
    }

    async fn resetd_readyz(rqctx: RequestContext<AppState>) -> ResetdOk<types::ResetdReadiness> {
        route!(rqctx, |call| resetd::readyz(call))
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
        route!(
            rqctx,
            |call| async { resetd::login(call, call.read(body).await?).await },
            no_store: ResetdLoginHeaders
        )
    }

    async fn resetd_introspect(
        rqctx: RequestContext<AppState>,
        body: JsonBody<types::ResetdIntrospectRequest>,
    ) -> ResetdOk<types::ResetdIntrospection> {
        route!(rqctx, |call| async {
            resetd::introspect(call, call.read(body).await?).await
        })
    }

    async fn resetd_admin_create_user(
        rqctx: RequestContext<AppState>,
        body: JsonBody<types::ResetdCreateUserRequest>,
    ) -> Result<Answer<HttpResponseCreated<types::ResetdUser>, ResetdHttpError>, ResetdHttpError>
    {
        route!(rqctx, |call| async {
            resetd::admin_create_user(call, call.read(body).await?).await
        })
    }

    async fn resetd_admin_get_user(
        rqctx: RequestContext<AppState>,
        path: Path<ResetdAdminGetUserPath>,
    ) -> ResetdOk<types::ResetdUser> {
        route!(rqctx, |call| resetd::admin_get_user(
            call,
            &path.into_inner().id
        ))
    }

    async fn resetd_admin_update_user(
        rqctx: RequestContext<AppState>,
        path: Path<ResetdAdminUpdateUserPath>,
        body: JsonBody<types::ResetdUpdateUserRequest>,
    ) -> ResetdOk<types::ResetdUser> {
        let id = path.into_inner().id;
        route!(rqctx, |call| async {
            resetd::admin_update_user(call, &id, call.read(body).await?).await
        })
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

    async fn resetd_admin_list_users(
        rqctx: RequestContext<AppState>,
        query: Query<ResetdAdminListUsersQuery>,
    ) -> ResetdOk<types::ResetdUserPage> {
        route!(rqctx, |call| admin::list_users(call, query.into_inner()))
    }

    async fn resetd_admin_find_user(
        rqctx: RequestContext<AppState>,
        query: Query<ResetdAdminFindUserQuery>,
    ) -> ResetdOk<types::ResetdUser> {
        route!(rqctx, |call| admin::find_user(call, query.into_inner()))
    }

    async fn resetd_admin_import_users(
        rqctx: RequestContext<AppState>,
        body: JsonBody<types::ResetdImportRequest>,
    ) -> ResetdOk<types::ResetdImportResult> {
        route!(rqctx, |call| async {
            admin::import_users(call, call.read(body).await?).await
        })
    }

    async fn resetd_admin_delete_user(
        rqctx: RequestContext<AppState>,
        path: Path<ResetdAdminDeleteUserPath>,
    ) -> Result<Answer<HttpResponseUpdatedNoContent, ResetdHttpError>, ResetdHttpError> {
        let id = path.into_inner().id;
        route!(rqctx, |call| admin::delete_user(call, &id))
    }

    async fn resetd_admin_change_email(
        rqctx: RequestContext<AppState>,
        path: Path<ResetdAdminChangeEmailPath>,
        body: JsonBody<types::ResetdChangeEmailRequest>,
    ) -> ResetdOk<types::ResetdUser> {
        let id = path.into_inner().id;
        route!(rqctx, |call| async {
            admin::change_email(call, &id, call.read(body).await?).await
        })
    }

    async fn resetd_admin_set_password_hash(
        rqctx: RequestContext<AppState>,
        path: Path<ResetdAdminSetPasswordHashPath>,
        body: JsonBody<types::ResetdSetPasswordHashRequest>,
    ) -> ResetdOk<types::ResetdUser> {
        let id = path.into_inner().id;
        route!(rqctx, |call| async {
            admin::set_password_hash(call, &id, call.read(body).await?).await
        })
    }
}

//! IPCola: every outcome is HTTP 200 with `{meta_status, meta_message}`, `1` success and a
//! negative code otherwise (the table is in the spec); only an unreachable store answers 503.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use dropshot::{ErrorStatusCode, HttpError, HttpResponseOk};
use resetd_api::errors::{client_message, IpcolaHttpError};
use resetd_api::types::{
    IpcolaCaptchaResponse, IpcolaResetPasswordRequest, IpcolaResult, IpcolaSendEmailVcodeRequest,
};

use crate::reset::{
    Binding, CaptchaAnswer, CaptchaError, Dialect, RedeemError, Redemption, RequestError,
    ServiceError,
};

use super::call::Call;

/// resetd's `meta_status` table (documented in `openapi/sources/ipcola.yaml`).
mod status {
    pub const OK: i64 = 1;
    pub const BAD_PARAMETERS: i64 = -1;
    pub const WRONG_USER_TAG: i64 = -2;
    pub const INVALID_VCODE: i64 = -3;
    pub const PASSWORD_REJECTED: i64 = -4;
    pub const TOO_MANY_REQUESTS: i64 = -5;
    pub const CAPTCHA_WRONG: i64 = -6;
    pub const NOT_AVAILABLE: i64 = -7;
    pub const UNAVAILABLE: i64 = -8;
    pub const INTERNAL: i64 = -9;
}

type Answer<T> = Result<HttpResponseOk<T>, IpcolaHttpError>;

pub async fn send_email_vcode(
    call: &Call<'_>,
    body: Result<IpcolaSendEmailVcodeRequest, HttpError>,
) -> Answer<IpcolaResult> {
    let body = match body {
        Ok(body) => body,
        Err(err) => return Ok(result(status::BAD_PARAMETERS, &client_message(&err))),
    };
    if let Some(answer) = check_user_tag(call, &body.user_tag) {
        return Ok(answer);
    }
    let captcha = CaptchaAnswer {
        ticket: body.captcha_id.as_deref(),
        answer: body.captcha.as_deref(),
    };
    match call
        .core
        .request_reset_with_captcha(Dialect::Ipcola, &body.email, call.client_ip, Some(captcha))
        .await
    {
        // IPCola's own answers for unknown accounts are not published: resetd answers
        // success for every account, also with `reveal_unknown_accounts`.
        Ok(_) => Ok(result(status::OK, "success")),
        Err(RequestError::InvalidEmail(err)) => {
            Ok(result(status::BAD_PARAMETERS, &err.to_string()))
        }
        Err(RequestError::DialectDisabled(_)) => Ok(not_available()),
        Err(RequestError::TooManyRequests(_)) => Ok(too_many_requests()),
        Err(RequestError::CaptchaFailed) => {
            Ok(result(status::CAPTCHA_WRONG, "captcha is missing or wrong"))
        }
        Err(RequestError::Service(err)) => Err(service_error(&err)),
    }
}

pub async fn reset_password(
    call: &Call<'_>,
    body: Result<IpcolaResetPasswordRequest, HttpError>,
) -> Answer<IpcolaResult> {
    let body = match body {
        Ok(body) => body,
        Err(err) => return Ok(result(status::BAD_PARAMETERS, &client_message(&err))),
    };
    if let Some(answer) = check_user_tag(call, &body.user_tag) {
        return Ok(answer);
    }
    let redemption = Redemption {
        token: &body.vcode,
        binding: Binding::Email(&body.email),
        new_password: &body.password,
        client_ip: call.client_ip,
    };
    match call.core.redeem(Dialect::Ipcola, redemption).await {
        Ok(_) => Ok(result(status::OK, "success")),
        Err(RedeemError::InvalidToken) => Ok(result(
            status::INVALID_VCODE,
            "vcode is invalid or has expired",
        )),
        Err(RedeemError::PasswordRejected(why)) => {
            Ok(result(status::PASSWORD_REJECTED, &why.to_string()))
        }
        Err(RedeemError::AccountBanned | RedeemError::AccountInactive) => Ok(result(
            status::INVALID_VCODE,
            "this account cannot reset its password",
        )),
        Err(RedeemError::DialectDisabled(_)) => Ok(not_available()),
        Err(RedeemError::TooManyRequests(_)) => Ok(too_many_requests()),
        Err(RedeemError::Service(err)) => Err(service_error(&err)),
    }
}

pub async fn get_captcha(call: &Call<'_>) -> Answer<IpcolaCaptchaResponse> {
    let (meta_status, message) = match call
        .core
        .issue_captcha(Dialect::Ipcola, call.client_ip)
        .await
    {
        Ok(captcha) => {
            return Ok(HttpResponseOk(IpcolaCaptchaResponse {
                meta_status: status::OK,
                meta_message: "success".to_owned(),
                id: Some(captcha.ticket),
                content: Some(BASE64.encode(&captcha.png)),
            }))
        }
        Err(CaptchaError::NotEnabled | CaptchaError::DialectDisabled(_)) => (
            status::NOT_AVAILABLE,
            "captcha is not enabled on this server",
        ),
        Err(CaptchaError::TooManyRequests(_)) => (
            status::TOO_MANY_REQUESTS,
            "too many requests, please try again later",
        ),
        Err(CaptchaError::Service(err)) => return Err(service_error(&err)),
    };
    Ok(HttpResponseOk(IpcolaCaptchaResponse {
        meta_status,
        meta_message: message.to_owned(),
        id: None,
        content: None,
    }))
}

fn check_user_tag(call: &Call<'_>, tag: &str) -> Option<HttpResponseOk<IpcolaResult>> {
    (tag != call.core.config().dialects.ipcola.user_tag)
        .then(|| result(status::WRONG_USER_TAG, "user_tag does not match"))
}

fn result(meta_status: i64, message: &str) -> HttpResponseOk<IpcolaResult> {
    HttpResponseOk(IpcolaResult {
        meta_status,
        meta_message: message.to_owned(),
    })
}

fn not_available() -> HttpResponseOk<IpcolaResult> {
    result(
        status::NOT_AVAILABLE,
        "this operation is not available on this server",
    )
}

/// Past a per-IP limit: HTTP 200 like every IPCola answer, `meta_status` -5.
fn too_many_requests() -> HttpResponseOk<IpcolaResult> {
    result(
        status::TOO_MANY_REQUESTS,
        "too many requests, please try again later",
    )
}

fn service_error(err: &ServiceError) -> IpcolaHttpError {
    let (http, meta_status, message) = if err.is_unavailable() {
        (
            ErrorStatusCode::SERVICE_UNAVAILABLE,
            status::UNAVAILABLE,
            "service temporarily unavailable, try again later",
        )
    } else {
        tracing::error!(error = %err, "ipcola request failed");
        (
            ErrorStatusCode::INTERNAL_SERVER_ERROR,
            status::INTERNAL,
            "internal error",
        )
    };
    IpcolaHttpError::new(
        http,
        IpcolaResult {
            meta_status,
            meta_message: message.to_owned(),
        },
    )
}

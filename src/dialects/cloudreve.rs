//! Cloudreve v4: every outcome is HTTP 200 with `{code, msg, data?, error?, correlation_id?}`,
//! malformed bodies included; only an unreachable store answers 503 (envelope still).

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use dropshot::{ErrorStatusCode, HttpError, HttpResponseOk};
use resetd_api::errors::{client_message, CloudreveHttpError};
use resetd_api::types::{
    CloudreveCaptcha, CloudreveCaptchaResponse, CloudreveGroup, CloudreveResetPasswordRequest,
    CloudreveResponse, CloudreveSendResetEmailRequest, CloudreveUser, CloudreveUserResponse,
    CloudreveUserStatus,
};

use crate::reset::{
    Account, AccountProblem, AccountStatus, Binding, CaptchaAnswer, CaptchaError, Dialect,
    RedeemError, Redemption, RequestError, RequestOutcome, ServiceError,
};

use super::call::{datetime, Call};

/// Cloudreve's codes (DIALECTS.md), plus resetd's two additions.
mod code {
    pub const OK: i64 = 0;
    pub const BAD_PARAMETERS: i64 = 40001;
    pub const ACCOUNT_BANNED: i64 = 40017;
    pub const ACCOUNT_NOT_ACTIVATED: i64 = 40018;
    pub const USER_NOT_FOUND: i64 = 40021;
    pub const CAPTCHA_WRONG: i64 = 40026;
    pub const LINK_EXPIRED: i64 = 40030;
    pub const NOT_ENABLED: i64 = 40099;
    pub const TOO_MANY_REQUESTS: i64 = 42900;
    pub const STORAGE_ERROR: i64 = 50005;
}

type Answer<T> = Result<HttpResponseOk<T>, CloudreveHttpError>;

/// Past a per-IP limit: still HTTP 200, with resetd's code `42900`.
const TOO_MANY_REQUESTS_MSG: &str = "Too many requests, please try again later";

pub async fn send_reset_email(
    call: &Call<'_>,
    body: Result<CloudreveSendResetEmailRequest, HttpError>,
) -> Answer<CloudreveResponse> {
    let body = match body {
        Ok(body) => body,
        Err(err) => return Ok(envelope(call, code::BAD_PARAMETERS, &client_message(&err))),
    };
    let captcha = CaptchaAnswer {
        ticket: body.ticket.as_deref(),
        answer: body.captcha.as_deref(),
    };
    match call
        .core
        .request_reset_with_captcha(
            Dialect::Cloudreve,
            &body.email,
            call.client_ip,
            Some(captcha),
        )
        .await
    {
        Ok(RequestOutcome::Accepted) => Ok(envelope(call, code::OK, "")),
        Ok(RequestOutcome::Refused(problem)) => {
            let (code, msg) = match problem {
                AccountProblem::Unknown => (code::USER_NOT_FOUND, "User not found"),
                AccountProblem::Banned => (code::ACCOUNT_BANNED, "This account has been blocked"),
                AccountProblem::Inactive => {
                    (code::ACCOUNT_NOT_ACTIVATED, "This account is not activated")
                }
            };
            Ok(envelope(call, code, msg))
        }
        Err(RequestError::InvalidEmail(err)) => {
            Ok(envelope(call, code::BAD_PARAMETERS, &err.to_string()))
        }
        Err(RequestError::DialectDisabled(_)) => Ok(not_enabled(call)),
        Err(RequestError::TooManyRequests(_)) => Ok(envelope(
            call,
            code::TOO_MANY_REQUESTS,
            TOO_MANY_REQUESTS_MSG,
        )),
        Err(RequestError::CaptchaFailed) => {
            Ok(envelope(call, code::CAPTCHA_WRONG, "CAPTCHA not match"))
        }
        Err(RequestError::Service(err)) => Err(service_error(call, &err)),
    }
}

pub async fn reset_password(
    call: &Call<'_>,
    user_id: &str,
    body: Result<CloudreveResetPasswordRequest, HttpError>,
) -> Answer<CloudreveUserResponse> {
    let body = match body {
        Ok(body) => body,
        Err(err) => {
            return Ok(user_envelope(
                call,
                code::BAD_PARAMETERS,
                &client_message(&err),
            ))
        }
    };
    let redemption = Redemption {
        token: &body.secret,
        binding: Binding::UserPublicId(user_id),
        new_password: body.password.as_str(),
        client_ip: call.client_ip,
    };
    match call.core.redeem(Dialect::Cloudreve, redemption).await {
        Ok(user) => Ok(HttpResponseOk(CloudreveUserResponse {
            code: code::OK,
            msg: Some(String::new()),
            data: Some(to_cloudreve_user(&user)),
            error: None,
            correlation_id: None,
        })),
        Err(RedeemError::InvalidToken) => Ok(user_envelope(
            call,
            code::LINK_EXPIRED,
            "The link is expired or invalid",
        )),
        Err(RedeemError::PasswordRejected(why)) => {
            Ok(user_envelope(call, code::BAD_PARAMETERS, &why.to_string()))
        }
        Err(RedeemError::AccountBanned) => Ok(user_envelope(
            call,
            code::ACCOUNT_BANNED,
            "This account has been blocked",
        )),
        Err(RedeemError::AccountInactive) => Ok(user_envelope(
            call,
            code::ACCOUNT_NOT_ACTIVATED,
            "This account is not activated",
        )),
        Err(RedeemError::DialectDisabled(_)) => Ok(user_envelope(
            call,
            code::NOT_ENABLED,
            "This operation is not enabled on this server",
        )),
        Err(RedeemError::TooManyRequests(_)) => Ok(user_envelope(
            call,
            code::TOO_MANY_REQUESTS,
            TOO_MANY_REQUESTS_MSG,
        )),
        Err(RedeemError::Service(err)) => Err(service_error(call, &err)),
    }
}

pub async fn get_captcha(call: &Call<'_>) -> Answer<CloudreveCaptchaResponse> {
    let (code, msg) = match call
        .core
        .issue_captcha(Dialect::Cloudreve, call.client_ip)
        .await
    {
        Ok(captcha) => {
            let image = format!("data:image/png;base64,{}", BASE64.encode(&captcha.png));
            return Ok(HttpResponseOk(CloudreveCaptchaResponse {
                code: code::OK,
                msg: Some(String::new()),
                data: Some(CloudreveCaptcha {
                    image,
                    ticket: captcha.ticket,
                }),
                error: None,
                correlation_id: None,
            }));
        }
        Err(CaptchaError::NotEnabled | CaptchaError::DialectDisabled(_)) => {
            (code::NOT_ENABLED, "Captcha is not enabled on this server")
        }
        Err(CaptchaError::TooManyRequests(_)) => (code::TOO_MANY_REQUESTS, TOO_MANY_REQUESTS_MSG),
        Err(CaptchaError::Service(err)) => return Err(service_error(call, &err)),
    };
    Ok(HttpResponseOk(CloudreveCaptchaResponse {
        code,
        msg: Some(msg.to_owned()),
        data: None,
        error: None,
        correlation_id: correlation_id(call),
    }))
}

fn envelope(call: &Call<'_>, code: i64, msg: &str) -> HttpResponseOk<CloudreveResponse> {
    HttpResponseOk(CloudreveResponse {
        code,
        msg: Some(msg.to_owned()),
        error: None,
        correlation_id: (code != code::OK).then(|| correlation_id(call)).flatten(),
    })
}

fn user_envelope(call: &Call<'_>, code: i64, msg: &str) -> HttpResponseOk<CloudreveUserResponse> {
    HttpResponseOk(CloudreveUserResponse {
        code,
        msg: Some(msg.to_owned()),
        data: None,
        error: None,
        correlation_id: correlation_id(call),
    })
}

fn not_enabled(call: &Call<'_>) -> HttpResponseOk<CloudreveResponse> {
    envelope(
        call,
        code::NOT_ENABLED,
        "This operation is not enabled on this server",
    )
}

/// Cloudreve shows the correlation id on failed requests: it is the request id.
fn correlation_id(call: &Call<'_>) -> Option<uuid::Uuid> {
    call.request_id.parse().ok()
}

fn service_error(call: &Call<'_>, err: &ServiceError) -> CloudreveHttpError {
    let (status, msg) = if err.is_unavailable() {
        (
            ErrorStatusCode::SERVICE_UNAVAILABLE,
            "Storage is temporarily unavailable, try again later",
        )
    } else {
        tracing::error!(error = %err, "cloudreve request failed");
        (ErrorStatusCode::INTERNAL_SERVER_ERROR, "Internal error")
    };
    CloudreveHttpError::new(
        status,
        CloudreveResponse {
            code: code::STORAGE_ERROR,
            msg: Some(msg.to_owned()),
            error: None,
            correlation_id: correlation_id(call),
        },
    )
}

/// resetd has no groups: every account is shown in one plain group.
fn to_cloudreve_user(user: &Account) -> CloudreveUser {
    CloudreveUser {
        // The product's own id first: the Cloudreve instance knows its users by it.
        id: user
            .external_id
            .clone()
            .unwrap_or_else(|| user.public_id.clone()),
        email: Some(user.email.clone()),
        nickname: user.nickname.clone(),
        created_at: datetime(user.created_at),
        anonymous: Some(false),
        group: CloudreveGroup {
            id: "1".to_owned(),
            name: "User".to_owned(),
            permission: String::new(),
            direct_link_batch_size: 0,
            trash_retention: 0,
        },
        status: Some(match user.status {
            AccountStatus::Active => CloudreveUserStatus::Active,
            AccountStatus::Inactive => CloudreveUserStatus::Inactive,
            AccountStatus::Banned => CloudreveUserStatus::ManualBanned,
        }),
        avatar: None,
        preferred_theme: None,
        credit: Some(0),
        language: user.language.clone(),
        disable_view_sync: None,
        share_links_in_profile: None,
    }
}

//! SelfCommunity v2: recover answers 204 for every email; a reset logs the user in and
//! answers the token; the validation-code check answers 204 for a live code. Errors are
//! Django REST framework's `{detail, code}` plus the `errors` list the official SDK reads.

use dropshot::{ErrorStatusCode, HttpResponseOk, HttpResponseUpdatedNoContent};
use resetd_api::errors::SelfcommunityHttpError;
use resetd_api::responses;
use resetd_api::types::{
    SelfcommunityError, SelfcommunityErrorItem, SelfcommunityErrorMessage,
    SelfcommunityRecoverRequest, SelfcommunityResetRequest, SelfcommunityResetResponse,
    SelfcommunityToken, SelfcommunityValidationCodeRequest,
};

use crate::reset::policy::PolicyViolation;

use crate::reset::{
    Binding, Dialect, RedeemError, Redemption, RequestError, RetryAfter, ServiceError,
};

use super::call::Call;

const CLIENT_ID: &str = "selfcommunity";
const SCOPE: &str = "read write";

/// An answer, or a 429 with `Retry-After` (which the error type cannot carry).
type Answer<T> = Result<responses::Answer<T, SelfcommunityHttpError>, SelfcommunityHttpError>;

pub async fn recover_account(
    call: &Call<'_>,
    body: SelfcommunityRecoverRequest,
) -> Answer<HttpResponseUpdatedNoContent> {
    match call
        .core
        .request_reset(Dialect::Selfcommunity, &body.email, call.client_ip)
        .await
    {
        Ok(_) => Ok(HttpResponseUpdatedNoContent().into()),
        Err(RequestError::InvalidEmail(_)) => {
            Err(bad_request("invalid", "Enter a valid email address."))
        }
        Err(RequestError::DialectDisabled(_)) => Err(not_available()),
        Err(RequestError::TooManyRequests(retry_after)) => Ok(throttled(retry_after)),
        // SelfCommunity's request has no captcha field, so the core never asks it for one.
        Err(err @ RequestError::CaptchaFailed) => Err(bad_request("invalid", &err.to_string())),
        Err(RequestError::Service(err)) => Err(service_error(&err)),
    }
}

pub async fn reset_password(
    call: &Call<'_>,
    body: SelfcommunityResetRequest,
) -> Answer<HttpResponseOk<SelfcommunityResetResponse>> {
    let redemption = Redemption {
        token: &body.validation_code,
        binding: Binding::None,
        new_password: body.password.as_str(),
        client_ip: call.client_ip,
    };
    // The session of the answer's token is opened with the new password, in its transaction.
    let redeemed = call
        .core
        .redeem_and_open_session(Dialect::Selfcommunity, redemption, CLIENT_ID, SCOPE)
        .await;
    let (_, session) = match redeemed {
        Ok(redeemed) => redeemed,
        Err(RedeemError::InvalidToken) => return Err(invalid_code()),
        Err(RedeemError::PasswordRejected(why)) => return Err(password_rejected(&why)),
        Err(RedeemError::AccountBanned | RedeemError::AccountInactive) => {
            return Err(bad_request("invalid", "This account cannot be recovered."))
        }
        Err(RedeemError::DialectDisabled(_)) => return Err(not_available()),
        Err(RedeemError::TooManyRequests(retry_after)) => return Ok(throttled(retry_after)),
        Err(RedeemError::Service(err)) => return Err(service_error(&err)),
    };
    Ok(HttpResponseOk(SelfcommunityResetResponse {
        token: SelfcommunityToken {
            access_token: session.access_token,
            expires_in: i64::try_from(session.expires_in).unwrap_or(i64::MAX),
            token_type: "Bearer".to_owned(),
            refresh_token: session.refresh_token,
            client_id: session.client_id,
            scope: session.scope,
        },
    })
    .into())
}

pub async fn verify_validation_code(
    call: &Call<'_>,
    body: SelfcommunityValidationCodeRequest,
) -> Answer<HttpResponseUpdatedNoContent> {
    match call
        .core
        .check_token(
            Dialect::Selfcommunity,
            &body.validation_code,
            call.client_ip,
        )
        .await
    {
        Ok(()) => Ok(HttpResponseUpdatedNoContent().into()),
        Err(RedeemError::TooManyRequests(retry_after)) => Ok(throttled(retry_after)),
        Err(RedeemError::DialectDisabled(_)) => Err(not_available()),
        Err(RedeemError::Service(err)) => Err(service_error(&err)),
        // A check never names a password or an account: every other outcome is a bad code.
        Err(_) => Err(invalid_code()),
    }
}

/// A field error on `validation_code`: SelfCommunity's reset screen shows its "invalid
/// code" message for it.
fn invalid_code() -> SelfcommunityHttpError {
    let detail = "Invalid or expired validation code.";
    field_error("invalid_code", "validation_code", "invalid_code", detail)
}

/// A field error on `password` with Django's password-validator code, which
/// SelfCommunity's reset screen turns into its message.
fn password_rejected(why: &PolicyViolation) -> SelfcommunityHttpError {
    let field_code = match why {
        PolicyViolation::TooShort(_) => "password_too_short",
        PolicyViolation::TooLong(_) => "password_too_long",
        PolicyViolation::Common => "password_too_common",
        PolicyViolation::EqualsEmail => "password_too_similar",
        _ => "password_too_weak",
    };
    field_error(
        "password_too_weak",
        "password",
        field_code,
        &why.to_string(),
    )
}

fn field_error(code: &str, field: &str, field_code: &str, detail: &str) -> SelfcommunityHttpError {
    SelfcommunityHttpError::new(
        ErrorStatusCode::BAD_REQUEST,
        SelfcommunityError {
            code: code.to_owned(),
            detail: detail.to_owned(),
            errors: vec![SelfcommunityErrorItem {
                field: Some(field.to_owned()),
                messages: vec![SelfcommunityErrorMessage {
                    code: field_code.to_owned(),
                    message: detail.to_owned(),
                }],
                code: None,
                message: None,
            }],
        },
    )
}

fn not_available() -> SelfcommunityHttpError {
    bad_request(
        "not_available",
        "This operation is not available on this server.",
    )
}

/// Past a per-IP limit: Django REST framework's throttling answer, which also sends
/// `Retry-After`.
fn throttled<T>(retry_after: RetryAfter) -> responses::Answer<T, SelfcommunityHttpError> {
    responses::Answer::too_many_requests(
        error(
            ErrorStatusCode::TOO_MANY_REQUESTS,
            "throttled",
            "Request was throttled.",
        ),
        retry_after.secs(),
    )
}

fn service_error(err: &ServiceError) -> SelfcommunityHttpError {
    if err.is_unavailable() {
        error(
            ErrorStatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Service temporarily unavailable, try again later.",
        )
    } else {
        tracing::error!(error = %err, "selfcommunity request failed");
        error(
            ErrorStatusCode::INTERNAL_SERVER_ERROR,
            "error",
            "A server error occurred.",
        )
    }
}

fn bad_request(code: &str, detail: &str) -> SelfcommunityHttpError {
    error(ErrorStatusCode::BAD_REQUEST, code, detail)
}

/// An error of the whole request: `errors` has one entry without `field`.
fn error(status: ErrorStatusCode, code: &str, detail: &str) -> SelfcommunityHttpError {
    SelfcommunityHttpError::new(
        status,
        SelfcommunityError {
            code: code.to_owned(),
            detail: detail.to_owned(),
            errors: vec![SelfcommunityErrorItem {
                field: None,
                messages: Vec::new(),
                code: Some(code.to_owned()),
                message: Some(detail.to_owned()),
            }],
        },
    )
}

//! Strapi users-permissions: `{ok: true}` for every forgot-password request, `{jwt, user}`
//! after a reset, errors as the seed's `{code, message}` and Strapi 4/5's envelope
//! `{data: null, error: {status, name, message, details}}` in one body.

use dropshot::{ErrorStatusCode, HttpResponseOk};
use resetd_api::errors::StrapiHttpError;
use resetd_api::responses;
use resetd_api::types::{
    StrapiAuthResponse, StrapiError, StrapiErrorDetail, StrapiForgotPasswordRequest,
    StrapiOkResponse, StrapiResetPasswordRequest, StrapiUser,
};

use crate::reset::{
    Account, AccountStatus, Binding, Dialect, RedeemError, Redemption, RequestError, RetryAfter,
    ServiceError,
};

use super::call::{datetime, Call};
use super::strapi_jwt;

/// `client_id` and scope of the session a Strapi reset opens.
const CLIENT_ID: &str = "strapi";
const SCOPE: &str = "";

/// An answer, or a 429 with `Retry-After` (which the error type cannot carry).
type Answer<T> = Result<responses::Answer<HttpResponseOk<T>, StrapiHttpError>, StrapiHttpError>;

pub async fn forgot_password(
    call: &Call<'_>,
    body: StrapiForgotPasswordRequest,
) -> Answer<StrapiOkResponse> {
    match call
        .core
        .request_reset(Dialect::Strapi, &body.email, call.client_ip)
        .await
    {
        // Strapi itself answers `{ok: true}` for unknown and blocked emails too; resetd keeps
        // that even with `reveal_unknown_accounts`.
        Ok(_) => Ok(HttpResponseOk(StrapiOkResponse { ok: true }).into()),
        Err(RequestError::InvalidEmail(_)) => Err(error(
            ErrorStatusCode::BAD_REQUEST,
            "email must be a valid email",
        )),
        Err(RequestError::DialectDisabled(_)) => Err(not_available()),
        Err(RequestError::TooManyRequests(retry_after)) => Ok(too_many_requests(retry_after)),
        // Strapi's request has no captcha field, so the core never asks it for one.
        Err(err @ RequestError::CaptchaFailed) => {
            Err(error(ErrorStatusCode::BAD_REQUEST, &err.to_string()))
        }
        Err(RequestError::Service(err)) => Err(service_error(&err)),
    }
}

pub async fn reset_password(
    call: &Call<'_>,
    body: StrapiResetPasswordRequest,
) -> Answer<StrapiAuthResponse> {
    if body.password != body.password_confirmation {
        return Err(error(
            ErrorStatusCode::BAD_REQUEST,
            "Passwords do not match",
        ));
    }
    let redemption = Redemption {
        token: &body.code,
        binding: Binding::None,
        new_password: &body.password,
        client_ip: call.client_ip,
    };
    let strapi = &call.core.config().dialects.strapi;
    let redeemed = match &strapi.jwt_secret {
        // Strapi's own JWT needs no session of resetd's (unless the account has no Strapi id,
        // below).
        Some(_) => call
            .core
            .redeem(Dialect::Strapi, redemption)
            .await
            .map(|user| (user, None)),
        // The session of the answer's `jwt` is opened with the new password, in its
        // transaction.
        None => call
            .core
            .redeem_and_open_session(Dialect::Strapi, redemption, CLIENT_ID, SCOPE)
            .await
            .map(|(user, session)| (user, Some(session))),
    };
    let (user, session) = match redeemed {
        Ok(redeemed) => redeemed,
        Err(RedeemError::InvalidToken) => return Err(invalid_code()),
        Err(RedeemError::PasswordRejected(why)) => {
            return Err(error(ErrorStatusCode::BAD_REQUEST, &why.to_string()))
        }
        Err(RedeemError::AccountBanned) => {
            return Err(error(
                ErrorStatusCode::FORBIDDEN,
                "Your account has been blocked by an administrator",
            ))
        }
        Err(RedeemError::AccountInactive) => {
            return Err(error(
                ErrorStatusCode::FORBIDDEN,
                "Your account email is not confirmed",
            ))
        }
        Err(RedeemError::DialectDisabled(_)) => return Err(not_available()),
        Err(RedeemError::TooManyRequests(retry_after)) => {
            return Ok(too_many_requests(retry_after))
        }
        Err(RedeemError::Service(err)) => return Err(service_error(&err)),
    };
    let jwt = match (session, &strapi.jwt_secret, product_id(&user)) {
        (Some(session), _, _) => session.access_token,
        // The Strapi backend's own token for its user: it accepts it on the next call.
        (None, Some(secret), Some(id)) => {
            strapi_jwt::sign(secret, id, call.core.now_ms(), strapi.jwt_ttl_secs).map_err(
                |err| {
                    tracing::error!(error = %err, "cannot sign the Strapi JWT");
                    error(
                        ErrorStatusCode::INTERNAL_SERVER_ERROR,
                        "Internal Server Error",
                    )
                },
            )?
        }
        // An account Strapi's database does not know by number (a JWT naming resetd's own
        // id could name another Strapi user): resetd's own session token.
        (None, _, _) => {
            call.core
                .open_session(&user, CLIENT_ID, SCOPE)
                .await
                .map_err(|err| service_error(&err))?
                // Another reset replaced this password meanwhile: no session for it.
                .ok_or_else(invalid_code)?
                .access_token
        }
    };
    Ok(HttpResponseOk(StrapiAuthResponse {
        jwt,
        user: to_strapi_user(&user),
    })
    .into())
}

/// The account's id in the Strapi database: its external id, when that is a number.
fn product_id(user: &Account) -> Option<i64> {
    user.external_id.as_deref()?.parse().ok()
}

/// Strapi 5 answers a wrong code with `ValidationError('Incorrect code provided')`, a 400
/// (the seed's `default` response), and its clients raise their bad-request error for it.
fn invalid_code() -> StrapiHttpError {
    error(ErrorStatusCode::BAD_REQUEST, "Incorrect code provided")
}

fn to_strapi_user(user: &Account) -> StrapiUser {
    StrapiUser {
        id: product_id(user).unwrap_or(user.id),
        username: user.nickname.clone().unwrap_or_else(|| user.email.clone()),
        email: user.email.clone(),
        provider: "local".to_owned(),
        confirmed: user.status != AccountStatus::Inactive,
        blocked: user.status == AccountStatus::Banned,
        created_at: datetime(user.created_at),
        updated_at: datetime(user.updated_at),
    }
}

fn not_available() -> StrapiHttpError {
    error(
        ErrorStatusCode::NOT_FOUND,
        "This operation is not available on this server",
    )
}

/// Past a per-IP limit: 429 in Strapi's error shape, the message its rate limiter uses,
/// and when to try again.
fn too_many_requests<T>(retry_after: RetryAfter) -> responses::Answer<T, StrapiHttpError> {
    responses::Answer::too_many_requests(
        error(
            ErrorStatusCode::TOO_MANY_REQUESTS,
            "Too many requests, please try again later.",
        ),
        retry_after.secs(),
    )
}

fn service_error(err: &ServiceError) -> StrapiHttpError {
    if err.is_unavailable() {
        error(
            ErrorStatusCode::SERVICE_UNAVAILABLE,
            "Service temporarily unavailable, try again later",
        )
    } else {
        tracing::error!(error = %err, "strapi request failed");
        error(
            ErrorStatusCode::INTERNAL_SERVER_ERROR,
            "Internal Server Error",
        )
    }
}

fn error(status: ErrorStatusCode, message: &str) -> StrapiHttpError {
    let code = i64::from(status.as_u16());
    StrapiHttpError::new(
        status,
        StrapiError {
            code,
            message: message.to_owned(),
            data: None,
            error: StrapiErrorDetail {
                status: code,
                name: error_name(status).to_owned(),
                message: message.to_owned(),
                details: serde_json::Map::new(),
            },
        },
    )
}

/// The name of the error class Strapi's error middleware puts in `error.name`.
fn error_name(status: ErrorStatusCode) -> &'static str {
    match status.as_u16() {
        400 => "ValidationError",
        403 => "ForbiddenError",
        404 => "NotFoundError",
        429 => "RateLimitError",
        503 => "ServiceUnavailableError",
        _ => "ApplicationError",
    }
}

//! resetd's own API: health, login (OAuth 2 token shape), introspection (RFC 7662) and the
//! admin API. Errors are `{code, message}` with `code` the HTTP status.

use dropshot::{ErrorStatusCode, HttpResponseCreated, HttpResponseOk};
use resetd_api::errors::ResetdHttpError;
use resetd_api::responses;
use resetd_api::types::{
    ResetdCreateUserRequest, ResetdDialect, ResetdError, ResetdHealth, ResetdIntrospectRequest,
    ResetdIntrospection, ResetdLoginRequest, ResetdReadiness, ResetdRecovery,
    ResetdRecoveryRequest, ResetdTokenResponse, ResetdUpdateUserRequest, ResetdUser,
    ResetdUserStatus,
};
use subtle::ConstantTimeEq as _;

use crate::config::Secret;
use crate::reset::{
    Account, AccountPatch, AccountStatus, AdminError, Dialect, GrantError, LoginError, NewAccount,
    ServiceError,
};

use super::call::{datetime, Call};

type Answer<T> = Result<HttpResponseOk<T>, ResetdHttpError>;

pub fn healthz() -> Answer<ResetdHealth> {
    Ok(HttpResponseOk(ResetdHealth {
        status: "ok".to_owned(),
    }))
}

pub async fn readyz(call: &Call<'_>) -> Answer<ResetdReadiness> {
    match call.core.store().ping().await {
        Ok(()) => Ok(HttpResponseOk(ResetdReadiness {
            status: "ready".to_owned(),
            database: "ok".to_owned(),
        })),
        Err(err) => {
            tracing::warn!(error = %err, "readiness check: store unreachable");
            Err(error(
                ErrorStatusCode::SERVICE_UNAVAILABLE,
                "not ready: the database is unreachable",
            ))
        }
    }
}

/// A login's answer, or a 429 with `Retry-After` (which the error type cannot carry).
type LoginAnswer = Result<
    responses::Answer<HttpResponseOk<ResetdTokenResponse>, ResetdHttpError>,
    ResetdHttpError,
>;

pub async fn login(call: &Call<'_>, body: ResetdLoginRequest) -> LoginAnswer {
    let (client_id, scope) = (body.client_id.as_deref(), body.scope.as_deref());
    if client_id.is_some_and(|c| c.len() > 128) || scope.is_some_and(|s| s.len() > 1024) {
        return Err(error(
            ErrorStatusCode::BAD_REQUEST,
            "client_id or scope is too long",
        ));
    }
    match call
        .core
        .login(
            &body.email,
            &body.password,
            client_id,
            scope,
            call.client_ip,
        )
        .await
    {
        Ok(tokens) => Ok(HttpResponseOk(ResetdTokenResponse {
            access_token: tokens.access_token,
            token_type: "Bearer".to_owned(),
            expires_in: i64::try_from(tokens.expires_in).unwrap_or(i64::MAX),
            refresh_token: tokens.refresh_token,
            scope: tokens.scope,
        })
        .into()),
        Err(LoginError::InvalidCredentials) => Err(error(
            ErrorStatusCode::UNAUTHORIZED,
            "invalid email or password",
        )),
        Err(LoginError::TooManyRequests(retry_after)) => Ok(responses::Answer::too_many_requests(
            error(
                ErrorStatusCode::TOO_MANY_REQUESTS,
                "too many failed logins from this client, try again later",
            ),
            retry_after.secs(),
        )),
        Err(LoginError::Grant(err)) => Err(grant_error(err)),
        Err(LoginError::Service(err)) => Err(service_error(&err)),
    }
}

/// RFC 6749 §5.2: `invalid_client` may be 401, `invalid_scope` is 400; the error code leads
/// the message since resetd's `code` is the HTTP status.
fn grant_error(err: GrantError) -> ResetdHttpError {
    let status = match err {
        GrantError::UnknownClient => ErrorStatusCode::UNAUTHORIZED,
        GrantError::ScopeNotAllowed => ErrorStatusCode::BAD_REQUEST,
    };
    error(status, &err.to_string())
}

pub async fn introspect(
    call: &Call<'_>,
    body: ResetdIntrospectRequest,
) -> Answer<ResetdIntrospection> {
    authorize(call, call.core.config().introspection.token.as_ref())?;
    let found = call
        .core
        .introspect(&body.token)
        .await
        .map_err(|err| service_error(&err))?;
    Ok(HttpResponseOk(match found {
        Some(t) => ResetdIntrospection {
            active: true,
            sub: Some(t.sub),
            email: Some(t.email),
            exp: Some(t.exp),
            iat: Some(t.iat),
            scope: Some(t.scope),
            client_id: Some(t.client_id),
            token_type: Some(t.token_type.to_owned()),
        },
        None => ResetdIntrospection {
            active: false,
            sub: None,
            email: None,
            exp: None,
            iat: None,
            scope: None,
            client_id: None,
            token_type: None,
        },
    }))
}

pub async fn admin_create_user(
    call: &Call<'_>,
    body: ResetdCreateUserRequest,
) -> Result<HttpResponseCreated<ResetdUser>, ResetdHttpError> {
    authorize_admin(call)?;
    let account = NewAccount {
        email: body.email,
        password: body.password,
        nickname: body.nickname,
        status: body.status.map_or(AccountStatus::Active, from_api_status),
        language: body.language,
    };
    let user = call
        .core
        .create_account(account)
        .await
        .map_err(admin_error)?;
    Ok(HttpResponseCreated(to_api_user(call, &user)))
}

pub async fn admin_get_user(call: &Call<'_>, id: &str) -> Answer<ResetdUser> {
    authorize_admin(call)?;
    let user = call.core.account(id).await.map_err(admin_error)?;
    Ok(HttpResponseOk(to_api_user(call, &user)))
}

pub async fn admin_update_user(
    call: &Call<'_>,
    id: &str,
    body: ResetdUpdateUserRequest,
) -> Answer<ResetdUser> {
    authorize_admin(call)?;
    let patch = AccountPatch {
        status: body.status.map(from_api_status),
        nickname: body.nickname.map(Some),
    };
    let user = call
        .core
        .update_account(id, patch)
        .await
        .map_err(admin_error)?;
    Ok(HttpResponseOk(to_api_user(call, &user)))
}

pub async fn admin_issue_recovery(
    call: &Call<'_>,
    id: &str,
    body: ResetdRecoveryRequest,
) -> Answer<ResetdRecovery> {
    authorize_admin(call)?;
    let dialect = from_api_dialect(body.dialect);
    let issued = call
        .core
        .issue_recovery(id, dialect, call.client_ip)
        .await
        .map_err(admin_error)?;
    Ok(HttpResponseOk(ResetdRecovery {
        dialect: body.dialect,
        code: issued.code,
        link: issued.link,
        expires_at: datetime(issued.expires_at),
    }))
}

pub(super) fn authorize_admin(call: &Call<'_>) -> Result<(), ResetdHttpError> {
    authorize(call, call.core.config().admin_token.as_ref())
}

/// 404 when no token is configured (the endpoint does not exist), 401 for a missing or
/// wrong bearer token, telling nothing else. The comparison takes the same time for any
/// token of a given length.
fn authorize(call: &Call<'_>, expected: Option<&Secret>) -> Result<(), ResetdHttpError> {
    let Some(expected) = expected else {
        return Err(error(ErrorStatusCode::NOT_FOUND, "Not Found"));
    };
    let presented = call
        .headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if bool::from(presented.as_bytes().ct_eq(expected.expose().as_bytes())) {
        Ok(())
    } else {
        Err(error(ErrorStatusCode::UNAUTHORIZED, "unauthorized"))
    }
}

pub(super) fn admin_error(err: AdminError) -> ResetdHttpError {
    let status = match &err {
        AdminError::InvalidEmail
        | AdminError::Password(_)
        | AdminError::Invalid(_)
        | AdminError::DialectDisabled(_) => ErrorStatusCode::BAD_REQUEST,
        AdminError::Hash(_) => ErrorStatusCode::BAD_REQUEST,
        AdminError::EmailTaken | AdminError::ExternalIdTaken => ErrorStatusCode::CONFLICT,
        AdminError::NotFound => ErrorStatusCode::NOT_FOUND,
        AdminError::Service(service) => return service_error(service),
    };
    error(status, &err.to_string())
}

pub(super) fn service_error(err: &ServiceError) -> ResetdHttpError {
    if err.is_unavailable() {
        error(
            ErrorStatusCode::SERVICE_UNAVAILABLE,
            "the database is temporarily unavailable, try again later",
        )
    } else {
        tracing::error!(error = %err, "request failed");
        error(ErrorStatusCode::INTERNAL_SERVER_ERROR, "internal error")
    }
}

pub(super) fn error(status: ErrorStatusCode, message: &str) -> ResetdHttpError {
    ResetdHttpError::new(
        status,
        ResetdError {
            code: i64::from(status.as_u16()),
            message: message.to_owned(),
        },
    )
}

pub(super) fn to_api_user(call: &Call<'_>, user: &Account) -> ResetdUser {
    ResetdUser {
        id: user.public_id.clone(),
        external_id: user.external_id.clone(),
        legacy_hash: call.core.has_legacy_hash(user),
        email: user.email.clone(),
        nickname: user.nickname.clone(),
        status: match user.status {
            AccountStatus::Active => ResetdUserStatus::Active,
            AccountStatus::Inactive => ResetdUserStatus::Inactive,
            AccountStatus::Banned => ResetdUserStatus::Banned,
        },
        language: user.language.clone(),
        created_at: datetime(user.created_at),
        updated_at: datetime(user.updated_at),
    }
}

pub(super) fn from_api_status(status: ResetdUserStatus) -> AccountStatus {
    match status {
        ResetdUserStatus::Active => AccountStatus::Active,
        ResetdUserStatus::Inactive => AccountStatus::Inactive,
        ResetdUserStatus::Banned => AccountStatus::Banned,
    }
}

fn from_api_dialect(dialect: ResetdDialect) -> Dialect {
    match dialect {
        ResetdDialect::Ipcola => Dialect::Ipcola,
        ResetdDialect::Strapi => Dialect::Strapi,
        ResetdDialect::Cloudreve => Dialect::Cloudreve,
        ResetdDialect::Selfcommunity => Dialect::Selfcommunity,
    }
}

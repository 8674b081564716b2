//! The admin API's account operations beyond create, show and patch (`resetd.rs`): list,
//! find, change email, set a password hash, delete, import.

use dropshot::{ErrorStatusCode, HttpResponseOk, HttpResponseUpdatedNoContent};
use resetd_api::errors::ResetdHttpError;
use resetd_api::params::{ResetdAdminFindUserQuery, ResetdAdminListUsersQuery};
use resetd_api::types::{
    ResetdChangeEmailRequest, ResetdImportItemResult, ResetdImportOutcome, ResetdImportRequest,
    ResetdImportResult, ResetdSetPasswordHashRequest, ResetdUser, ResetdUserPage,
};

use crate::reset::import::line::{self, RawRecord};
use crate::reset::import::{ImportSummary, RecordResult, MAX_IMPORT_PER_CALL};
use crate::reset::AccountQuery;

use super::call::Call;
use super::resetd::{
    admin_error, authorize_admin, error, from_api_status, service_error, to_api_user,
};

type Answer<T> = Result<HttpResponseOk<T>, ResetdHttpError>;

/// Accounts per page when the caller names no limit.
const DEFAULT_PAGE: i64 = 100;

pub async fn list_users(
    call: &Call<'_>,
    query: ResetdAdminListUsersQuery,
) -> Answer<ResetdUserPage> {
    authorize_admin(call)?;
    let page = call
        .core
        .list_accounts(AccountQuery {
            email: query.email,
            status: query.status.map(from_api_status),
            external_id: query.external_id,
            legacy_only: query.legacy.unwrap_or(false),
            cursor: query.cursor,
            limit: query.limit.unwrap_or(DEFAULT_PAGE),
        })
        .await
        .map_err(admin_error)?;
    Ok(HttpResponseOk(ResetdUserPage {
        users: page.accounts.iter().map(|a| to_api_user(call, a)).collect(),
        next_cursor: page.next,
    }))
}

pub async fn find_user(call: &Call<'_>, query: ResetdAdminFindUserQuery) -> Answer<ResetdUser> {
    authorize_admin(call)?;
    let found = match (query.email, query.external_id) {
        (Some(email), None) => call.core.account_by_email(&email).await,
        (None, Some(external_id)) => call.core.account_by_external_id(&external_id).await,
        _ => {
            return Err(error(
                ErrorStatusCode::BAD_REQUEST,
                "give exactly one of email and external_id",
            ))
        }
    };
    let user = found.map_err(admin_error)?;
    Ok(HttpResponseOk(to_api_user(call, &user)))
}

pub async fn change_email(
    call: &Call<'_>,
    id: &str,
    body: ResetdChangeEmailRequest,
) -> Answer<ResetdUser> {
    authorize_admin(call)?;
    let user = call
        .core
        .change_email(id, &body.email)
        .await
        .map_err(admin_error)?;
    Ok(HttpResponseOk(to_api_user(call, &user)))
}

pub async fn set_password_hash(
    call: &Call<'_>,
    id: &str,
    body: ResetdSetPasswordHashRequest,
) -> Answer<ResetdUser> {
    authorize_admin(call)?;
    let user = call
        .core
        .set_password_hash(id, &body.password_hash)
        .await
        .map_err(admin_error)?;
    Ok(HttpResponseOk(to_api_user(call, &user)))
}

pub async fn delete_user(
    call: &Call<'_>,
    id: &str,
) -> Result<HttpResponseUpdatedNoContent, ResetdHttpError> {
    authorize_admin(call)?;
    call.core.delete_account(id).await.map_err(admin_error)?;
    Ok(HttpResponseUpdatedNoContent())
}

pub async fn import_users(
    call: &Call<'_>,
    body: ResetdImportRequest,
) -> Answer<ResetdImportResult> {
    authorize_admin(call)?;
    if body.users.len() > MAX_IMPORT_PER_CALL {
        return Err(error(
            ErrorStatusCode::BAD_REQUEST,
            "at most 1000 users per call",
        ));
    }
    let records = body
        .users
        .into_iter()
        .map(|u| {
            line::check(RawRecord {
                email: Some(u.email),
                external_id: u.external_id,
                nickname: u.nickname,
                status: u.status,
                language: u.language,
                created_at: u.created_at,
                password_hash: u.password_hash,
                password: u.password,
            })
        })
        .collect();
    let results = call
        .core
        .import_records(records, body.dry_run.unwrap_or(false))
        .await
        .map_err(|e| service_error(&e))?;
    if !body.dry_run.unwrap_or(false) {
        // The gauge follows the import; a failure to count leaves it as it was.
        let _ = call.core.legacy_hash_count().await;
    }
    let mut summary = ImportSummary::default();
    let items = results
        .iter()
        .enumerate()
        .map(|(index, result)| {
            summary.count(result);
            let (result, reason) = match result {
                RecordResult::Created => (ResetdImportOutcome::Created, None),
                RecordResult::Updated => (ResetdImportOutcome::Updated, None),
                RecordResult::Unchanged => (ResetdImportOutcome::Unchanged, None),
                RecordResult::Refused(why) => (ResetdImportOutcome::Refused, Some(why.to_string())),
            };
            ResetdImportItemResult {
                index: index as i64,
                result,
                reason,
            }
        })
        .collect();
    let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    Ok(HttpResponseOk(ResetdImportResult {
        created: count(summary.created),
        updated: count(summary.updated),
        unchanged: count(summary.unchanged),
        refused: count(summary.refused),
        results: items,
    }))
}

//! The server serves exactly its OpenAPI spec: the document dropshot emits for the server's
//! endpoints matches `openapi/resetd.yaml` operation by operation (see `spec_diff` for what
//! is compared and what is normalised away), and the comparer itself catches deliberate
//! mismatches with a readable message.

use crate::support::spec_diff;

use serde_json::{json, Value};

const SPEC_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/resetd.yaml");

/// The merged spec, parsed from YAML into the same JSON shape dropshot emits.
fn spec() -> Value {
    let text = std::fs::read_to_string(SPEC_PATH).expect("openapi/resetd.yaml is readable");
    serde_yaml::from_str(&text).expect("openapi/resetd.yaml is valid YAML")
}

/// The OpenAPI document of the server's published endpoints, from the very description the
/// server runs (the trait implementation plus the hand-written routes), so an endpoint added
/// outside the trait and not marked `unpublished` shows up as "extra in server".
fn server_document() -> Value {
    let api = resetd::app::api_description().expect("the server's API description builds");
    api.openapi("resetd", semver::Version::new(0, 1, 0))
        .json()
        .expect("dropshot emits the document as JSON")
}

#[test]
fn the_server_serves_the_spec() {
    let differences = spec_diff::differences(&spec(), &server_document());
    assert!(
        differences.is_empty(),
        "{}",
        spec_diff::report(&differences)
    );
}

// The tests below compare the spec with a mutated copy standing in for the server, so each
// expects exactly the lines its mutation causes, whatever the real server looks like.

/// The value at a JSON pointer into `doc` (`/` inside a path segment written as `~1`).
fn at<'a>(doc: &'a mut Value, pointer: &str) -> &'a mut Value {
    doc.pointer_mut(pointer)
        .unwrap_or_else(|| panic!("the spec has {pointer}"))
}

fn differences_after(mutate: impl FnOnce(&mut Value)) -> Vec<String> {
    let spec = spec();
    let mut server = spec.clone();
    mutate(&mut server);
    spec_diff::differences(&spec, &server)
}

const CLOUDREVE_RESET: &str = "/paths/~1user~1reset~1{user_id}/patch";
const STRAPI_RESET: &str = "/paths/~1auth~1reset-password/post";

#[test]
fn the_spec_matches_itself() {
    assert_eq!(differences_after(|_| {}), Vec::<String>::new());
}

#[test]
fn a_request_property_of_another_type_is_reported() {
    let differences = differences_after(|doc| {
        let secret = "/components/schemas/CloudreveResetPasswordRequest/properties/secret";
        *at(doc, &format!("{secret}/type")) = json!("integer");
    });
    assert_eq!(
        differences,
        // The schema is shared by the seed path and Cloudreve v4's own (`/api/v4`).
        [
            "PATCH /api/v4/user/reset/{user_id} (cloudreve_v4_reset_password): request body \
             property \"secret\": spec type string, server type integer",
            "PATCH /user/reset/{user_id} (cloudreve_reset_password): request body property \
             \"secret\": spec type string, server type integer",
        ]
    );
}

#[test]
fn a_dropped_required_entry_in_a_request_is_reported() {
    let differences = differences_after(|doc| {
        let required = at(
            doc,
            "/components/schemas/StrapiResetPasswordRequest/required",
        );
        required
            .as_array_mut()
            .unwrap()
            .retain(|name| name != "passwordConfirmation");
    });
    assert_eq!(
        differences,
        [
            "POST /api/auth/reset-password (strapi_api_reset_password): request body property \
             \"passwordConfirmation\": required in spec, optional in server",
            "POST /auth/reset-password (strapi_reset_password): request body property \
             \"passwordConfirmation\": required in spec, optional in server",
        ]
    );
}

#[test]
fn an_operation_the_server_lacks_is_reported() {
    let differences = differences_after(|doc| {
        at(doc, "/paths")
            .as_object_mut()
            .unwrap()
            .remove("/auth/forgot-password");
    });
    assert_eq!(
        differences,
        ["missing in server: POST /auth/forgot-password (strapi_forgot_password)"]
    );
}

#[test]
fn an_operation_the_spec_lacks_is_reported() {
    let differences = differences_after(|doc| {
        let health = at(doc, "/paths/~1healthz/get").clone();
        let mut extra = health;
        extra["operationId"] = json!("resetd_x");
        at(doc, "/paths")
            .as_object_mut()
            .unwrap()
            .insert("/x".into(), json!({ "get": extra }));
    });
    assert_eq!(differences, ["extra in server: GET /x (resetd_x)"]);
}

#[test]
fn another_success_status_is_reported() {
    let differences = differences_after(|doc| {
        let responses = at(doc, &format!("{STRAPI_RESET}/responses"));
        let responses = responses.as_object_mut().unwrap();
        let ok = responses.remove("200").unwrap();
        responses.insert("201".into(), ok);
    });
    assert_eq!(
        differences,
        ["POST /auth/reset-password (strapi_reset_password): success status: spec 200, server 201"]
    );
}

#[test]
fn a_renamed_operation_id_is_reported() {
    let differences = differences_after(|doc| {
        *at(doc, &format!("{CLOUDREVE_RESET}/operationId")) = json!("cloudreve_reset");
    });
    assert_eq!(
        differences,
        [
            "PATCH /user/reset/{user_id} (cloudreve_reset_password): operationId: \
             spec cloudreve_reset_password, server cloudreve_reset"
        ]
    );
}

#[test]
fn a_response_property_of_another_type_is_reported_by_its_path() {
    // `StrapiUser` is reached through `StrapiAuthResponse.user`'s `allOf: [$ref]`.
    let differences = differences_after(|doc| {
        *at(doc, "/components/schemas/StrapiUser/properties/email/type") = json!("integer");
    });
    assert_eq!(
        differences,
        [
            "POST /api/auth/reset-password (strapi_api_reset_password): response body property \
             \"user.email\": spec type string, server type integer",
            "POST /auth/reset-password (strapi_reset_password): response body property \
             \"user.email\": spec type string, server type integer",
        ]
    );
}

#[test]
fn a_response_property_the_spec_lacks_is_reported() {
    let differences = differences_after(|doc| {
        let props = at(doc, "/components/schemas/StrapiOkResponse/properties");
        props["extra"] = json!({ "type": "string" });
    });
    assert_eq!(
        differences,
        [
            "POST /api/auth/forgot-password (strapi_api_forgot_password): response body \
             property \"extra\": in server only",
            "POST /auth/forgot-password (strapi_forgot_password): response body property \
             \"extra\": in server only",
        ]
    );
}

#[test]
fn another_error_schema_is_reported() {
    // dropshot names the error schema once per operation; the spec must use that one.
    let differences = differences_after(|doc| {
        let error = at(
            doc,
            &format!("{STRAPI_RESET}/responses/403/content/application~1json"),
        );
        error["schema"] = json!({ "$ref": "#/components/schemas/ResetdError" });
    });
    assert_eq!(
        differences,
        [
            "POST /auth/reset-password (strapi_reset_password): error responses: \
             spec schema StrapiError, server schema ResetdError, StrapiError"
        ]
    );
}

#[test]
fn every_difference_is_reported_at_once() {
    let differences = differences_after(|doc| {
        *at(doc, &format!("{CLOUDREVE_RESET}/operationId")) = json!("cloudreve_reset");
        at(doc, "/paths")
            .as_object_mut()
            .unwrap()
            .remove("/healthz");
        *at(doc, "/components/schemas/StrapiUser/properties/id/type") = json!("string");
    });
    assert_eq!(
        differences,
        [
            "POST /api/auth/reset-password (strapi_api_reset_password): response body property \
             \"user.id\": spec type integer, server type string",
            "POST /auth/reset-password (strapi_reset_password): response body property \
             \"user.id\": spec type integer, server type string",
            "missing in server: GET /healthz (resetd_healthz)",
            "PATCH /user/reset/{user_id} (cloudreve_reset_password): operationId: \
             spec cloudreve_reset_password, server cloudreve_reset",
        ]
    );
    let report = spec_diff::report(&differences);
    assert!(report.starts_with("4 difference(s)"), "{report}");
}

#[test]
fn trailing_slashes_and_parameter_style_are_not_differences() {
    let differences = differences_after(|doc| {
        // dropshot emits `/api/v2/account/reset/` without its trailing slash ...
        let paths = at(doc, "/paths").as_object_mut().unwrap();
        let reset = paths.remove("/api/v2/account/reset/").unwrap();
        paths.insert("/api/v2/account/reset".into(), reset);
        // ... and path parameters without `style: simple`, the default for them.
        let user_id = at(doc, &format!("{CLOUDREVE_RESET}/parameters/0"));
        user_id.as_object_mut().unwrap().remove("style");
    });
    assert_eq!(differences, Vec::<String>::new());
}

#[test]
fn nullable_and_required_in_responses_are_not_differences() {
    // dropshot marks an `Option<T>` field nullable and not required; the spec may require
    // it. Both describe the same JSON a client receives.
    let differences = differences_after(|doc| {
        let recovery = at(doc, "/components/schemas/ResetdRecovery");
        recovery["required"] = json!(["dialect", "code", "expires_at"]);
        recovery["properties"]["code"]["nullable"] = json!(true);
    });
    assert_eq!(differences, Vec::<String>::new());
}

#[test]
fn a_mismatch_in_the_emitted_document_is_reported() {
    // The same comparer reads dropshot's shape: `4XX`/`5XX` references into
    // `components.responses`, paths without the trailing slash.
    let mut server = server_document();
    *at(
        &mut server,
        "/components/schemas/SelfcommunityResetRequest/properties/password/type",
    ) = json!("integer");
    *at(
        &mut server,
        "/components/responses/SelfcommunityError/content/application~1json/schema",
    ) = json!({ "$ref": "#/components/schemas/ResetdError" });
    let differences = spec_diff::differences(&spec(), &server);
    assert_eq!(
        differences,
        [
            "POST /api/v2/account/recover/ (selfcommunity_recover_account): error responses: \
             spec schema SelfcommunityError, server schema ResetdError",
            "POST /api/v2/account/reset/ (selfcommunity_reset_password): request body property \
             \"password\": spec type string, server type integer",
            "POST /api/v2/account/reset/ (selfcommunity_reset_password): error responses: \
             spec schema SelfcommunityError, server schema ResetdError",
            "POST /api/v2/account/verify/validation_code/ (selfcommunity_verify_validation_code): \
             error responses: spec schema SelfcommunityError, server schema ResetdError",
        ]
    );
}

use super::operation::path_template_names;
use super::*;
use crate::sources::parse;

fn problems(text: &str) -> String {
    let doc = parse("test.yaml", text).expect("fixture parses").doc;
    match validate_doc(doc) {
        Ok(_) => String::new(),
        Err(problems) => problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

/// A valid one-operation document with hooks for breaking it.
fn doc(op_id: &str, responses: &str, extra_schema: &str) -> String {
    format!(
        r##"
openapi: 3.0.3
info: {{title: t, version: 1.0.0}}
paths:
  /demo/{{id}}/:
    post:
      operationId: {op_id}
      tags: [demo]
      parameters:
        - {{name: id, in: path, required: true, schema: {{type: string, minLength: 1}}}}
      requestBody:
        required: true
        content:
          application/json:
            schema: {{$ref: '#/components/schemas/DemoRequest'}}
      responses:
{responses}
components:
  schemas:
    DemoRequest:
      type: object
      properties: {{a: {{type: string}}}}
    DemoError:
      type: object
      required: [code, message]
      properties:
        code: {{type: integer}}
        message: {{type: string}}
        detail: {{type: string, nullable: true}}
      x-resetd-error-type:
        name: DemoHttpError
        from-http-error: {{code: $status, message: $message}}
{extra_schema}
"##
    )
}

const OK_RESPONSES: &str = r##"        '200':
          description: ok
          content:
            application/json:
              schema: {$ref: '#/components/schemas/DemoRequest'}
        '400':
          description: bad
          content:
            application/json:
              schema: {$ref: '#/components/schemas/DemoError'}"##;

#[test]
fn the_base_fixture_is_valid() {
    let text = doc("demo_post", OK_RESPONSES, "");
    assert_eq!(problems(&text), "");
    let api = validate_doc(parse("t.yaml", &text).expect("parses").doc).expect("valid");
    let op = &api.operations[0];
    assert_eq!(op.success.status, 200);
    assert_eq!(op.error_type.as_deref(), Some("DemoHttpError"));
    assert_eq!(
        api.error_types[0].message_pointer.as_deref(),
        Some("/message")
    );
}

#[test]
fn bad_ref_is_named_with_its_operation() {
    let text = doc("demo_post", OK_RESPONSES, "").replace(
        "schemas/DemoRequest'}\n      responses",
        "schemas/DemoRequset'}\n      responses",
    );
    let text = problems(&text);
    assert!(text.contains("#/components/schemas/DemoRequset"), "{text}");
    assert!(text.contains("demo_post"), "{text}");
}

#[test]
fn bad_ref_inside_a_schema_names_the_schema() {
    let extra = "    Broken:\n      type: object\n      properties:\n        x: {$ref: '#/components/schemas/Nope'}";
    let text = problems(&doc("demo_post", OK_RESPONSES, extra));
    assert!(text.contains("`#/components/schemas/Nope`"), "{text}");
    assert!(text.contains("schema `Broken`"), "{text}");
}

#[test]
fn snake_case_and_prefix_are_enforced() {
    let text = problems(&doc("demoPost", OK_RESPONSES, ""));
    assert!(
        text.contains("`demoPost`") && text.contains("snake_case"),
        "{text}"
    );
    let text = problems(&doc("other_post", OK_RESPONSES, ""));
    assert!(text.contains("`demo_`"), "{text}");
}

#[test]
fn duplicate_operation_id_names_both_places() {
    let text = doc("demo_post", OK_RESPONSES, "").replace(
        "paths:\n",
        "paths:\n  /other:\n    get:\n      operationId: demo_post\n      tags: [demo]\n      responses:\n        '204': {description: ok}\n",
    );
    let text = problems(&text);
    assert!(text.contains("`demo_post` is used twice"), "{text}");
    assert!(
        text.contains("GET /other") && text.contains("POST /demo/{id}/"),
        "{text}"
    );
}

#[test]
fn two_success_statuses_are_refused() {
    let responses = format!(
        "{OK_RESPONSES}\n        '201':\n          description: created\n          content:\n            application/json:\n              schema: {{$ref: '#/components/schemas/DemoRequest'}}"
    );
    let text = problems(&doc("demo_post", &responses, ""));
    assert!(
        text.contains("demo_post") && text.contains("200, 201"),
        "{text}"
    );
}

#[test]
fn default_response_is_refused() {
    let responses = format!("{OK_RESPONSES}\n        default:\n          description: any");
    let text = problems(&doc("demo_post", &responses, ""));
    assert!(
        text.contains("demo_post") && text.contains("`default`"),
        "{text}"
    );
}

/// A 429 with its error body and the given `Retry-After` schema (or another header).
fn too_many(header: &str, schema: &str) -> String {
    format!(
        "{OK_RESPONSES}\n        '429':\n          description: slow down\n          headers:\n            {header}:\n              required: true\n              schema: {schema}\n          content:\n            application/json:\n              schema: {{$ref: '#/components/schemas/DemoError'}}"
    )
}

#[test]
fn retry_after_on_429_is_read() {
    let text = doc("demo_post", OK_RESPONSES, "");
    let api = validate_doc(parse("t.yaml", &text).expect("parses").doc).expect("valid");
    assert!(!api.operations[0].retry_after);
    let text = doc(
        "demo_post",
        &too_many("Retry-After", "{type: integer, minimum: 1}"),
        "",
    );
    assert_eq!(problems(&text), "");
    let api = validate_doc(parse("t.yaml", &text).expect("parses").doc).expect("valid");
    assert!(api.operations[0].retry_after);
}

#[test]
fn error_headers_other_than_retry_after_on_429_are_refused() {
    let text = problems(&doc(
        "demo_post",
        &too_many("X-Limit", "{type: integer}"),
        "",
    ));
    assert!(text.contains("declares header X-Limit"), "{text}");
    let text = problems(&doc(
        "demo_post",
        &too_many("Retry-After", "{type: string}"),
        "",
    ));
    assert!(text.contains("`type: integer`"), "{text}");
    let on_400 = OK_RESPONSES.replace(
        "          description: bad\n",
        "          description: bad\n          headers:\n            Retry-After:\n              schema: {type: integer}\n",
    );
    assert_ne!(on_400, OK_RESPONSES);
    let text = problems(&doc("demo_post", &on_400, ""));
    assert!(
        text.contains("error response 400 declares header Retry-After"),
        "{text}"
    );
}

#[test]
fn mixed_error_schemas_are_refused() {
    let responses = format!(
        "{OK_RESPONSES}\n        '500':\n          description: boom\n          content:\n            application/json:\n              schema: {{$ref: '#/components/schemas/DemoRequest'}}"
    );
    let text = problems(&doc("demo_post", &responses, ""));
    assert!(text.contains("different schemas"), "{text}");
    assert!(
        text.contains("DemoError for 400") && text.contains("DemoRequest for 500"),
        "{text}"
    );
}

#[test]
fn error_schema_needs_the_extension() {
    let responses = OK_RESPONSES.replace("schemas/DemoError'}", "schemas/DemoRequest'}");
    let text = problems(&doc("demo_post", &responses, ""));
    assert!(
        text.contains("`DemoRequest` has no `x-resetd-error-type`"),
        "{text}"
    );
}

#[test]
fn non_json_bodies_are_refused() {
    let text = doc("demo_post", OK_RESPONSES, "").replacen(
        "application/json:\n            schema: {$ref: '#/components/schemas/DemoRequest'}\n      responses",
        "application/x-www-form-urlencoded:\n            schema: {$ref: '#/components/schemas/DemoRequest'}\n      responses",
        1,
    );
    let text = problems(&text);
    assert!(text.contains("application/x-www-form-urlencoded"), "{text}");
}

#[test]
fn templates_are_type_checked() {
    let text = doc("demo_post", OK_RESPONSES, "").replace(
        "{code: $status, message: $message}",
        "{code: $message, message: $message}",
    );
    let text = problems(&text);
    assert!(
        text.contains("DemoError") && text.contains("$message needs a string"),
        "{text}"
    );

    let text = doc("demo_post", OK_RESPONSES, "")
        .replace("{code: $status, message: $message}", "{message: $message}");
    let text = problems(&text);
    assert!(text.contains("required property `code`"), "{text}");
}

#[test]
fn path_variables_must_match_parameters() {
    let text = doc("demo_post", OK_RESPONSES, "").replace("/demo/{id}/", "/demo/{ident}/");
    let text = problems(&text);
    assert!(
        text.contains("`id` does not appear") && text.contains("`{ident}`"),
        "{text}"
    );
}

#[test]
fn path_template_parsing() {
    assert_eq!(
        path_template_names("/a/{x}/b/{y}/").expect("ok"),
        ["x".to_string(), "y".to_string()]
    );
    assert!(path_template_names("/a/{x}.json").is_err());
}

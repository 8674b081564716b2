use super::*;

const BCRYPT: &str = "$2b$10$XYhQPPhMrRo8o6lxiVlTOuOK9hFG6spHXSNuh06zDrwRsQe2XV5l.";

#[test]
fn a_full_line_is_checked_and_kept() {
    let line = format!(
        r#"{{"email":" Ann@Example.com ","external_id":42,"nickname":"Ann","status":"banned","language":"zh-CN","created_at":"2024-05-01T10:00:00Z","password_hash":"{BCRYPT}"}}"#
    );
    let record = parse_json(&line).expect("valid");
    assert_eq!(record.email, "ann@example.com");
    assert_eq!(record.external_id.as_deref(), Some("42"));
    assert_eq!(record.status, Some(AccountStatus::Banned));
    assert_eq!(record.created_at, Some(1_714_557_600_000));
    assert!(matches!(record.secret, Some(Secret::Hash(ref h)) if h == BCRYPT));
}

#[test]
fn each_bad_field_is_named_and_no_secret_is_quoted() {
    let cases = [
        (
            r#"{"email":"nope"}"#.to_owned(),
            "email: not a valid email address",
        ),
        (r#"{"nickname":"x"}"#.to_owned(), "email is missing"),
        (
            r#"{"email":"a@b.c","status":"gone"}"#.to_owned(),
            "status: must be",
        ),
        (
            r#"{"email":"a@b.c","created_at":"yesterday"}"#.to_owned(),
            "created_at: must be",
        ),
        (
            r#"{"email":"a@b.c","password_hash":"$2b$10$short-secret"}"#.to_owned(),
            "password_hash: malformed bcrypt",
        ),
        (
            r#"{"email":"a@b.c","password_hash":"hunter2-secret"}"#.to_owned(),
            "password_hash: not a password hash",
        ),
        (
            r#"{"email":"a@b.c","password":"short-s"}"#.to_owned(),
            "password must be at least",
        ),
        (
            format!(
                r#"{{"email":"a@b.c","password":"long-enough-secret","password_hash":"{BCRYPT}"}}"#
            ),
            "at most one of",
        ),
        (
            r#"{"email":"a@b.c","pasword":"x-secret"}"#.to_owned(),
            "unknown field `pasword`",
        ),
        (
            r#"{"email":"a@b.c","password":12345678}"#.to_owned(),
            "malformed JSON (at column",
        ),
        (r#"{"email": "a@b.c", "#.to_owned(), "malformed JSON"),
    ];
    for (line, expected) in cases {
        let error = parse_json(&line).expect_err(&line).to_string();
        assert!(error.contains(expected), "{line}: {error}");
        assert!(
            !error.contains("secret") && !error.contains("12345678"),
            "{error}"
        );
    }
}

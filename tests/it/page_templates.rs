//! Overrides from `pages.templates_dir`, as an operator meets them through the binary:
//! `config check` names them, and a broken one stops `config check` and `serve` in one line
//! naming the file, before the database is touched.

use crate::cli::{resetd, text};

const BUILT_IN_FORM: &str = include_str!("../../src/pages/templates/form.en.html.j2");

#[test]
fn page_template_overrides_are_checked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let templates = dir.path().join("page-templates");
    std::fs::create_dir(&templates).expect("mkdir");
    let reworded = BUILT_IN_FORM.replace("\"Choose a new password\"", "\"New password\"");
    assert_ne!(reworded, BUILT_IN_FORM);
    std::fs::write(templates.join("form.en.html.j2"), &reworded).expect("write");
    std::fs::write(
        dir.path().join("resetd.toml"),
        "[pages]\ntemplates_dir = \"page-templates\"\n",
    )
    .expect("write");
    let config = ["--config", "resetd.toml"];
    let out = resetd(
        dir.path(),
        &[&config[..], &["config", "check"]].concat(),
        &[],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(
        shown.contains("# page templates overridden: form.en.html.j2"),
        "{shown}"
    );
    assert!(
        shown.contains("pages.templates_dir = \"page-templates\""),
        "{shown}"
    );

    // The form without the sentences its script shows.
    let without_success = reworded.replace("\"success\":", "\"done\":");
    std::fs::write(templates.join("form.en.html.j2"), without_success).expect("write");
    for command in [&["config", "check"][..], &["serve"][..]] {
        let out = resetd(dir.path(), &[&config[..], command].concat(), &[], None);
        assert_eq!(out.status.code(), Some(1), "{command:?}");
        let err = text(&out.stderr);
        assert!(
            err.contains("page template ")
                && err.contains("page-templates/form.en.html.j2: the messages block has no text for \"success\""),
            "{err}"
        );
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    }
    assert!(
        !dir.path().join("resetd.db").exists(),
        "serve stopped first"
    );
}

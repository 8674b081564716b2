//! The page templates as readers and operators meet them: each page in each language,
//! escaping, the script's messages, and overrides from a directory.

use std::path::Path;

use crate::templating::{Language, TemplateError, Templates};

use super::check::{self, MESSAGES_OPEN, MESSAGE_KEYS};
use super::link::ResetLink;
use super::render::{link_page, unavailable_page, Page, PageView, PAGE_TEMPLATES, SCRIPT, STYLE};

fn built_in() -> Templates {
    check::load(None).expect("the built-in page templates load")
}

fn cloudreve(user_id: &str, secret: &str) -> ResetLink {
    ResetLink::Cloudreve {
        user_id: user_id.to_owned(),
        secret: secret.to_owned(),
    }
}

fn form(templates: &Templates, language: Language, link: &ResetLink) -> String {
    link_page(
        templates,
        &PageView {
            product: "Acme",
            language,
            link: Some(link),
        },
    )
    .expect("renders")
}

fn incomplete(templates: &Templates, language: Language) -> String {
    let view = PageView {
        product: "Acme",
        language,
        link: None,
    };
    link_page(templates, &view).expect("renders")
}

/// The form's messages, as the script reads them.
fn messages(html: &str) -> serde_json::Map<String, serde_json::Value> {
    let start = html.find(MESSAGES_OPEN).expect("messages block") + MESSAGES_OPEN.len();
    let len = html[start..].find("</script>").expect("closed");
    serde_json::from_str(&html[start..start + len]).expect("JSON")
}

#[test]
fn every_page_comes_in_every_language_with_its_lang() {
    let templates = built_in();
    let link = cloudreve("lpua", "s3cret");
    for (language, heading) in [
        (Language::English, "Choose a new password"),
        (Language::ChineseSimplified, "设置新密码"),
    ] {
        let pages = [
            form(&templates, language, &link),
            incomplete(&templates, language),
            unavailable_page(&templates, "Acme", language).expect("renders"),
        ];
        for html in &pages {
            let start = format!("<!doctype html>\n<html lang=\"{}\">", language.tag());
            assert!(html.starts_with(&start), "{html}");
            assert!(html.contains(&format!("<style>{STYLE}</style>")));
            assert!(!html.contains("{{"), "{html}");
        }
        assert!(pages[0].contains(&format!("<title>{heading} · Acme</title>")));
        assert!(pages[0].contains(&format!("<h1>{heading}</h1>")));
    }
    let zh = form(&templates, Language::ChineseSimplified, &link);
    for label in [
        "新密码",
        "再次输入新密码",
        "显示密码",
        "修改密码",
        "请使用 6 到 64 个字符。",
    ] {
        assert!(zh.contains(label), "{label}");
    }
    assert!(incomplete(&templates, Language::ChineseSimplified).contains("<h1>此链接不完整</h1>"));
}

#[test]
fn values_from_outside_are_escaped() {
    let link = cloudreve("\"><script>alert(1)</script>", "{{script}}'");
    let html = link_page(
        &built_in(),
        &PageView {
            product: "<b>Acme</b> & \"Co\"",
            language: Language::English,
            link: Some(&link),
        },
    )
    .expect("renders");
    assert!(html.contains("<p class=\"product\">&lt;b&gt;Acme&lt;/b&gt; &amp; &quot;Co&quot;</p>"));
    assert!(html.contains("<title>Choose a new password · &lt;b&gt;Acme"));
    assert!(html.contains("data-user-id=\"&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\""));
    assert!(
        html.contains("data-secret=\"{{script}}&#39;\""),
        "a value is never expanded: {html}"
    );
    assert_eq!(html.matches("<script>").count(), 1);
}

#[test]
fn only_the_form_carries_the_script_and_the_link() {
    let templates = built_in();
    let html = form(&templates, Language::English, &cloudreve("lpua", "s3cret"));
    assert!(html.contains(&format!("<script>{SCRIPT}</script>")));
    assert!(html.contains(
        "data-dialect=\"cloudreve\" data-min-chars=\"6\" data-max-chars=\"64\" \
         data-user-id=\"lpua\" data-secret=\"s3cret\""
    ));
    let code = ResetLink::Selfcommunity {
        validation_code: "0f".to_owned(),
    };
    let html = form(&templates, Language::ChineseSimplified, &code);
    assert!(html.contains(
        "data-dialect=\"selfcommunity\" data-min-chars=\"8\" data-max-chars=\"128\" \
         data-validation-code=\"0f\""
    ));
    assert!(html.contains("至少包含以下四类中的 3 类"), "{html}");
    // The dialect's rule in words, as the policy has it.
    assert!(form(&templates, Language::English, &code).contains(
        "<p class=\"hint\" id=\"rules\">Use 8 to 128 characters. Include at least 3 of: \
         lower case letters, upper case letters, digits, other characters. One character \
         repeated, only spaces, very common passwords and your email address are not \
         accepted.</p>"
    ));
    for &language in Language::ALL {
        assert!(!incomplete(&templates, language).contains("<script"));
        let unavailable = unavailable_page(&templates, "Acme", language).expect("renders");
        assert!(!unavailable.contains("<script"));
    }
}

/// The script's sentences come from the page, every one in every language, and the keys
/// the start-up check demands are the ones the script reads.
#[test]
fn the_script_reads_its_messages_from_the_page() {
    let mut read: Vec<&str> = SCRIPT
        .match_indices("MESSAGES.")
        .map(|(at, _)| {
            let rest = &SCRIPT[at + "MESSAGES.".len()..];
            let len = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            &rest[..len]
        })
        .collect();
    read.sort_unstable();
    read.dedup();
    let mut keys = MESSAGE_KEYS.to_vec();
    keys.sort_unstable();
    assert_eq!(read, keys);
    assert!(!SCRIPT.contains("Your password has been changed"));

    let templates = built_in();
    let en = messages(&form(&templates, Language::English, &cloudreve("a", "b")));
    let zh = messages(&form(
        &templates,
        Language::ChineseSimplified,
        &cloudreve("a", "b"),
    ));
    assert_eq!(en["too_short"], "Use at least 6 characters.");
    assert_eq!(zh["too_short"], "密码至少需要 6 个字符。");
    assert_eq!(zh["success"], "您的密码已修改。现在可以使用新密码登录了。");
    for key in MESSAGE_KEYS {
        assert_ne!(en[key], zh[key], "{key} is translated");
    }
}

/// A message an operator wrote cannot end the JSON block it travels in: `tojson` escapes
/// `<`, so the page still has one script, and the script reads the sentence as written.
#[test]
fn a_message_cannot_break_out_of_its_block() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hostile = "</script><script>alert(1)</script> & 'quoted'";
    let source = built_in_source("form.en.html.j2")
        .replace("\"Enter a new password.\"", &format!("{hostile:?}"));
    std::fs::write(dir.path().join("form.en.html.j2"), source).expect("write");
    let templates = check::load(Some(dir.path())).expect("loads");
    let html = form(&templates, Language::English, &cloudreve("a", "b"));
    assert_eq!(html.matches("<script>").count(), 1, "{html}");
    assert!(!html.contains("alert(1)</script>"), "{html}");
    assert_eq!(messages(&html)["empty"], hostile);
}

#[test]
fn assets_cannot_break_out_of_their_elements() {
    assert!(!SCRIPT.to_ascii_lowercase().contains("</script"));
    assert!(!STYLE.to_ascii_lowercase().contains("</style"));
}

#[test]
fn every_template_is_listed_and_on_disk() {
    let mut listed: Vec<&str> = PAGE_TEMPLATES.built_in.iter().map(|(n, _)| *n).collect();
    listed.sort_unstable();
    let mut used: Vec<String> = Page::ALL
        .iter()
        .flat_map(|page| Language::ALL.iter().map(|&l| page.template_name(l)))
        .chain(["layout.html.j2".to_owned()])
        .collect();
    used.sort_unstable();
    assert_eq!(listed, used);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/pages/templates");
    let mut on_disk: Vec<String> = std::fs::read_dir(dir)
        .expect("template dir")
        .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
        .collect();
    on_disk.sort_unstable();
    assert_eq!(listed, on_disk);
}

fn built_in_source(name: &str) -> &'static str {
    PAGE_TEMPLATES
        .built_in
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, source)| *source)
        .expect("built in")
}

#[test]
fn an_override_rewords_one_page_in_one_language() {
    let dir = tempfile::tempdir().expect("tempdir");
    let source = built_in_source("form.zh-CN.html.j2")
        .replace("\"设置新密码\"", "\"为 \" ~ product ~ \" 设置新密码\"");
    std::fs::write(dir.path().join("form.zh-CN.html.j2"), source).expect("write");
    let templates = check::load(Some(dir.path())).expect("loads");
    assert_eq!(
        templates.overridden().collect::<Vec<_>>(),
        ["form.zh-CN.html.j2"]
    );
    let link = cloudreve("a", "b");
    assert!(form(&templates, Language::ChineseSimplified, &link)
        .contains("<h1>为 Acme 设置新密码</h1>"));
    assert_eq!(
        form(&templates, Language::English, &link),
        form(&built_in(), Language::English, &link)
    );
}

/// Loads `dir` expecting a refusal that names `file`.
fn refused(dir: &Path, file: &str, source: &str) -> TemplateError {
    std::fs::write(dir.join(file), source).expect("write");
    let err = match check::load(Some(dir)) {
        Ok(_) => panic!("{file} was accepted"),
        Err(err) => err,
    };
    let shown = err.to_string();
    let path = dir.join(file).display().to_string();
    assert!(shown.contains(&path), "{path} not named in: {shown}");
    assert!(shown.starts_with("page template "), "{shown}");
    err
}

#[test]
fn broken_overrides_stop_the_start_naming_the_file() {
    let case = |file: &str, source: &str| {
        let dir = tempfile::tempdir().expect("tempdir");
        refused(dir.path(), file, source)
    };
    let err = case(
        "form.en.html.j2",
        "{% extends \"layout.html.j2\" %}{% block content %}",
    );
    assert!(err.to_string().contains("syntax error"), "{err}");
    let err = case(
        "incomplete.zh-CN.html.j2",
        "{% extends \"layout.html.j2\" %}{{ nope }}",
    );
    assert!(err.to_string().contains("undefined"), "{err}");

    let form = built_in_source("form.en.html.j2");
    let without_messages = form.replace("id=\"reset-messages\"", "id=\"texts\"");
    let err = case("form.en.html.j2", &without_messages);
    assert!(err.to_string().contains("no messages block"), "{err}");
    let without_success = form.replace("\"success\":", "\"succes\":");
    let err = case("form.en.html.j2", &without_success);
    assert!(err.to_string().contains("no text for \"success\""), "{err}");
    let without_field = form.replace("id=\"confirm\"", "id=\"again\"");
    let err = case("form.en.html.j2", &without_field);
    assert!(err.to_string().contains("id=\"confirm\""), "{err}");

    let layout = built_in_source("layout.html.j2");
    let err = case(
        "layout.html.j2",
        &layout.replace("{{ script }}", "alert(1)"),
    );
    assert!(err.to_string().contains("script"), "{err}");
    let err = case(
        "layout.html.j2",
        &layout.replace("<style>{{ style }}</style>", ""),
    );
    assert!(err.to_string().contains("style sheet"), "{err}");
    let script = "{% block content %}<script>alert(1)</script>{% endblock %}";
    let err = case(
        "unavailable.en.html.j2",
        &format!("{{% extends \"layout.html.j2\" %}}{{% set heading = \"x\" %}}{script}"),
    );
    assert!(err.to_string().contains("only the form"), "{err}");

    let err = case("form.fr.html.j2", "Bonjour");
    assert!(err.to_string().contains("src/pages/templates/"), "{err}");
    let err = check::load(Some(Path::new("/nonexistent/resetd-page-templates")))
        .err()
        .expect("refused");
    assert!(
        err.to_string()
            .starts_with("pages.templates_dir /nonexistent/resetd-page-templates"),
        "{err}"
    );
}

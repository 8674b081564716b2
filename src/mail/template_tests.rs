//! The mail templates as operators and readers meet them: every rendered mail as a
//! snapshot (`snapshots/`), language choice, escaping, and overrides from a directory.

use std::path::Path;

use super::templates::{
    EmailChangedMail, MailKind, MailTemplates, Part, PasswordChangedMail, ResetKind, ResetMail,
    TemplateError, TemplateOrigin,
};
use crate::store::NewOutboxMessage;
use crate::templating::Language;

const CLOUDREVE_LINK: &str =
    "https://accounts.example.com/session/reset?id=lpua8Ve&secret=Zx81bQ0dPq4RkT7sWm2YhN6cJv9LfG3a";
const SELFCOMMUNITY_LINK: &str = "https://accounts.example.com/account/recover/password?validation_code=0f3c9a7e5d1b2c4a6e8f0a1b3c5d7e9f2a&next=%2F";
const IPCOLA_CODE: &str = "qwertyuiopasdfgh";
/// 2026-03-14 09:26:53 UTC.
const CHANGED_AT: i64 = 1_773_480_413_000;

fn strapi_code() -> String {
    "0123456789abcdef".repeat(8)
}

/// The reset mail of `kind` with the fixed inputs the snapshots show.
fn reset_mail<'a>(kind: ResetKind, language: &'a str, code: &'a str) -> ResetMail<'a> {
    let (link, valid_for_secs) = match kind {
        ResetKind::Ipcola => (None, 900),
        ResetKind::Strapi => (None, 3_600),
        ResetKind::Cloudreve => (Some(CLOUDREVE_LINK), 3_600),
        ResetKind::Selfcommunity => (Some(SELFCOMMUNITY_LINK), 3_600),
    };
    ResetMail {
        kind,
        product: "resetd",
        recipient: "ann@example.com",
        nickname: Some("Ann"),
        language,
        code,
        link,
        valid_for_secs,
    }
}

fn changed_mail(language: &str) -> PasswordChangedMail<'_> {
    PasswordChangedMail {
        product: "resetd",
        recipient: "ann@example.com",
        nickname: Some("Ann"),
        language,
        changed_at: CHANGED_AT,
    }
}

/// A rendered mail, comparable and printable in full (the outbox type hides its bodies).
#[derive(Debug, PartialEq, Eq)]
struct Mail {
    subject: String,
    body_text: String,
    body_html: String,
}

impl From<NewOutboxMessage> for Mail {
    fn from(m: NewOutboxMessage) -> Self {
        Mail {
            subject: m.subject,
            body_text: m.body_text,
            body_html: m.body_html,
        }
    }
}

fn render(templates: &MailTemplates, kind: MailKind, language: &str) -> Mail {
    let strapi = strapi_code();
    let rendered = match kind {
        MailKind::Reset(reset) => {
            let code = match reset {
                ResetKind::Ipcola => IPCOLA_CODE,
                ResetKind::Strapi => &strapi,
                ResetKind::Cloudreve => "Zx81bQ0dPq4RkT7sWm2YhN6cJv9LfG3a",
                ResetKind::Selfcommunity => "0f3c9a7e5d1b2c4a6e8f0a1b3c5d7e9f2a",
            };
            templates.reset_message(&reset_mail(reset, language, code))
        }
        MailKind::PasswordChanged => templates.password_changed_message(&changed_mail(language)),
        MailKind::EmailChanged => templates.email_changed_message(&EmailChangedMail {
            product: "resetd",
            recipient: "ann@example.com",
            nickname: Some("Ann"),
            language,
            changed_at: CHANGED_AT,
        }),
    };
    rendered.expect("renders").into()
}

fn built_in() -> MailTemplates {
    MailTemplates::built_in().expect("the built-in templates load")
}

/// The snapshots under `src/mail/snapshots/` are what readers get: review them when a
/// template changes (`cargo insta review`, or delete the file and rerun with
/// `INSTA_UPDATE=always`).
#[test]
fn every_mail_in_every_language_matches_its_snapshot() {
    let templates = built_in();
    for kind in MailKind::ALL {
        for &language in Language::ALL {
            let mail = render(&templates, kind, language.tag());
            let name = format!("{}.{}", kind.stem(), language.tag());
            insta::with_settings!({ prepend_module_to_snapshot => false, omit_expression => true }, {
                insta::assert_snapshot!(
                    format!("{name}.txt"),
                    format!("Subject: {}\n\n{}", mail.subject, mail.body_text)
                );
                insta::assert_snapshot!(format!("{name}.html"), mail.body_html);
            });
        }
    }
}

/// The list compiled into the binary, the files in `src/mail/templates/` and the names
/// resetd renders are the same set.
#[test]
fn the_built_in_list_matches_the_template_files() {
    let mut used: Vec<String> = MailKind::ALL
        .into_iter()
        .flat_map(|kind| {
            Language::ALL.iter().flat_map(move |&language| {
                Part::ALL
                    .iter()
                    .map(move |part| part.template_name(kind, language))
            })
        })
        .chain(["layout.html.j2".to_owned()])
        .collect();
    used.sort();
    let mut listed: Vec<String> = super::templates::MAIL_TEMPLATES
        .built_in
        .iter()
        .map(|(name, _)| (*name).to_owned())
        .collect();
    listed.sort();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/mail/templates");
    let mut on_disk: Vec<String> = std::fs::read_dir(dir)
        .expect("template dir")
        .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
        .collect();
    on_disk.sort();
    assert_eq!(listed, used);
    assert_eq!(on_disk, used);
}

#[test]
fn the_account_language_picks_the_templates_and_unknown_ones_get_english() {
    let templates = built_in();
    let subject =
        |tag: &str| render(&templates, MailKind::Reset(ResetKind::Cloudreve), tag).subject;
    for tag in ["zh-CN", "zh", "zh-Hans", "zh_CN"] {
        assert_eq!(subject(tag), "重置您的 resetd 密码", "{tag}");
    }
    for tag in ["en-US", "en", "fr-FR", "", "klingon"] {
        assert_eq!(subject(tag), "Reset your resetd password", "{tag:?}");
    }
    let zh = render(&templates, MailKind::PasswordChanged, "zh-CN");
    assert_eq!(zh.subject, "您的 resetd 密码已修改");
    assert!(
        zh.body_html.contains("<html lang=\"zh-CN\">"),
        "{}",
        zh.body_html
    );
    let en = render(&templates, MailKind::PasswordChanged, "de");
    assert!(
        en.body_html.contains("<html lang=\"en\">"),
        "{}",
        en.body_html
    );
}

/// Nicknames and email addresses are the account's (set by whoever created it): in HTML
/// they are text, never markup; the text part shows them as they are.
#[test]
fn html_escapes_the_account_values_and_text_keeps_them() {
    let templates = built_in();
    let nickname = "<img src=x onerror=alert(1)> \"Bob\" & 'Co'";
    let recipient = "o'brien&<b>@example.com";
    let mail = ResetMail {
        nickname: Some(nickname),
        recipient,
        ..reset_mail(ResetKind::Cloudreve, "en", "secret")
    };
    let message = templates.reset_message(&mail).expect("renders");
    let html = &message.body_html;
    assert!(!html.contains("<img"), "{html}");
    assert!(!html.contains("<b>"), "{html}");
    assert!(
        html.contains(
            "Hello &lt;img src=x onerror=alert(1)&gt; &quot;Bob&quot; &amp; &#39;Co&#39;,"
        ),
        "{html}"
    );
    assert!(
        html.contains("(o&#39;brien&amp;&lt;b&gt;@example.com)"),
        "{html}"
    );
    assert!(message.body_text.contains(&format!("Hello {nickname},")));
    assert!(message.body_text.contains(&format!("({recipient})")));

    let changed = PasswordChangedMail {
        nickname: Some(nickname),
        recipient,
        ..changed_mail("zh-CN")
    };
    let message = templates
        .password_changed_message(&changed)
        .expect("renders");
    assert!(!message.body_html.contains("<img"), "{}", message.body_html);
    assert!(
        message.body_html.contains("&lt;img"),
        "{}",
        message.body_html
    );
}

/// The link is a real `<a href>` and also shown as text, with only `&` escaped, so it stays
/// readable (minijinja's own escaper would turn every `/` into `&#x2f;`).
#[test]
fn links_are_anchors_and_visible_text() {
    let message = render(&built_in(), MailKind::Reset(ResetKind::Cloudreve), "en");
    let escaped = CLOUDREVE_LINK.replace('&', "&amp;");
    let html = &message.body_html;
    assert!(html.contains(&format!("<a href=\"{escaped}\"")), "{html}");
    assert_eq!(html.matches(&escaped).count(), 2, "anchor and text: {html}");
    assert!(!html.contains("&#x2f;"), "{html}");
    assert!(!html.contains("<img"), "no images: {html}");
    assert!(message.body_text.contains(&format!("\n{CLOUDREVE_LINK}\n")));
}

#[test]
fn durations_follow_the_configured_lifetime_in_the_mail_language() {
    let templates = built_in();
    let mail = |language, valid_for_secs| {
        let mail = ResetMail {
            valid_for_secs,
            ..reset_mail(ResetKind::Ipcola, language, IPCOLA_CODE)
        };
        templates.reset_message(&mail).expect("renders").body_text
    };
    assert!(mail("en", 5_400).contains("expires in 1 hour and 30 minutes."));
    assert!(mail("zh-CN", 5_400).contains("1 小时 30 分钟内有效。"));
    assert!(mail("en", 86_400).contains("expires in 1 day."));
}

/// The notice carries no secret: its inputs have none, and nothing of a reset mail leaks
/// into it.
#[test]
fn the_password_changed_notice_has_no_link_or_code() {
    let templates = built_in();
    for &language in Language::ALL {
        let mail = render(&templates, MailKind::PasswordChanged, language.tag());
        for part in [&mail.body_text, &mail.body_html] {
            assert!(!part.contains("http"), "{part}");
            assert!(!part.contains("<a "), "{part}");
            assert!(part.contains("2026-03-14 09:26 UTC"), "{part}");
        }
    }
}

fn write(dir: &Path, name: &str, source: &str) {
    std::fs::write(dir.join(name), source).expect("write template");
}

#[test]
fn an_override_replaces_its_template_and_leaves_the_rest() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "cloudreve_reset.en.txt.j2",
        "{{ product }} password help for {{ email }}: {{ link }} ({{ valid_for }})\n",
    );
    // Newlines in a subject template never reach the header.
    write(
        dir.path(),
        "cloudreve_reset.en.subject.j2",
        "Acme:\n  {{ product }}\n\n",
    );
    // Editors' and Kubernetes' hidden entries are skipped.
    write(dir.path(), ".cloudreve_reset.en.txt.j2.swp", "{% broken");
    std::fs::create_dir(dir.path().join("..data")).expect("hidden dir");

    let templates = MailTemplates::load(Some(dir.path())).expect("overrides load");
    assert_eq!(
        templates.overridden().collect::<Vec<_>>(),
        ["cloudreve_reset.en.subject.j2", "cloudreve_reset.en.txt.j2"]
    );
    let stock = built_in();
    let kind = MailKind::Reset(ResetKind::Cloudreve);
    let custom = render(&templates, kind, "en-US");
    let original = render(&stock, kind, "en-US");
    assert_eq!(custom.subject, "Acme: resetd");
    assert_eq!(
        custom.body_text,
        format!("resetd password help for ann@example.com: {CLOUDREVE_LINK} (1 hour)\n")
    );
    // The HTML part is the built-in one, titled with the new subject.
    assert_eq!(
        custom.body_html,
        original
            .body_html
            .replace(&original.subject, "Acme: resetd")
    );
    for (kind, language) in [(kind, "zh-CN"), (MailKind::PasswordChanged, "en")] {
        assert_eq!(
            render(&templates, kind, language),
            render(&stock, kind, language)
        );
    }
    for kind in [
        ResetKind::Ipcola,
        ResetKind::Strapi,
        ResetKind::Selfcommunity,
    ] {
        let kind = MailKind::Reset(kind);
        assert_eq!(render(&templates, kind, "en"), render(&stock, kind, "en"));
    }
}

#[test]
fn an_overridden_layout_frames_every_html_mail() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "layout.html.j2",
        "<html lang=\"{{ lang }}\"><body><h2>ACME</h2>{% block content %}{% endblock %}\
         <footer>{% block footer %}{% endblock %}</footer></body></html>\n",
    );
    let templates = MailTemplates::load(Some(dir.path())).expect("overrides load");
    for kind in MailKind::ALL {
        for &language in Language::ALL {
            let mail = render(&templates, kind, language.tag());
            assert!(
                mail.body_html.contains("<h2>ACME</h2>"),
                "{}",
                mail.body_html
            );
            let stock = render(&built_in(), kind, language.tag());
            assert_eq!(mail.body_text, stock.body_text);
        }
    }
}

/// Loads `dir` expecting a refusal; its message must name `file`.
fn refused(dir: &Path, file: &str) -> TemplateError {
    let err = match MailTemplates::load(Some(dir)) {
        Ok(_) => panic!("{file} was accepted"),
        Err(err) => err,
    };
    let shown = err.to_string();
    assert!(shown.contains(file), "{file} not named in: {shown}");
    assert_eq!(shown.lines().count(), 1, "one line: {shown}");
    err
}

#[test]
fn broken_or_unknown_overrides_are_refused_naming_the_file() {
    let case = |name: &str, source: &str| {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), "strapi_reset.en.txt.j2", "fine: {{ code }}\n");
        write(dir.path(), name, source);
        let path = dir.path().join(name).display().to_string();
        (refused(dir.path(), &path), dir)
    };

    let (err, _dir) = case("cloudreve_reset.en.html.j2", "{% if link %}<a>{{ link }}");
    assert!(
        matches!(
            &err,
            TemplateError::Syntax {
                origin: TemplateOrigin::Override(_),
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("syntax error"), "{err}");

    // Compiles, but prints a variable no mail has.
    let (err, _dir) = case("ipcola_reset.zh-CN.txt.j2", "验证码：{{ vcode }}\n");
    assert!(matches!(&err, TemplateError::Render { .. }), "{err}");
    assert!(err.to_string().contains("undefined"), "{err}");

    // Extends a template that does not exist.
    let (err, _dir) = case("password_changed.en.html.j2", "{% extends \"base.html\" %}");
    assert!(matches!(&err, TemplateError::Render { .. }), "{err}");

    for unknown in [
        "cloudreve_reset.fr.txt.j2",
        "cloudreve_reset.en.txt",
        "README.md",
    ] {
        let (err, _dir) = case(unknown, "Hello\n");
        assert!(matches!(&err, TemplateError::UnknownName { .. }), "{err}");
    }

    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("strapi_reset.en.txt.j2"),
        [0xff, 0xfe, b'x'],
    )
    .expect("write");
    let path = dir.path().join("strapi_reset.en.txt.j2");
    let err = refused(dir.path(), &path.display().to_string());
    assert!(matches!(&err, TemplateError::Read { .. }), "{err}");

    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("strapi_reset.en.txt.j2")).expect("mkdir");
    let path = dir.path().join("strapi_reset.en.txt.j2");
    let err = refused(dir.path(), &path.display().to_string());
    assert!(matches!(&err, TemplateError::NotAFile { .. }), "{err}");

    let missing = Path::new("/nonexistent/resetd-mail-templates");
    let err = refused(missing, "/nonexistent/resetd-mail-templates");
    assert!(err.to_string().contains("mail.templates_dir"), "{err}");
}

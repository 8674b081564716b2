//! The emails resetd sends, rendered from templates: one set per kind of mail and language,
//! each a subject, a text part and an HTML part (sent as multipart/alternative).
//!
//! The built-in templates are the files under `src/mail/templates/`, compiled into the
//! binary; an operator may replace any of them from `mail.templates_dir` (the shared
//! machinery of `crate::templating`). All of them are compiled, and rendered once with sample values, when
//! [`MailTemplates::load`] runs at start, so a broken override stops the start rather than a
//! mail.
//!
//! HTML templates (`*.html.j2`) escape every value they print; subjects and text parts do
//! not. Links come only from the configured public base URL (built by the core).

use std::path::Path;

use minijinja::value::Value;
use minijinja::{context, Environment};

pub use super::email_changed::EmailChangedMail;
use crate::clock::Millis;
use crate::store::NewOutboxMessage;
use crate::templating::{self, Failure, Language, TemplateSet, Templates};
pub use crate::templating::{RenderError, TemplateError, TemplateOrigin};

/// Lists the built-in templates by file name; each is embedded from `templates/`.
macro_rules! built_in {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("templates/", $name)))),*]
    };
}

/// The mail templates: the whole set of names, and so the only names an override may have.
pub(super) static MAIL_TEMPLATES: TemplateSet = TemplateSet {
    noun: "mail template",
    dir_key: "mail.templates_dir",
    example: "src/mail/templates/, e.g. cloudreve_reset.en.html.j2",
    built_in: built_in![
        "layout.html.j2",
        "ipcola_reset.en.subject.j2",
        "ipcola_reset.en.txt.j2",
        "ipcola_reset.en.html.j2",
        "ipcola_reset.zh-CN.subject.j2",
        "ipcola_reset.zh-CN.txt.j2",
        "ipcola_reset.zh-CN.html.j2",
        "strapi_reset.en.subject.j2",
        "strapi_reset.en.txt.j2",
        "strapi_reset.en.html.j2",
        "strapi_reset.zh-CN.subject.j2",
        "strapi_reset.zh-CN.txt.j2",
        "strapi_reset.zh-CN.html.j2",
        "cloudreve_reset.en.subject.j2",
        "cloudreve_reset.en.txt.j2",
        "cloudreve_reset.en.html.j2",
        "cloudreve_reset.zh-CN.subject.j2",
        "cloudreve_reset.zh-CN.txt.j2",
        "cloudreve_reset.zh-CN.html.j2",
        "selfcommunity_reset.en.subject.j2",
        "selfcommunity_reset.en.txt.j2",
        "selfcommunity_reset.en.html.j2",
        "selfcommunity_reset.zh-CN.subject.j2",
        "selfcommunity_reset.zh-CN.txt.j2",
        "selfcommunity_reset.zh-CN.html.j2",
        "password_changed.en.subject.j2",
        "password_changed.en.txt.j2",
        "password_changed.en.html.j2",
        "password_changed.zh-CN.subject.j2",
        "password_changed.zh-CN.txt.j2",
        "password_changed.zh-CN.html.j2",
        "email_changed.en.subject.j2",
        "email_changed.en.txt.j2",
        "email_changed.en.html.j2",
        "email_changed.zh-CN.subject.j2",
        "email_changed.zh-CN.txt.j2",
        "email_changed.zh-CN.html.j2",
    ],
};

/// A product name for rendering templates with sample values (the configured one is
/// `product_name`).
pub const DEFAULT_PRODUCT_NAME: &str = "resetd";

/// Which reset email: each dialect's clients expect their own (a code or a link).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetKind {
    /// A 16-letter verification code.
    Ipcola,
    /// A 128-hex reset code.
    Strapi,
    /// A link to `/session/reset`.
    Cloudreve,
    /// A link to `/account/recover/password`.
    Selfcommunity,
}

impl ResetKind {
    fn has_link(self) -> bool {
        matches!(self, ResetKind::Cloudreve | ResetKind::Selfcommunity)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailKind {
    Reset(ResetKind),
    /// The notice sent after a password was changed.
    PasswordChanged,
    /// The notice sent to an account's old address after an operator changed it.
    EmailChanged,
}

impl MailKind {
    pub const ALL: [MailKind; 6] = [
        MailKind::Reset(ResetKind::Ipcola),
        MailKind::Reset(ResetKind::Strapi),
        MailKind::Reset(ResetKind::Cloudreve),
        MailKind::Reset(ResetKind::Selfcommunity),
        MailKind::PasswordChanged,
        MailKind::EmailChanged,
    ];

    /// The start of its templates' file names.
    pub fn stem(self) -> &'static str {
        match self {
            MailKind::Reset(ResetKind::Ipcola) => "ipcola_reset",
            MailKind::Reset(ResetKind::Strapi) => "strapi_reset",
            MailKind::Reset(ResetKind::Cloudreve) => "cloudreve_reset",
            MailKind::Reset(ResetKind::Selfcommunity) => "selfcommunity_reset",
            MailKind::PasswordChanged => "password_changed",
            MailKind::EmailChanged => "email_changed",
        }
    }
}

/// The three templates of one mail in one language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::VariantArray)]
pub enum Part {
    Subject,
    Text,
    Html,
}

impl Part {
    pub const ALL: &'static [Part] = <Part as strum::VariantArray>::VARIANTS;

    /// The template's file name, e.g. `cloudreve_reset.zh-CN.html.j2`.
    pub fn template_name(self, kind: MailKind, language: Language) -> String {
        let suffix = match self {
            Part::Subject => "subject",
            Part::Text => "txt",
            Part::Html => "html",
        };
        format!("{}.{}.{suffix}.j2", kind.stem(), language.tag())
    }
}

/// A reset email: the code, and the link when the dialect's product has one.
#[derive(Debug, Clone, Copy)]
pub struct ResetMail<'a> {
    pub kind: ResetKind,
    pub product: &'a str,
    pub recipient: &'a str,
    pub nickname: Option<&'a str>,
    /// The account's language tag (`users.language`).
    pub language: &'a str,
    pub code: &'a str,
    pub link: Option<&'a str>,
    pub valid_for_secs: u64,
}

impl ResetMail<'_> {
    fn context(&self, language: Language) -> Value {
        context! {
            product => self.product,
            email => self.recipient,
            nickname => self.nickname,
            lang => language.tag(),
            code => self.code,
            link => self.link,
            valid_for => language.duration(self.valid_for_secs),
            valid_for_secs => self.valid_for_secs,
        }
    }
}

/// The notice sent after a password was changed, so an owner who did not do it notices. It
/// carries no secret.
#[derive(Debug, Clone, Copy)]
pub struct PasswordChangedMail<'a> {
    pub product: &'a str,
    pub recipient: &'a str,
    pub nickname: Option<&'a str>,
    pub language: &'a str,
    pub changed_at: Millis,
}

impl PasswordChangedMail<'_> {
    fn context(&self, language: Language) -> Value {
        context! {
            product => self.product,
            email => self.recipient,
            nickname => self.nickname,
            lang => language.tag(),
            changed_at => language.time(self.changed_at),
        }
    }
}

/// A rendered mail.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rendered {
    subject: String,
    text: String,
    html: String,
}

/// The compiled mail templates: the built-in ones, with the operator's overrides in place.
pub struct MailTemplates {
    templates: Templates,
}

impl MailTemplates {
    /// The built-in templates only.
    pub fn built_in() -> Result<MailTemplates, TemplateError> {
        MailTemplates::load(None)
    }

    /// The built-in templates, each replaced by the file of the same name in `dir` if there
    /// is one; all compiled and rendered once with sample values.
    pub fn load(dir: Option<&Path>) -> Result<MailTemplates, TemplateError> {
        let templates = MailTemplates {
            templates: Templates::load(&MAIL_TEMPLATES, dir)?,
        };
        templates.check_samples()?;
        Ok(templates)
    }

    /// The names of the templates replaced from `mail.templates_dir`.
    pub fn overridden(&self) -> impl Iterator<Item = &str> {
        self.templates.overridden()
    }

    /// The reset email for `mail`, in the account's language.
    pub fn reset_message(&self, mail: &ResetMail<'_>) -> Result<NewOutboxMessage, RenderError> {
        let language = Language::for_tag(mail.language);
        let rendered = self.render(MailKind::Reset(mail.kind), language, mail.context(language))?;
        Ok(outbox_message(mail.recipient, rendered))
    }

    /// The "your password was changed" notice for `mail`, in the account's language.
    pub fn password_changed_message(
        &self,
        mail: &PasswordChangedMail<'_>,
    ) -> Result<NewOutboxMessage, RenderError> {
        let language = Language::for_tag(mail.language);
        let rendered = self.render(MailKind::PasswordChanged, language, mail.context(language))?;
        Ok(outbox_message(mail.recipient, rendered))
    }

    /// The "your account's email was changed" notice for `mail`, in the account's language.
    pub fn email_changed_message(
        &self,
        mail: &EmailChangedMail<'_>,
    ) -> Result<NewOutboxMessage, RenderError> {
        let language = Language::for_tag(mail.language);
        let rendered = self.render(MailKind::EmailChanged, language, mail.context(language))?;
        Ok(outbox_message(mail.recipient, rendered))
    }

    /// Renders one mail with the active templates, else (an override failed) the built-in
    /// ones.
    fn render(
        &self,
        kind: MailKind,
        language: Language,
        context: Value,
    ) -> Result<Rendered, RenderError> {
        self.templates
            .render(|env| render_with(env, kind, language, context.clone()))
    }

    /// Renders every mail in every language with sample values (with and without a
    /// nickname), so that what compiles but cannot render stops the start.
    fn check_samples(&self) -> Result<(), TemplateError> {
        const SAMPLE_LINK: &str = "https://accounts.example.com/reset?code=sample";
        for kind in MailKind::ALL {
            for &language in Language::ALL {
                for nickname in [Some("Sample"), None] {
                    let context = match kind {
                        MailKind::Reset(reset) => ResetMail {
                            kind: reset,
                            product: DEFAULT_PRODUCT_NAME,
                            recipient: "someone@example.com",
                            nickname,
                            language: language.tag(),
                            code: "samplecode",
                            link: reset.has_link().then_some(SAMPLE_LINK),
                            valid_for_secs: 3_600,
                        }
                        .context(language),
                        MailKind::PasswordChanged => PasswordChangedMail {
                            product: DEFAULT_PRODUCT_NAME,
                            recipient: "someone@example.com",
                            nickname,
                            language: language.tag(),
                            changed_at: 0,
                        }
                        .context(language),
                        MailKind::EmailChanged => EmailChangedMail {
                            product: DEFAULT_PRODUCT_NAME,
                            recipient: "someone@example.com",
                            nickname,
                            language: language.tag(),
                            changed_at: 0,
                        }
                        .context(language),
                    };
                    self.templates
                        .check(|env| render_with(env, kind, language, context))?;
                }
            }
        }
        Ok(())
    }
}

fn outbox_message(recipient: &str, rendered: Rendered) -> NewOutboxMessage {
    NewOutboxMessage {
        recipient: recipient.to_owned(),
        subject: rendered.subject,
        body_text: rendered.text,
        body_html: rendered.html,
    }
}

/// The subject first (on one line, whatever the template's whitespace), then the text and
/// HTML parts, which may print it as `subject`.
fn render_with(
    env: &Environment<'static>,
    kind: MailKind,
    language: Language,
    context: Value,
) -> Result<Rendered, Failure> {
    let render = |part: Part, context: Value| {
        templating::render(env, &part.template_name(kind, language), context)
    };
    let subject = render(Part::Subject, context.clone())?;
    let subject = subject.split_whitespace().collect::<Vec<_>>().join(" ");
    let context = context! { subject => subject.as_str(), ..context };
    let text = render(Part::Text, context.clone())?;
    let html = render(Part::Html, context)?;
    Ok(Rendered {
        subject,
        text,
        html,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An override that fails only for some values passes the start-up check. The mail it
    /// fails goes out from the built-in templates, and the error names the template but
    /// not the code the engine's own message quotes.
    #[test]
    fn a_failing_override_falls_back_to_the_built_in_mail_and_names_no_secret() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("strapi_reset.en.txt.j2"),
            "{% if nickname == \"Mallory\" %}{% include code %}{% endif %}Code: {{ code }}\n",
        )
        .expect("write");
        let templates = MailTemplates::load(Some(dir.path())).expect("passes the check");
        let code = "5ec7e7c0de5ec7e7c0de5ec7e7c0de";
        let mail = ResetMail {
            kind: ResetKind::Strapi,
            product: DEFAULT_PRODUCT_NAME,
            recipient: "m@example.com",
            nickname: Some("Mallory"),
            language: "en",
            code,
            link: None,
            valid_for_secs: 3_600,
        };

        let kind = MailKind::Reset(ResetKind::Strapi);
        let context = mail.context(Language::English);
        let Err(failure) = render_with(
            templates.templates.active(),
            kind,
            Language::English,
            context,
        ) else {
            panic!("the override rendered");
        };
        assert!(
            failure.error.to_string().contains(code),
            "the engine quotes it"
        );
        // Rendered through a set without overrides, so that nothing falls back.
        let error = MailTemplates::built_in()
            .expect("built in")
            .templates
            .render(|_| {
                render_with(
                    templates.templates.active(),
                    kind,
                    Language::English,
                    mail.context(Language::English),
                )
            })
            .expect_err("fails");
        assert!(!error.to_string().contains(code), "{error}");
        assert!(!format!("{error:?}").contains(code), "{error:?}");
        assert_eq!(
            error.to_string(),
            "mail template strapi_reset.en.txt.j2 failed to render: template not found (line 1)"
        );

        let sent = templates.reset_message(&mail).expect("falls back");
        let stock = MailTemplates::built_in()
            .expect("built in")
            .reset_message(&mail)
            .expect("renders");
        assert_eq!(
            (sent.subject, sent.body_text, sent.body_html),
            (stock.subject, stock.body_text, stock.body_html)
        );
        let other = ResetMail {
            nickname: Some("Ann"),
            ..mail
        };
        let sent = templates.reset_message(&other).expect("renders");
        assert_eq!(sent.body_text, format!("Code: {code}\n"));
    }
}

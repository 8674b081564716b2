//! The emails resetd sends, rendered from templates: one set per kind of mail and language,
//! each a subject, a text part and an HTML part (sent as multipart/alternative).
//!
//! The built-in templates are the files under `src/mail/templates/`, compiled into the
//! binary; an operator may replace any of them from `mail.templates_dir`
//! (`template_source`). All of them are compiled, and rendered once with sample values, when
//! [`MailTemplates::load`] runs at start, so a broken override stops the start rather than a
//! mail.
//!
//! HTML templates (`*.html.j2`) escape every value they print; subjects and text parts do
//! not. Links come only from the configured public base URL (built by the core).

use std::fmt;
use std::path::{Path, PathBuf};

use minijinja::syntax::SyntaxConfig;
use minijinja::value::Value;
use minijinja::{context, AutoEscape, Environment, Output, State, UndefinedBehavior};

pub use super::email_changed::EmailChangedMail;
use super::language::Language;
use super::template_source::{self, OverrideFile};
use crate::clock::Millis;
use crate::store::NewOutboxMessage;

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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Subject,
    Text,
    Html,
}

impl Part {
    pub const ALL: [Part; 3] = [Part::Subject, Part::Text, Part::Html];

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

/// Where a template came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateOrigin {
    BuiltIn(String),
    Override(PathBuf),
}

impl fmt::Display for TemplateOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TemplateOrigin::BuiltIn(name) => write!(f, "built-in mail template {name}"),
            TemplateOrigin::Override(path) => write!(f, "mail template {}", path.display()),
        }
    }
}

/// Why the templates could not be loaded; stops the start. Messages name the file.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("mail.templates_dir {}: cannot read the directory: {source}", dir.display())]
    ReadDir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "mail template {}: not a template name resetd knows (the names are those of \
         src/mail/templates/, e.g. cloudreve_reset.en.html.j2)",
        path.display()
    )]
    UnknownName { path: PathBuf },
    #[error("mail template {}: not a regular file", path.display())]
    NotAFile { path: PathBuf },
    #[error("mail template {}: cannot read it: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{origin}: syntax error: {message}")]
    Syntax {
        origin: TemplateOrigin,
        message: String,
    },
    /// Rendering with sample values failed (an unknown variable, a missing include...).
    #[error("{origin}: does not render with sample values: {message}")]
    Render {
        origin: TemplateOrigin,
        message: String,
    },
}

/// A template that failed while composing a real mail. It names the template and the kind
/// of failure only: the engine's own message may quote values, and those include the reset
/// code or link.
#[derive(Debug, thiserror::Error)]
#[error("mail template {template} failed to render: {kind} (line {line})")]
pub struct RenderError {
    template: String,
    kind: minijinja::ErrorKind,
    line: usize,
}

impl RenderError {
    fn new(rendering: &str, error: &minijinja::Error) -> Self {
        RenderError {
            // The template the failure is in: the one rendered, or one it extends.
            template: error.name().unwrap_or(rendering).to_owned(),
            kind: error.kind(),
            line: error.line().unwrap_or(0),
        }
    }
}

/// A rendering failure with everything the engine says: only for sample values.
struct Failure {
    template: String,
    error: minijinja::Error,
}

/// A rendered mail.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rendered {
    subject: String,
    text: String,
    html: String,
}

/// The compiled templates: the built-in ones, with the operator's overrides in place.
pub struct MailTemplates {
    active: Environment<'static>,
    /// The built-in templates alone, kept when `active` holds overrides: used for a mail an
    /// override fails to render (with values the start-up check did not try), so the mail
    /// still goes out.
    built_in: Option<Environment<'static>>,
    overridden: Vec<OverrideFile>,
}

impl MailTemplates {
    /// The built-in templates only.
    pub fn built_in() -> Result<MailTemplates, TemplateError> {
        MailTemplates::load(None)
    }

    /// The built-in templates, each replaced by the file of the same name in `dir` if there
    /// is one; all compiled and rendered once with sample values.
    pub fn load(dir: Option<&Path>) -> Result<MailTemplates, TemplateError> {
        let built_in = built_in_environment()?;
        let overridden = match dir {
            Some(dir) => template_source::read_override_dir(dir)?,
            None => Vec::new(),
        };
        let templates = if overridden.is_empty() {
            MailTemplates {
                active: built_in,
                built_in: None,
                overridden,
            }
        } else {
            let mut active = built_in.clone();
            for file in &overridden {
                active
                    .add_template_owned(file.name.clone(), file.source.clone())
                    .map_err(|error| TemplateError::Syntax {
                        origin: TemplateOrigin::Override(file.path.clone()),
                        message: error.to_string(),
                    })?;
            }
            MailTemplates {
                active,
                built_in: Some(built_in),
                overridden,
            }
        };
        templates.check_samples()?;
        Ok(templates)
    }

    /// The names of the templates replaced from `mail.templates_dir`.
    pub fn overridden(&self) -> impl Iterator<Item = &str> {
        self.overridden.iter().map(|file| file.name.as_str())
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
        let failure = match render_with(&self.active, kind, language, context.clone()) {
            Ok(rendered) => return Ok(rendered),
            Err(failure) => RenderError::new(&failure.template, &failure.error),
        };
        let Some(built_in) = &self.built_in else {
            return Err(failure);
        };
        tracing::error!(
            error = %failure,
            "an overridden mail template failed; this mail uses the built-in templates"
        );
        render_with(built_in, kind, language, context)
            .map_err(|failure| RenderError::new(&failure.template, &failure.error))
    }

    /// Renders every mail in every language with sample values (with and without a
    /// nickname), so that what compiles but cannot render stops the start.
    fn check_samples(&self) -> Result<(), TemplateError> {
        const SAMPLE_LINK: &str = "https://accounts.example.com/reset?code=sample";
        for kind in MailKind::ALL {
            for language in Language::ALL {
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
                    render_with(&self.active, kind, language, context).map_err(|failure| {
                        TemplateError::Render {
                            origin: self.origin(&failure.template),
                            message: failure.error.to_string(),
                        }
                    })?;
                }
            }
        }
        Ok(())
    }

    fn origin(&self, name: &str) -> TemplateOrigin {
        match self.overridden.iter().find(|file| file.name == name) {
            Some(file) => TemplateOrigin::Override(file.path.clone()),
            None => TemplateOrigin::BuiltIn(name.to_owned()),
        }
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
        let template = part.template_name(kind, language);
        env.get_template(&template)
            .and_then(|t| t.render(context))
            .map_err(|error| Failure { template, error })
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

/// An engine holding the built-in templates.
fn built_in_environment() -> Result<Environment<'static>, TemplateError> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html.j2") {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    // Printing an unknown variable (a typo) fails, and so fails the start-up check; `{% if
    // name %}` on one is false.
    env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
    // A file's last newline is part of the mail. (The default delimiters always build.)
    env.set_syntax(
        SyntaxConfig::builder()
            .keep_trailing_newline(true)
            .build()
            .unwrap_or_default(),
    );
    env.set_formatter(format_value);
    for (name, source) in template_source::BUILT_IN {
        env.add_template(name, source)
            .map_err(|error| TemplateError::Syntax {
                origin: TemplateOrigin::BuiltIn((*name).to_owned()),
                message: error.to_string(),
            })?;
    }
    Ok(env)
}

/// Prints a value. Strings in HTML are escaped as element text and quoted attribute values
/// need (`& < > " '`); minijinja's own escaper also turns every `/` into `&#x2f;`, which
/// leaves links unreadable in the HTML source. Everything else is minijinja's default.
fn format_value(
    out: &mut Output<'_>,
    state: &mut State<'_, '_>,
    value: &Value,
) -> Result<(), minijinja::Error> {
    match (state.auto_escape(), value.as_str()) {
        (AutoEscape::Html, Some(text)) if !value.is_safe() => out
            .write_str(&crate::html::escape(text))
            .map_err(minijinja::Error::from),
        _ => minijinja::escape_formatter(out, state, value),
    }
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
        let Err(failure) = render_with(&templates.active, kind, Language::English, context) else {
            panic!("the override rendered");
        };
        assert!(
            failure.error.to_string().contains(code),
            "the engine quotes it"
        );
        let error = RenderError::new(&failure.template, &failure.error);
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

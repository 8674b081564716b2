//! One set of templates compiled: the built-in files with the operator's overrides in place,
//! the errors that stop a start (each naming the file), and rendering that falls back to
//! the built-in templates when an override fails on values the start-up check did not try.

use std::fmt;
use std::path::{Path, PathBuf};

use minijinja::syntax::SyntaxConfig;
use minijinja::value::Value;
use minijinja::{AutoEscape, Environment, Output, State, UndefinedBehavior};

use super::source::{self, OverrideFile, TemplateSet};

/// Where a template came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateOrigin {
    BuiltIn(String),
    Override(PathBuf),
}

/// A template's origin as a message names it: `built-in mail template layout.html.j2`,
/// `page template /etc/resetd/pages/form.en.html.j2`.
struct Named<'a>(&'a TemplateSet, &'a TemplateOrigin);

impl fmt::Display for Named<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.1 {
            TemplateOrigin::BuiltIn(name) => write!(f, "built-in {} {name}", self.0.noun),
            TemplateOrigin::Override(path) => write!(f, "{} {}", self.0.noun, path.display()),
        }
    }
}

/// Why a set of templates could not be loaded; stops the start. Messages name the file.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("{} {}: cannot read the directory: {source}", set.dir_key, dir.display())]
    ReadDir {
        set: &'static TemplateSet,
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{} {}: not a template name resetd knows (the names are those of {})",
        set.noun, path.display(), set.example
    )]
    UnknownName {
        set: &'static TemplateSet,
        path: PathBuf,
    },
    #[error("{} {}: not a regular file", set.noun, path.display())]
    NotAFile {
        set: &'static TemplateSet,
        path: PathBuf,
    },
    #[error("{} {}: cannot read it: {source}", set.noun, path.display())]
    Read {
        set: &'static TemplateSet,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: syntax error: {message}", Named(set, origin))]
    Syntax {
        set: &'static TemplateSet,
        origin: TemplateOrigin,
        message: String,
    },
    /// Rendering with sample values failed (an unknown variable, a missing include...).
    #[error(
        "{}: does not render with sample values: {message}",
        Named(set, origin)
    )]
    Render {
        set: &'static TemplateSet,
        origin: TemplateOrigin,
        message: String,
    },
    /// It renders, but not into what its reader needs (a page without its messages...).
    #[error("{}: {message}", Named(set, origin))]
    Invalid {
        set: &'static TemplateSet,
        origin: TemplateOrigin,
        message: String,
    },
}

/// A template that failed while rendering real values. It names the template and the kind
/// of failure only: the engine's own message may quote values, and those include secrets
/// (a reset code, a link).
#[derive(Debug, thiserror::Error)]
#[error("{noun} {template} failed to render: {kind} (line {line})")]
pub struct RenderError {
    noun: &'static str,
    template: String,
    kind: minijinja::ErrorKind,
    line: usize,
}

impl RenderError {
    fn new(set: &TemplateSet, failure: &Failure) -> Self {
        RenderError {
            noun: set.noun,
            // The template the failure is in: the one rendered, or one it extends.
            template: failure.error.name().unwrap_or(&failure.template).to_owned(),
            kind: failure.error.kind(),
            line: failure.error.line().unwrap_or(0),
        }
    }
}

/// A rendering failure with everything the engine says: shown only for sample values.
pub struct Failure {
    /// The template that was being rendered.
    pub template: String,
    pub error: minijinja::Error,
}

/// Renders `name` in `env` with `context`.
pub fn render(env: &Environment<'static>, name: &str, context: Value) -> Result<String, Failure> {
    env.get_template(name)
        .and_then(|t| t.render(context))
        .map_err(|error| Failure {
            template: name.to_owned(),
            error,
        })
}

/// A set compiled: the built-in templates, with the operator's overrides in place.
pub struct Templates {
    set: &'static TemplateSet,
    active: Environment<'static>,
    /// The built-in templates alone, kept when `active` holds overrides: used for what an
    /// override fails to render, so that it still goes out.
    built_in: Option<Environment<'static>>,
    overridden: Vec<OverrideFile>,
}

impl Templates {
    /// The built-in templates of `set`, each replaced by the file of the same name in `dir`
    /// if there is one; all compiled. Rendering them with sample values is the caller's
    /// check ([`Templates::check`]), as only it knows the values.
    pub fn load(set: &'static TemplateSet, dir: Option<&Path>) -> Result<Templates, TemplateError> {
        let built_in = environment(set)?;
        let overridden = match dir {
            Some(dir) => source::read_override_dir(set, dir)?,
            None => Vec::new(),
        };
        if overridden.is_empty() {
            return Ok(Templates {
                set,
                active: built_in,
                built_in: None,
                overridden,
            });
        }
        let mut active = built_in.clone();
        for file in &overridden {
            active
                .add_template_owned(file.name.clone(), file.source.clone())
                .map_err(|error| TemplateError::Syntax {
                    set,
                    origin: TemplateOrigin::Override(file.path.clone()),
                    message: error.to_string(),
                })?;
        }
        Ok(Templates {
            set,
            active,
            built_in: Some(built_in),
            overridden,
        })
    }

    /// The names of the templates replaced from the override directory.
    pub fn overridden(&self) -> impl Iterator<Item = &str> {
        self.overridden.iter().map(|file| file.name.as_str())
    }

    /// The templates in use.
    pub fn active(&self) -> &Environment<'static> {
        &self.active
    }

    /// `rendering` with the active templates, else (an override failed) with the built-in
    /// ones, after logging which template failed.
    pub fn render<T>(
        &self,
        rendering: impl Fn(&Environment<'static>) -> Result<T, Failure>,
    ) -> Result<T, RenderError> {
        let failure = match rendering(&self.active) {
            Ok(rendered) => return Ok(rendered),
            Err(failure) => RenderError::new(self.set, &failure),
        };
        let Some(built_in) = &self.built_in else {
            return Err(failure);
        };
        tracing::error!(
            error = %failure,
            "an overridden {} failed; the built-in templates are used instead",
            self.set.noun
        );
        rendering(built_in).map_err(|failure| RenderError::new(self.set, &failure))
    }

    /// `rendering` with sample values and the active templates, at start: a failure is an
    /// error naming the file, with everything the engine says.
    pub fn check<T>(
        &self,
        rendering: impl FnOnce(&Environment<'static>) -> Result<T, Failure>,
    ) -> Result<T, TemplateError> {
        rendering(&self.active).map_err(|failure| TemplateError::Render {
            set: self.set,
            origin: self.origin(&failure.template),
            message: failure.error.to_string(),
        })
    }

    /// The error for template `name`, which rendered but not into what is needed.
    pub fn invalid(&self, name: &str, message: String) -> TemplateError {
        TemplateError::Invalid {
            set: self.set,
            origin: self.origin(name),
            message,
        }
    }

    fn origin(&self, name: &str) -> TemplateOrigin {
        match self.overridden.iter().find(|file| file.name == name) {
            Some(file) => TemplateOrigin::Override(file.path.clone()),
            None => TemplateOrigin::BuiltIn(name.to_owned()),
        }
    }
}

/// An engine holding the built-in templates of `set`.
fn environment(set: &'static TemplateSet) -> Result<Environment<'static>, TemplateError> {
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
    // A file's last newline is part of the output. (The default delimiters always build.)
    env.set_syntax(
        SyntaxConfig::builder()
            .keep_trailing_newline(true)
            .build()
            .unwrap_or_default(),
    );
    env.set_formatter(format_value);
    for (name, source) in set.built_in {
        env.add_template(name, source)
            .map_err(|error| TemplateError::Syntax {
                set,
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

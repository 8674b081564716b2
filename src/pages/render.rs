//! The pages' HTML, rendered from the page templates (`templates/`, overridable from
//! `pages.templates_dir`) in the reader's language. Values from outside are escaped by the
//! templates; the script and style sheet are inlined byte for byte.

use minijinja::value::Value;
use minijinja::{context, Environment};

use crate::reset::Dialect;
use crate::templating::{self, Failure, Language, RenderError, TemplateSet, Templates};

use super::link::ResetLink;

/// The form's script and the pages' style sheet, inlined byte for byte: the
/// Content-Security-Policy allows exactly these by their hashes (`headers.rs`). They are not
/// templates: an operator who could change them would have to change the policy too.
pub const SCRIPT: &str = include_str!("assets/reset.js");
pub const STYLE: &str = include_str!("assets/reset.css");

/// Lists the built-in templates by file name; each is embedded from `templates/`.
macro_rules! built_in {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("templates/", $name)))),*]
    };
}

/// The page templates: the whole set of names, and so the only names an override may have.
pub static PAGE_TEMPLATES: TemplateSet = TemplateSet {
    noun: "page template",
    dir_key: "pages.templates_dir",
    example: "src/pages/templates/, e.g. form.zh-CN.html.j2",
    built_in: built_in![
        "layout.html.j2",
        "form.en.html.j2",
        "form.zh-CN.html.j2",
        "incomplete.en.html.j2",
        "incomplete.zh-CN.html.j2",
        "unavailable.en.html.j2",
        "unavailable.zh-CN.html.j2",
    ],
};

/// The three pages a link can open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::VariantArray)]
pub enum Page {
    /// The new-password form, for a complete link.
    Form,
    /// For a link that lacks part of its query.
    Incomplete,
    /// For a link of a dialect this server has switched off.
    Unavailable,
}

impl Page {
    pub const ALL: &'static [Page] = <Page as strum::VariantArray>::VARIANTS;

    /// The template's file name, e.g. `form.zh-CN.html.j2`.
    pub fn template_name(self, language: Language) -> String {
        let stem = match self {
            Page::Form => "form",
            Page::Incomplete => "incomplete",
            Page::Unavailable => "unavailable",
        };
        format!("{stem}.{}.html.j2", language.tag())
    }
}

/// What one page shows: its product and language, and for the form, the link.
#[derive(Debug, Clone, Copy)]
pub struct PageView<'a> {
    pub product: &'a str,
    pub language: Language,
    pub link: Option<&'a ResetLink>,
}

impl PageView<'_> {
    fn page(&self) -> Page {
        if self.link.is_some() {
            Page::Form
        } else {
            Page::Incomplete
        }
    }

    /// The values a page's template gets. The form's also get the dialect's password rule,
    /// so that the page can say "too short" itself (the API's own answer to a length outside
    /// its schema is a parser's message, not a sentence for a person), and `form_data`: the
    /// form element's `data-` attributes, escaped here, that the script reads.
    fn context(&self) -> Value {
        let common = context! {
            product => self.product,
            lang => self.language.tag(),
            style => Value::from_safe_string(STYLE.to_owned()),
        };
        let Some(link) = self.link else {
            return common;
        };
        let dialect = link_dialect(link);
        let policy = dialect.password_policy();
        let mut data = vec![
            ("dialect", dialect.as_str().to_owned()),
            ("min-chars", policy.min_chars.to_string()),
            ("max-chars", policy.max_chars.to_string()),
        ];
        match link {
            ResetLink::Cloudreve { user_id, secret } => {
                data.push(("user-id", user_id.clone()));
                data.push(("secret", secret.clone()));
            }
            ResetLink::Selfcommunity { validation_code } => {
                data.push(("validation-code", validation_code.clone()));
            }
        }
        let form_data = data
            .iter()
            .map(|(name, value)| format!("data-{name}=\"{}\"", crate::html::escape(value)))
            .collect::<Vec<_>>()
            .join(" ");
        context! {
            script => Value::from_safe_string(SCRIPT.to_owned()),
            form_data => Value::from_safe_string(form_data),
            min_chars => policy.min_chars,
            max_chars => policy.max_chars,
            min_classes => policy.min_classes,
            ..common
        }
    }
}

fn link_dialect(link: &ResetLink) -> Dialect {
    match link {
        ResetLink::Cloudreve { .. } => Dialect::Cloudreve,
        ResetLink::Selfcommunity { .. } => Dialect::Selfcommunity,
    }
}

/// Renders `page` for `view` in `env`.
pub(super) fn render_with(
    env: &Environment<'static>,
    page: Page,
    view: &PageView<'_>,
) -> Result<String, Failure> {
    templating::render(env, &page.template_name(view.language), view.context())
}

/// The form for a complete link, else the page saying the link is incomplete.
pub fn link_page(templates: &Templates, view: &PageView<'_>) -> Result<String, RenderError> {
    templates.render(|env| render_with(env, view.page(), view))
}

/// The page for a link of a dialect this server has switched off.
pub fn unavailable_page(
    templates: &Templates,
    product: &str,
    language: Language,
) -> Result<String, RenderError> {
    let view = PageView {
        product,
        language,
        link: None,
    };
    templates.render(|env| render_with(env, Page::Unavailable, &view))
}

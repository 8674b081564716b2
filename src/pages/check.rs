//! Loading the page templates at start: each page in each language is rendered with sample
//! values and must still be a page the script and the Content-Security-Policy work with, so
//! that a broken override stops the start, naming its file, rather than a reader's reset.

use std::path::Path;

use crate::templating::{Language, TemplateError, Templates};

use super::link::ResetLink;
use super::render::{self, Page, PageView, PAGE_TEMPLATES, SCRIPT, STYLE};

/// The messages `reset.js` reads from the form's JSON block, by key.
pub const MESSAGE_KEYS: [&str; 15] = [
    "empty",
    "too_short",
    "too_long",
    "mismatch",
    "pending",
    "rejected",
    "rejected_no_reason",
    "done_heading",
    "success",
    "expired",
    "account",
    "throttled",
    "unavailable",
    "server",
    "network",
];

/// The elements `reset.js` finds by id on the form page.
const FORM_IDS: [&str; 6] = [
    "reset-form",
    "password",
    "confirm",
    "show",
    "status",
    "rules",
];

/// The element the form's messages travel in: JSON, which the browser never runs, so the
/// policy needs no hash for it.
pub const MESSAGES_OPEN: &str = "<script type=\"application/json\" id=\"reset-messages\">";

/// The built-in page templates, each replaced by the file of the same name in `dir` if there
/// is one; every page checked in every language.
pub fn load(dir: Option<&Path>) -> Result<Templates, TemplateError> {
    let templates = Templates::load(&PAGE_TEMPLATES, dir)?;
    let links = [
        ResetLink::Cloudreve {
            user_id: "sample".to_owned(),
            secret: "sample".to_owned(),
        },
        ResetLink::Selfcommunity {
            validation_code: "sample".to_owned(),
        },
    ];
    for &language in Language::ALL {
        for &page in Page::ALL {
            let page_links: Vec<Option<&ResetLink>> = match page {
                Page::Form => links.iter().map(Some).collect(),
                Page::Incomplete | Page::Unavailable => vec![None],
            };
            for link in page_links {
                let view = PageView {
                    product: "resetd",
                    language,
                    link,
                };
                let html = templates.check(|env| render::render_with(env, page, &view))?;
                check_page(&templates, page, language, &html)?;
            }
        }
    }
    Ok(templates)
}

/// What a rendered page must hold; the error names the template at fault.
fn check_page(
    templates: &Templates,
    page: Page,
    language: Language,
    html: &str,
) -> Result<(), TemplateError> {
    let layout = "layout.html.j2";
    let name = page.template_name(language);
    if !html.contains(&format!("<style>{STYLE}</style>")) {
        return Err(templates.invalid(
            layout,
            "lost the style sheet (`<style>{{ style }}</style>`)".to_owned(),
        ));
    }
    let script = format!("<script>{SCRIPT}</script>");
    if page != Page::Form {
        if html.contains("<script") {
            return Err(
                templates.invalid(&name, "has a script, which only the form may".to_owned())
            );
        }
        return Ok(());
    }
    if html.matches(&script).count() != 1 || html.matches("<script>").count() != 1 {
        return Err(templates.invalid(
            layout,
            "must inline the form's script once and no other (`{% if script %}<script>{{ script }}</script>{% endif %}`)"
                .to_owned(),
        ));
    }
    for id in FORM_IDS {
        if !html.contains(&format!("id=\"{id}\"")) {
            return Err(templates.invalid(
                &name,
                format!("has no element with id=\"{id}\", which the script needs"),
            ));
        }
    }
    check_messages(html).map_err(|problem| templates.invalid(&name, problem))
}

/// The form's messages block: JSON, an object with a string for each of [`MESSAGE_KEYS`].
fn check_messages(html: &str) -> Result<(), String> {
    let start = html.find(MESSAGES_OPEN).ok_or_else(|| {
        format!("has no messages block ({MESSAGES_OPEN}{{{{ messages|tojson }}}}</script>)")
    })? + MESSAGES_OPEN.len();
    let len = html[start..]
        .find("</script>")
        .ok_or("the messages block is not closed")?;
    let messages: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&html[start..start + len])
            .map_err(|err| format!("the messages block is not a JSON object: {err}"))?;
    match MESSAGE_KEYS.iter().find(|key| {
        !messages
            .get(**key)
            .is_some_and(serde_json::Value::is_string)
    }) {
        Some(key) => Err(format!("the messages block has no text for \"{key}\"")),
        None => Ok(()),
    }
}

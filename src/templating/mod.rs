//! Templates and languages, shared by the emails (`mail`) and the reset pages (`pages`):
//! minijinja set up the same way for both, the built-in files of each set overridable file
//! by file from a configured directory and all checked at start, and how a language is
//! chosen.

mod engine;
pub mod language;
mod source;

pub use engine::{render, Failure, RenderError, TemplateError, TemplateOrigin, Templates};
pub use language::Language;
pub use source::TemplateSet;

//! `[pages]`: the reset pages emailed links open, and the templates they are written with.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PagesConfig {
    /// A directory of reset-page templates replacing the built-in ones file by file (same
    /// names as `src/pages/templates/`, e.g. `form.zh-CN.html.j2`). Every file is compiled
    /// and tried at start; an unknown name or a broken template stops the start. Unset: the
    /// built-in templates.
    pub templates_dir: Option<PathBuf>,
}

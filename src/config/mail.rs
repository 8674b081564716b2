//! `[mail]`: where mail goes, from whom, and the templates it is written with.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Secret;

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct MailConfig {
    /// `file://DIR`, `smtp://host:port[?tls=required|opportunistic]`, `smtps://host:port`.
    pub url: Secret,
    /// Sender of every email, as `Name <address>` or a bare address.
    pub from: String,
    /// A directory of mail templates replacing the built-in ones file by file (same names as
    /// `src/mail/templates/`, e.g. `cloudreve_reset.zh-CN.html.j2`). Every file is compiled
    /// and tried at start; an unknown name or a broken template stops the start. Unset: the
    /// built-in templates.
    pub templates_dir: Option<PathBuf>,
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            url: Secret::new("file://mail-out"),
            from: "resetd <no-reply@localhost>".to_owned(),
            templates_dir: None,
        }
    }
}

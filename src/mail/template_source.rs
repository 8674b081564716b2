//! Where mail templates come from: the files under `src/mail/templates/`, compiled into the
//! binary, and the operator's directory (`mail.templates_dir`), whose files replace them one
//! by one.

use std::path::{Path, PathBuf};

use super::templates::TemplateError;

/// Lists the built-in templates by file name; each is embedded from `templates/`.
macro_rules! built_in {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("templates/", $name)))),*]
    };
}

/// Every built-in template: (file name, source). The names are the whole set of templates
/// resetd renders, and so the only names an override may have.
pub(super) const BUILT_IN: &[(&str, &str)] = built_in![
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
];

pub(super) fn is_built_in(name: &str) -> bool {
    BUILT_IN.iter().any(|(known, _)| *known == name)
}

/// One file of the operator's directory.
#[derive(Debug)]
pub(super) struct OverrideFile {
    /// The template it replaces.
    pub name: String,
    pub path: PathBuf,
    pub source: String,
}

/// Reads every entry of `dir`, in name order. Each must be a readable UTF-8 file named like
/// a built-in template: anything else is refused, so that a misspelt name cannot silently
/// leave the built-in template in use. Hidden entries (`.name`: editors' swap files, the
/// `..data` links of a mounted Kubernetes ConfigMap) are skipped.
pub(super) fn read_override_dir(dir: &Path) -> Result<Vec<OverrideFile>, TemplateError> {
    let read_dir = |source| TemplateError::ReadDir {
        dir: dir.to_path_buf(),
        source,
    };
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_dir)? {
        paths.push(entry.map_err(read_dir)?.path());
    }
    paths.sort();
    let mut files = Vec::with_capacity(paths.len());
    for path in paths {
        let name = match path.file_name().and_then(|n| n.to_str()) {
            Some(hidden) if hidden.starts_with('.') => continue,
            Some(name) if is_built_in(name) => name.to_owned(),
            _ => return Err(TemplateError::UnknownName { path }),
        };
        // Follows symbolic links, as operators deploy files that way (e.g. Kubernetes
        // ConfigMaps).
        if !path.is_file() {
            return Err(TemplateError::NotAFile { path });
        }
        let source = match std::fs::read_to_string(&path) {
            Ok(source) => source,
            Err(source) => return Err(TemplateError::Read { path, source }),
        };
        files.push(OverrideFile { name, path, source });
    }
    Ok(files)
}

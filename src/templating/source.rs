//! Where templates come from: a set's built-in files, compiled into the binary, and the
//! operator's directory (`mail.templates_dir`, `pages.templates_dir`), whose files replace
//! them one by one.

use std::path::{Path, PathBuf};

use super::engine::TemplateError;

/// One family of templates: what it is called in messages, where operators override it, and
/// its built-in files.
#[derive(Debug)]
pub struct TemplateSet {
    /// How one of its templates is named in messages: `mail template`.
    pub noun: &'static str,
    /// The configuration key of the override directory: `mail.templates_dir`.
    pub dir_key: &'static str,
    /// Where the built-in files are, with an example name, for the unknown-name message.
    pub example: &'static str,
    /// Every built-in template: (file name, source). The names are the whole set of
    /// templates rendered, and so the only names an override may have.
    pub built_in: &'static [(&'static str, &'static str)],
}

impl TemplateSet {
    pub fn is_built_in(&self, name: &str) -> bool {
        self.built_in.iter().any(|(known, _)| *known == name)
    }
}

/// One file of the operator's directory.
#[derive(Debug)]
pub struct OverrideFile {
    /// The template it replaces.
    pub name: String,
    pub path: PathBuf,
    pub source: String,
}

/// Reads every entry of `dir`, in name order. Each must be a readable UTF-8 file named like
/// a built-in template of `set`: anything else is refused, so that a misspelt name cannot
/// silently leave the built-in template in use. Hidden entries (`.name`: editors' swap
/// files, the `..data` links of a mounted Kubernetes ConfigMap) are skipped.
pub(super) fn read_override_dir(
    set: &'static TemplateSet,
    dir: &Path,
) -> Result<Vec<OverrideFile>, TemplateError> {
    let read_dir = |source| TemplateError::ReadDir {
        set,
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
            Some(name) if set.is_built_in(name) => name.to_owned(),
            _ => return Err(TemplateError::UnknownName { set, path }),
        };
        // Follows symbolic links, as operators deploy files that way (e.g. Kubernetes
        // ConfigMaps).
        if !path.is_file() {
            return Err(TemplateError::NotAFile { set, path });
        }
        let source = match std::fs::read_to_string(&path) {
            Ok(source) => source,
            Err(source) => return Err(TemplateError::Read { set, path, source }),
        };
        files.push(OverrideFile { name, path, source });
    }
    Ok(files)
}

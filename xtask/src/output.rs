//! Writing the generated files, or (for `--check`) comparing them with what is
//! on disk. `generated/` belongs to the generator entirely: a file there that
//! the generator does not produce is stale too.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::RegenError;

/// Directories the generator owns completely, relative to the root.
pub const OWNED_DIRS: &[&str] = &["generated"];

/// Generated files by path relative to the workspace root, in a stable order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FileSet {
    files: BTreeMap<PathBuf, String>,
}

impl FileSet {
    pub fn insert(&mut self, path: impl Into<PathBuf>, content: String) {
        self.files.insert(path.into(), content);
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Path, &str)> {
        self.files
            .iter()
            .map(|(path, content)| (path.as_path(), content.as_str()))
    }

    #[cfg(test)]
    pub fn get(&self, path: &str) -> Option<&str> {
        self.files.get(Path::new(path)).map(String::as_str)
    }
}

/// One way the files on disk differ from what the sources produce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stale {
    Missing(PathBuf),
    Differs(PathBuf),
    Extra(PathBuf),
}

impl fmt::Display for Stale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stale::Missing(path) => write!(f, "missing: {}", path.display()),
            Stale::Differs(path) => write!(f, "stale:   {}", path.display()),
            Stale::Extra(path) => {
                write!(f, "extra:   {} (not generated; remove it)", path.display())
            }
        }
    }
}

/// Every difference between `files` and the disk under `root`; writes nothing.
pub fn check(root: &Path, files: &FileSet) -> Result<Vec<Stale>, RegenError> {
    let mut stale = Vec::new();
    for (path, content) in files.iter() {
        match read_if_exists(&root.join(path))? {
            None => stale.push(Stale::Missing(path.to_path_buf())),
            Some(existing) if existing != content.as_bytes() => {
                stale.push(Stale::Differs(path.to_path_buf()))
            }
            Some(_) => {}
        }
    }
    for extra in extra_files(root, files)? {
        stale.push(Stale::Extra(extra));
    }
    Ok(stale)
}

/// Writes the files that changed (leaving unchanged ones alone so that cargo
/// does not rebuild for nothing) and removes files in the owned directories
/// that are no longer generated. Returns one line per action.
pub fn write(root: &Path, files: &FileSet) -> Result<Vec<String>, RegenError> {
    let mut report = Vec::new();
    let mut unchanged = 0;
    for (path, content) in files.iter() {
        let full = root.join(path);
        if read_if_exists(&full)?.as_deref() == Some(content.as_bytes()) {
            unchanged += 1;
            continue;
        }
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).map_err(|source| RegenError::Write {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        std::fs::write(&full, content).map_err(|source| RegenError::Write {
            path: full.clone(),
            source,
        })?;
        report.push(format!("wrote   {}", path.display()));
    }
    for extra in extra_files(root, files)? {
        let full = root.join(&extra);
        std::fs::remove_file(&full).map_err(|source| RegenError::Write { path: full, source })?;
        report.push(format!("removed {}", extra.display()));
    }
    report.push(format!("{unchanged} files unchanged"));
    Ok(report)
}

fn read_if_exists(path: &Path) -> Result<Option<Vec<u8>>, RegenError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(RegenError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Files under the owned directories that `files` does not contain.
fn extra_files(root: &Path, files: &FileSet) -> Result<Vec<PathBuf>, RegenError> {
    let mut found = Vec::new();
    for dir in OWNED_DIRS {
        collect_files(root, Path::new(dir), &mut found)?;
    }
    found.retain(|path| !files.files.contains_key(path));
    found.sort();
    Ok(found)
}

fn collect_files(root: &Path, relative: &Path, found: &mut Vec<PathBuf>) -> Result<(), RegenError> {
    let dir = root.join(relative);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => return Err(RegenError::Read { path: dir, source }),
    };
    for entry in entries {
        let entry = entry.map_err(|source| RegenError::Read {
            path: dir.clone(),
            source,
        })?;
        let child = relative.join(entry.file_name());
        let file_type = entry.file_type().map_err(|source| RegenError::Read {
            path: root.join(&child),
            source,
        })?;
        if file_type.is_dir() {
            collect_files(root, &child, found)?;
        } else {
            found.push(child);
        }
    }
    Ok(())
}

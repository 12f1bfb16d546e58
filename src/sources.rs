//! Where a policy's files come from: the one seam through which the checker
//! reads the hook script and tables a policy names.
//!
//! A policy names its other files by paths relative to its own folder.
//! [`Folder`] reads them from disk (the CLI, scenario runs); a map of names
//! to texts reads them from memory (the service's revisions, which keep
//! every file in the store; an editor's unsaved buffers); [`NoFolder`] has
//! none (a policy compiled from a string).
//!
//! ```
//! use std::collections::BTreeMap;
//! use switchboard::sources::{Sources, Unreadable};
//! let files = BTreeMap::from([("hooks.rhai".to_string(), "fn route(ctx) { () }".to_string())]);
//! assert!(files.read("hooks.rhai").is_ok());
//! assert_eq!(files.read("rates.csv"), Err(Unreadable::NotFound));
//! ```

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

/// Reads the files a policy names, by path relative to the policy's folder.
/// The checker refuses paths that leave the folder before it asks.
pub trait Sources {
    fn read(&self, name: &str) -> Result<String, Unreadable>;
}

/// Why a named file could not be read, in words for the policy's author.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unreadable {
    NotFound,
    PermissionDenied,
    NotText,
    /// The policy was compiled from text with no folder to look in.
    NoFolder,
    /// Any other failure to read.
    Failed,
}

impl Unreadable {
    pub fn as_str(self) -> &'static str {
        match self {
            Unreadable::NotFound => "there is no such file",
            Unreadable::PermissionDenied => "permission denied",
            Unreadable::NotText => "it is not UTF-8 text",
            Unreadable::NoFolder => "the policy has no folder",
            Unreadable::Failed => "it cannot be read",
        }
    }

    fn of(error: &std::io::Error) -> Unreadable {
        match error.kind() {
            std::io::ErrorKind::NotFound => Unreadable::NotFound,
            std::io::ErrorKind::PermissionDenied => Unreadable::PermissionDenied,
            std::io::ErrorKind::InvalidData => Unreadable::NotText,
            _ => Unreadable::Failed,
        }
    }
}

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a name stays inside the policy's folder: relative, no `..`.
pub fn is_beside(name: &str) -> bool {
    let path = Path::new(name);
    !name.is_empty()
        && path
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

/// The files beside a policy on disk.
#[derive(Clone, Debug)]
pub struct Folder {
    root: PathBuf,
}

impl Folder {
    pub fn new(root: impl Into<PathBuf>) -> Folder {
        Folder { root: root.into() }
    }

    /// The folder a policy file sits in (`.` for a bare file name).
    pub fn of(policy: &Path) -> Folder {
        match policy.parent() {
            Some(p) if !p.as_os_str().is_empty() => Folder::new(p),
            _ => Folder::new("."),
        }
    }
}

impl Sources for Folder {
    fn read(&self, name: &str) -> Result<String, Unreadable> {
        if !is_beside(name) {
            return Err(Unreadable::NotFound);
        }
        std::fs::read_to_string(self.root.join(name)).map_err(|e| Unreadable::of(&e))
    }
}

/// Files held in memory, by name.
impl Sources for BTreeMap<String, String> {
    fn read(&self, name: &str) -> Result<String, Unreadable> {
        self.get(name).cloned().ok_or(Unreadable::NotFound)
    }
}

/// No files at all: a policy compiled from a string alone.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoFolder;

impl Sources for NoFolder {
    fn read(&self, _: &str) -> Result<String, Unreadable> {
        Err(Unreadable::NoFolder)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_reads_only_what_is_beside_the_policy() {
        let dir = std::env::temp_dir().join(format!("sources-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.csv"), "k,v\n").unwrap();
        let folder = Folder::new(&dir);
        assert_eq!(folder.read("a.csv").as_deref(), Ok("k,v\n"));
        assert_eq!(folder.read("b.csv"), Err(Unreadable::NotFound));
        assert_eq!(folder.read("../a.csv"), Err(Unreadable::NotFound));
        assert_eq!(NoFolder.read("a.csv"), Err(Unreadable::NoFolder));
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(!is_beside("../x.csv") && !is_beside("/etc/passwd") && is_beside("t/x.csv"));
    }
}

//! Finding and reading policy files.

use std::path::{Path, PathBuf};

/// The extension of policy files.
pub const EXTENSION: &str = "policy";

/// Expands files and folders into policy files, sorted within each folder.
/// An error names a path that does not exist or a folder with no policies.
pub fn policy_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let before = files.len();
            walk(path, &mut files).map_err(|e| format!("{}: {e}", path.display()))?;
            if files.len() == before {
                return Err(format!(
                    "{}: no .{EXTENSION} files in this folder",
                    path.display()
                ));
            }
        } else if path.is_file() {
            files.push(path.clone());
        } else {
            return Err(format!("{}: no such file or folder", path.display()));
        }
    }
    Ok(files)
}

/// The one policy file directly in `dir` (not in its subfolders), or why
/// there is not one.
pub fn only_policy_in(dir: &Path) -> Result<PathBuf, String> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == EXTENSION))
        .collect();
    found.sort();
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(format!("no .{EXTENSION} file in {}", dir.display())),
        _ => Err(format!(
            "several .{EXTENSION} files in {} ({})",
            dir.display(),
            found
                .iter()
                .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for entry in entries {
        if entry.is_dir() {
            walk(&entry, files)?;
        } else if entry.extension().is_some_and(|e| e == EXTENSION) {
            files.push(entry);
        }
    }
    Ok(())
}

/// A policy file's text, or why it cannot be read.
pub enum Read {
    Text(String),
    NotUtf8(usize),
    Failed(std::io::Error),
}

pub fn read(path: &Path) -> Read {
    match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => Read::Text(text),
            Err(e) => Read::NotUtf8(e.utf8_error().valid_up_to()),
        },
        Err(e) => Read::Failed(e),
    }
}

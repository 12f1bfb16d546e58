//! `switchboard fmt`: rewrite policies in canonical form.

use super::exit;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use switchboard::files::{self, Read};
use switchboard::syntax::{format::format_document, parse::parse_document};

pub fn run(paths: &[PathBuf], check: bool) -> i32 {
    let files = match files::policy_files(paths) {
        Ok(files) => files,
        Err(message) => {
            eprintln!("error: {message}");
            return exit::USAGE;
        }
    };
    let mut failed = false;
    let mut changed = Vec::new();
    for path in &files {
        let name = path.display().to_string();
        let source = match files::read(path) {
            Read::Text(text) => text,
            Read::NotUtf8(at) => {
                eprintln!("{name}: not UTF-8 text (at byte {at}); not formatted");
                failed = true;
                continue;
            }
            Read::Failed(error) => {
                eprintln!("{name}: cannot read: {error}");
                failed = true;
                continue;
            }
        };
        let (document, diagnostics) = parse_document(&source);
        if diagnostics.has_errors() {
            eprint!("{}", diagnostics.render(&name, &source));
            eprintln!("{name}: has syntax errors; not formatted");
            failed = true;
            continue;
        }
        let formatted = format_document(&document);
        if formatted == source {
            continue;
        }
        changed.push(name.clone());
        if !check {
            if let Err(error) = write_atomically(path, &formatted) {
                eprintln!("{name}: cannot write: {error}");
                failed = true;
            }
        }
    }
    for name in &changed {
        if check {
            println!("would reformat {name}");
        } else {
            println!("formatted {name}");
        }
    }
    if failed || (check && !changed.is_empty()) {
        exit::FAILED
    } else {
        exit::OK
    }
}

/// Writes beside the file and renames over it, so a crash never leaves half
/// a policy.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".fmt-tmp");
    let tmp = PathBuf::from(tmp);
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)
}

//! `switchboard fmt`: rewrite policies in canonical form.

use super::{exit, paint};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use switchboard::files::{self, Read};
use switchboard::syntax::{format::format_document, parse::parse_document};

/// What `fmt` does with a file that is not in canonical form.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Rewrite it.
    Write,
    /// Name it.
    Check,
    /// Print the change as a unified diff.
    Diff,
}

impl Mode {
    pub fn of(check: bool, diff: bool) -> Mode {
        match (check, diff) {
            (_, true) => Mode::Diff,
            (true, false) => Mode::Check,
            (false, false) => Mode::Write,
        }
    }
}

pub fn run(paths: &[PathBuf], mode: Mode) -> i32 {
    if paths == [PathBuf::from("-")] {
        return stdin(mode);
    }
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
        let Some(formatted) = formatted(&name, &source) else {
            failed = true;
            continue;
        };
        if formatted == source {
            continue;
        }
        changed.push(name.clone());
        match mode {
            Mode::Write => {
                if let Err(error) = write_atomically(path, &formatted) {
                    eprintln!("{name}: cannot write: {error}");
                    failed = true;
                }
            }
            Mode::Diff => anstream::print!("{}", paint::diff(&diff(&name, &source, &formatted))),
            Mode::Check => {}
        }
    }
    for name in &changed {
        match mode {
            Mode::Write => println!("formatted {name}"),
            Mode::Check => println!("would reformat {name}"),
            Mode::Diff => {}
        }
    }
    if failed || (mode != Mode::Write && !changed.is_empty()) {
        exit::FAILED
    } else {
        exit::OK
    }
}

/// `fmt -`: standard input to standard output (or, with --check or
/// --diff, only whether and how it would change).
fn stdin(mode: Mode) -> i32 {
    let mut source = String::new();
    if let Err(error) = std::io::stdin().read_to_string(&mut source) {
        eprintln!("error: cannot read standard input: {error}");
        return exit::USAGE;
    }
    let Some(formatted) = formatted("<stdin>", &source) else {
        return exit::FAILED;
    };
    match mode {
        Mode::Write => print!("{formatted}"),
        Mode::Check if formatted != source => println!("would reformat <stdin>"),
        Mode::Diff => anstream::print!("{}", paint::diff(&diff("<stdin>", &source, &formatted))),
        Mode::Check => {}
    }
    if mode != Mode::Write && formatted != source {
        exit::FAILED
    } else {
        exit::OK
    }
}

/// The canonical form, or `None` (reported) when the text has syntax
/// errors: a file that does not parse is left as it is.
fn formatted(name: &str, source: &str) -> Option<String> {
    let (document, diagnostics) = parse_document(source);
    if diagnostics.has_errors() {
        anstream::eprint!("{}", paint::diagnostics(&diagnostics.render(name, source)));
        eprintln!("{name}: has syntax errors; not formatted");
        return None;
    }
    Some(format_document(&document))
}

/// A unified diff from the file to its canonical form, as `diff -u` and
/// `git diff` print one.
fn diff(name: &str, old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(name, &format!("{name} (formatted)"))
        .to_string()
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

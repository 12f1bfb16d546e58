//! `switchboard check`: compile each policy and print its diagnostics.

use super::{exit, Format};
use std::path::{Path, PathBuf};
use switchboard::diag::{Code, Diagnostic, Diagnostics, Span};
use switchboard::files::{self, Read};
use switchboard::sources::Folder;

pub fn run(paths: &[PathBuf], format: Format) -> i32 {
    // Each policy checked: its name, its text and its diagnostics.
    let checked: Vec<(String, String, Diagnostics)> = if paths == [PathBuf::from("-")] {
        match stdin() {
            Ok(one) => vec![one],
            Err(code) => return code,
        }
    } else {
        match files::policy_files(paths) {
            Ok(files) => files
                .iter()
                .map(|path| {
                    let (source, diagnostics) = check_file(path);
                    (path.display().to_string(), source, diagnostics)
                })
                .collect(),
            Err(message) => {
                eprintln!("error: {message}");
                return exit::USAGE;
            }
        }
    };
    let (mut errors, mut warnings) = (0, 0);
    let mut json = Vec::new();
    for (name, source, diagnostics) in &checked {
        errors += diagnostics.error_count();
        warnings += diagnostics.warning_count();
        match format {
            Format::Human => {
                let rendered = diagnostics.render(name, source);
                anstream::print!("{}", super::paint::diagnostics(&rendered));
            }
            Format::Json => json.extend(diagnostics.to_json(name, source)),
        }
    }
    match format {
        Format::Human => {
            let files = checked.len();
            println!(
                "checked {files} {}: {errors} {}, {warnings} {}",
                plural(files, "policy", "policies"),
                plural(errors, "error", "errors"),
                plural(warnings, "warning", "warnings"),
            );
        }
        Format::Json => {
            let report = serde_json::json!({
                "files": checked.iter().map(|(name, _, _)| name).collect::<Vec<_>>(),
                "errors": errors,
                "warnings": warnings,
                "diagnostics": json,
            });
            println!(
                "{}",
                serde_json::to_string_pretty(&report).unwrap_or_default()
            );
        }
    }
    if errors > 0 {
        exit::FAILED
    } else {
        exit::OK
    }
}

/// `check -`: one policy from standard input, named `<stdin>`; its hook
/// scripts and tables resolve from the current folder.
fn stdin() -> Result<(String, String, Diagnostics), i32> {
    let mut source = String::new();
    if let Err(error) = std::io::Read::read_to_string(&mut std::io::stdin(), &mut source) {
        eprintln!("error: cannot read standard input: {error}");
        return Err(exit::USAGE);
    }
    let name = "<stdin>";
    let diagnostics = match switchboard::compile_sources(&source, &Folder::of(Path::new(name))) {
        Ok(policy) => policy.warnings().clone(),
        Err(diagnostics) => diagnostics,
    };
    Ok((name.to_string(), source, diagnostics))
}

/// Compiles one file: its text (for rendering) and its diagnostics.
pub fn check_file(path: &std::path::Path) -> (String, Diagnostics) {
    let mut diagnostics = Diagnostics::default();
    let source = match files::read(path) {
        Read::Text(text) => text,
        Read::NotUtf8(at) => {
            diagnostics.push(
                Diagnostic::new(
                    Code::NotUtf8,
                    Span::new(0, 0),
                    format!("this file is not UTF-8 text (at byte {at})"),
                )
                .hint("save the policy as UTF-8"),
            );
            return (String::new(), diagnostics);
        }
        Read::Failed(error) => {
            diagnostics.push(Diagnostic::new(
                Code::NotUtf8,
                Span::new(0, 0),
                format!("cannot read this file: {error}"),
            ));
            return (String::new(), diagnostics);
        }
    };
    let diagnostics = match switchboard::compile_sources(&source, &Folder::of(path)) {
        Ok(policy) => policy.warnings().clone(),
        Err(diagnostics) => diagnostics,
    };
    (source, diagnostics)
}

fn plural(n: usize, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 {
        one
    } else {
        many
    }
}

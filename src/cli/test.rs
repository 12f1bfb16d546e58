//! `switchboard test`: run scenario files and report like a test runner.

use super::exit;
use std::path::{Path, PathBuf};
use switchboard::scenario::{self, Report};

/// Scenario files end in this.
pub const SUFFIX: &str = ".scenario.yaml";

pub fn run(paths: &[PathBuf], update: bool) -> i32 {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            walk(path, &mut files);
        } else if path.is_file() {
            files.push(path.clone());
        } else {
            eprintln!("error: {}: no such file or folder", path.display());
            return exit::USAGE;
        }
    }
    if files.is_empty() {
        eprintln!("error: no *{SUFFIX} files found");
        return exit::USAGE;
    }
    let (mut passed, mut failed) = (0, 0);
    for file in &files {
        let ran = scenario::run_file(file, update);
        report(&ran);
        if ran.passed() {
            passed += 1;
        } else {
            failed += 1;
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed > 0 {
        exit::FAILED
    } else {
        exit::OK
    }
}

fn report(o: &Report) {
    let name = o.path.display();
    if let Some(error) = &o.error {
        println!("ERROR {name}\n  {}", error.replace('\n', "\n  "));
        return;
    }
    if o.failures.is_empty() {
        let note = if o.updated {
            " (expectations updated)"
        } else {
            ""
        };
        println!("ok    {name}{note}");
        return;
    }
    println!("FAIL  {name}: {}", o.description);
    for f in &o.failures {
        println!("  step {}, {}:", f.step, f.label);
        for (path, expected, actual) in &f.diffs {
            let at = if path.is_empty() {
                "the result"
            } else {
                path.as_str()
            };
            println!("    {at}");
            println!("      expected: {}", compact(expected));
            println!("      actual:   {}", compact(actual));
        }
    }
}

fn compact(v: &serde_json::Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for entry in entries {
        if entry.is_dir() {
            walk(&entry, files);
        } else if entry.to_string_lossy().ends_with(SUFFIX) {
            files.push(entry);
        }
    }
}

//! `switchboard test`: run scenario files and report like a test runner.

use super::exit;
use std::path::{Path, PathBuf};
use switchboard::scenario::{self, Report};

/// Scenario files end in this.
pub const SUFFIX: &str = ".scenario.yaml";

pub fn run(paths: &[PathBuf], update: bool, filter: Option<&str>) -> i32 {
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
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    let filter = filter.map(str::to_lowercase);
    for file in &files {
        if let Some(filter) = &filter {
            if !matches(file, filter) {
                skipped += 1;
                continue;
            }
        }
        let ran = scenario::run_file(file, update);
        report(&ran);
        if ran.passed() {
            passed += 1;
        } else {
            failed += 1;
        }
    }
    match skipped {
        0 => println!("{passed} passed, {failed} failed"),
        _ => println!("{passed} passed, {failed} failed, {skipped} filtered out"),
    }
    if failed > 0 {
        exit::FAILED
    } else {
        exit::OK
    }
}

/// Whether a scenario's file name or description holds `filter` (lower
/// case). A file that cannot be read is run, so its error shows.
fn matches(file: &Path, filter: &str) -> bool {
    let name = file
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .to_lowercase();
    if name.contains(filter) {
        return true;
    }
    match std::fs::read_to_string(file).map(|t| scenario::parse(&t)) {
        Ok(Ok(s)) => s.description.to_lowercase().contains(filter),
        _ => true,
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

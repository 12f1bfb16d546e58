//! `switchboard test`: run scenario files and report like a test runner.

use super::exit;
use std::path::{Path, PathBuf};
use switchboard::scenario::{self, coverage, Report};

/// Scenario files end in this.
pub const SUFFIX: &str = ".scenario.yaml";

/// How `test` reports.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A line per scenario, failures as diffs, `N passed, N failed`.
    Human,
    /// One JSON document: every scenario, its failures, and coverage.
    Json,
    /// JUnit XML, as CI systems read test results.
    Junit,
}

/// What to run and how to report it.
pub struct Options<'a> {
    pub update: bool,
    pub filter: Option<&'a str>,
    pub format: Format,
    pub coverage: bool,
}

pub fn run(paths: &[PathBuf], options: &Options<'_>) -> i32 {
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
    let filter = options.filter.map(str::to_lowercase);
    let mut reports = Vec::new();
    let mut skipped = 0;
    for file in &files {
        if let Some(filter) = &filter {
            if !matches(file, filter) {
                skipped += 1;
                continue;
            }
        }
        let ran = scenario::run_file(file, options.update);
        if options.format == Format::Human {
            report(&ran);
        }
        reports.push(ran);
    }
    let passed = reports.iter().filter(|r| r.passed()).count();
    let failed = reports.len() - passed;
    let coverage = match options.coverage {
        true => coverage::of_reports(&reports),
        false => Vec::new(),
    };
    match options.format {
        Format::Human => {
            match skipped {
                0 => println!("{passed} passed, {failed} failed"),
                _ => println!("{passed} passed, {failed} failed, {skipped} filtered out"),
            }
            for c in &coverage {
                print!("\n{}", c.text());
            }
        }
        Format::Json => println!("{}", json(&reports, skipped, &coverage)),
        Format::Junit => match junit(&reports) {
            Ok(xml) => println!("{xml}"),
            Err(e) => {
                eprintln!("error: {e}");
                return exit::FAILED;
            }
        },
    }
    if failed > 0 {
        exit::FAILED
    } else {
        exit::OK
    }
}

/// Every scenario with its result, the totals, and coverage if asked.
fn json(reports: &[Report], skipped: usize, coverage: &[scenario::Coverage]) -> String {
    let scenarios: Vec<serde_json::Value> = reports
        .iter()
        .map(|r| {
            let failures: Vec<serde_json::Value> = r
                .failures
                .iter()
                .map(|f| {
                    let diffs: Vec<serde_json::Value> = f
                        .diffs
                        .iter()
                        .map(|(at, expected, actual)| {
                            serde_json::json!({"at": at, "expected": expected, "actual": actual})
                        })
                        .collect();
                    serde_json::json!({"step": f.step, "label": f.label, "diffs": diffs})
                })
                .collect();
            serde_json::json!({
                "path": r.path.display().to_string(),
                "description": r.description,
                "passed": r.passed(),
                "error": r.error,
                "updated": r.updated,
                "failures": failures,
            })
        })
        .collect();
    let passed = reports.iter().filter(|r| r.passed()).count();
    let mut out = serde_json::json!({
        "passed": passed,
        "failed": reports.len() - passed,
        "filtered_out": skipped,
        "scenarios": scenarios,
    });
    if !coverage.is_empty() {
        out["coverage"] = serde_json::to_value(coverage).unwrap_or_default();
    }
    serde_json::to_string_pretty(&out).unwrap_or_default()
}

/// JUnit XML: a suite per tenant folder, a case per scenario file.
fn junit(reports: &[Report]) -> Result<String, String> {
    use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};
    let mut suites: Vec<TestSuite> = Vec::new();
    for r in reports {
        let folder = r
            .path
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let status = if let Some(error) = &r.error {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
            s.set_message("the scenario could not run")
                .set_description(error.as_str());
            s
        } else if !r.failures.is_empty() {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            let mut text = String::new();
            for f in &r.failures {
                text.push_str(&format!("step {}, {}:\n", f.step, f.label));
                for (at, expected, actual) in &f.diffs {
                    text.push_str(&format!(
                        "  {}\n    expected: {}\n    actual:   {}\n",
                        if at.is_empty() { "the result" } else { at },
                        compact(expected),
                        compact(actual)
                    ));
                }
            }
            s.set_message(format!(
                "{} steps did not decide as expected",
                r.failures.len()
            ))
            .set_description(text);
            s
        } else {
            TestCaseStatus::success()
        };
        let name = r
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut case = TestCase::new(name, status);
        case.set_classname(folder.clone());
        match suites.iter_mut().find(|s| s.name.as_str() == folder) {
            Some(suite) => {
                suite.add_test_case(case);
            }
            None => {
                let mut suite = TestSuite::new(folder);
                suite.add_test_case(case);
                suites.push(suite);
            }
        }
    }
    let mut report = quick_junit::Report::new("switchboard test");
    report.add_test_suites(suites);
    report.to_string().map_err(|e| e.to_string())
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
    match std::fs::read_to_string(file).map(|t| scenario::parse(&t, "")) {
        Ok(Ok(s)) => s.description.to_lowercase().contains(filter),
        _ => true,
    }
}

fn report(o: &Report) {
    use super::paint;
    let name = o.path.display();
    if let Some(error) = &o.error {
        anstream::println!("{} {name}", paint::bad("ERROR"));
        anstream::println!("{}", paint::diagnostics(error));
        return;
    }
    if o.failures.is_empty() {
        let note = if o.updated {
            " (expectations updated)"
        } else {
            ""
        };
        anstream::println!("{}    {name}{note}", paint::good("ok"));
        return;
    }
    anstream::println!("{}  {name}: {}", paint::bad("FAIL"), o.description);
    for f in &o.failures {
        println!("  step {}, {}:", f.step, f.label);
        for (path, expected, actual) in &f.diffs {
            let at = if path.is_empty() {
                "the result"
            } else {
                path.as_str()
            };
            println!("    {at}");
            anstream::println!("      expected: {}", paint::expected(&compact(expected)));
            anstream::println!("      actual:   {}", paint::actual(&compact(actual)));
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

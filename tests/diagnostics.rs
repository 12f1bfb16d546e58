//! Every checker rule, shown on a fixture: tests/fixtures/invalid holds
//! policies that must not compile, tests/fixtures/warnings policies that
//! compile with a warning. Each fixture's first line names the codes it must
//! produce (`# expect: E0302`), and its rendered diagnostics are snapshotted
//! beside the source.

#[path = "common/synth.rs"]
mod synth;

use std::path::Path;
use switchboard::sources::Folder;
use switchboard::{compile_sources, Diagnostics};

/// The codes a fixture's `# expect:` line names.
fn expected_codes(source: &str) -> Vec<String> {
    let first = source.lines().next().unwrap_or_default();
    let codes = first
        .strip_prefix("# expect:")
        .unwrap_or_else(|| panic!("fixture must start with `# expect: CODE...`, found {first:?}"));
    codes.split_whitespace().map(str::to_string).collect()
}

fn check(path: &Path) -> (String, Result<switchboard::Policy, Diagnostics>) {
    let source = std::fs::read_to_string(path).unwrap();
    let result = compile_sources(&source, &Folder::of(path));
    (source, result)
}

fn display_name(path: &Path) -> String {
    let dir = path.parent().and_then(Path::file_name).unwrap_or_default();
    format!(
        "{}/{}",
        dir.to_string_lossy(),
        path.file_name().unwrap().to_string_lossy()
    )
}

fn assert_codes(source: &str, diagnostics: &Diagnostics, path: &Path) {
    let found: Vec<&str> = diagnostics.items.iter().map(|d| d.code.as_str()).collect();
    for code in expected_codes(source) {
        assert!(
            found.contains(&code.as_str()),
            "{}: expected {code}, found {found:?}",
            path.display()
        );
    }
}

#[test]
fn invalid_policies_report_their_errors() {
    insta::glob!("fixtures/invalid/*.policy", |path| {
        let (source, result) = check(path);
        let diagnostics = match result {
            Ok(_) => panic!("{} compiled, but it is an invalid fixture", path.display()),
            Err(diagnostics) => diagnostics,
        };
        assert_codes(&source, &diagnostics, path);
        let rendered = diagnostics.render(&display_name(path), &source);
        insta::with_settings!({ description => source.as_str(), omit_expression => true }, {
            insta::assert_snapshot!(rendered);
        });
    });
}

#[test]
fn warning_policies_compile_and_warn() {
    insta::glob!("fixtures/warnings/*.policy", |path| {
        let (source, result) = check(path);
        let policy = match result {
            Ok(policy) => policy,
            Err(d) => panic!(
                "{} did not compile:\n{}",
                path.display(),
                d.render("fixture", &source)
            ),
        };
        assert_codes(&source, policy.warnings(), path);
        let rendered = policy.warnings().render(&display_name(path), &source);
        insta::with_settings!({ description => source.as_str(), omit_expression => true }, {
            insta::assert_snapshot!(rendered);
        });
    });
}

/// The code table in docs/LANGUAGE.md lists exactly the codes the checker has.
#[test]
fn language_reference_lists_every_code() {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/LANGUAGE.md")).unwrap();
    let table = doc
        .split("<!-- codes:start -->")
        .nth(1)
        .and_then(|rest| rest.split("<!-- codes:end -->").next())
        .expect("docs/LANGUAGE.md has a codes table");
    let expected: String = std::iter::once("| code | meaning |\n|---|---|\n".to_string())
        .chain(
            switchboard::diag::Code::ALL
                .iter()
                .map(|c| format!("| {} | {} |\n", c.as_str(), c.title())),
        )
        .collect();
    assert_eq!(table.trim(), expected.trim());
}

/// The compliance table in docs/LANGUAGE.md is the built-in one, sources
/// and all.
#[test]
fn language_reference_lists_every_country() {
    use switchboard::policy::compliance::COUNTRIES;
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/LANGUAGE.md")).unwrap();
    let table = doc
        .split("<!-- countries:start -->")
        .nth(1)
        .and_then(|rest| rest.split("<!-- countries:end -->").next())
        .expect("docs/LANGUAGE.md has a countries table");
    let words = |set: &[&str]| -> String {
        set.iter()
            .map(|k| match k.contains(' ') {
                true => format!("\"{k}\""),
                false => k.to_string(),
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let expected: String = std::iter::once(
        "| country | opt-out | opt-in | help | sources |\n|---|---|---|---|---|\n".to_string(),
    )
    .chain(COUNTRIES.iter().map(|(code, d)| {
        format!(
            "| {code} | {} | {} | {} | {} |\n",
            words(d.opt_out),
            words(d.opt_in),
            words(d.help),
            d.sources
        )
    }))
    .collect();
    assert_eq!(table.trim(), expected.trim(), "\n{expected}");
}

/// Every code has at least one fixture that produces it.
#[test]
fn every_code_has_a_fixture() {
    let mut seen = std::collections::BTreeSet::new();
    for dir in ["invalid", "warnings"] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(dir);
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "policy") {
                let source = std::fs::read_to_string(&path).unwrap();
                seen.extend(expected_codes(&source));
            }
        }
    }
    // Codes only reachable through the file system or hostile sizes are
    // covered by tests/cli.rs and tests/robustness.rs instead.
    let elsewhere = ["E0005", "E0006", "E0008"];
    let missing: Vec<&str> = switchboard::diag::Code::ALL
        .iter()
        .map(|c| c.as_str())
        .filter(|c| !seen.contains(*c) && !elsewhere.contains(c))
        .collect();
    assert!(missing.is_empty(), "codes without a fixture: {missing:?}");
}

/// Policies at the edge of a rule that must compile with no diagnostic at all.
#[test]
fn valid_policies_compile_cleanly() {
    insta::glob!("fixtures/valid/*.policy", |path| {
        let (source, result) = check(path);
        match result {
            Ok(policy) => assert!(
                policy.warnings().is_empty(),
                "{}",
                policy.warnings().render(&display_name(path), &source)
            ),
            Err(d) => panic!("{}", d.render(&display_name(path), &source)),
        }
    });
}

/// The synthetic tenant the benches measure checks clean, warnings and all.
#[test]
fn small_synthetic_tenant_checks_clean() {
    use synth::{tenant, Size};
    let source = tenant(Size {
        inboxes: 30,
        agents: 100,
        numbers: 60,
    });
    let policy =
        switchboard::compile(&source).unwrap_or_else(|d| panic!("{}", d.render("synth", &source)));
    assert!(
        policy.warnings().is_empty(),
        "{}",
        policy.warnings().render("synth", &source)
    );
    assert_eq!(policy.inboxes().len(), 30);
    assert_eq!(policy.agents().len(), 100);
    assert_eq!(policy.numbers().count(), 60);
}

/// Mexico's and Spain's rows: Spanish keywords, answered in Spanish.
#[test]
fn spanish_speaking_countries_get_spanish_defaults() {
    for country in ["MX", "ES"] {
        let source = format!(
            "tenant t {{ zone Europe/Madrid; country {country} }}\nnumber +34910000000\nagent a\ninbox i shared {{ numbers +34910000000; agents a }}\n"
        );
        let policy = compile_sources(&source, &Folder::of(Path::new("t.policy")))
            .unwrap_or_else(|d| panic!("{country}: {d:?}"));
        let c = policy.compliance();
        assert!(c.opt_out.contains(&"BAJA".to_string()), "{country}");
        assert!(c.help.contains(&"AYUDA".to_string()), "{country}");
        assert!(c.opt_in.contains(&"ALTA".to_string()), "{country}");
        let reply = c.opt_out_reply.render(|_| None);
        assert!(
            reply.starts_with("Se ha dado de baja"),
            "{country}: {reply}"
        );
    }
}

//! Whatever the bytes, checking a policy ends, without a panic or a stack
//! overflow, with diagnostics in place of a policy where the text is bad.

mod common;

use common::{example_policies, without_layout};
use proptest::prelude::*;
use std::sync::mpsc;
use std::time::Duration;
use switchboard::diag::Code;
use switchboard::syntax::{self, format::format_document, parse::parse_document};

/// Compiles, and formats when the text parses: the two entry points that
/// take untrusted text.
fn exercise(source: &str) -> Result<(), String> {
    let _ = switchboard::compile(source);
    let (document, diagnostics) = parse_document(source);
    let rendered = diagnostics.render("fuzz", source);
    if diagnostics.has_errors() {
        return Ok(());
    }
    let formatted = format_document(&document);
    let (again, diagnostics) = parse_document(&formatted);
    if diagnostics.has_errors() {
        return Err(format!(
            "formatted text does not parse:\n{formatted}\n{rendered}"
        ));
    }
    if without_layout(&document) != without_layout(&again) {
        return Err(format!(
            "formatting changed meaning:\n{source}\n---\n{formatted}"
        ));
    }
    Ok(())
}

/// Runs `f` on its own thread and fails if it has not finished in a minute:
/// not a timing assertion, a hang detector.
fn finishes<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(move || tx.send(f()))
        .unwrap();
    rx.recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("{what} did not finish"))
}

fn codes(source: &str) -> Vec<Code> {
    match switchboard::compile(source) {
        Ok(_) => Vec::new(),
        Err(d) => d.items.iter().map(|d| d.code).collect(),
    }
}

#[test]
fn deeply_nested_blocks_are_refused_before_parsing() {
    let source = "a {".repeat(200_000);
    let found = finishes("deep nesting", move || codes(&source));
    assert_eq!(found, vec![Code::TooDeep]);
}

#[test]
fn oversized_policies_are_refused() {
    let source = "# padding\n".repeat(500_000);
    let found = finishes("a 5 MB policy", move || codes(&source));
    assert_eq!(found, vec![Code::TooLarge]);
}

#[test]
fn a_flood_of_errors_is_cut_short() {
    // 200,000 unknown declarations on one line: the report lists a hundred
    // and counts the rest, and each snippet is a window, not the whole line.
    let source = "x;".repeat(200_000);
    let (diagnostics, rendered) = finishes("an error flood", move || {
        let d = switchboard::compile(&source).unwrap_err();
        let rendered = d.render("flood", &source);
        (d, rendered)
    });
    assert_eq!(diagnostics.items.len(), switchboard::diag::MAX_DIAGNOSTICS);
    assert!(diagnostics.error_count() > 200_000);
    assert!(rendered.contains("more diagnostics not shown"));
    assert!(
        rendered.len() < 100_000,
        "rendered {} bytes",
        rendered.len()
    );
}

#[test]
fn hostile_shapes_end_with_diagnostics() {
    let cases: Vec<String> = vec![
        "}".repeat(100_000),
        "\"".repeat(100_000),
        format!("{}{}", "{".repeat(8), "}".repeat(50_000)),
        format!("tenant a {{ zone {} }}", "x".repeat(1_000_000)),
        format!("template t \"{}\"", "{".repeat(100_000)),
        format!("inbox a shared {{ numbers {} }}", "+1 ".repeat(100_000)),
        "\u{0}\u{1}\u{feff}\r\r\n\t#".repeat(10_000),
        "é".repeat(300_000),
    ];
    for (i, source) in cases.into_iter().enumerate() {
        finishes(&format!("hostile case {i}"), move || exercise(&source)).unwrap();
    }
}

/// Random edits of the example policies: deletions, insertions of syntax
/// characters, duplicated slices.
fn mutate(source: &str, edits: &[(u8, usize, usize)]) -> String {
    const INSERTS: &[&str] = &[
        "{",
        "}",
        "\"",
        "#",
        "\n",
        ";",
        "\\",
        ",",
        "+1",
        "25:00",
        "{{",
        " inbox x shared {\n",
    ];
    let mut s = source.to_string();
    for &(kind, a, b) in edits {
        if s.is_empty() {
            break;
        }
        let mut at = a % s.len();
        while !s.is_char_boundary(at) {
            at -= 1;
        }
        let mut end = (at + b % 40).min(s.len());
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        match kind % 3 {
            0 => s.replace_range(at..end, ""),
            1 => s.insert_str(at, INSERTS[b % INSERTS.len()]),
            _ => {
                let slice = s[at..end].to_string();
                s.insert_str(at, &slice);
            }
        }
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2_000)) {
        let source = String::from_utf8_lossy(&bytes).into_owned();
        prop_assert!(exercise(&source).is_ok());
    }

    #[test]
    fn arbitrary_policy_like_text_never_panics(source in "[a-z +0-9:{}\"#;\n\\-]{0,400}") {
        if let Err(e) = exercise(&source) {
            prop_assert!(false, "{}", e);
        }
    }

    #[test]
    fn mutated_examples_never_panic(
        which in any::<usize>(),
        edits in prop::collection::vec((any::<u8>(), any::<usize>(), any::<usize>()), 1..8),
    ) {
        let paths = example_policies();
        let source = std::fs::read_to_string(&paths[which % paths.len()]).unwrap();
        let mutated = mutate(&source, &edits);
        if let Err(e) = exercise(&mutated) {
            prop_assert!(false, "{}", e);
        }
        // Lowering and checking always run on what was read.
        let _ = syntax::parse(&mutated);
    }
}

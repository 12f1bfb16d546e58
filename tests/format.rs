//! The formatter never changes meaning: for every example policy and for
//! generated ones, the formatted text parses to the same statements,
//! comments and AST (spans and blank lines aside), and formatting twice
//! changes nothing.

mod common;

use common::{example_policies, without_layout};
use proptest::prelude::*;
use switchboard::syntax::{self, format::format_document, parse::parse_document};

fn format(source: &str) -> String {
    let (document, diagnostics) = parse_document(source);
    assert!(
        !diagnostics.has_errors(),
        "{}",
        diagnostics.render("input", source)
    );
    format_document(&document)
}

#[test]
fn example_policies_are_formatted_and_round_trip() {
    for path in example_policies() {
        let source = std::fs::read_to_string(&path).unwrap();
        let formatted = format(&source);
        assert_eq!(
            formatted,
            source,
            "{} is not in canonical form",
            path.display()
        );
        let (before, _) = syntax::parse(&source);
        let (after, _) = syntax::parse(&formatted);
        assert_eq!(without_layout(&before), without_layout(&after));
    }
}

#[test]
fn formatting_normalises_layout() {
    let messy = "tenant acme{zone UTC;country US}\n\n\n\nteam a { members x, y }   # trailing\n   agent x\nagent y\n";
    let formatted = format(messy);
    insta::assert_snapshot!(formatted, @r"
    tenant acme {
      zone UTC
      country US
    }

    team a {
      members x y
    } # trailing

    agent x
    agent y
    ");
}

#[test]
fn comments_survive_in_place() {
    let source = "# head\ntenant acme { # open\n  # inside\n  zone UTC # tail\n  # last\n}\n";
    let formatted = format(source);
    assert_eq!(
        formatted,
        "# head\ntenant acme { # open\n  # inside\n  zone UTC # tail\n  # last\n}\n"
    );
}

#[test]
fn strings_are_requoted_with_minimal_escapes() {
    let formatted = format("template t \"say \\\"hi\\\" \\\\ \\n\"\n");
    assert_eq!(formatted, "template t \"say \\\"hi\\\" \\\\ \\n\"\n");
}

/// A statement tree to render messily and parse back.
#[derive(Clone, Debug)]
enum Gen {
    Statement {
        key: String,
        values: Vec<String>,
        block: Option<(Option<String>, Vec<Gen>)>,
        comment: Option<String>,
    },
    Comment(String),
    Blank,
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z_][a-z0-9_]{0,10}",
        "[^\"\\\\\n\r]{0,12}".prop_map(|s| format!("\"{s}\"")),
        "[ -~]{0,8}".prop_map(|s| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))),
        (0u8..24, 0u8..60, 0u8..24, 0u8..60)
            .prop_map(|(a, b, c, d)| format!("{a:02}:{b:02}-{c:02}:{d:02}")),
        (
            1u32..500,
            prop::sample::select(vec!["s", "m", "h", "d", "w"])
        )
            .prop_map(|(n, u)| format!("{n}{u}")),
        "\\+[1-9][0-9]{7,13}",
        "[0-9]{1,4}",
        "20[0-9]{2}-[01][0-9]-[0-3][0-9]",
        prop::sample::select(vec!["America/New_York", "mon-fri", "24/7", "a.b", "x-y-z"])
            .prop_map(str::to_string),
    ]
}

fn comment() -> impl Strategy<Value = String> {
    "[ -~]{0,20}".prop_map(|s| s.trim_end().to_string())
}

fn tree(depth: u32) -> impl Strategy<Value = Vec<Gen>> {
    let leaf = prop_oneof![
        6 => ("[a-z][a-z_]{0,8}", prop::collection::vec(value(), 0..4), prop::option::of(comment()))
            .prop_map(|(key, values, comment)| Gen::Statement { key, values, block: None, comment }),
        1 => comment().prop_map(Gen::Comment),
        1 => Just(Gen::Blank),
    ];
    let item = leaf.prop_recursive(depth, 48, 6, |inner| {
        (
            "[a-z][a-z_]{0,8}",
            prop::collection::vec(value(), 0..3),
            prop::option::of(comment()),
            prop::collection::vec(inner, 0..6),
            prop::option::of(comment()),
        )
            .prop_map(|(key, values, open, body, comment)| Gen::Statement {
                key,
                values,
                block: Some((open, body)),
                comment,
            })
    });
    prop::collection::vec(item, 0..10)
}

/// Renders with irregular layout: odd indents, commas, tabs, blank runs.
fn render(items: &[Gen], out: &mut String, messy: &mut impl Iterator<Item = u8>) {
    for item in items {
        let m = messy.next().unwrap_or(0);
        out.push_str(["", " ", "\t", "    "][usize::from(m % 4)]);
        match item {
            Gen::Statement {
                key,
                values,
                block,
                comment,
            } => {
                out.push_str(key);
                for (i, v) in values.iter().enumerate() {
                    out.push_str(if i > 0 && m.is_multiple_of(3) {
                        ", "
                    } else {
                        " "
                    });
                    out.push_str(v);
                }
                if let Some((open, body)) = block {
                    out.push_str(if m.is_multiple_of(2) { " {" } else { "{" });
                    if let Some(c) = open {
                        out.push_str(" #");
                        out.push_str(c);
                    }
                    out.push('\n');
                    render(body, out, messy);
                    out.push('}');
                }
                if let Some(c) = comment {
                    out.push_str("  #");
                    out.push_str(c);
                }
                out.push('\n');
            }
            Gen::Comment(c) => {
                out.push('#');
                out.push_str(c);
                out.push('\n');
            }
            Gen::Blank => out.push_str(if m.is_multiple_of(2) { "\n" } else { "  \n\n" }),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn formatting_round_trips(items in tree(3), noise in prop::collection::vec(any::<u8>(), 64)) {
        let mut source = String::new();
        let mut messy = noise.into_iter().cycle();
        render(&items, &mut source, &mut messy);

        let (original, diagnostics) = parse_document(&source);
        prop_assert!(!diagnostics.has_errors(), "{}\n{}", source, diagnostics.render("gen", &source));
        let formatted = format_document(&original);
        let (reparsed, diagnostics) = parse_document(&formatted);
        prop_assert!(!diagnostics.has_errors(), "{}\n{}", formatted, diagnostics.render("fmt", &formatted));
        prop_assert_eq!(without_layout(&original), without_layout(&reparsed), "\n{}\n---\n{}", source, formatted);
        prop_assert_eq!(format_document(&reparsed), formatted.clone(), "formatting is idempotent");
        let (ast_before, _) = syntax::parse(&source);
        let (ast_after, _) = syntax::parse(&formatted);
        prop_assert_eq!(without_layout(&ast_before), without_layout(&ast_after));
    }
}

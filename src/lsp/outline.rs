//! The outline of a tenant: one symbol per declaration, in file order,
//! each inbox with the settings of its block beneath it.

use super::position::Lines;
use crate::syntax::document::{Document, Statement};
use lsp_types::{DocumentSymbol, SymbolKind};

/// The document's symbols.
pub(crate) fn symbols(text: &str, document: &Document) -> Vec<DocumentSymbol> {
    let lines = Lines::new(text);
    document
        .statements()
        .map(|s| {
            let mut symbol = symbol(&lines, s);
            if s.key() == "inbox" {
                let children: Vec<DocumentSymbol> = s
                    .children()
                    .map(|c| {
                        let mut child = symbol_named(&lines, c, c.key().to_string());
                        child.kind = SymbolKind::PROPERTY;
                        child.detail = Some(values(c));
                        child
                    })
                    .collect();
                symbol.children = (!children.is_empty()).then_some(children);
            }
            symbol
        })
        .collect()
}

fn symbol(lines: &Lines, s: &Statement) -> DocumentSymbol {
    let name = match s.key() {
        "deflection" | "compliance" => s.key().to_string(),
        _ => s
            .values
            .first()
            .map_or_else(|| s.key().to_string(), |v| v.text.value.clone()),
    };
    let mut symbol = symbol_named(lines, s, name);
    symbol.detail = Some(match (s.key(), s.values.get(1)) {
        ("inbox", Some(kind)) => format!("{} inbox", kind.text.value),
        (key, _) => key.to_string(),
    });
    symbol
}

#[allow(deprecated)] // `deprecated` is a field every DocumentSymbol must set.
fn symbol_named(lines: &Lines, s: &Statement, name: String) -> DocumentSymbol {
    let selection = s.values.first().map_or(s.key.span, |v| v.span());
    DocumentSymbol {
        name: if name.is_empty() {
            s.key().to_string()
        } else {
            name
        },
        detail: None,
        kind: kind_of(s.key()),
        tags: None,
        deprecated: None,
        range: lines.range(s.span),
        selection_range: lines.range(
            if s.span.start <= selection.start && selection.end <= s.span.end {
                selection
            } else {
                s.span
            },
        ),
        children: None,
    }
}

fn kind_of(key: &str) -> SymbolKind {
    match key {
        "tenant" => SymbolKind::NAMESPACE,
        "inbox" => SymbolKind::STRUCT,
        "agent" => SymbolKind::OBJECT,
        "team" => SymbolKind::CLASS,
        "hours" | "holidays" => SymbolKind::EVENT,
        "template" => SymbolKind::STRING,
        "number" => SymbolKind::CONSTANT,
        "hooks" | "table" => SymbolKind::FILE,
        _ => SymbolKind::KEY,
    }
}

fn values(s: &Statement) -> String {
    let words: Vec<&str> = s.values.iter().map(|v| v.text.value.as_str()).collect();
    words.join(" ")
}

//! The canonical form of a policy: what `switchboard fmt` writes.
//!
//! - two spaces of indent per block, one statement per line;
//! - values separated by one space, strings re-quoted with minimal escapes;
//! - comments kept where they were, trailing comments after one space;
//! - at most one blank line in a row, and one around every top-level block.
//!
//! Formatting only rearranges white space, so the document it prints parses
//! back to the same statements and comments; the tests check this for every
//! example policy and for generated ones.

use super::document::{Block, Document, Item, Statement, Value, ValueKind};
use std::fmt::Write as _;

/// Prints a document in canonical form. The document must have no syntax
/// errors (`Item::Error`); those lines are not printed.
pub fn format_document(document: &Document) -> String {
    let mut out = String::new();
    let mut previous: Option<&Item> = None;
    for item in &document.items {
        if let Some(prev) = previous {
            if needs_blank_between(prev, item) {
                out.push('\n');
            }
        }
        write_item(&mut out, item, 0);
        previous = Some(item);
    }
    out
}

/// Top-level blocks stand apart: a blank line before (unless a comment sits on
/// them) and after each.
fn needs_blank_between(prev: &Item, next: &Item) -> bool {
    let is_block = |item: &Item| matches!(item, Item::Statement(s) if s.block.is_some());
    match (prev, next) {
        (Item::Blank, _) | (_, Item::Blank) => false,
        (Item::Comment(_), _) => false,
        _ => is_block(prev) || is_block(next),
    }
}

fn write_item(out: &mut String, item: &Item, depth: usize) {
    match item {
        Item::Statement(s) => write_statement(out, s, depth),
        Item::Comment(c) => {
            indent(out, depth);
            let _ = writeln!(out, "#{}", c.value);
        }
        Item::Blank => out.push('\n'),
        Item::Error(_) => {}
    }
}

fn write_statement(out: &mut String, s: &Statement, depth: usize) {
    indent(out, depth);
    out.push_str(s.key());
    for value in &s.values {
        out.push(' ');
        write_value(out, value);
    }
    if let Some(block) = &s.block {
        write_block(out, block, depth);
    }
    if let Some(comment) = &s.comment {
        let _ = write!(out, " #{}", comment.value);
    }
    out.push('\n');
}

fn write_block(out: &mut String, block: &Block, depth: usize) {
    out.push_str(" {");
    if let Some(comment) = &block.comment {
        let _ = write!(out, " #{}", comment.value);
    }
    let printable = block.items.iter().any(|i| !matches!(i, Item::Error(_)));
    if !printable && block.comment.is_none() {
        out.push('}');
        return;
    }
    out.push('\n');
    for item in &block.items {
        write_item(out, item, depth + 1);
    }
    indent(out, depth);
    out.push('}');
}

fn write_value(out: &mut String, value: &Value) {
    if value.kind != ValueKind::String {
        out.push_str(&value.text.value);
        return;
    }
    out.push('"');
    for c in value.text.value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn indent(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push_str("  ");
    }
}

//! Diagnostics: what is wrong with a policy, where, and how to fix it.
//!
//! Every diagnostic has a stable [`Code`], a span in its source, a message a
//! tenant admin understands, and usually a hint. [`Diagnostics::render`] prints
//! them the way compilers do:
//!
//! ```text
//! policies/acme.policy:12:11: error[E0302]: number +14155550100 is in two inboxes
//!    |
//! 12 |   numbers +14155550100
//!    |           ^^^^^^^^^^^^
//!    = note: it is also in inbox `sales` at line 4
//!    = hint: a number routes to one inbox; remove it from one of them
//! ```

use super::code::{Code, Severity};
use super::span::{LineIndex, Span};
use serde::Serialize;
use std::fmt::Write as _;

/// One finding of the checker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    pub span: Span,
    /// Further facts, e.g. where the other definition is.
    pub notes: Vec<String>,
    /// Other places that explain this one: "first declared here".
    pub related: Vec<Related>,
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn new(code: Code, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity: code.severity(),
            message: message.into(),
            span,
            notes: Vec::new(),
            related: Vec::new(),
            hint: None,
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// Points at another place in the same file, rendered as a note with
    /// its line and column.
    pub fn related(mut self, span: Span, message: impl Into<String>) -> Self {
        self.related.push(Related {
            span,
            message: message.into(),
        });
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Related {
    pub span: Span,
    pub message: String,
}

/// The diagnostics of one source file, in source order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diagnostics {
    pub items: Vec<Diagnostic>,
    /// Errors and warnings left out by [`Diagnostics::limit`].
    pub omitted_errors: usize,
    pub omitted_warnings: usize,
}

/// The most diagnostics reported for one file; past this, the rest are
/// counted, not listed (a hostile file could otherwise produce millions).
pub const MAX_DIAGNOSTICS: usize = 100;

impl Diagnostics {
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.items.push(diagnostic);
    }

    pub fn extend(&mut self, other: impl IntoIterator<Item = Diagnostic>) {
        self.items.extend(other);
    }

    pub fn has_errors(&self) -> bool {
        self.omitted_errors > 0 || self.items.iter().any(Diagnostic::is_error)
    }

    /// How many errors there are, listed or not.
    pub fn error_count(&self) -> usize {
        self.errors().count() + self.omitted_errors
    }

    /// How many warnings there are, listed or not.
    pub fn warning_count(&self) -> usize {
        self.warnings().count() + self.omitted_warnings
    }

    /// Keeps the first `max` diagnostics (in source order) and counts the
    /// rest.
    pub fn limit(&mut self, max: usize) {
        for d in self.items.drain(max.min(self.items.len())..) {
            match d.severity {
                Severity::Error => self.omitted_errors += 1,
                Severity::Warning => self.omitted_warnings += 1,
            }
        }
    }

    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter().filter(|d| d.is_error())
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter().filter(|d| !d.is_error())
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Orders by position, then code, and drops exact repeats.
    pub fn sort(&mut self) {
        self.items.sort_by_key(|d| (d.span, d.code));
        self.items.dedup();
    }

    /// Renders every diagnostic as `file:line:col: severity[code]: message`,
    /// followed by the source line, a caret under the span, notes and hint.
    pub fn render(&self, file: &str, source: &str) -> String {
        let index = LineIndex::new(source);
        let mut out = String::new();
        for d in &self.items {
            render_one(&mut out, d, file, &index);
        }
        let omitted = self.omitted_errors + self.omitted_warnings;
        if omitted > 0 {
            let _ = writeln!(
                out,
                "{file}: {omitted} more diagnostics not shown ({} errors, {} warnings); fix the ones above first\n",
                self.omitted_errors, self.omitted_warnings
            );
        }
        out
    }

    /// The diagnostics as JSON values with file, line and column filled in.
    pub fn to_json(&self, file: &str, source: &str) -> Vec<serde_json::Value> {
        let index = LineIndex::new(source);
        self.items
            .iter()
            .map(|d| {
                let start = index.position(d.span.start);
                let end = index.position(d.span.end);
                serde_json::json!({
                    "file": file,
                    "line": start.line,
                    "column": start.column,
                    "end_line": end.line,
                    "end_column": end.column,
                    "severity": d.severity,
                    "code": d.code,
                    "message": d.message,
                    "notes": d.notes.iter().cloned().chain(d.related.iter().map(|r| {
                        let at = index.position(r.span.start);
                        format!("{} at line {}:{}", r.message, at.line, at.column)
                    })).collect::<Vec<_>>(),
                    "hint": d.hint,
                })
            })
            .collect()
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

/// How much of a long line to show on each side of a diagnostic.
const CONTEXT_BYTES: usize = 60;

/// The source line to show (cut to a window around the span on very long
/// lines), the white space that leads up to the caret, and the caret's width
/// (the span, clipped to its first line).
fn snippet(index: &LineIndex<'_>, line: usize, span: Span) -> (String, String, usize) {
    let (line_start, line_end) = index.line_bounds(line);
    let source = index.source();
    let start = span.start.clamp(line_start, line_end);
    let mut from = start.saturating_sub(CONTEXT_BYTES).max(line_start);
    while !source.is_char_boundary(from) {
        from -= 1;
    }
    let mut to = (span.end.max(start) + CONTEXT_BYTES).min(line_end);
    while !source.is_char_boundary(to) {
        to += 1;
    }
    let cut_before = from > line_start;
    let cut_after = to < line_end;
    let mut shown = String::new();
    let mut lead = String::new();
    if cut_before {
        shown.push('…');
        lead.push(' ');
    }
    shown.push_str(&source[from..to]);
    if cut_after {
        shown.push('…');
    }
    lead.extend(
        source[from..start]
            .chars()
            .map(|c| if c == '\t' { '\t' } else { ' ' }),
    );
    let caret_end = span.end.clamp(start, to);
    let width = source[start..caret_end].chars().count().max(1);
    (shown, lead, width)
}

fn render_one(out: &mut String, d: &Diagnostic, file: &str, index: &LineIndex<'_>) {
    let severity = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let heading = format!("{severity}[{}]", d.code);
    let pad = write_heading_and_snippet(out, file, index, d.span, &heading, &d.message);
    for note in &d.notes {
        let _ = writeln!(out, "{pad} = note: {note}");
    }
    for related in &d.related {
        let at = index.position(related.span.start);
        let _ = writeln!(
            out,
            "{pad} = note: {} at line {}:{}",
            related.message, at.line, at.column
        );
    }
    if let Some(hint) = &d.hint {
        let _ = writeln!(out, "{pad} = hint: {hint}");
    }
    out.push('\n');
}

/// `file:line:col: heading: message`, then the line with a caret under
/// `span`; returns the gutter's padding, for notes and hints.
fn write_heading_and_snippet(
    out: &mut String,
    file: &str,
    index: &LineIndex<'_>,
    span: Span,
    heading: &str,
    message: &str,
) -> String {
    let start = index.position(span.start);
    let _ = writeln!(
        out,
        "{file}:{}:{}: {heading}: {message}",
        start.line, start.column
    );
    let gutter = start.line.to_string().len();
    let pad = " ".repeat(gutter);
    let (snippet, lead, width) = snippet(index, start.line, span);
    let _ = writeln!(out, "{pad} |");
    let _ = writeln!(out, "{} | {snippet}", start.line);
    let _ = writeln!(out, "{pad} | {lead}{}", "^".repeat(width));
    pad
}

/// An error in another file than a policy (a scenario, say), rendered as a
/// policy's diagnostics are: place, message, the line with a caret under
/// `span`, and a hint.
pub fn render_error(
    file: &str,
    source: &str,
    span: Span,
    message: &str,
    hint: Option<&str>,
) -> String {
    let index = LineIndex::new(source);
    let mut out = String::new();
    let pad = write_heading_and_snippet(&mut out, file, &index, span, "error", message);
    if let Some(hint) = hint {
        let _ = writeln!(out, "{pad} = hint: {hint}");
    }
    out
}

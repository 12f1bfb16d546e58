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

use super::span::{LineIndex, Span};
use serde::Serialize;
use std::fmt::{self, Write as _};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

macro_rules! codes {
    ($($variant:ident = $code:literal, $title:literal;)*) => {
        /// The stable code of a diagnostic. Codes never change meaning; a
        /// retired code is not reused.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code { $($variant,)* }

        impl Code {
            /// Every code, in order: the catalogue in docs/LANGUAGE.md.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code,)* }
            }

            /// A one-line description of what the code means.
            pub fn title(self) -> &'static str {
                match self { $(Code::$variant => $title,)* }
            }
        }
    };
}

codes! {
    // Syntax.
    Syntax = "E0001", "a line that is not a statement";
    UnterminatedString = "E0002", "a string with no closing quote";
    UnclosedBlock = "E0003", "a block with no closing `}`";
    UnexpectedClose = "E0004", "a `}` that closes nothing";
    TooLarge = "E0005", "a policy file larger than the limit";
    TooDeep = "E0006", "blocks nested deeper than the limit";
    BadEscape = "E0007", "an unknown escape in a string";
    NotUtf8 = "E0008", "a policy file that is not UTF-8 text";
    // Structure: which statements exist and what they take.
    UnknownDeclaration = "E0101", "an unknown top-level declaration";
    UnknownSetting = "E0102", "an unknown setting in a block";
    WrongArity = "E0103", "a statement with too many or too few values";
    WrongValue = "E0104", "a value of the wrong kind";
    RepeatedSetting = "E0105", "a setting given twice in one block";
    MissingBlock = "E0106", "a declaration without its block, or a block where none belongs";
    MissingTenant = "E0107", "a policy without a tenant declaration";
    MissingSetting = "E0108", "a required setting is missing";
    // Names.
    UnknownName = "E0201", "a reference to a name that is not declared";
    DuplicateName = "E0202", "a name declared twice";
    UnknownNumber = "E0203", "a phone number that is not declared";
    UnknownPlaceholder = "E0204", "a template placeholder that does not exist";
    // Phone numbers.
    NotE164 = "E0301", "a phone number not in E.164 form";
    NumberInTwoInboxes = "E0302", "a number in two inboxes";
    NumberOnAgentAndQueue = "E0303", "a number both on an agent and on an SMS queue";
    NumberOnTwoQueues = "E0304", "a number on two SMS queues";
    UnknownChannel = "E0305", "a channel other than sms, mms or whatsapp";
    // Time.
    UnknownZone = "E0401", "an unknown IANA time zone";
    ImpossibleTime = "E0402", "a clock time that does not exist, such as 25:00";
    EmptyInterval = "E0403", "an interval that starts when it ends, such as 10:00-10:00";
    BadDuration = "E0404", "a duration that is malformed, zero, or too long";
    BadDate = "E0405", "a date that does not exist";
    BadDays = "E0406", "a day or day range that is not understood";
    OverlappingHours = "E0407", "two intervals of one schedule that overlap";
    // Inboxes and agents.
    MissingMessage = "E0501", "a required message is missing (keyword queue, deflection)";
    DuplicateKeyword = "E0502", "a keyword used twice in one queue";
    KeywordIsCompliance = "E0503", "a queue keyword that is also a compliance keyword";
    DirectWithoutAgent = "E0504", "a direct inbox without an agent";
    NoMembers = "E0505", "an inbox with no members";
    WrongInboxKind = "E0506", "a setting that does not apply to this kind of inbox";
    UnknownInboxKind = "E0507", "an inbox kind other than shared, queue or direct";
    AcceptsOnCall = "E0508", "an agent allowed to accept new conversations on a call or offline";
    UnknownStatus = "E0509", "an agent status that is not declared";
    BadNumber = "E0510", "a count that is out of range";
    // Compliance.
    UnknownCountry = "E0601", "a country that is not an ISO 3166 alpha-2 code";
    DuplicateComplianceKeyword = "E0602", "a compliance keyword in two sets";
    // Hooks.
    HookFileMissing = "E0701", "a hook script that cannot be read";
    HookFileInvalid = "E0702", "a hook script that does not compile";
    HookFunctionMissing = "E0703", "a hook function the script does not define";
    HookFunctionArity = "E0704", "a hook function with the wrong number of parameters";
    UnknownHookPoint = "E0705", "a hook point that does not exist, or one given twice";
    HooksNotDeclared = "E0706", "an inbox hook in a policy with no hook script";
    TableInvalid = "E0707", "a lookup table that cannot be read";
    // Warnings: legal, but probably not what was meant.
    NeverOpen = "W0001", "an inbox whose hours are never open";
    UnusedTeam = "W0002", "a team no inbox uses";
    UnusedNumber = "W0003", "a number no inbox uses";
    UnusedHours = "W0004", "hours nothing uses";
    UnusedTemplate = "W0005", "a template nothing uses";
    AutoresponderNeverSent = "W0006", "an autoresponder on an inbox with no SMS number";
    CountryWithoutDefaults = "W0007", "a country with no built-in compliance keywords";
    HookNeverRuns = "W0008", "a hook this kind of inbox never runs";
    HookTimeoutIgnored = "W0009", "a hook `timeout`, which no longer limits anything";
}

impl Code {
    /// Whether the file was refused outright, so nothing past this is worth
    /// checking.
    pub fn is_fatal(self) -> bool {
        matches!(self, Code::TooLarge | Code::TooDeep)
    }

    pub fn severity(self) -> Severity {
        if self.as_str().starts_with('W') {
            Severity::Warning
        } else {
            Severity::Error
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

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
    let start = index.position(d.span.start);
    let severity = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let _ = writeln!(
        out,
        "{file}:{}:{}: {severity}[{}]: {}",
        start.line, start.column, d.code, d.message
    );
    let gutter = start.line.to_string().len();
    let pad = " ".repeat(gutter);
    let (snippet, lead, width) = snippet(index, start.line, d.span);
    let _ = writeln!(out, "{pad} |");
    let _ = writeln!(out, "{} | {snippet}", start.line);
    let _ = writeln!(out, "{pad} | {lead}{}", "^".repeat(width));
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

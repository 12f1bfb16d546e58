//! Text to statement tree, with every syntax error the file has.
//!
//! The grammar (grammar/policy.pest) never gives up on a file: a line it cannot
//! read becomes a `bad_line` or a statement's `junk`, and an unclosed block
//! runs to the end of the file. This module turns pest's pairs into a
//! [`Document`] and each of those recoveries into a diagnostic.

use super::document::{Block, Document, Item, Statement, Value, ValueKind};
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::diag::{Span, Spanned};
use pest::iterators::Pair;
use pest::Parser as _;

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/policy.pest"]
struct PolicyParser;

/// The largest policy file accepted, in bytes.
pub const MAX_SOURCE_BYTES: usize = 4 * 1024 * 1024;
/// How deeply blocks may nest. Policies need three levels; the limit keeps
/// hostile input from exhausting the parser's stack.
pub const MAX_DEPTH: usize = 8;

/// Parses a policy's text into its statement tree and syntax diagnostics.
///
/// Never panics; a file with errors still yields every statement that could be
/// read, so later stages can report their own findings too.
pub fn parse_document(source: &str) -> (Document, Diagnostics) {
    let mut diagnostics = Diagnostics::default();
    if source.len() > MAX_SOURCE_BYTES {
        diagnostics.push(
            Diagnostic::new(
                Code::TooLarge,
                Span::new(0, 0),
                format!(
                    "this policy is {} bytes; the limit is {} bytes",
                    source.len(),
                    MAX_SOURCE_BYTES
                ),
            )
            .hint("split the tenant's policy, or move data into hook tables"),
        );
        return (Document::default(), diagnostics);
    }
    if let Some(span) = too_deep(source) {
        diagnostics.push(
            Diagnostic::new(
                Code::TooDeep,
                span,
                format!("blocks are nested more than {MAX_DEPTH} deep"),
            )
            .hint("a policy needs at most three levels, e.g. inbox { deflection { ... } }"),
        );
        return (Document::default(), diagnostics);
    }

    let pairs = match PolicyParser::parse(Rule::policy, source) {
        Ok(pairs) => pairs,
        // The grammar accepts every input; this is a safety net, not a path.
        Err(error) => {
            let span = match error.location {
                pest::error::InputLocation::Pos(p) => Span::new(p, p),
                pest::error::InputLocation::Span((s, e)) => Span::new(s, e),
            };
            diagnostics.push(Diagnostic::new(
                Code::Syntax,
                span,
                error.variant.message().to_string(),
            ));
            return (Document::default(), diagnostics);
        }
    };

    let mut builder = TreeBuilder {
        source,
        diagnostics,
    };
    let policy = pairs.into_iter().next().map(Pair::into_inner);
    let items = policy.map(|p| builder.items(p)).unwrap_or_default();
    (Document { items }, builder.diagnostics)
}

/// The span of the first `{` past [`MAX_DEPTH`], outside strings and comments.
fn too_deep(source: &str) -> Option<Span> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut in_comment = false;
    let mut escaped = false;
    for (i, c) in source.char_indices() {
        if in_comment {
            in_comment = c != '\n';
        } else if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' | '\n' => in_string = false,
                _ => {}
            }
        } else {
            match c {
                '#' => in_comment = true,
                '"' => in_string = true,
                '{' => {
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return Some(Span::new(i, i + 1));
                    }
                }
                '}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
    }
    None
}

struct TreeBuilder<'s> {
    source: &'s str,
    diagnostics: Diagnostics,
}

impl TreeBuilder<'_> {
    /// The items of a body (the file, or a block), with blank lines folded:
    /// none first or last, never two in a row.
    fn items<'i>(&mut self, pairs: impl Iterator<Item = Pair<'i, Rule>>) -> Vec<Item> {
        let mut items = Vec::new();
        for pair in pairs {
            let Some(item) = self.item(pair) else {
                continue;
            };
            if matches!(item, Item::Blank) && matches!(items.last(), None | Some(Item::Blank)) {
                continue;
            }
            items.push(item);
        }
        if matches!(items.last(), Some(Item::Blank)) {
            items.pop();
        }
        items
    }

    fn item(&mut self, pair: Pair<'_, Rule>) -> Option<Item> {
        match pair.as_rule() {
            Rule::blank => {
                // A newline is a blank line only when nothing else is on its
                // line (the newline that ends a `{` line is not one).
                let at = pair.as_span().start();
                let line_start = self.source[..at].rfind('\n').map_or(0, |i| i + 1);
                self.source[line_start..at]
                    .trim()
                    .is_empty()
                    .then_some(Item::Blank)
            }
            Rule::comment_line => pair
                .into_inner()
                .next()
                .map(|c| Item::Comment(comment_text(c))),
            Rule::statement => Some(Item::Statement(self.statement(pair))),
            Rule::stray_close => {
                let span = Span::from(pair.as_span());
                self.diagnostics.push(
                    Diagnostic::new(Code::UnexpectedClose, span, "this `}` closes no block")
                        .hint("remove it, or look above for a block closed twice"),
                );
                Some(Item::Error(span))
            }
            Rule::bad_line => {
                let span = self.trimmed(pair.as_span());
                self.bad_line(span);
                Some(Item::Error(span))
            }
            _ => None,
        }
    }

    fn statement(&mut self, pair: Pair<'_, Rule>) -> Statement {
        let span = self.trimmed(pair.as_span());
        let mut inner = pair.into_inner();
        let key = inner.next().map_or_else(
            || Spanned::new(String::new(), span),
            |k| Spanned::new(k.as_str().to_string(), k.as_span().into()),
        );
        let mut statement = Statement {
            key,
            values: Vec::new(),
            block: None,
            comment: None,
            span,
            damaged: false,
        };
        for part in inner {
            match part.as_rule() {
                Rule::values => {
                    statement.values = part.into_inner().map(|v| self.value(v)).collect();
                }
                Rule::block => statement.block = Some(self.block(part)),
                Rule::comment => statement.comment = Some(comment_text(part)),
                Rule::junk => {
                    self.junk(&statement, part.as_span().into());
                    statement.damaged = true;
                }
                _ => {}
            }
        }
        statement
    }

    fn block(&mut self, pair: Pair<'_, Rule>) -> Block {
        let span = Span::from(pair.as_span());
        let open = Span::new(span.start, span.start + 1);
        let mut comment = None;
        let mut body = Vec::new();
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::comment if body.is_empty() && comment.is_none() => {
                    comment = Some(comment_text(part));
                }
                Rule::close => {}
                Rule::unclosed => {
                    let hint = self.unclosed_hint(part.as_span().start());
                    self.diagnostics.push(
                        Diagnostic::new(Code::UnclosedBlock, open, "this block is never closed")
                            .hint(hint),
                    );
                }
                _ => body.push(part),
            }
        }
        let items = self.items(body.into_iter());
        Block {
            comment,
            items,
            span,
        }
    }

    fn value(&mut self, pair: Pair<'_, Rule>) -> Value {
        let span = Span::from(pair.as_span());
        let kind = match pair.as_rule() {
            Rule::string => ValueKind::String,
            Rule::time_range => ValueKind::TimeRange,
            Rule::time => ValueKind::Time,
            Rule::date => ValueKind::Date,
            Rule::duration => ValueKind::Duration,
            Rule::phone => ValueKind::Phone,
            Rule::integer => ValueKind::Integer,
            Rule::name => ValueKind::Name,
            _ => ValueKind::Word,
        };
        let text = if kind == ValueKind::String {
            let inner = pair.into_inner().next();
            let (raw, start) =
                inner.map_or(("", span.start + 1), |p| (p.as_str(), p.as_span().start()));
            self.unescape(raw, start)
        } else {
            pair.as_str().to_string()
        };
        Value {
            kind,
            text: Spanned::new(text, span),
        }
    }

    fn unescape(&mut self, raw: &str, start: usize) -> String {
        let mut out = String::with_capacity(raw.len());
        let mut chars = raw.char_indices();
        while let Some((i, c)) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some((_, '"')) => out.push('"'),
                Some((_, '\\')) => out.push('\\'),
                Some((_, 'n')) => out.push('\n'),
                Some((_, 't')) => out.push('\t'),
                Some((_, 'r')) => out.push('\r'),
                Some((j, other)) => {
                    let span = Span::new(start + i, start + j + other.len_utf8());
                    self.diagnostics.push(
                        Diagnostic::new(
                            Code::BadEscape,
                            span,
                            format!("unknown escape `\\{other}` in a string"),
                        )
                        .hint("strings know \\\" \\\\ \\n \\r and \\t; write other characters as they are"),
                    );
                    out.push(other);
                }
                None => out.push('\\'),
            }
        }
        out
    }

    fn junk(&mut self, statement: &Statement, span: Span) {
        let text = &self.source[span.start..span.end];
        if let Some(quote) = text.find('"') {
            let at = span.start + quote;
            self.unterminated_string(Span::new(at, span.end));
            return;
        }
        let found = text.trim_end();
        let span = Span::new(span.start, span.start + found.len());
        let hint = match found.chars().next() {
            Some('=') | Some(':') => format!(
                "settings are written `{} value`, without `{}`",
                statement.key(),
                &found[..1]
            ),
            Some('{') => "a block opens at the end of its line: `name ... {`".to_string(),
            _ => "values are strings in quotes, names, numbers, times (09:00-17:00), durations (30m) and phone numbers (+14155550100)".to_string(),
        };
        self.diagnostics.push(
            Diagnostic::new(
                Code::Syntax,
                span,
                format!("unexpected `{found}` after `{}`", statement.key()),
            )
            .hint(hint),
        );
    }

    fn bad_line(&mut self, span: Span) {
        let text = &self.source[span.start..span.end];
        if let Some(quote) = text.find('"') {
            if text[quote + 1..].find('"').is_none() {
                self.unterminated_string(Span::new(span.start + quote, span.end));
                return;
            }
        }
        self.diagnostics.push(
            Diagnostic::new(
                Code::Syntax,
                span,
                format!("expected a statement, found `{text}`"),
            )
            .hint("a statement starts with a name, as in `numbers +14155550100` or `inbox sales shared {`"),
        );
    }

    fn unterminated_string(&mut self, span: Span) {
        self.diagnostics.push(
            Diagnostic::new(
                Code::UnterminatedString,
                span,
                "this string has no closing quote",
            )
            .hint("end the string with `\"` on the same line; write a line break as \\n"),
        );
    }

    /// Where the `}` of a block left open goes: before the declaration that
    /// ended it, or at the end of the file.
    fn unclosed_hint(&self, at: usize) -> String {
        let rest = self.source[at..].trim_start_matches(['\r', '\n']);
        if rest.is_empty() {
            return "add a `}` where the block ends".into();
        }
        let line = self.source[..self.source.len() - rest.len()]
            .matches('\n')
            .count()
            + 1;
        let opening = rest.lines().next().unwrap_or_default();
        let opening = opening.split('{').next().unwrap_or(opening).trim_end();
        format!("add a `}}` where the block ends, before `{opening}` on line {line}")
    }

    /// The span without trailing whitespace and line ending.
    fn trimmed(&self, span: pest::Span<'_>) -> Span {
        let text = span.as_str().trim_end();
        Span::new(span.start(), span.start() + text.len())
    }
}

fn comment_text(pair: Pair<'_, Rule>) -> Spanned<String> {
    let text = pair.as_str().trim_end();
    let text = text.strip_prefix('#').unwrap_or(text);
    Spanned::new(text.to_string(), pair.as_span().into())
}

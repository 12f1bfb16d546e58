//! The statement tree: a policy as written, comments and blank lines included.
//!
//! The parser produces this tree; the formatter prints it back; lowering turns
//! it into the typed [`ast`](super::ast). Keeping comments here, and not in the
//! AST, is what lets `switchboard fmt` rewrite a file without losing a word.

use crate::diag::{Span, Spanned};
use serde::Serialize;

/// A parsed policy file.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Document {
    pub items: Vec<Item>,
}

/// One line-level thing in a body.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Item {
    Statement(Statement),
    /// A comment on a line of its own, without the `#`.
    Comment(Spanned<String>),
    /// One or more empty lines (the formatter keeps at most one).
    Blank,
    /// A line that could not be parsed; its diagnostic has been reported.
    Error(Span),
}

/// `key value... { items }  # comment`
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Statement {
    pub key: Spanned<String>,
    pub values: Vec<Value>,
    pub block: Option<Block>,
    /// A comment after the statement (after the closing `}` for a block).
    pub comment: Option<Spanned<String>>,
    pub span: Span,
    /// Part of the line could not be read (and was reported): later stages
    /// stay quiet about what is missing from it.
    #[serde(skip)]
    pub damaged: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Block {
    /// A comment after the opening `{`.
    pub comment: Option<Spanned<String>>,
    pub items: Vec<Item>,
    pub span: Span,
}

/// One value as written. `text` is the source text, except for strings, whose
/// text is the decoded content (escapes resolved).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Value {
    pub kind: ValueKind,
    pub text: Spanned<String>,
}

impl Value {
    pub fn span(&self) -> Span {
        self.text.span
    }
}

/// The shape of a value, as the grammar recognised it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ValueKind {
    String,
    TimeRange,
    Time,
    Date,
    Duration,
    Phone,
    Integer,
    Name,
    Word,
}

impl ValueKind {
    /// How the kind is named in error messages.
    pub fn describe(self) -> &'static str {
        match self {
            ValueKind::String => "a string",
            ValueKind::TimeRange => "a time range",
            ValueKind::Time => "a clock time",
            ValueKind::Date => "a date",
            ValueKind::Duration => "a duration",
            ValueKind::Phone => "a phone number",
            ValueKind::Integer => "a whole number",
            ValueKind::Name => "a name",
            ValueKind::Word => "a word",
        }
    }
}

impl Statement {
    pub fn key(&self) -> &str {
        &self.key.value
    }

    /// The statements of this statement's block, if it has one.
    pub fn children(&self) -> impl Iterator<Item = &Statement> {
        self.block
            .iter()
            .flat_map(|b| b.items.iter())
            .filter_map(|item| match item {
                Item::Statement(s) => Some(s),
                _ => None,
            })
    }
}

impl Document {
    pub fn statements(&self) -> impl Iterator<Item = &Statement> {
        self.items.iter().filter_map(|item| match item {
            Item::Statement(s) => Some(s),
            _ => None,
        })
    }
}

//! Policy text to typed AST, and back to canonical text.
//!
//! ```text
//! text ──parse──▶ Document (statements, comments) ──lower──▶ ast::Policy
//!                     │
//!                     └──format──▶ canonical text
//! ```

pub mod ast;
pub mod document;
pub mod format;
pub mod lower;
pub mod names;
pub mod parse;

use crate::diag::Diagnostics;

pub use document::Document;

/// Parses and lowers a policy: its AST, and every syntax and structure
/// diagnostic. The AST holds whatever could be read, even with errors.
pub fn parse(source: &str) -> (ast::Policy, Diagnostics) {
    let (document, mut diagnostics) = parse::parse_document(source);
    let (policy, lowered) = lower::lower(&document);
    diagnostics.extend(lowered);
    (policy, diagnostics)
}

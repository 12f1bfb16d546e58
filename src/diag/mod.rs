//! Diagnostics and the spans they point at: below every stage, so the
//! syntax, the checker and every face report problems the same way.
//!
//! - `code`: the catalogue of stable codes (`E0302`, `W0001`, ...).
//! - `diagnostic`: one finding, a list of them, and rendering with snippets.
//! - `span`: byte ranges in a source, and line/column lookup.

mod code;
mod diagnostic;
mod span;

pub use code::{Code, Severity};
pub use diagnostic::{Diagnostic, Diagnostics, Related, MAX_DIAGNOSTICS};
pub use span::{LineIndex, Span, Spanned};

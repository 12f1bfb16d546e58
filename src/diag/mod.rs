//! Diagnostics and the spans they point at: below every stage, so the
//! syntax, the checker and every face report problems the same way.
//!
//! - `code`: the catalogue of stable codes (`E0302`, `W0001`, ...).
//! - `diagnostic`: one finding, a list of them, and rendering with snippets.
//! - `span`: byte ranges in a source, and line/column lookup.
//! - `suggest`: the nearest known word to a misspelt one, for hints.

mod code;
mod diagnostic;
mod span;
mod suggest;

pub use code::{Code, Severity};
pub use diagnostic::{render_error, Diagnostic, Diagnostics, Related, MAX_DIAGNOSTICS};
pub use span::{LineIndex, Span, Spanned};
pub use suggest::did_you_mean;

//! Resolve and validate a policy's AST, and build the compiled [`Policy`].
//!
//! Each rule lives in the module of the idea it guards: names, numbers,
//! inboxes, compliance, hooks, and the warnings for what is legal but
//! probably wrong. The checker reports everything it finds; only a policy with
//! no errors is built.

mod build;
mod compliance;
mod hooks;
mod inboxes;
mod names;
mod numbers;
mod warnings;

use crate::diag::Span;
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::policy::Policy;
use crate::sources::Sources;
use crate::syntax::ast;

pub use names::Symbols;

/// Checks a lowered policy, reading the hook script and tables it names
/// through `sources`. Returns the compiled policy when there are no errors,
/// and every diagnostic either way.
pub fn check(policy: &ast::Policy, sources: &dyn Sources) -> (Option<Policy>, Diagnostics) {
    let mut cx = Checker {
        ast: policy,
        sources,
        diagnostics: Diagnostics::default(),
        symbols: Symbols::default(),
        compiled_hooks: None,
    };
    cx.tenant();
    cx.symbols = names::collect(&mut cx);
    cx.references();
    cx.numbers();
    cx.inboxes();
    let compliance = cx.compliance();
    cx.keyword_collisions(&compliance);
    cx.hooks();
    cx.warnings();

    let mut diagnostics = cx.diagnostics;
    diagnostics.sort();
    if diagnostics.has_errors() {
        return (None, diagnostics);
    }
    let mut compiled = build::build(policy, &cx.symbols, compliance, cx.compiled_hooks);
    compiled.warnings = diagnostics.clone();
    (Some(compiled), diagnostics)
}

pub(crate) struct Checker<'a> {
    pub(crate) ast: &'a ast::Policy,
    /// Where the files the policy names are read from.
    pub(crate) sources: &'a dyn Sources,
    pub(crate) diagnostics: Diagnostics,
    pub(crate) symbols: Symbols<'a>,
    /// The hook script, once read and compiled.
    pub(crate) compiled_hooks: Option<std::sync::Arc<crate::hooks::Hooks>>,
}

impl Checker<'_> {
    pub(crate) fn push(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    fn tenant(&mut self) {
        if self.ast.tenant.is_none() {
            self.push(
                Diagnostic::new(
                    Code::MissingTenant,
                    Span::new(0, 0),
                    "this policy declares no tenant",
                )
                .hint("start the policy with `tenant acme { zone America/New_York; country US }`"),
            );
        }
    }
}

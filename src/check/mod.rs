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

use crate::policy::Policy;
use crate::syntax::ast;
use crate::syntax::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::syntax::span::Span;
use std::path::PathBuf;

pub use names::Symbols;

/// Where the checker finds what a policy refers to outside itself.
#[derive(Clone, Debug, Default)]
pub struct CheckOptions {
    /// The folder hook scripts are relative to: the policy file's folder.
    /// Without one, hook scripts cannot be read and are reported missing.
    pub base_dir: Option<PathBuf>,
}

/// Checks a lowered policy. Returns the compiled policy when there are no
/// errors, and every diagnostic either way.
pub fn check(policy: &ast::Policy, options: &CheckOptions) -> (Option<Policy>, Diagnostics) {
    let mut cx = Checker {
        ast: policy,
        options,
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
    pub(crate) options: &'a CheckOptions,
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

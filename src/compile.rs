//! The one way in: a policy's text, and the files it names read through
//! [`Sources`], parsed, checked and compiled into a [`Policy`].
//!
//! Every face compiles here: `check`, `simulate`, `test`, the service's
//! revisions (from the files kept in memory and in the store) and anything
//! later that compiles unsaved text.
//!
//! ```text
//! text ─syntax::parse─▶ ast ─check (reads through Sources)─▶ Policy
//! ```

use crate::check;
use crate::diag::Diagnostics;
use crate::policy::Policy;
use crate::sources::{is_beside, Folder, Sources};
use crate::syntax;

/// Compiles a policy's text; the files it names are looked up in the
/// current folder. On failure, every diagnostic (errors and warnings); on
/// success, the policy, whose `warnings` holds any warnings.
pub fn compile(source: &str) -> Result<Policy, Diagnostics> {
    compile_sources(source, &Folder::new("."))
}

/// Compiles a policy's text, reading the hook script and tables it names
/// through `sources`.
///
/// ```
/// use std::collections::BTreeMap;
/// let policy = "tenant a { zone UTC; country US }\n\
///               number +14155550100\nagent ana\n\
///               hooks \"hooks.rhai\"\n\
///               inbox main shared { numbers +14155550100; agents ana; hook routing route }";
/// let files = BTreeMap::from([(
///     "hooks.rhai".to_string(),
///     "fn route(ctx) { #{ assign: [\"ana\"] } }".to_string(),
/// )]);
/// assert!(switchboard::compile_sources(policy, &files).is_ok());
/// let missing = switchboard::compile_sources(policy, &BTreeMap::new()).unwrap_err();
/// assert!(missing.render("a.policy", policy).contains("hooks.rhai"));
/// ```
pub fn compile_sources(source: &str, sources: &dyn Sources) -> Result<Policy, Diagnostics> {
    let (ast, mut diagnostics) = syntax::parse(source);
    if diagnostics.items.iter().any(|d| d.code.is_fatal()) {
        return Err(diagnostics);
    }
    let (policy, checked) = check::check(&ast, sources);
    // A statement that could not be read is missing from the AST, which
    // would make warnings about it (hours never open, a team unused) wrong.
    let read_cleanly = !diagnostics.has_errors();
    diagnostics.extend(checked.into_iter().filter(|d| read_cleanly || d.is_error()));
    diagnostics.sort();
    diagnostics.limit(crate::diag::MAX_DIAGNOSTICS);
    match policy {
        Some(mut policy) if !diagnostics.has_errors() => {
            policy.warnings = diagnostics;
            Ok(policy)
        }
        _ => Err(diagnostics),
    }
}

/// The files a policy's text names (its hook script and tables) that stay
/// inside its folder: what a revision must keep beside the policy.
pub fn named_files(source: &str) -> Vec<String> {
    let (ast, _) = syntax::parse(source);
    ast.hooks
        .iter()
        .map(|h| h.path.value.clone())
        .chain(ast.tables.iter().map(|t| t.path.value.clone()))
        .filter(|name| is_beside(name))
        .collect()
}

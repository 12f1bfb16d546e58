//! switchboard: a policy engine for business SMS.
//!
//! A tenant writes its inboxes, hours, claim rules, keyword queues,
//! deflection and compliance as a policy file. switchboard checks the file
//! like a compiler and compiles it into a [`Policy`] that answers routing
//! questions.
//!
//! ```
//! let source = r#"
//! tenant acme {
//!   zone America/New_York
//!   country US
//! }
//!
//! number +14155550100
//!
//! agent alice
//!
//! inbox sales shared {
//!   numbers +14155550100
//!   agents alice
//!   claim must
//! }
//! "#;
//! let policy = switchboard::compile(source).expect("a valid policy");
//! let inbox = policy.inbox_for_number("+14155550100").unwrap();
//! assert_eq!(policy.inbox(inbox).name, "sales");
//! ```
//!
//! The pipeline, one module per stage:
//!
//! ```text
//! text ─syntax::parse─▶ ast ─check─▶ policy::Policy
//!          │
//!          └─syntax::format─▶ canonical text
//! ```

pub mod check;
pub mod cli;
pub mod engine;
pub mod files;
pub mod hooks;
pub mod policy;
pub mod runtime;
pub mod scenario;
pub mod server;
pub mod store;
pub mod syntax;
#[doc(hidden)]
pub mod synth;
pub mod vocab;

pub use check::CheckOptions;
pub use policy::Policy;
pub use syntax::{Diagnostic, Diagnostics};

/// Compiles a policy's text; hook scripts are looked up in the current
/// folder. On failure, every diagnostic (errors and warnings); on success, the
/// policy, whose `warnings` holds any warnings.
pub fn compile(source: &str) -> Result<Policy, Diagnostics> {
    compile_with(
        source,
        &CheckOptions {
            base_dir: Some(".".into()),
        },
    )
}

/// Compiles a policy's text with explicit options (where its hook scripts are).
pub fn compile_with(source: &str, options: &CheckOptions) -> Result<Policy, Diagnostics> {
    let (ast, mut diagnostics) = syntax::parse(source);
    if diagnostics.items.iter().any(|d| d.code.is_fatal()) {
        return Err(diagnostics);
    }
    let (policy, checked) = check::check(&ast, options);
    // A statement that could not be read is missing from the AST, which
    // would make warnings about it (hours never open, a team unused) wrong.
    let read_cleanly = !diagnostics.has_errors();
    diagnostics.extend(checked.into_iter().filter(|d| read_cleanly || d.is_error()));
    diagnostics.sort();
    diagnostics.limit(syntax::diagnostic::MAX_DIAGNOSTICS);
    match policy {
        Some(mut policy) if !diagnostics.has_errors() => {
            policy.warnings = diagnostics;
            Ok(policy)
        }
        _ => Err(diagnostics),
    }
}

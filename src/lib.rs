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
//! text ─syntax::parse─▶ ast ─check─▶ policy::Policy ─engine─▶ decisions
//!          │               (reads hook scripts and tables through Sources)
//!          └─syntax::format─▶ canonical text
//! ```
//!
//! docs/ARCHITECTURE.md walks through every stage.

mod check;
mod compile;
pub mod diag;
pub mod diff;
pub mod engine;
pub mod files;
pub mod hooks;
pub mod lsp;
pub mod overview;
pub mod policy;
pub mod runtime;
pub mod scenario;
pub mod server;
pub mod sources;
pub mod store;
pub mod syntax;
pub mod vocab;

pub use compile::{compile, compile_sources, lines, named_files, Lines};
pub use diag::{Diagnostic, Diagnostics};
pub use policy::Policy;
pub use sources::Sources;

//! rhai hooks: the tenant's scripts that refine routing, claims,
//! autoresponders and escalation: the "data actions" of the team-inbox
//! article.
//!
//! Every script runs in one sandbox: a raw engine with the standard package
//! and nothing else (no module loading, no `eval`, no file or network
//! access), strict variables, and limits on operations, call depth,
//! expression depth, string, array and map sizes. The checker compiles
//! scripts with the same engine, so what checks is what runs.
//!
//! A call's budget is counted, never timed: whether a hook is stopped
//! depends on its operations and data sizes alone, so replaying stored
//! events decides exactly as live did, on any machine under any load. The
//! data caps bound what one operation can cost (searching an array touches
//! at most `max_array_size` items), so `max_operations` bounds the call. A policy's script is compiled once, when the policy
//! loads; the engine and its AST are shared across threads.
//!
//! A hook refines a decision; it never breaks one. A call that errors, runs
//! out of budget, or returns something malformed leaves the decision to the
//! policy, and the explanation says which hook failed and why.

pub mod context;
pub mod outcome;
mod tables;

pub use context::{Context, Member};
pub use outcome::{Assign, Assignment, AutoReply, Mode};
pub use tables::{parse_table, Table, Tables};

use crate::vocab::{ClaimMode, InboxKind};
use context::{Members, Names};
use rhai::packages::Package;
use rhai::{CallFnOptions, Dynamic, Engine, EvalAltResult, NativeCallContext, Scope, AST};
use smol_str::SmolStr;
use std::sync::Arc;

/// How many parameters each hook function takes: one context map.
pub const HOOK_PARAMS: usize = 1;

/// What a hook call may use: all counted, none timed, so a call is stopped
/// (or not) the same way every time it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub max_operations: u64,
    pub max_call_depth: usize,
    pub max_string_size: usize,
    pub max_array_size: usize,
    pub max_map_size: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_operations: 100_000,
            max_call_depth: 32,
            max_string_size: 16 * 1024,
            max_array_size: 1_000,
            max_map_size: 1_000,
        }
    }
}

/// Why a hook call gave no usable answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HookError {
    /// The script raised an error or threw.
    Failed(String),
    /// It hit one of its limits (operations, call depth, data size).
    Budget(String),
    /// It returned something the hook point does not take.
    Malformed(String),
}

impl std::fmt::Display for HookError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HookError::Failed(why) => write!(f, "failed: {why}"),
            HookError::Budget(what) => write!(f, "ran out of budget: {what}"),
            HookError::Malformed(why) => write!(f, "returned something malformed: {why}"),
        }
    }
}

/// The member answers of the running call, from its tag.
fn member<T>(
    cx: &NativeCallContext,
    name: &str,
    read: impl Fn(&context::Answer) -> T,
    missing: T,
) -> T {
    cx.tag()
        .and_then(|tag| tag.read_lock::<Members>())
        .and_then(|members| members.find(name).map(&read))
        .unwrap_or(missing)
}

/// A tenant's compiled hook script, ready to call from any thread.
pub struct Hooks {
    engine: Engine,
    ast: AST,
    limits: Limits,
    /// Calls that gave no usable answer, since the policy loaded.
    failures: std::sync::atomic::AtomicU64,
    names: std::sync::OnceLock<Names>,
    /// Whether the script calls `status`, `load` or `accepting`; if not, a
    /// call skips gathering what they would answer.
    reads_members: bool,
}

impl std::fmt::Debug for Hooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hooks")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Hooks {
    /// Compiles a script in the sandbox, with the tenant's tables readable
    /// through `lookup(table, key)` and `has(table, key)`.
    pub fn compile(
        source: &str,
        limits: Limits,
        tables: Arc<Tables>,
    ) -> Result<Hooks, Box<rhai::ParseError>> {
        let mut engine = sandbox(&limits);
        let lookup_tables = tables.clone();
        engine.register_fn("lookup", move |table: &str, key: &str| -> Dynamic {
            lookup_tables.lookup(table, key).unwrap_or(Dynamic::UNIT)
        });
        engine.register_fn("has", move |table: &str, key: &str| -> bool {
            tables.lookup(table, key).is_some()
        });
        engine.register_fn("status", |cx: NativeCallContext, name: &str| -> Dynamic {
            member(
                &cx,
                name,
                |m| Dynamic::from(m.status.clone()),
                Dynamic::UNIT,
            )
        });
        engine.register_fn("load", |cx: NativeCallContext, name: &str| -> i64 {
            member(&cx, name, |m| m.load, 0)
        });
        engine.register_fn("accepting", |cx: NativeCallContext, name: &str| -> bool {
            member(&cx, name, |m| m.accepting, false)
        });
        let ast = engine.compile(source).map_err(Box::new)?;
        Ok(Hooks {
            engine,
            limits,
            failures: std::sync::atomic::AtomicU64::new(0),
            names: std::sync::OnceLock::new(),
            reads_members: reads_members(&ast),
            ast,
        })
    }

    /// The functions the script defines, with their parameter counts.
    pub fn functions(&self) -> Vec<(String, usize)> {
        functions(&self.ast)
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The policy's names, set once when the policy is built: per inbox
    /// its name, kind and members; the statuses in id order.
    pub fn set_names<'p>(
        &self,
        inboxes: impl IntoIterator<Item = (&'p str, InboxKind, &'p [SmolStr])>,
        statuses: impl IntoIterator<Item = &'p str>,
    ) {
        let _ = self.names.set(Names::new(inboxes, statuses));
    }

    /// Whether the script may call `status`, `load` or `accepting`; if
    /// not, a caller need not gather what they would answer.
    pub fn reads_members(&self) -> bool {
        self.reads_members
    }

    /// The claim hook's answer: a claim mode, or `None` to leave it to the
    /// policy.
    pub fn claim(&self, function: &str, cx: &Context) -> Result<Option<ClaimMode>, HookError> {
        self.ask(function, cx, outcome::claim_mode)
    }

    /// A routing or escalation hook's answer: an assignment, or `None` to
    /// leave it to the policy.
    pub fn assignment(
        &self,
        function: &str,
        cx: &Context,
    ) -> Result<Option<Assignment>, HookError> {
        self.ask(function, cx, outcome::assignment)
    }

    /// The autoresponder hook's answer: its text, or `None` to leave it to
    /// the policy's autoresponder.
    pub fn auto_reply(&self, function: &str, cx: &Context) -> Result<Option<AutoReply>, HookError> {
        self.ask(function, cx, outcome::auto_reply)
    }

    /// Calls `function(ctx)` under the limits and reads its answer; a call
    /// that fails or answers nonsense is counted.
    fn ask<T>(
        &self,
        function: &str,
        cx: &Context,
        read: fn(Dynamic) -> Result<T, HookError>,
    ) -> Result<T, HookError> {
        let (ctx, members) = cx.to_rhai(self.names.get());
        let options = CallFnOptions::new()
            .eval_ast(false)
            .rewind_scope(true)
            .with_tag(members);
        self.engine
            .call_fn_with_options::<Dynamic>(
                options,
                &mut Scope::new(),
                &self.ast,
                function,
                (ctx,),
            )
            .map_err(|e| classify(*e))
            .and_then(read)
            .map_err(|e| self.failed(e))
    }

    /// Counts a failed call (for metrics) and passes its error on.
    pub fn failed(&self, error: HookError) -> HookError {
        self.failures
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        error
    }

    /// How many calls have failed since the policy loaded.
    pub fn failures(&self) -> u64 {
        self.failures.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// The sandboxed engine hook scripts are compiled and run with.
pub fn sandbox(limits: &Limits) -> Engine {
    let mut engine = Engine::new_raw();
    engine.register_global_module(rhai::packages::StandardPackage::new().as_shared_module());
    engine.set_module_resolver(rhai::module_resolvers::DummyModuleResolver::new());
    engine
        .set_strict_variables(true)
        .set_max_expr_depths(64, 32)
        .set_max_call_levels(limits.max_call_depth)
        .set_max_operations(limits.max_operations)
        .set_max_string_size(limits.max_string_size)
        .set_max_array_size(limits.max_array_size)
        .set_max_map_size(limits.max_map_size)
        .set_max_modules(0);
    engine.disable_symbol("eval");
    engine.on_print(|_| {});
    engine.on_debug(|_, _, _| {});
    // No `on_progress` deadline: a wall clock would stop a call live that a
    // replay lets finish. Slow operations are bounded by the data caps.
    engine
}

/// Whether a script may call the member functions: it names one, or could
/// reach one through a function pointer (`Fn`, `call`, `curry`). Read from
/// the compiled script, closures and function bodies included.
fn reads_members(ast: &AST) -> bool {
    const ASKS: [&str; 6] = ["status", "load", "accepting", "Fn", "call", "curry"];
    let mut reads = false;
    ast.walk(&mut |path: &[rhai::ASTNode]| {
        let named = |name: &str| ASKS.contains(&name);
        // A call is an expression, or a statement when it stands alone or
        // ends its block.
        reads |= match path.last() {
            Some(rhai::ASTNode::Expr(
                rhai::Expr::FnCall(call, _) | rhai::Expr::MethodCall(call, _),
            ))
            | Some(rhai::ASTNode::Stmt(rhai::Stmt::FnCall(call, _))) => named(call.name.as_str()),
            Some(rhai::ASTNode::Expr(rhai::Expr::DynamicConstant(value, _))) => value.is_fnptr(),
            _ => false,
        };
        !reads
    });
    reads
}

/// Where a script defines each function: the byte range of its name, read
/// from rhai's own tokens (a `fn` in a comment or a string is not one), for
/// an editor's go-to-definition. A script that does not lex to the end
/// gives the definitions before the fault.
pub fn definitions(source: &str) -> Vec<(String, std::ops::Range<usize>)> {
    let engine = Engine::new_raw();
    let inputs = [source];
    let (tokens, _) = engine.lex(&inputs);
    let starts: Vec<usize> = std::iter::once(0)
        .chain(source.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let offset = |pos: rhai::Position| -> Option<usize> {
        let start = *starts.get(pos.line()?.checked_sub(1)?)?;
        let column = pos.position()?.checked_sub(1)?;
        let line = source[start..].split('\n').next()?;
        Some(
            start
                + line
                    .char_indices()
                    .nth(column)
                    .map_or(line.len(), |(i, _)| i),
        )
    };
    let mut out = Vec::new();
    let mut after_fn = false;
    for (token, pos) in tokens {
        match token {
            rhai::Token::Fn => after_fn = true,
            rhai::Token::Identifier(name) if after_fn => {
                if let Some(at) = offset(pos) {
                    out.push((name.to_string(), at..at + name.len()));
                }
                after_fn = false;
            }
            rhai::Token::EOF | rhai::Token::LexError(_) => break,
            _ => after_fn = false,
        }
    }
    out
}

/// Where a script fails to compile, if it does: one-based line and column
/// (as rhai counts them) and what is wrong, for an editor to mark in the
/// script itself.
pub fn compile_error(source: &str) -> Option<(usize, usize, String)> {
    let error = sandbox(&Limits::default()).compile(source).err()?;
    let at = error.position();
    Some((
        at.line().unwrap_or(1),
        at.position().unwrap_or(1),
        error.err_type().to_string(),
    ))
}

/// The functions a script defines, with their parameter counts.
pub fn functions(ast: &AST) -> Vec<(String, usize)> {
    ast.iter_functions()
        .map(|f| (f.name.to_string(), f.params.len()))
        .collect()
}

fn classify(error: EvalAltResult) -> HookError {
    match error {
        EvalAltResult::ErrorTooManyOperations(_) => HookError::Budget("too many operations".into()),
        EvalAltResult::ErrorStackOverflow(_) => HookError::Budget("calls nested too deeply".into()),
        EvalAltResult::ErrorDataTooLarge(what, _) => {
            let what = what.to_lowercase();
            let what = if what.contains("string") {
                "a string grew past max_string_size"
            } else if what.contains("array") {
                "an array grew past max_array_size"
            } else if what.contains("map") {
                "a map grew past max_map_size"
            } else {
                "data grew too large"
            };
            HookError::Budget(what.into())
        }
        EvalAltResult::ErrorTooManyModules(_) => {
            HookError::Failed("hooks cannot import modules".into())
        }
        EvalAltResult::ErrorRuntime(value, _) => HookError::Failed(format!("threw {value}")),
        EvalAltResult::ErrorInFunctionCall(_, _, inner, _) => classify(*inner),
        other => HookError::Failed(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reads(script: &str) -> bool {
        Hooks::compile(script, Limits::default(), Arc::new(Tables::default()))
            .expect("the script compiles")
            .reads_members()
    }

    #[test]
    fn definitions_are_found_by_token_not_by_text() {
        let script = "// fn commented(ctx) {}\nlet s = \"fn quoted(x)\";\n\
                      fn route(ctx) { () }\n  fn  é_not_ascii_is_an_error() {}";
        let found = definitions(script);
        let route = script.find("route").unwrap();
        assert_eq!(found[0], ("route".to_string(), route..route + 5));
        assert!(found
            .iter()
            .all(|(name, _)| name != "commented" && name != "quoted"));
        assert_eq!(
            compile_error("fn route(ctx) { ( }").map(|(line, ..)| line),
            Some(1)
        );
        assert_eq!(compile_error("fn route(ctx) { () }"), None);
    }

    #[test]
    fn whether_a_script_asks_for_members_is_read_from_its_ast() {
        assert!(!reads("fn route(ctx) { ctx.members }"));
        assert!(!reads(r#"fn route(ctx) { let status = "ready"; status }"#));
        assert!(reads(r#"fn route(ctx) { status(ctx.members[0]) }"#));
        assert!(reads(
            "fn route(ctx) { ctx.members.filter(|m| load(m) < 3) }"
        ));
        assert!(reads(
            r#"fn route(ctx) { let f = Fn("accepting"); f.call("ana") }"#
        ));
        assert!(reads(
            "fn pick(m) { accepting(m) } fn route(ctx) { pick(ctx.members[0]) }"
        ));
    }
}

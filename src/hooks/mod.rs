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

pub mod outcome;
mod tables;

pub use outcome::{Assign, Assignment, AutoReply, Mode};
pub use tables::{load_table, Table, Tables};

use rhai::packages::Package;
use rhai::ImmutableString;
use rhai::{CallFnOptions, Dynamic, Engine, EvalAltResult, Scope, AST};
use std::cell::RefCell;
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

thread_local! {
    /// The running call's members: name, status, load, accepting. Read by
    /// `status(name)`, `load(name)` and `accepting(name)`; a buffer reused
    /// from call to call.
    static MEMBERS: RefCell<Vec<Member>> = const { RefCell::new(Vec::new()) };
}

/// What a hook can ask of one member of the inbox.
#[derive(Clone, Debug)]
pub struct Member {
    pub name: ImmutableString,
    pub status: ImmutableString,
    pub load: i64,
    pub accepting: bool,
}

fn member<T>(name: &str, read: impl Fn(&Member) -> T, missing: T) -> T {
    MEMBERS.with(|m| {
        m.borrow()
            .iter()
            .find(|x| x.name == name)
            .map_or(missing, read)
    })
}

/// Strings a policy's hooks see again and again, made once so a call's
/// context costs no allocation for them.
#[derive(Debug, Default)]
pub struct Names {
    /// Per inbox: its name, its kind, and its members' names (as the array
    /// `ctx.members`, and one by one).
    pub inboxes: Vec<(
        ImmutableString,
        ImmutableString,
        rhai::Array,
        Vec<ImmutableString>,
    )>,
    /// Per status id: its name.
    pub statuses: Vec<ImmutableString>,
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
        engine.register_fn("status", |name: &str| -> Dynamic {
            member(name, |m| Dynamic::from(m.status.clone()), Dynamic::UNIT)
        });
        engine.register_fn("load", |name: &str| -> i64 { member(name, |m| m.load, 0) });
        engine.register_fn("accepting", |name: &str| -> bool {
            member(name, |m| m.accepting, false)
        });
        let ast = engine.compile(source).map_err(Box::new)?;
        Ok(Hooks {
            engine,
            ast,
            limits,
            failures: std::sync::atomic::AtomicU64::new(0),
            names: std::sync::OnceLock::new(),
            // Conservative: a script that names the functions, or could reach
            // them through a function pointer, gets them answered.
            reads_members: ["status(", "load(", "accepting(", "Fn(", "call("]
                .iter()
                .any(|f| source.contains(f)),
        })
    }

    /// The functions the script defines, with their parameter counts.
    pub fn functions(&self) -> Vec<(String, usize)> {
        functions(&self.ast)
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The policy's names, set once when the policy is built.
    pub fn set_names(&self, names: Names) {
        let _ = self.names.set(names);
    }

    pub fn names(&self) -> Option<&Names> {
        self.names.get()
    }

    /// Fills the members `status`, `load` and `accepting` answer for during
    /// the next call on this thread.
    pub fn with_members(&self, fill: impl FnOnce(&mut Vec<Member>)) {
        MEMBERS.with(|m| {
            let mut members = m.borrow_mut();
            members.clear();
            if self.reads_members {
                fill(&mut members);
            }
        });
    }

    /// Calls `function(ctx)` under the limits.
    pub fn call(&self, function: &str, ctx: rhai::Map) -> Result<Dynamic, HookError> {
        let options = CallFnOptions::new().eval_ast(false).rewind_scope(true);
        let result = self.engine.call_fn_with_options::<Dynamic>(
            options,
            &mut Scope::new(),
            &self.ast,
            function,
            (ctx,),
        );
        result.map_err(|e| self.failed(classify(*e)))
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

//! rhai hooks: the tenant's scripts that refine routing, claims,
//! autoresponders and escalation: the "data actions" of the team-inbox
//! article.
//!
//! Every script runs in one sandbox: a raw engine with the standard package
//! and nothing else (no module loading, no `eval`, no file or network
//! access), strict variables, and limits on operations, call depth,
//! expression depth, string, array and map sizes, plus a wall-clock deadline
//! per call. The checker compiles scripts with the same engine, so what
//! checks is what runs. A policy's script is compiled once, when the policy
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
use rhai::{CallFnOptions, Dynamic, Engine, EvalAltResult, Scope, AST};
use std::cell::Cell;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How many parameters each hook function takes: one context map.
pub const HOOK_PARAMS: usize = 1;

/// What a hook call may use. The deterministic limits (operations, depth,
/// sizes) stop a runaway script first; the wall-clock timeout is a backstop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub timeout: Duration,
    pub max_operations: u64,
    pub max_call_depth: usize,
    pub max_string_size: usize,
    pub max_array_size: usize,
    pub max_map_size: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Duration::from_millis(20),
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
    /// It ran past its wall-clock deadline.
    Timeout,
    /// It returned something the hook point does not take.
    Malformed(String),
}

impl std::fmt::Display for HookError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HookError::Failed(why) => write!(f, "failed: {why}"),
            HookError::Budget(what) => write!(f, "ran out of budget: {what}"),
            HookError::Timeout => f.write_str("ran past its deadline"),
            HookError::Malformed(why) => write!(f, "returned something malformed: {why}"),
        }
    }
}

thread_local! {
    /// The running call's deadline (one call per thread at a time).
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// A tenant's compiled hook script, ready to call from any thread.
pub struct Hooks {
    engine: Engine,
    ast: AST,
    limits: Limits,
    /// Calls that gave no usable answer, since the policy loaded.
    failures: std::sync::atomic::AtomicU64,
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
        let ast = engine.compile(source).map_err(Box::new)?;
        Ok(Hooks {
            engine,
            ast,
            limits,
            failures: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// The functions the script defines, with their parameter counts.
    pub fn functions(&self) -> Vec<(String, usize)> {
        functions(&self.ast)
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Calls `function(ctx)` under the limits.
    pub fn call(&self, function: &str, ctx: rhai::Map) -> Result<Dynamic, HookError> {
        DEADLINE.with(|d| d.set(Some(Instant::now() + self.limits.timeout)));
        let options = CallFnOptions::new().eval_ast(false).rewind_scope(true);
        let result = self.engine.call_fn_with_options::<Dynamic>(
            options,
            &mut Scope::new(),
            &self.ast,
            function,
            (ctx,),
        );
        DEADLINE.with(|d| d.set(None));
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
    engine.on_progress(|operations| {
        // Reading the clock costs; look every 256 operations.
        if operations % 256 != 0 {
            return None;
        }
        let late = DEADLINE.with(|d| d.get().is_some_and(|deadline| Instant::now() > deadline));
        late.then(|| Dynamic::from("deadline"))
    });
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
            HookError::Budget(format!("{} too large", what.to_lowercase()))
        }
        EvalAltResult::ErrorTerminated(_, _) => HookError::Timeout,
        EvalAltResult::ErrorRuntime(value, _) => HookError::Failed(format!("threw {value}")),
        EvalAltResult::ErrorInFunctionCall(_, _, inner, _) => classify(*inner),
        other => HookError::Failed(other.to_string()),
    }
}

//! rhai hooks: the tenant's scripts that refine routing, claims and
//! autoresponders.
//!
//! Every script runs in the same sandbox: a raw engine (no standard library
//! beyond what is registered, no module loading, no `eval`), strict
//! variables, and bounded operations, call depth and data sizes. The checker
//! compiles scripts with this same engine, so what checks is what runs.

use rhai::packages::Package;
use rhai::Engine;

/// How many parameters each hook function takes: one context map.
pub const HOOK_PARAMS: usize = 1;

/// The sandboxed engine hook scripts are compiled and run with.
pub fn sandbox() -> Engine {
    let mut engine = Engine::new_raw();
    engine.register_global_module(rhai::packages::StandardPackage::new().as_shared_module());
    engine
        .set_strict_variables(true)
        .set_max_expr_depths(64, 32)
        .set_max_call_levels(32)
        .set_max_operations(100_000)
        .set_max_string_size(16 * 1024)
        .set_max_array_size(1_000)
        .set_max_map_size(1_000)
        .set_max_modules(0);
    engine.disable_symbol("eval");
    engine.on_print(|_| {});
    engine.on_debug(|_, _, _| {});
    engine
}

/// The functions a script defines, with their parameter counts.
pub fn functions(ast: &rhai::AST) -> Vec<(String, usize)> {
    ast.iter_functions()
        .map(|f| (f.name.to_string(), f.params.len()))
        .collect()
}

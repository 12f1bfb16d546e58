//! Hook references: the script exists beside the policy, compiles in the
//! sandbox, and defines each function an inbox names, with one parameter;
//! every table it may read exists and parses.

use super::Checker;
use crate::diag::Span;
use crate::diag::{Code, Diagnostic};
use crate::hooks::{self, Hooks, Limits, Tables};
use crate::sources::Unreadable;
use crate::syntax::ast;
use std::collections::HashMap;
use std::path::{Component, Path};
use std::sync::Arc;

impl Checker<'_> {
    pub(super) fn hooks(&mut self) {
        let ast = self.ast;
        for inbox in &ast.inboxes {
            self.hooks_that_run(inbox);
        }
        let refs: Vec<_> = ast.inboxes.iter().flat_map(|i| &i.hooks).collect();
        let tables = self.tables();
        let Some(script) = &ast.hooks else {
            for hook in refs {
                self.push(
                    Diagnostic::new(
                        Code::HooksNotDeclared,
                        hook.function.span,
                        format!(
                            "hook `{}` names a function, but the policy has no hook script",
                            hook.function.value
                        ),
                    )
                    .hint("declare the script beside the policy: `hooks \"hooks.rhai\"`"),
                );
            }
            return;
        };
        if let Some(timeout) = &script.limits.timeout_ms {
            self.push(
                Diagnostic::new(
                    Code::HookTimeoutIgnored,
                    timeout.span,
                    "`timeout` no longer limits hooks: a hook's budget is counted in operations \
                     (`max_operations`) so a replay decides as live did; remove it",
                )
                .hint("a hook that needs more room gets a larger `max_operations`"),
            );
        }
        let Some(functions) = self.read_script(script, tables) else {
            return;
        };
        for hook in refs {
            let name = hook.function.value.as_str();
            match functions.iter().find(|(f, _)| f == name) {
                None => {
                    let names: Vec<&str> = functions.iter().map(|(f, _)| f.as_str()).collect();
                    let hint = match crate::diag::did_you_mean(name, &names) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => format!(
                            "define it in {}: `fn {name}(ctx) {{ ... }}`",
                            script.path.value
                        ),
                    };
                    self.push(
                        Diagnostic::new(
                            Code::HookFunctionMissing,
                            hook.function.span,
                            format!("{} defines no function `{name}`", script.path.value),
                        )
                        .hint(hint),
                    );
                }
                Some((_, params)) if *params != hooks::HOOK_PARAMS => self.push(
                    Diagnostic::new(
                        Code::HookFunctionArity,
                        hook.function.span,
                        format!(
                            "`{name}` takes {params} parameter(s); a {} hook takes {}",
                            hook.point.value.as_str(),
                            hooks::HOOK_PARAMS
                        ),
                    )
                    .hint(format!(
                        "declare it as `fn {name}(ctx)`; everything the hook needs is in `ctx`"
                    )),
                ),
                Some(_) => {}
            }
        }
    }

    /// Each hook point once per inbox, and only where the engine runs it:
    /// routing, claim and autoresponder when a shared inbox or a keyword-less
    /// queue opens a conversation (claim: shared only), escalation when a
    /// routing hook set a timer.
    fn hooks_that_run(&mut self, inbox: &ast::Inbox) {
        let mut seen: Vec<(ast::HookPoint, Span)> = Vec::new();
        for hook in &inbox.hooks {
            let point = hook.point.value;
            if let Some((_, first)) = seen.iter().find(|(p, _)| *p == point) {
                self.push(
                    Diagnostic::new(
                        Code::UnknownHookPoint,
                        hook.point.span,
                        format!(
                            "inbox `{}` has two {} hooks",
                            inbox.name.value,
                            point.as_str()
                        ),
                    )
                    .related(*first, "the first is")
                    .hint("an inbox runs one function per hook point; keep one"),
                );
                continue;
            }
            seen.push((point, hook.point.span));
            let keyword_queue = !inbox.initiation_keywords.is_empty();
            let why = match (inbox.kind.value, point) {
                (ast::InboxKind::Direct, _) => {
                    Some("a direct number routes to its agent; hooks do not run there")
                }
                (ast::InboxKind::Queue, _) if keyword_queue => {
                    Some("keyword queues start sessions by keyword; hooks do not run there")
                }
                (ast::InboxKind::Queue, ast::HookPoint::Claim) => {
                    Some("queue conversations are accepted, not claimed")
                }
                _ => None,
            };
            if let Some(why) = why {
                self.push(
                    Diagnostic::new(
                        Code::HookNeverRuns,
                        hook.point.span,
                        format!(
                            "the {} hook of inbox `{}` never runs",
                            point.as_str(),
                            inbox.name.value
                        ),
                    )
                    .hint(why),
                );
            }
        }
        let has = |p: ast::HookPoint| seen.iter().any(|(q, _)| *q == p);
        if has(ast::HookPoint::Escalation) && !has(ast::HookPoint::Routing) {
            let span = seen
                .iter()
                .find(|(p, _)| *p == ast::HookPoint::Escalation)
                .map_or(inbox.name.span, |(_, s)| *s);
            self.push(
                Diagnostic::new(Code::HookNeverRuns, span, format!("the escalation hook of inbox `{}` never runs", inbox.name.value))
                    .hint("escalation runs when a routing hook's answer sets `escalate_in`; add a routing hook"),
            );
        }
    }

    /// A path beside the policy, or `None` after reporting why not.
    fn beside_policy<'p>(
        &mut self,
        path: &'p str,
        span: Span,
        what: &str,
        code: Code,
    ) -> Option<&'p str> {
        let relative = Path::new(path);
        let escapes = relative.is_absolute()
            || relative.components().any(|c| {
                matches!(
                    c,
                    Component::ParentDir | Component::Prefix(_) | Component::RootDir
                )
            });
        if escapes {
            self.push(
                Diagnostic::new(
                    code,
                    span,
                    format!("{what} `{path}` is outside the policy's folder"),
                )
                .hint(format!(
                    "{what}s live beside the policy: use a relative path without `..`"
                )),
            );
            return None;
        }
        Some(path)
    }

    /// Reads every `table`, reporting the ones that cannot be read.
    fn tables(&mut self) -> Tables {
        let mut tables = Tables::default();
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for table in &self.ast.tables {
            if let Some(first) = seen.get(table.name.value.as_str()) {
                self.push(
                    Diagnostic::new(
                        Code::DuplicateName,
                        table.name.span,
                        format!("table `{}` is declared twice", table.name.value),
                    )
                    .related(*first, "first declared")
                    .hint("give each table its own name"),
                );
                continue;
            }
            seen.insert(&table.name.value, table.name.span);
            let Some(name) = self.beside_policy(
                &table.path.value,
                table.path.span,
                "table",
                Code::TableInvalid,
            ) else {
                continue;
            };
            let read = self.sources.read(name).map_err(|why| why.to_string());
            match read.and_then(|text| hooks::parse_table(name, &text)) {
                Ok(t) => tables.insert(table.name.value.clone(), t),
                Err(why) => self.push(
                    Diagnostic::new(Code::TableInvalid, table.path.span, format!("table `{}`: {why}", table.path.value))
                        .hint("a table is a CSV file with a header row (keyed by its first column), a JSON object, or a JSON array of objects with a `key`, `id` or `number` field"),
                ),
            }
        }
        tables
    }

    /// Reads and compiles the script; its functions, or `None` after an error.
    fn read_script(
        &mut self,
        script: &ast::HookScript,
        tables: Tables,
    ) -> Option<Vec<(String, usize)>> {
        let (path, span) = (&script.path.value, script.path.span);
        let name = self.beside_policy(path, span, "hook script", Code::HookFileMissing)?;
        let source = match self.sources.read(name) {
            Ok(source) => source,
            Err(why) => {
                let hint = if why == Unreadable::NoFolder {
                    "check the policy from its file so what it names can be found beside it"
                } else {
                    "hook scripts live in the policy's folder; the path is relative to it"
                };
                self.push(
                    Diagnostic::new(
                        Code::HookFileMissing,
                        span,
                        format!("hook script `{path}`: {why}"),
                    )
                    .hint(hint),
                );
                return None;
            }
        };
        match Hooks::compile(&source, limits(&script.limits), Arc::new(tables)) {
            Ok(compiled) => {
                let functions = compiled.functions();
                self.compiled_hooks = Some(Arc::new(compiled));
                Some(functions)
            }
            Err(error) => {
                let at = error.position();
                let location = match (at.line(), at.position()) {
                    (Some(line), Some(col)) => format!("{path}:{line}:{col}"),
                    (Some(line), None) => format!("{path}:{line}"),
                    _ => path.to_string(),
                };
                self.push(
                    Diagnostic::new(
                        Code::HookFileInvalid,
                        span,
                        format!(
                            "hook script does not compile: {location}: {}",
                            error.err_type()
                        ),
                    )
                    .hint("fix the script; the policy is not loaded until it compiles"),
                );
                None
            }
        }
    }
}

/// The policy's limits over the defaults.
fn limits(l: &ast::HookLimits) -> Limits {
    let d = Limits::default();
    let get = |v: &Option<crate::diag::Spanned<u64>>| v.as_ref().map(|v| v.value);
    Limits {
        max_operations: get(&l.max_operations).unwrap_or(d.max_operations),
        max_call_depth: get(&l.max_call_depth).map_or(d.max_call_depth, |n| n as usize),
        max_string_size: get(&l.max_string_size).map_or(d.max_string_size, |n| n as usize),
        max_array_size: get(&l.max_array_size).map_or(d.max_array_size, |n| n as usize),
        max_map_size: get(&l.max_map_size).map_or(d.max_map_size, |n| n as usize),
    }
}

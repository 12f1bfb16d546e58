//! Hook references: the script exists beside the policy, compiles in the
//! sandbox, and defines each function an inbox names, with one parameter.

use super::Checker;
use crate::hooks;
use crate::syntax::diagnostic::{Code, Diagnostic};
use std::path::{Component, Path};

impl Checker<'_> {
    pub(super) fn hooks(&mut self) {
        let ast = self.ast;
        let refs: Vec<_> = ast.inboxes.iter().flat_map(|i| &i.hooks).collect();
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
        let Some(functions) = self.read_script(&script.path.value, script.path.span) else {
            return;
        };
        for hook in refs {
            let name = hook.function.value.as_str();
            match functions.iter().find(|(f, _)| f == name) {
                None => {
                    let names: Vec<&str> = functions.iter().map(|(f, _)| f.as_str()).collect();
                    let hint = match crate::syntax::lower::did_you_mean(name, &names) {
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

    /// Reads and compiles the script; its functions, or `None` after an error.
    fn read_script(
        &mut self,
        path: &str,
        span: crate::syntax::Span,
    ) -> Option<Vec<(String, usize)>> {
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
                    Code::HookFileMissing,
                    span,
                    format!("hook script `{path}` is outside the policy's folder"),
                )
                .hint("hook scripts live beside the policy: use a relative path without `..`"),
            );
            return None;
        }
        let Some(base) = &self.options.base_dir else {
            self.push(
                Diagnostic::new(
                    Code::HookFileMissing,
                    span,
                    format!("hook script `{path}` cannot be read: the policy has no folder"),
                )
                .hint("check the policy from its file so hook scripts can be found beside it"),
            );
            return None;
        };
        let full = base.join(relative);
        let source = match std::fs::read_to_string(&full) {
            Ok(source) => source,
            Err(error) => {
                let why = match error.kind() {
                    std::io::ErrorKind::NotFound => "there is no such file",
                    std::io::ErrorKind::PermissionDenied => "permission denied",
                    std::io::ErrorKind::InvalidData => "it is not UTF-8 text",
                    _ => "it cannot be read",
                };
                self.push(
                    Diagnostic::new(
                        Code::HookFileMissing,
                        span,
                        format!("hook script `{path}`: {why}"),
                    )
                    .hint("hook scripts live in the policy's folder; the path is relative to it"),
                );
                return None;
            }
        };
        match hooks::sandbox().compile(&source) {
            Ok(ast) => {
                self.hook_script = Some(crate::policy::HookScript { path: full, source });
                Some(hooks::functions(&ast))
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

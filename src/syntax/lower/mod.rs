//! Statement tree to typed AST.
//!
//! Each declaration has its own small module. Lowering reports what is wrong
//! inside one statement (unknown settings, repeated settings, values of the
//! wrong kind or out of range) and keeps going, so one run finds them all.

mod agent;
mod compliance;
mod deflection;
mod hooks;
mod hours;
mod inbox;
mod number;
mod team;
mod template;
mod tenant;
pub(crate) mod values;
mod zones;

use super::ast::Policy;
use super::document::{Document, Statement};
use crate::diag::Span;
use crate::diag::{Code, Diagnostic, Diagnostics};
use std::collections::HashMap;

/// The top-level declarations, in the order the formatter's docs list them.
pub const DECLARATIONS: &[&str] = &[
    "tenant",
    "hours",
    "holidays",
    "template",
    "number",
    "team",
    "agent",
    "inbox",
    "deflection",
    "compliance",
    "hooks",
    "table",
];

/// The settings a block takes, by the keys of the statements it sits in
/// (`[]` is the top level, `["inbox"]` an inbox's block, `["agent",
/// "deflection"]` an agent's deflection block), and for an inbox its kind:
/// what an editor offers to complete.
pub fn settings(path: &[&str], inbox: Option<crate::vocab::InboxKind>) -> Vec<&'static str> {
    use crate::vocab::InboxKind;
    let of = |lists: &[&[&'static str]]| lists.iter().flat_map(|l| l.iter().copied()).collect();
    match path {
        [] => DECLARATIONS.to_vec(),
        ["tenant"] => of(&[tenant::SETTINGS]),
        ["number"] => of(&[number::SETTINGS]),
        ["team"] => of(&[team::SETTINGS]),
        ["agent"] => of(&[agent::SETTINGS]),
        ["hours"] => of(&[hours::SETTINGS]),
        ["holidays"] => vec!["holiday", "special"],
        ["compliance"] => of(&[compliance::SETTINGS]),
        ["hooks"] => of(&[hooks::LIMITS]),
        [.., "deflection"] => of(&[deflection::SETTINGS]),
        ["inbox"] => match inbox {
            Some(InboxKind::Shared) => of(&[inbox::COMMON, inbox::SHARED]),
            Some(InboxKind::Queue) => of(&[inbox::COMMON, inbox::QUEUE]),
            Some(InboxKind::Direct) => of(&[inbox::COMMON, inbox::DIRECT]),
            None => {
                let mut all: Vec<&str> =
                    of(&[inbox::COMMON, inbox::SHARED, inbox::QUEUE, inbox::DIRECT]);
                all.sort_unstable();
                all.dedup();
                all
            }
        },
        _ => Vec::new(),
    }
}

/// Lowers a parsed document to the typed AST.
pub fn lower(document: &Document) -> (Policy, Diagnostics) {
    let mut cx = Lowerer::default();
    let mut policy = Policy::default();
    let mut singles: HashMap<&str, Span> = HashMap::new();
    for statement in document.statements() {
        let key = statement.key();
        if matches!(key, "tenant" | "deflection" | "compliance" | "hooks") {
            if let Some(first) = singles.get(key) {
                cx.push(
                    Diagnostic::new(
                        Code::DuplicateName,
                        statement.key.span,
                        format!("`{key}` is declared twice"),
                    )
                    .related(*first, "first declared")
                    .hint(format!(
                        "a policy has one `{key}` declaration; merge the two"
                    )),
                );
                continue;
            }
            singles.insert(key, statement.key.span);
        }
        match key {
            "tenant" => policy.tenant = cx.tenant(statement),
            "hours" => policy.hours.extend(cx.hours(statement)),
            "holidays" => policy.holidays.extend(cx.holidays(statement)),
            "template" => policy.templates.extend(cx.template(statement)),
            "number" => policy.numbers.extend(cx.number(statement)),
            "team" => policy.teams.extend(cx.team(statement)),
            "agent" => policy.agents.extend(cx.agent(statement)),
            "inbox" => policy.inboxes.extend(cx.inbox(statement)),
            "deflection" => policy.deflection = cx.deflection(statement, deflection::Level::Global),
            "compliance" => policy.compliance = cx.compliance(statement),
            "hooks" => policy.hooks = cx.hook_script(statement),
            "table" => policy.tables.extend(cx.table(statement)),
            other => {
                let mut d = Diagnostic::new(
                    Code::UnknownDeclaration,
                    statement.key.span,
                    format!("unknown declaration `{other}`"),
                );
                d = match crate::diag::did_you_mean(other, DECLARATIONS) {
                    Some(s) => d.hint(format!("did you mean `{s}`?")),
                    None => d.hint(format!("a policy declares {}", DECLARATIONS.join(", "))),
                };
                cx.push(d);
            }
        }
    }
    (policy, cx.diagnostics)
}

#[derive(Default)]
pub(crate) struct Lowerer {
    diagnostics: Diagnostics,
}

impl Lowerer {
    pub(crate) fn push(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    /// The statements of a declaration's block, with unknown and repeated
    /// settings reported and left out. Keys in `repeatable` may appear more
    /// than once.
    pub(crate) fn settings<'d>(
        &mut self,
        statement: &'d Statement,
        what: &str,
        known: &[&str],
        repeatable: &[&str],
    ) -> Vec<&'d Statement> {
        let mut seen: HashMap<&str, Span> = HashMap::new();
        let mut out = Vec::new();
        for child in statement.children() {
            let key = child.key();
            if !known.contains(&key) {
                let mut d = Diagnostic::new(
                    Code::UnknownSetting,
                    child.key.span,
                    format!("unknown setting `{key}` in {what}"),
                );
                d = match crate::diag::did_you_mean(key, known) {
                    Some(s) => d.hint(format!("did you mean `{s}`?")),
                    None => d.hint(format!("{what} takes {}", known.join(", "))),
                };
                self.push(d);
                continue;
            }
            if !repeatable.contains(&key) {
                if seen.contains_key(key) {
                    self.push(
                        Diagnostic::new(
                            Code::RepeatedSetting,
                            child.key.span,
                            format!("`{key}` is set twice in {what}"),
                        )
                        .hint("keep one; list several values on one line, separated by spaces"),
                    );
                    continue;
                }
                seen.insert(key, child.key.span);
            }
            if let Some(block) = &child.block {
                if !takes_block(key) {
                    self.push(
                        Diagnostic::new(
                            Code::MissingBlock,
                            Span::new(block.span.start, block.span.start + 1),
                            format!("`{key}` takes no block"),
                        )
                        .hint(format!("write its values on the line: `{key} value`")),
                    );
                }
            }
            out.push(child);
        }
        out
    }

    /// Reports a declaration that needs a block and has none.
    pub(crate) fn require_block(&mut self, statement: &Statement, example: &str) -> bool {
        if statement.block.is_some() {
            return true;
        }
        self.push(
            Diagnostic::new(
                Code::MissingBlock,
                statement.span,
                format!("`{}` needs a block of settings", statement.key()),
            )
            .hint(format!("for example: {example}")),
        );
        false
    }
}

/// Settings whose value is a block of their own.
fn takes_block(key: &str) -> bool {
    matches!(key, "deflection")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            crate::diag::did_you_mean("inbx", DECLARATIONS),
            Some("inbox")
        );
        assert_eq!(
            crate::diag::did_you_mean("agnet", DECLARATIONS),
            Some("agent")
        );
        assert_eq!(crate::diag::did_you_mean("zzzzzz", DECLARATIONS), None);
    }
}

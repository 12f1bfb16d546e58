//! Name resolution: every declared name once, every reference to a name that
//! exists.

use super::Checker;
use crate::diag::did_you_mean;
use crate::diag::{Code, Diagnostic};
use crate::diag::{Span, Spanned};
use crate::syntax::ast::{Deflection, InboxKind, Name, BUILTIN_STATUSES};
use crate::syntax::names::{self, NameKind};
use std::collections::HashMap;

/// Each kind of name, mapped to the index of its declaration.
#[derive(Default)]
pub struct Symbols<'a> {
    pub hours: HashMap<&'a str, usize>,
    pub holidays: HashMap<&'a str, usize>,
    pub templates: HashMap<&'a str, usize>,
    pub numbers: HashMap<&'a str, usize>,
    pub teams: HashMap<&'a str, usize>,
    pub agents: HashMap<&'a str, usize>,
    pub inboxes: HashMap<&'a str, usize>,
    /// Built-in statuses, then the tenant's own.
    pub statuses: Vec<&'a str>,
    /// Each team's members (by agent index), whether the team lists the
    /// agent or the agent names the team; sorted.
    pub team_members: Vec<Vec<usize>>,
    /// Each agent's teams (by team index); sorted.
    pub agent_teams: Vec<Vec<usize>>,
}

impl<'a> Symbols<'a> {
    /// The declarations of one kind of name.
    pub fn of(&self, kind: NameKind) -> &HashMap<&'a str, usize> {
        match kind {
            NameKind::Agent => &self.agents,
            NameKind::Team => &self.teams,
            NameKind::Inbox => &self.inboxes,
            NameKind::Hours => &self.hours,
            NameKind::Holidays => &self.holidays,
            NameKind::Template => &self.templates,
        }
    }
}

/// Builds the symbol tables, reporting names declared twice.
pub(super) fn collect<'a>(cx: &mut Checker<'a>) -> Symbols<'a> {
    let ast = cx.ast;
    let mut symbols = Symbols {
        hours: table(
            cx,
            "hours",
            ast.hours.iter().map(|h| (&h.name.value, h.name.span)),
        ),
        holidays: table(
            cx,
            "holidays",
            ast.holidays.iter().map(|h| (&h.name.value, h.name.span)),
        ),
        templates: table(
            cx,
            "template",
            ast.templates.iter().map(|t| (&t.name.value, t.name.span)),
        ),
        numbers: table(
            cx,
            "number",
            ast.numbers.iter().map(|n| (&n.number.value, n.number.span)),
        ),
        teams: table(
            cx,
            "team",
            ast.teams.iter().map(|t| (&t.name.value, t.name.span)),
        ),
        agents: table(
            cx,
            "agent",
            ast.agents.iter().map(|a| (&a.name.value, a.name.span)),
        ),
        inboxes: table(
            cx,
            "inbox",
            ast.inboxes.iter().map(|i| (&i.name.value, i.name.span)),
        ),
        statuses: BUILTIN_STATUSES.to_vec(),
        team_members: vec![Vec::new(); ast.teams.len()],
        agent_teams: vec![Vec::new(); ast.agents.len()],
    };
    for (t, team) in ast.teams.iter().enumerate() {
        for member in &team.members {
            if let Some(&a) = symbols.agents.get(member.value.as_str()) {
                symbols.team_members[t].push(a);
                symbols.agent_teams[a].push(t);
            }
        }
    }
    for (a, agent) in ast.agents.iter().enumerate() {
        for team in &agent.teams {
            if let Some(&t) = symbols.teams.get(team.value.as_str()) {
                symbols.team_members[t].push(a);
                symbols.agent_teams[a].push(t);
            }
        }
    }
    for list in symbols
        .team_members
        .iter_mut()
        .chain(symbols.agent_teams.iter_mut())
    {
        list.sort_unstable();
        list.dedup();
    }
    if let Some(tenant) = &ast.tenant {
        for status in &tenant.statuses {
            if symbols.statuses.contains(&status.value.as_str()) {
                cx.push(
                    Diagnostic::new(
                        Code::DuplicateName,
                        status.span,
                        format!("status `{}` is listed twice", status.value),
                    )
                    .hint("list each status once"),
                );
            } else {
                symbols.statuses.push(&status.value);
            }
        }
    }
    symbols
}

fn table<'a>(
    cx: &mut Checker<'a>,
    what: &str,
    names: impl Iterator<Item = (&'a String, Span)>,
) -> HashMap<&'a str, usize> {
    let mut table = HashMap::new();
    let mut spans: Vec<Span> = Vec::new();
    for (index, (name, span)) in names.enumerate() {
        spans.push(span);
        if let Some(&first) = table.get(name.as_str()) {
            cx.push(
                Diagnostic::new(
                    Code::DuplicateName,
                    span,
                    format!("{what} `{name}` is declared twice"),
                )
                .related(spans[first], "first declared")
                .hint(format!("give each {what} its own name, or merge the two")),
            );
            continue;
        }
        table.insert(name.as_str(), index);
    }
    table
}

impl Checker<'_> {
    /// Reports every reference to a name that is not declared, a queue
    /// limit on an inbox that is not a queue, and statuses no agent may
    /// accept in.
    pub(super) fn references(&mut self) {
        let ast = self.ast;
        for r in names::references(ast) {
            self.expect(r.name, r.kind);
        }
        for agent in &ast.agents {
            for status in agent.accepts.iter().flatten() {
                self.status(status);
            }
            for (queue, _) in &agent.queue_max_sessions {
                let Some(&i) = self.symbols.inboxes.get(queue.value.as_str()) else {
                    continue;
                };
                let inbox = &ast.inboxes[i];
                if inbox.kind.value != InboxKind::Queue {
                    self.push(
                        Diagnostic::new(
                            Code::WrongInboxKind,
                            queue.span,
                            format!(
                                "`{}` is a {} inbox, not a queue",
                                queue.value,
                                inbox.kind.value.as_str()
                            ),
                        )
                        .hint("per-queue `max_sessions` names a queue inbox"),
                    );
                }
            }
        }
        let deflections = ast.teams.iter().map(|t| t.deflection.as_ref());
        let deflections = deflections
            .chain(ast.agents.iter().map(|a| a.deflection.as_ref()))
            .chain([ast.deflection.as_ref()]);
        for deflection in deflections.flatten() {
            self.deflection_complete(deflection);
        }
    }

    /// A deflection that is on needs its hours and its message.
    fn deflection_complete(&mut self, deflection: &Spanned<Deflection>) {
        let Spanned {
            value: Deflection::On { hours, message },
            span,
        } = deflection
        else {
            return;
        };
        if hours.is_none() {
            self.push(
                Diagnostic::new(Code::MissingSetting, *span, "this deflection has no hours")
                    .hint("deflection applies outside its hours: add `hours office`"),
            );
        }
        if message.is_none() {
            self.push(
                Diagnostic::new(
                    Code::MissingMessage,
                    *span,
                    "this deflection has no message",
                )
                .hint("add the text customers get after hours: `message \"We're closed...\"`"),
            );
        }
    }

    /// A status an agent may accept new conversations in.
    fn status(&mut self, status: &Name) {
        if matches!(status.value.as_str(), "on_call" | "offline") {
            let why = if status.value == "on_call" {
                "agents cannot accept new conversations while on a call"
            } else {
                "an offline agent cannot accept new conversations"
            };
            self.push(
                Diagnostic::new(Code::AcceptsOnCall, status.span, why)
                    .hint("list the statuses that may accept, e.g. `accepts ready break`; owners may still reply to their conversations on a call"),
            );
            return;
        }
        if self.symbols.statuses.contains(&status.value.as_str()) {
            return;
        }
        let hint = match did_you_mean(&status.value, &self.symbols.statuses) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!(
                "declare custom statuses in the tenant: `statuses {}`",
                status.value
            ),
        };
        self.push(
            Diagnostic::new(
                Code::UnknownStatus,
                status.span,
                format!("unknown status `{}`", status.value),
            )
            .hint(hint),
        );
    }

    /// Reports `name` if no declaration of `kind` has it.
    pub(super) fn expect(&mut self, name: &Name, kind: NameKind) -> bool {
        let table = self.symbols.of(kind);
        if table.contains_key(name.value.as_str()) {
            return true;
        }
        // In declaration order, so a tie goes to the name declared first.
        let mut known: Vec<(&str, usize)> = table.iter().map(|(n, i)| (*n, *i)).collect();
        known.sort_unstable_by_key(|(_, i)| *i);
        let known: Vec<&str> = known.into_iter().map(|(n, _)| n).collect();
        let what = kind.as_str();
        let hint = match did_you_mean(&name.value, &known) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("declare it: `{}`", kind.example(&name.value)),
        };
        self.push(
            Diagnostic::new(
                Code::UnknownName,
                name.span,
                format!("no {what} is named `{}`", name.value),
            )
            .hint(hint),
        );
        false
    }
}

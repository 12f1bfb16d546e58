//! What a name is and what it resolves to, read from the compiled policy:
//! an agent's teams and inboxes, an inbox's effective hours and next
//! opening, a direct number's effective deflection and the level it comes
//! from, a placeholder's meaning. A policy with errors still answers from
//! what it declares.

use super::navigate::{self, Target};
use super::position::Lines;
use super::workspace::{Analysis, Workspace};
use crate::overview::{monday_of, Overview, Week};
use crate::policy::{AgentId, Inbox, Level, Policy, Schedule};
use crate::syntax::ast;
use crate::syntax::names::NameKind;
use crate::vocab::InboxKind;
use chrono::{DateTime, Utc};
use std::fmt::Write as _;

/// The hover at `offset`: markdown and the range it describes.
pub(crate) fn hover(
    ws: &Workspace,
    a: &Analysis,
    offset: usize,
    now: DateTime<Utc>,
) -> Option<(String, lsp_types::Range)> {
    let lines = Lines::new(&a.text);
    let target = navigate::at(a, offset)?;
    let (text, span) = match target {
        Target::Name(used) => (name(a, used.kind, &used.name.value, now), used.name.span),
        Target::HookFunction(function) => (hook_function(ws, a, &function.value), function.span),
        Target::File(path) => (format!("`{}`, beside the policy", path.value), path.span),
        Target::Placeholder { name, span } => (
            format!(
                "**placeholder** `{{{name}}}`: {}",
                crate::syntax::lower::values::placeholder_meaning(name).unwrap_or("")
            ),
            span,
        ),
    };
    Some((text, lines.range(span)))
}

fn name(a: &Analysis, kind: NameKind, name: &str, now: DateTime<Utc>) -> String {
    let mut out = format!("**{}** `{name}`", kind.as_str());
    if navigate::declaration(&a.ast, kind, name).is_none() {
        out.push_str("\n\nnot declared in this policy");
        return out;
    }
    let Some(policy) = &a.policy else {
        out.push_str("\n\n*the policy has errors: fix them to see what this resolves to*");
        return out;
    };
    let body = match kind {
        NameKind::Agent => agent(policy, name),
        NameKind::Team => team(policy, name),
        NameKind::Inbox => inbox(policy, name, now),
        NameKind::Hours => hours(policy, &a.ast, name, now),
        NameKind::Holidays => holidays(&a.ast, name),
        NameKind::Template => template(&a.ast, name),
    };
    if let Some(body) = body {
        out.push_str("\n\n");
        out.push_str(&body);
    }
    out
}

fn agent(policy: &Policy, name: &str) -> Option<String> {
    let id = policy.agent_id(name)?;
    let agent = policy.agent(id);
    let mut out = String::new();
    if let Some(shown) = &agent.display_name {
        let _ = writeln!(out, "shown as \"{shown}\"\n");
    }
    let teams = agent
        .teams
        .iter()
        .map(|t| format!("`{}`", policy.teams()[t.0 as usize].name));
    let _ = writeln!(out, "- teams: {}", list(teams));
    let inboxes = policy.inboxes().iter().filter_map(|inbox| {
        let how = how_member(policy, inbox, id)?;
        Some(format!("`{}` ({how})", inbox.name))
    });
    let _ = writeln!(out, "- inboxes: {}", list(inboxes));
    let accepts = policy
        .statuses()
        .iter()
        .filter(|s| policy.status_id(s).is_some_and(|id| agent.accepts(id)))
        .map(|s| format!("`{s}`"));
    let _ = writeln!(out, "- takes new conversations when {}", list(accepts));
    if let Some(direct) = policy
        .inboxes()
        .iter()
        .find(|i| i.kind == InboxKind::Direct && i.agent == Some(id))
    {
        let _ = writeln!(
            out,
            "- their direct inbox `{}`: {}",
            direct.name,
            deflection(policy, id)
        );
    }
    Some(out)
}

/// How an agent sees an inbox's conversations, if they do.
fn how_member(policy: &Policy, inbox: &Inbox, agent: AgentId) -> Option<String> {
    if inbox.agent == Some(agent) {
        return Some("their direct number".into());
    }
    if !inbox.members.contains(&agent) {
        return None;
    }
    let through: Vec<String> = inbox
        .teams
        .iter()
        .map(|t| &policy.teams()[t.0 as usize])
        .filter(|t| t.members.contains(&agent))
        .map(|t| format!("team `{}`", t.name))
        .collect();
    Some(match through.is_empty() {
        true => "named on the inbox".into(),
        false => format!("through {}", through.join(", ")),
    })
}

/// An agent's effective after-hours deflection, and where it comes from.
fn deflection(policy: &Policy, agent: AgentId) -> String {
    let d = &policy.agent(agent).deflection;
    let level = match (d.level, d.team) {
        (Level::Agent, _) => "the agent's own setting".to_string(),
        (Level::Team, Some(team)) => format!("team `{}`", policy.teams()[team.0 as usize].name),
        (Level::Team, None) => "their team".to_string(),
        (Level::Global, _) => "the global `deflection`".to_string(),
    };
    match &d.rule {
        Some(rule) => format!(
            "deflects outside `{}` hours, set by {level}",
            policy.schedule(rule.hours).name
        ),
        None => format!("no after-hours deflection, set by {level}"),
    }
}

fn team(policy: &Policy, name: &str) -> Option<String> {
    let id = policy.team_id(name)?;
    let team = &policy.teams()[id.0 as usize];
    let members = team
        .members
        .iter()
        .map(|&a| format!("`{}`", policy.agent(a).name));
    let inboxes = policy
        .inboxes()
        .iter()
        .filter(|i| i.teams.contains(&id))
        .map(|i| format!("`{}`", i.name));
    Some(format!(
        "- members: {}\n- answers: {}\n",
        list(members),
        list(inboxes)
    ))
}

fn inbox(policy: &Policy, name: &str, now: DateTime<Utc>) -> Option<String> {
    let id = policy.inbox_id(name)?;
    let inbox = policy.inbox(id);
    let mut out = format!("a {} inbox", inbox.kind.as_str());
    if let Some(shown) = &inbox.display_name {
        let _ = write!(out, ", shown as \"{shown}\"");
    }
    out.push_str("\n\n");
    let numbers = inbox.numbers.iter().map(|n| format!("`{n}`"));
    let _ = writeln!(out, "- numbers: {}", list(numbers));
    match inbox.agent {
        Some(agent) => {
            let _ = writeln!(out, "- belongs to `{}`", policy.agent(agent).name);
            let _ = writeln!(out, "- {}", deflection(policy, agent));
        }
        None => {
            let members = inbox.member_names.iter().map(|m| format!("`{m}`"));
            let _ = writeln!(
                out,
                "- {} member(s): {}",
                inbox.members.len(),
                list(members.take(20))
            );
            let _ = writeln!(out, "- claim: `{}`", inbox.claim.as_str());
        }
    }
    match inbox.hours {
        Some(hours) => out.push_str(&week(policy, policy.schedule(hours), now)),
        // A direct number's hours are its deflection's, said above.
        None if inbox.agent.is_some() => {}
        None => out.push_str("- always open\n"),
    }
    Some(out)
}

fn hours(policy: &Policy, ast: &ast::Policy, name: &str, now: DateTime<Utc>) -> Option<String> {
    let schedule = policy.schedules.iter().find(|s| s.name == name)?;
    let users = policy
        .inboxes()
        .iter()
        .filter(|i| i.hours.is_some_and(|h| policy.schedule(h).name == name))
        .map(|i| format!("`{}`", i.name));
    let deflects = |d: &Option<crate::diag::Spanned<ast::Deflection>>| {
        matches!(d.as_ref().map(|d| &d.value),
            Some(ast::Deflection::On { hours: Some(h), .. }) if h.value == name)
    };
    let deflections = ast
        .agents
        .iter()
        .filter(|a| deflects(&a.deflection))
        .map(|a| format!("agent `{}`", a.name.value))
        .chain(
            ast.teams
                .iter()
                .filter(|t| deflects(&t.deflection))
                .map(|t| format!("team `{}`", t.name.value)),
        )
        .chain(deflects(&ast.deflection).then(|| "the global one".to_string()));
    Some(format!(
        "- inboxes: {}\n- deflections: {}\n{}",
        list(users),
        list(deflections),
        week(policy, schedule, now)
    ))
}

/// Whether a schedule is open now, when it opens next, and this week's
/// open hours in its own zone.
fn week(policy: &Policy, schedule: &Schedule, now: DateTime<Utc>) -> String {
    let mut out = String::new();
    let local = |at: DateTime<Utc>| {
        at.with_timezone(&schedule.zone)
            .format("%a %b %-d at %H:%M")
            .to_string()
    };
    if schedule.is_always() {
        let _ = writeln!(out, "- hours `{}`: always open", schedule.name);
        return out;
    }
    let now_is = match schedule.is_open(now) {
        true => "open now".to_string(),
        false => match schedule.next_open(now) {
            Some(at) => format!("closed now; opens {}", local(at)),
            None => "closed now, with no opening in the next year".to_string(),
        },
    };
    let _ = writeln!(
        out,
        "- hours `{}` ({}): {now_is}\n",
        schedule.name,
        schedule.zone.name()
    );
    let today = Overview::today(policy, now);
    let week = Week::of(schedule, monday_of(today));
    out.push_str("| day | open |\n|---|---|\n");
    for day in &week.days {
        let open = match day.open.is_empty() {
            true => "closed".to_string(),
            false => day.open.join(", "),
        };
        let notes: Vec<&str> = [&day.note, &day.clocks]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
        let notes = match notes.is_empty() {
            true => String::new(),
            false => format!(" ({})", notes.join("; ")),
        };
        let _ = writeln!(out, "| {} {} | {open}{notes} |", day.weekday, day.date);
    }
    out
}

fn holidays(ast: &ast::Policy, name: &str) -> Option<String> {
    let calendar = ast.holidays.iter().find(|h| h.name.value == name)?;
    let mut out = String::new();
    for day in &calendar.days {
        match day {
            ast::HoursRule::Holiday { date, label } => {
                let label = label.as_ref().map_or("", |l| l.value.as_str());
                let _ = writeln!(out, "- {} closed {label}", date.value);
            }
            ast::HoursRule::Special { date, intervals } => {
                let open: Vec<String> = intervals.iter().map(|i| interval(i.value)).collect();
                let _ = writeln!(out, "- {} open {}", date.value, open.join(", "));
            }
            _ => {}
        }
    }
    Some(out)
}

fn template(ast: &ast::Policy, name: &str) -> Option<String> {
    let template = ast.templates.iter().find(|t| t.name.value == name)?;
    Some(format!("> {}", template.text.value))
}

fn hook_function(ws: &Workspace, a: &Analysis, function: &str) -> String {
    let mut out = format!("**hook function** `{function}`");
    let callers: Vec<String> = a
        .ast
        .inboxes
        .iter()
        .flat_map(|i| {
            i.hooks
                .iter()
                .filter(|h| h.function.value == function)
                .map(move |h| format!("`{}` ({})", i.name.value, h.point.value.as_str()))
        })
        .collect();
    let _ = write!(out, "\n\n- called by {}", list(callers.into_iter()));
    if let Some((uri, text)) = navigate::script_of(ws, a) {
        let file = uri
            .path()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string();
        match crate::hooks::definitions(&text)
            .into_iter()
            .find(|(name, _)| name == function)
        {
            Some((_, range)) => {
                let line = Lines::new(&text).position(range.start).line + 1;
                let _ = write!(out, "\n- defined in `{file}` at line {line}");
            }
            None => {
                let _ = write!(out, "\n- `{file}` does not define it");
            }
        }
    }
    out
}

/// `09:00-12:00`.
fn interval(i: crate::vocab::Interval) -> String {
    let clock = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
    format!("{}-{}", clock(i.start), clock(i.end))
}

/// `a, b, c`, or `none`.
fn list(items: impl Iterator<Item = String>) -> String {
    let items: Vec<String> = items.collect();
    match items.is_empty() {
        true => "none".into(),
        false => items.join(", "),
    }
}

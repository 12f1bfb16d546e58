//! Where hooks refine a decision: the claim mode and routing of a new
//! conversation, its autoresponder, and escalation when nobody answers.
//!
//! Each hook is told a typed [`hooks::Context`] and answers in a type its
//! point reads strictly (`crate::hooks::outcome`); what rhai makes of them
//! stays inside `crate::hooks`. A hook that fails, runs out of
//! budget or answers nonsense leaves the decision to the policy; the
//! explanation names the hook and the reason, and the inbox's
//! `hook_failures` counter goes up.

use super::decision::{Agents, Change, Decision, Rule};
use super::draft::Draft;
use super::event::Inbound;
use super::state::{Conversation, Escalation, Slot};
use super::Cx;
use crate::hooks::{self, Assign, Assignment, AutoReply, HookError, Hooks, Mode};
use crate::policy::{Inbox, InboxId, Policy};
use crate::vocab::{ClaimMode, HookPoint};
use chrono::{DateTime, Utc};
use smol_str::SmolStr;

/// The inbox's function for a hook point, and the policy's compiled script.
fn hook<'p>(
    policy: &'p Policy,
    inbox: &'p Inbox,
    point: HookPoint,
) -> Option<(&'p Hooks, &'p str)> {
    let hooks = policy.hooks.as_deref()?;
    let function = inbox.hooks.iter().find(|(p, _)| *p == point)?.1.as_str();
    Some((hooks, function))
}

/// Asks the inbox's hook at `point`; `None` when it has none there.
fn ask<T>(
    policy: &Policy,
    inbox: &Inbox,
    point: HookPoint,
    ctx: &hooks::Context<'_>,
    ask: fn(&Hooks, &str, &hooks::Context<'_>) -> Result<T, HookError>,
) -> Option<Result<T, HookError>> {
    let (hooks, function) = hook(policy, inbox, point)?;
    Some(ask(hooks, function, ctx))
}

/// What the inbox's hook at `point` answers about conversation `id`, which
/// the message `e` just reached.
fn ask_about<T>(
    cx: &Cx<'_>,
    state: &Draft<'_>,
    e: &Inbound,
    inbox: &Inbox,
    id: &str,
    point: HookPoint,
    asked: fn(&Hooks, &str, &hooks::Context<'_>) -> Result<T, HookError>,
) -> Option<Result<T, HookError>> {
    let ctx = context(cx, state, Some(e), inbox, state.known(id), point);
    ask(cx.policy, inbox, point, &ctx, asked)
}

/// The hook's answer, or `None` after recording why it gave none.
fn settle<T>(
    policy: &Policy,
    state: &mut Draft<'_>,
    inbox: &Inbox,
    point: HookPoint,
    answer: Option<Result<T, HookError>>,
    d: &mut Decision,
) -> Option<T> {
    match answer? {
        Ok(value) => Some(value),
        Err(error) => {
            let function = hook(policy, inbox, point).map_or("", |(_, f)| f);
            d.explain(|| Rule::Hook {
                point: point.as_str(),
                inbox: inbox.name.clone(),
                function: SmolStr::new(function),
                result: SmolStr::new("fell back to the policy"),
                error: Some(error.to_string()),
            });
            state.counted(&inbox.name).hook_failures += 1;
            None
        }
    }
}

fn record_answer(
    d: &mut Decision,
    policy: &Policy,
    inbox: &Inbox,
    point: HookPoint,
    result: String,
) {
    if let Some((_, function)) = hook(policy, inbox, point) {
        d.explain(|| Rule::Hook {
            point: point.as_str(),
            inbox: inbox.name.clone(),
            function: SmolStr::new(function),
            result: SmolStr::new(result),
            error: None,
        });
    }
}

/// The claim hook sets a new conversation's claim mode.
pub(crate) fn claim(
    cx: &Cx<'_>,
    state: &mut Draft<'_>,
    e: &Inbound,
    inbox: &Inbox,
    id: &str,
    d: &mut Decision,
) {
    if hook(cx.policy, inbox, HookPoint::Claim).is_none() {
        return;
    }
    let answer = ask_about(cx, state, e, inbox, id, HookPoint::Claim, Hooks::claim);
    match settle(cx.policy, state, inbox, HookPoint::Claim, answer, d) {
        Some(Some(mode)) => {
            state.update(id, |c| c.claim = mode);
            record_answer(
                d,
                cx.policy,
                inbox,
                HookPoint::Claim,
                format!("claim mode {}", claim_name(mode)),
            );
        }
        Some(None) => record_answer(
            d,
            cx.policy,
            inbox,
            HookPoint::Claim,
            "left the claim mode to the policy".into(),
        ),
        None => {}
    }
}

fn claim_name(mode: ClaimMode) -> &'static str {
    match mode {
        ClaimMode::Can => "can",
        ClaimMode::Cannot => "cannot",
        ClaimMode::Must => "must",
    }
}

/// The routing hook may give a new conversation to some of the inbox's
/// members, tag it, and ask for an escalation timer. Returns the agents it
/// was given to, if any.
pub(crate) fn route(
    cx: &Cx<'_>,
    state: &mut Draft<'_>,
    e: &Inbound,
    inbox_id: InboxId,
    id: &str,
    d: &mut Decision,
) -> Option<Agents> {
    let inbox = cx.policy.inbox(inbox_id);
    hook(cx.policy, inbox, HookPoint::Routing)?;
    let answer = ask_about(
        cx,
        state,
        e,
        inbox,
        id,
        HookPoint::Routing,
        Hooks::assignment,
    );
    let assignment = settle(cx.policy, state, inbox, HookPoint::Routing, answer, d)?;
    let Some(assignment) = assignment else {
        record_answer(
            d,
            cx.policy,
            inbox,
            HookPoint::Routing,
            "left routing to the policy".into(),
        );
        return None;
    };
    apply(
        cx.policy,
        state,
        inbox_id,
        id,
        &assignment,
        cx.at,
        HookPoint::Routing,
        d,
    )
}

/// Applies a routing or escalation answer; the agents the conversation now
/// belongs to, if the answer named any.
#[allow(clippy::too_many_arguments)]
fn apply(
    policy: &Policy,
    state: &mut Draft<'_>,
    inbox_id: InboxId,
    id: &str,
    a: &Assignment,
    at: DateTime<Utc>,
    point: HookPoint,
    d: &mut Decision,
) -> Option<Agents> {
    let inbox = policy.inbox(inbox_id);
    let members = &inbox.member_names;
    let chosen: Vec<SmolStr> = match &a.assign {
        Assign::Policy => Vec::new(),
        Assign::Agents(names) => names
            .iter()
            .filter(|n| members.contains(n))
            .cloned()
            .collect(),
        Assign::Team(team) => match policy.team_id(team) {
            Some(t) => policy.teams[t.index()]
                .members
                .iter()
                .map(|&m| policy.agent(m).name.clone())
                .filter(|n| members.contains(n))
                .collect(),
            None => Vec::new(),
        },
        Assign::Random if !members.is_empty() => {
            let pick = (super::seed(id) % members.len() as u64) as usize;
            vec![members[pick].clone()]
        }
        Assign::LeastLoaded => members
            .iter()
            .min_by_key(|m| state.load_of(&inbox.name, m))
            .cloned()
            .into_iter()
            .collect(),
        Assign::Random => Vec::new(),
    };
    // Names the hook gave that are not members of the inbox are dropped.
    let strangers: Vec<SmolStr> = match &a.assign {
        Assign::Agents(names) => names
            .iter()
            .filter(|n| !members.contains(n))
            .cloned()
            .collect(),
        Assign::Team(team) if policy.team_id(team).is_none() => vec![team.clone()],
        _ => Vec::new(),
    };
    let named_someone = !matches!(a.assign, Assign::Policy);
    if named_someone && chosen.is_empty() {
        let why = if strangers.is_empty() {
            "named no member of the inbox".to_string()
        } else {
            format!(
                "named {}, not members of inbox {}",
                strangers.join(", "),
                inbox.name
            )
        };
        d.explain(|| Rule::Hook {
            point: point.as_str(),
            inbox: inbox.name.clone(),
            function: hook(policy, inbox, point)
                .map_or_else(SmolStr::default, |(_, f)| SmolStr::new(f)),
            result: SmolStr::new("fell back to the policy"),
            error: Some(why),
        });
        state.counted(&inbox.name).hook_failures += 1;
        if let Some(hooks) = policy.hooks.as_deref() {
            hooks.failed(crate::hooks::HookError::Malformed(String::new()));
        }
        return None;
    }
    let mut result = None;
    state.update(id, |c| {
        // Adding to a conversation every member already sees changes nothing.
        let widens_everyone = a.mode == Mode::Add && c.assigned.is_none();
        if !chosen.is_empty() && !widens_everyone {
            let agents: Agents = match (a.mode, &c.assigned) {
                (Mode::Add, Some(current)) => {
                    let mut all = current.to_vec();
                    all.extend(chosen.iter().filter(|n| !current.contains(n)).cloned());
                    all.into()
                }
                _ => chosen.clone().into(),
            };
            c.assigned = Some(agents.clone());
            result = Some(agents);
        }
        if !a.tags.is_empty() {
            c.tags.clone_from(&a.tags);
        }
        if a.priority.is_some() {
            c.priority = a.priority;
        }
        c.escalation = a.escalate_in.map(|secs| {
            Box::new(Escalation {
                at: super::event::after(at, secs),
                outbound: c.outbound,
            })
        });
    });
    let mut summary = match &result {
        Some(agents) => format!("assigned {}", agents.join(", ")),
        None => "left the audience to the policy".to_string(),
    };
    if !strangers.is_empty() {
        summary.push_str(&format!("; dropped {} (not members)", strangers.join(", ")));
    }
    if !a.tags.is_empty() {
        summary.push_str(&format!("; tagged {}", a.tags.join(", ")));
    }
    if let Some(p) = a.priority {
        summary.push_str(&format!("; priority {p}"));
    }
    if let Some(secs) = a.escalate_in {
        summary.push_str(&format!("; escalates in {secs}s"));
    }
    record_answer(d, policy, inbox, point, summary);
    if let (Some(agents), HookPoint::Escalation) = (&result, point) {
        d.changes.push(Change::Escalated {
            conversation: SmolStr::new(id),
            agents: agents.clone(),
        });
    }
    result
}

/// The autoresponder hook: its text (on any channel), or `None` to let the
/// policy's own autoresponder answer.
pub(crate) fn autoresponder(
    cx: &Cx<'_>,
    state: &mut Draft<'_>,
    e: &Inbound,
    inbox: &Inbox,
    id: &str,
    d: &mut Decision,
) -> Option<AutoReply> {
    hook(cx.policy, inbox, HookPoint::Autoresponder)?;
    let answer = ask_about(
        cx,
        state,
        e,
        inbox,
        id,
        HookPoint::Autoresponder,
        Hooks::auto_reply,
    );
    match settle(cx.policy, state, inbox, HookPoint::Autoresponder, answer, d)? {
        Some(reply) => {
            record_answer(
                d,
                cx.policy,
                inbox,
                HookPoint::Autoresponder,
                "wrote the autoresponse".into(),
            );
            Some(reply)
        }
        None => {
            record_answer(
                d,
                cx.policy,
                inbox,
                HookPoint::Autoresponder,
                "left the autoresponse to the policy".into(),
            );
            None
        }
    }
}

/// An escalation timer fired: if nobody has replied since it was set, the
/// inbox's escalation hook may add agents or reassign, and set another.
pub(crate) fn escalate(
    policy: &Policy,
    state: &mut Draft<'_>,
    slot: Slot,
    at: DateTime<Utc>,
    d: &mut Decision,
) {
    let Some(c) = state.slot(slot) else {
        return;
    };
    let Some(escalation) = c.escalation.as_deref() else {
        return;
    };
    let replied = c.outbound != escalation.outbound;
    let id = c.id.clone();
    state.update_at(slot, |c| c.escalation = None);
    let Some(c) = state.slot(slot) else {
        return;
    };
    if replied || !c.is_open() || c.owner.is_some() {
        return;
    }
    let Some(inbox_id) = policy.inbox_id(&c.inbox) else {
        return;
    };
    let inbox = policy.inbox(inbox_id);
    if hook(policy, inbox, HookPoint::Escalation).is_none() {
        return;
    }
    let cx = Cx { policy, at };
    let answer = {
        let mut ctx = context(&cx, state, None, inbox, c, HookPoint::Escalation);
        ctx.waited_secs = Some((at - c.opened_at).num_seconds());
        ask(
            policy,
            inbox,
            HookPoint::Escalation,
            &ctx,
            Hooks::assignment,
        )
    };
    let assignment = match settle(policy, state, inbox, HookPoint::Escalation, answer, d) {
        Some(Some(assignment)) => assignment,
        Some(None) => {
            record_answer(
                d,
                policy,
                inbox,
                HookPoint::Escalation,
                "left the conversation as it was".into(),
            );
            return;
        }
        None => return,
    };
    let agents = apply(
        policy,
        state,
        inbox_id,
        &id,
        &assignment,
        at,
        HookPoint::Escalation,
        d,
    );
    // In a queue, the new agents get alerts for the inbox's alert lifetime.
    if let (Some(agents), crate::vocab::InboxKind::Queue) = (agents, inbox.kind) {
        let until = super::event::after(at, inbox.alert_secs);
        state.update(&id, |c| {
            c.alerts = Some(Box::new(super::state::Alerts {
                until,
                agents,
                hidden: Vec::new(),
            }));
        });
    }
}

/// What a hook is told about this conversation. Members are names;
/// `status(name)`, `load(name)` and `accepting(name)` answer for them
/// during the call, gathered only when the script can ask.
fn context<'a>(
    cx: &Cx<'_>,
    state: &'a Draft<'_>,
    e: Option<&'a Inbound>,
    inbox: &'a Inbox,
    c: &'a Conversation,
    point: HookPoint,
) -> hooks::Context<'a> {
    let policy = cx.policy;
    let members = policy
        .hooks
        .as_deref()
        .filter(|h| h.reads_members())
        .map(|_| {
            inbox
                .members
                .iter()
                .map(|&m| {
                    let agent = policy.agent(m);
                    let status = state.status_of(&agent.name);
                    let status_id = policy.status_id(status);
                    hooks::Member {
                        status_id: status_id.map(|s| s.index()),
                        status: SmolStr::new(status),
                        load: state.load_of(&inbox.name, &agent.name),
                        accepting: status_id.is_some_and(|s| agent.accepts(s)),
                    }
                })
                .collect()
        });
    let info = c.customer_info.as_deref();
    let zone = inbox
        .hours
        .map_or(policy.tenant.zone, |h| policy.schedule(h).zone);
    hooks::Context {
        point,
        inbox: hooks::context::Inbox {
            index: policy
                .inbox_id(&inbox.name)
                .map_or(usize::MAX, |i| i.index()),
            name: &inbox.name,
            kind: inbox.kind,
            members: &inbox.member_names,
        },
        conversation: hooks::context::Conversation {
            id: &c.id,
            new: c.inbound <= 1,
            seed: super::seed(&c.id),
            channel: c.channel,
            assigned: (point == HookPoint::Escalation)
                .then(|| c.assigned.as_deref().unwrap_or_default()),
        },
        message: e.map(|e| hooks::context::Message {
            body: &e.body,
            channel: e.channel,
            from: &e.from,
            to: &e.to,
        }),
        customer: hooks::context::Customer {
            number: &c.customer,
            name: info.and_then(|i| i.name.as_deref()),
            status: info.and_then(|i| i.status).map(|s| match s {
                super::event::CustomerStatus::Lead => "lead",
                super::event::CustomerStatus::Customer => "customer",
            }),
            tier: info.and_then(|i| i.tier.as_deref()),
            language: info.and_then(|i| i.language.as_deref()),
        },
        local: cx.at.with_timezone(&zone).naive_local(),
        open: inbox
            .hours
            .is_none_or(|h| policy.schedule(h).is_open(cx.at)),
        waited_secs: None,
        members,
    }
}

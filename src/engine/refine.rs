//! Where hooks refine a decision: the claim mode and routing of a new
//! conversation, its autoresponder, and escalation when nobody answers.
//!
//! Each hook gets one context map and returns a value its point reads
//! strictly (`crate::hooks::outcome`). A hook that fails, runs out of
//! budget or answers nonsense leaves the decision to the policy; the
//! explanation names the hook and the reason, and the inbox's
//! `hook_failures` counter goes up.

use super::decision::{Agents, Change, Decision, Step};
use super::event::Inbound;
use super::state::{Conversation, Escalation, Slot, State};
use super::Cx;
use crate::hooks::{outcome, Assign, Assignment, AutoReply, HookError, Hooks, Mode};
use crate::policy::{Inbox, InboxId, Policy};
use crate::vocab::{ClaimMode, HookPoint};
use chrono::{DateTime, Datelike, Timelike, Utc};
use rhai::{Dynamic, Map};
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

/// Calls a hook and reads its answer; records a failure.
fn run<T>(
    policy: &Policy,
    state: &mut State,
    inbox: &Inbox,
    point: HookPoint,
    ctx: Map,
    read: impl FnOnce(Dynamic) -> Result<T, HookError>,
    d: &mut Decision,
) -> Option<T> {
    let (hooks, function) = hook(policy, inbox, point)?;
    match hooks
        .call(function, ctx)
        .and_then(|v| read(v).map_err(|e| hooks.failed(e)))
    {
        Ok(value) => Some(value),
        Err(error) => {
            d.explanation.steps.push(Step::Hook {
                point: point.as_str(),
                function: SmolStr::new(function),
                result: SmolStr::new("fell back to the policy"),
                error: Some(error.to_string()),
            });
            state.counters_mut(&inbox.name).hook_failures += 1;
            None
        }
    }
}

fn said(d: &mut Decision, policy: &Policy, inbox: &Inbox, point: HookPoint, result: String) {
    if let Some((_, function)) = hook(policy, inbox, point) {
        d.explanation.steps.push(Step::Hook {
            point: point.as_str(),
            function: SmolStr::new(function),
            result: SmolStr::new(result),
            error: None,
        });
    }
}

/// The claim hook sets a new conversation's claim mode.
pub(crate) fn claim(
    cx: &Cx<'_>,
    state: &mut State,
    e: &Inbound,
    inbox: &Inbox,
    id: &str,
    d: &mut Decision,
) {
    if hook(cx.policy, inbox, HookPoint::Claim).is_none() {
        return;
    }
    let ctx = context(cx, state, Some(e), inbox, state.known(id), "claim");
    match run(
        cx.policy,
        state,
        inbox,
        HookPoint::Claim,
        ctx,
        outcome::claim_mode,
        d,
    ) {
        Some(Some(mode)) => {
            state.update(id, |c| c.claim = mode);
            said(
                d,
                cx.policy,
                inbox,
                HookPoint::Claim,
                format!("claim mode {}", claim_name(mode)),
            );
        }
        Some(None) => said(
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
    state: &mut State,
    e: &Inbound,
    inbox_id: InboxId,
    id: &str,
    d: &mut Decision,
) -> Option<Agents> {
    let inbox = cx.policy.inbox(inbox_id);
    hook(cx.policy, inbox, HookPoint::Routing)?;
    let ctx = context(cx, state, Some(e), inbox, state.known(id), "routing");
    let assignment = run(
        cx.policy,
        state,
        inbox,
        HookPoint::Routing,
        ctx,
        outcome::assignment,
        d,
    )?;
    let Some(assignment) = assignment else {
        said(
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
    state: &mut State,
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
        d.explanation.steps.push(Step::Hook {
            point: point.as_str(),
            function: hook(policy, inbox, point)
                .map_or_else(SmolStr::default, |(_, f)| SmolStr::new(f)),
            result: SmolStr::new("fell back to the policy"),
            error: Some(why),
        });
        state.counters_mut(&inbox.name).hook_failures += 1;
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
    said(d, policy, inbox, point, summary);
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
    state: &mut State,
    e: &Inbound,
    inbox: &Inbox,
    id: &str,
    d: &mut Decision,
) -> Option<AutoReply> {
    hook(cx.policy, inbox, HookPoint::Autoresponder)?;
    let ctx = context(cx, state, Some(e), inbox, state.known(id), "autoresponder");
    match run(
        cx.policy,
        state,
        inbox,
        HookPoint::Autoresponder,
        ctx,
        outcome::auto_reply,
        d,
    )? {
        Some(reply) => {
            said(
                d,
                cx.policy,
                inbox,
                HookPoint::Autoresponder,
                "wrote the autoresponse".into(),
            );
            Some(reply)
        }
        None => {
            said(
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
    state: &mut State,
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
    let mut ctx = context(&cx, state, None, inbox, c, "escalation");
    ctx.insert(
        "waited_secs".into(),
        Dynamic::from((at - c.opened_at).num_seconds()),
    );
    let assignment = match run(
        policy,
        state,
        inbox,
        HookPoint::Escalation,
        ctx,
        outcome::assignment,
        d,
    ) {
        Some(Some(assignment)) => assignment,
        Some(None) => {
            said(
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

/// The context map a hook receives. Members are names; `status(name)`,
/// `load(name)` and `accepting(name)` answer for them during the call.
fn context(
    cx: &Cx<'_>,
    state: &State,
    e: Option<&Inbound>,
    inbox: &Inbox,
    c: &Conversation,
    point: &str,
) -> Map {
    let text = |s: &str| Dynamic::from(s.to_string());
    let maybe = |s: Option<&SmolStr>| s.map_or(Dynamic::UNIT, |s| text(s));
    let hooks = cx.policy.hooks.as_deref();
    let names = hooks.and_then(|h| h.names());
    let inbox_id = cx.policy.inbox_id(&inbox.name).map(|i| i.index());
    let cached = names.zip(inbox_id).and_then(|(n, i)| n.inboxes.get(i));

    if let Some(hooks) = hooks {
        hooks.with_members(|members| {
            for (k, &m) in inbox.members.iter().enumerate() {
                let agent = cx.policy.agent(m);
                let status = state.status_of(&agent.name);
                let status_id = cx.policy.status_id(status);
                let status_name = status_id
                    .and_then(|s| names.and_then(|n| n.statuses.get(s.index())).cloned())
                    .unwrap_or_else(|| status.into());
                let name = cached
                    .and_then(|(_, _, _, names)| names.get(k).cloned())
                    .unwrap_or_else(|| agent.name.as_str().into());
                members.push(crate::hooks::Member {
                    name,
                    status: status_name,
                    load: i64::from(state.load_of(&inbox.name, &agent.name)),
                    accepting: status_id.is_some_and(|s| agent.accepts(s)),
                });
            }
        });
    }

    let mut ctx = Map::new();
    ctx.insert("hook".into(), text(point));

    let mut conversation = Map::new();
    conversation.insert("id".into(), text(&c.id));
    conversation.insert("new".into(), Dynamic::from(c.inbound <= 1));
    conversation.insert("seed".into(), Dynamic::from(super::seed(&c.id) as i64));
    conversation.insert("channel".into(), text(c.channel.as_str()));
    if point == "escalation" {
        let assigned = c
            .assigned
            .iter()
            .flat_map(|a| a.iter())
            .map(|a| text(a))
            .collect();
        conversation.insert("assigned".into(), Dynamic::from_array(assigned));
    }
    ctx.insert("conversation".into(), Dynamic::from_map(conversation));

    if let Some(e) = e {
        let mut message = Map::new();
        message.insert("body".into(), text(&e.body));
        message.insert("channel".into(), text(e.channel.as_str()));
        message.insert("from".into(), text(&e.from));
        message.insert("to".into(), text(&e.to));
        ctx.insert("message".into(), Dynamic::from_map(message));
    }

    let info = c.customer_info.as_deref();
    let mut customer = Map::new();
    customer.insert("number".into(), text(&c.customer));
    customer.insert("name".into(), maybe(info.and_then(|i| i.name.as_ref())));
    customer.insert(
        "status".into(),
        info.and_then(|i| i.status).map_or(Dynamic::UNIT, |s| {
            text(match s {
                super::event::CustomerStatus::Lead => "lead",
                super::event::CustomerStatus::Customer => "customer",
            })
        }),
    );
    customer.insert("tier".into(), maybe(info.and_then(|i| i.tier.as_ref())));
    customer.insert(
        "language".into(),
        maybe(info.and_then(|i| i.language.as_ref())),
    );
    ctx.insert("customer".into(), Dynamic::from_map(customer));

    let mut inbox_map = Map::new();
    match cached {
        Some((name, kind, members, _)) => {
            inbox_map.insert("name".into(), Dynamic::from(name.clone()));
            inbox_map.insert("kind".into(), Dynamic::from(kind.clone()));
            ctx.insert("members".into(), Dynamic::from_array(members.clone()));
        }
        None => {
            inbox_map.insert("name".into(), text(&inbox.name));
            inbox_map.insert("kind".into(), text(inbox.kind.as_str()));
            let members = inbox.member_names.iter().map(|m| text(m)).collect();
            ctx.insert("members".into(), Dynamic::from_array(members));
        }
    }
    ctx.insert("inbox".into(), Dynamic::from_map(inbox_map));

    let zone = inbox
        .hours
        .map_or(cx.policy.tenant.zone, |h| cx.policy.schedule(h).zone);
    let local = cx.at.with_timezone(&zone);
    const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let mut time = Map::new();
    time.insert(
        "date".into(),
        text(&format!(
            "{:04}-{:02}-{:02}",
            local.year(),
            local.month(),
            local.day()
        )),
    );
    time.insert(
        "weekday".into(),
        text(WEEKDAYS[local.weekday().num_days_from_monday() as usize]),
    );
    time.insert("hour".into(), Dynamic::from(i64::from(local.hour())));
    time.insert("minute".into(), Dynamic::from(i64::from(local.minute())));
    ctx.insert("time".into(), Dynamic::from_map(time));
    ctx.insert(
        "open".into(),
        Dynamic::from(
            inbox
                .hours
                .is_none_or(|h| cx.policy.schedule(h).is_open(cx.at)),
        ),
    );
    ctx
}

//! Agents' actions on conversations: reply, note, claim, release, accept,
//! decline, hide, close; and status changes.

use super::decision::{Agents, Change, Decision, Denial, Outcome, Rule, SessionEnd, Why};
use super::draft::Draft;
use super::event::{AgentAction, StatusChange};
use super::ids::Slot;
use super::session::{end_session, session_type};
use super::state::{Conversation, ConversationId, Lock};
use super::text::{send, Envelope};
use super::Cx;
use crate::policy::{AgentId, InboxId};
use crate::vocab::{ClaimMode, InboxKind};
use smol_str::SmolStr;

/// The agent, conversation and inbox an action names. `target` finds it,
/// with the conversation as the draft holds it, or rejects the event.
struct Target {
    agent: AgentId,
    name: SmolStr,
    id: ConversationId,
    /// Where the conversation is kept: found once, not parsed from `id`
    /// again by every later look.
    slot: Slot,
    inbox: InboxId,
}

fn target<'d>(
    cx: &Cx<'_>,
    state: &'d Draft<'_>,
    a: &AgentAction,
    d: &mut Decision,
) -> Option<(Target, &'d Conversation)> {
    let Some(agent) = cx.policy.agent_id(&a.agent) else {
        d.outcome = Outcome::Rejected;
        d.denial = Some(Denial::UnknownAgent {
            agent: a.agent.clone(),
        });
        return None;
    };
    let found = match (&a.conversation, &a.number, &a.customer) {
        (Some(id), _, _) => state.conversation_at(id),
        (None, Some(number), Some(customer)) => state.open_conversation_at(number, customer),
        _ => {
            d.outcome = Outcome::Rejected;
            d.denial = Some(Denial::NoConversationNamed);
            return None;
        }
    };
    // An archived conversation is denied before anything else is asked of
    // it, and alike whether it is still in memory or was evicted once
    // stored: no decision depends on what an archived conversation holds.
    let archived = match (found, &a.conversation) {
        (Some((_, c)), _) if !c.is_open() => Some(c.id.clone()),
        (None, Some(id)) if state.was_archived(id) => Some(id.clone()),
        _ => None,
    };
    if let Some(id) = archived {
        d.conversation = Some(id);
        deny(d, Denial::Closed);
        return None;
    }
    let Some((slot, conversation)) = found else {
        d.outcome = Outcome::Rejected;
        let named = a.conversation.clone().unwrap_or_else(|| {
            SmolStr::new(format!(
                "{} / {}",
                a.number.as_deref().unwrap_or(""),
                a.customer.as_deref().unwrap_or("")
            ))
        });
        d.denial = Some(Denial::UnknownConversation {
            conversation: named,
        });
        return None;
    };
    d.conversation = Some(conversation.id.clone());
    d.inbox = Some(conversation.inbox.clone());
    let Some(inbox) = cx.policy.inbox_id(&conversation.inbox) else {
        d.outcome = Outcome::Denied;
        d.denial = Some(Denial::NotAMember {
            inbox: conversation.inbox.clone(),
        });
        return None;
    };
    let assigned_elsewhere = conversation
        .assigned
        .as_ref()
        .is_some_and(|assigned| !assigned.contains(&a.agent));
    if assigned_elsewhere && conversation.owner.is_none() {
        d.outcome = Outcome::Denied;
        d.denial = Some(Denial::NotAssigned {
            assigned: conversation
                .assigned
                .clone()
                .unwrap_or_else(super::decision::no_agents),
        });
        return None;
    }
    if !cx.is_member(cx.policy.inbox(inbox), agent) {
        d.outcome = Outcome::Denied;
        d.denial = Some(Denial::NotAMember {
            inbox: conversation.inbox.clone(),
        });
        return None;
    }
    d.explain(|| Rule::Member {
        agent: a.agent.clone(),
        inbox: conversation.inbox.clone(),
    });
    let target = Target {
        agent,
        // The event names the agent as the policy does (it was found by
        // that name).
        name: a.agent.clone(),
        id: conversation.id.clone(),
        slot,
        inbox,
    };
    Some((target, conversation))
}

/// Claiming or accepting what the agent already owns changes nothing; what
/// another agent owns is denied. True when the action ends here.
fn settled_by_owner(d: &mut Decision, owner: Option<&SmolStr>, agent: &SmolStr) -> bool {
    match owner {
        Some(owner) if owner == agent => {
            d.visible_to = vec![agent.clone()].into();
            true
        }
        Some(owner) => {
            deny(
                d,
                Denial::OwnedBy {
                    owner: owner.clone(),
                },
            );
            true
        }
        None => false,
    }
}

/// Whether a message body says nothing: only spaces, or characters no
/// message can carry, found by reading only up to the first visible one.
fn is_blank(body: &str) -> bool {
    body.chars()
        .all(|c| c.is_whitespace() || !crate::vocab::is_sendable(c))
}

fn deny(d: &mut Decision, denial: Denial) {
    d.outcome = Outcome::Denied;
    d.denial = Some(denial);
}

/// An agent's message to the customer.
pub(crate) fn reply(cx: &Cx<'_>, state: &mut Draft<'_>, a: &AgentAction, d: &mut Decision) {
    let Some(body) = a.body.as_ref().filter(|b| !is_blank(b)) else {
        d.outcome = Outcome::Rejected;
        d.denial = Some(Denial::EmptyBody);
        return;
    };
    let Some((t, c)) = target(cx, state, a, d) else {
        return;
    };
    let inbox = cx.policy.inbox(t.inbox);
    // Before anything else: an opt-out also archived the conversation.
    if state.is_opted_out(&c.customer) {
        return deny(d, Denial::OptedOut);
    }
    if !c.is_open() {
        return deny(d, Denial::Closed);
    }
    match (&c.owner, inbox.kind) {
        (Some(owner), _) if *owner != t.name => {
            return deny(
                d,
                Denial::OwnedBy {
                    owner: owner.clone(),
                },
            );
        }
        (Some(_), _) => {}
        (None, InboxKind::Shared) => {
            if c.claim == ClaimMode::Must {
                return deny(d, Denial::MustClaim);
            }
            if let Some(lock) = c.lock_at(cx.at) {
                if lock.holder != t.name {
                    return deny(
                        d,
                        Denial::Locked {
                            holder: lock.holder.clone(),
                            until: lock.until,
                        },
                    );
                }
            }
        }
        // A direct number's own agent: replying accepts the conversation.
        (None, InboxKind::Direct) => {}
        (None, InboxKind::Queue) => return deny(d, Denial::MustAccept),
    }

    let (to, from, channel) = (c.customer.clone(), c.number.clone(), c.channel);
    let lock_secs = match c.owner {
        Some(_) => inbox.claim_lock_secs,
        None => inbox.lock_secs,
    };
    let at = cx.at;
    let mut lock = None;
    let mut took = false;
    state.update_at(t.slot, |c| {
        c.outbound += 1;
        c.unanswered = 0;
        if let (InboxKind::Shared, Some(secs)) = (inbox.kind, lock_secs) {
            // The first reply locks the thread to its author; each reply
            // from the holder renews the assignment time limit. On a
            // claimed conversation the lock is the claim's: the owner's
            // reply renews it.
            let until = super::event::after(at, secs);
            c.lock = Some(Lock {
                holder: t.name.clone(),
                until,
            });
            lock = Some(until);
        }
        if inbox.kind == InboxKind::Direct && c.owner.is_none() {
            c.owner = Some(t.name.clone());
            c.alerts = None;
            took = true;
        }
        if let (Some(session), Some(secs)) = (&mut c.session, inbox.session_timeout_secs) {
            session.expires_at = Some(super::event::after(at, secs));
        }
    });
    if took {
        // Replying on a direct number accepts the conversation.
        state.agent_mut(&t.name).missed_in_a_row = 0;
        d.changes.push(Change::Accepted {
            owner: t.name.clone(),
        });
    }
    if let Some(until) = lock {
        d.changes.push(Change::Locked {
            holder: t.name.clone(),
            until,
        });
    }
    state.counted(&inbox.name).outbound += 1;
    d.session_type = Some(session_type(inbox, false));
    if inbox.copy_team {
        d.copied_to = cx
            .member_names(inbox)
            .iter()
            .filter(|m| **m != t.name)
            .cloned()
            .collect();
    }
    let envelope = Envelope {
        to: &to,
        from: &from,
        channel,
    };
    send(state, d, envelope, body.clone(), Some(t.name), Why::Reply);
}

/// An internal note: any member, at any time, lock or no lock; it never
/// reaches the customer and takes no lock.
pub(crate) fn note(cx: &Cx<'_>, state: &mut Draft<'_>, a: &AgentAction, d: &mut Decision) {
    if a.body.as_deref().is_none_or(is_blank) {
        d.outcome = Outcome::Rejected;
        d.denial = Some(Denial::EmptyBody);
        return;
    }
    let Some((t, c)) = target(cx, state, a, d) else {
        return;
    };
    // A claim removes the other members from the conversation, notes included.
    if let Some(owner) = c.owner.as_ref().filter(|o| **o != t.name) {
        return deny(
            d,
            Denial::OwnedBy {
                owner: owner.clone(),
            },
        );
    }
    d.visible_to = visible_to(cx, state, &t.id, t.inbox);
    if let Some(lock) = c.lock_at(cx.at) {
        d.explain(|| Rule::Lock {
            holder: lock.holder.clone(),
            until: lock.until,
        });
    }
}

fn visible_to(cx: &Cx<'_>, state: &Draft<'_>, id: &str, inbox: InboxId) -> Agents {
    match state.conversation(id).and_then(|c| c.owner.clone()) {
        Some(owner) => vec![owner].into(),
        None => cx.member_names(cx.policy.inbox(inbox)),
    }
}

/// Claiming a shared-inbox conversation makes the claimer its only worker.
pub(crate) fn claim(cx: &Cx<'_>, state: &mut Draft<'_>, a: &AgentAction, d: &mut Decision) {
    let Some((t, c)) = target(cx, state, a, d) else {
        return;
    };
    let inbox = cx.policy.inbox(t.inbox);
    d.explain(|| Rule::Claim { mode: c.claim });
    // An opted-out customer holds no agent.
    if state.is_opted_out(&c.customer) {
        return deny(d, Denial::OptedOut);
    }
    if !c.is_open() {
        return deny(d, Denial::Closed);
    }
    if inbox.kind != InboxKind::Shared || c.claim == ClaimMode::Cannot {
        return deny(d, Denial::ClaimNotAllowed);
    }
    if settled_by_owner(d, c.owner.as_ref(), &t.name) {
        return;
    }
    if let Some(lock) = c.lock_at(cx.at) {
        if lock.holder != t.name {
            return deny(
                d,
                Denial::Locked {
                    holder: lock.holder.clone(),
                    until: lock.until,
                },
            );
        }
    }
    // With a lock, the claim lasts as long as one: it lapses back to the
    // team unless the owner replies within it (each reply renews it).
    let lock = inbox
        .claim_lock_secs
        .map(|secs| super::event::after(cx.at, secs));
    state.update_at(t.slot, |c| {
        c.owner = Some(t.name.clone());
        c.lock = lock.map(|until| Lock {
            holder: t.name.clone(),
            until,
        });
        c.unanswered = 0;
    });
    d.changes.push(Change::Claimed {
        owner: t.name.clone(),
    });
    if let Some(until) = lock {
        d.changes.push(Change::Locked {
            holder: t.name.clone(),
            until,
        });
        d.explain(|| Rule::ClaimLasts {
            owner: t.name.clone(),
            until,
        });
    }
    d.visible_to = vec![t.name].into();
}

/// The owner gives a claimed conversation back to the whole team.
pub(crate) fn release(cx: &Cx<'_>, state: &mut Draft<'_>, a: &AgentAction, d: &mut Decision) {
    let Some((t, c)) = target(cx, state, a, d) else {
        return;
    };
    match &c.owner {
        None => return deny(d, Denial::NotClaimed),
        Some(owner) if *owner != t.name => return deny(d, Denial::NotOwner),
        Some(_) => {}
    }
    // The claim's lock goes with it.
    state.update_at(t.slot, |c| {
        c.owner = None;
        c.lock = None;
    });
    d.changes.push(Change::Released { by: t.name.clone() });
    d.visible_to = visible_to(cx, state, &t.id, t.inbox);
}

/// Accepting an alert or invite makes the agent the owner; the others'
/// alerts go away.
pub(crate) fn accept(cx: &Cx<'_>, state: &mut Draft<'_>, a: &AgentAction, d: &mut Decision) {
    let Some((t, c)) = target(cx, state, a, d) else {
        return;
    };
    let inbox = cx.policy.inbox(t.inbox);
    if state.is_opted_out(&c.customer) {
        return deny(d, Denial::OptedOut);
    }
    if !c.is_open() {
        return deny(d, Denial::Closed);
    }
    if settled_by_owner(d, c.owner.as_ref(), &t.name) {
        return;
    }
    if !c
        .alerts
        .as_ref()
        .is_some_and(|al| al.agents.contains(&t.name))
    {
        return deny(d, Denial::NoOffer);
    }
    let status = state.status_of(&t.name);
    let accepting = cx
        .policy
        .status_id(status)
        .is_some_and(|s| cx.policy.agent(t.agent).accepts(s));
    if !accepting {
        return deny(
            d,
            Denial::NotAccepting {
                status: SmolStr::new(status),
            },
        );
    }
    if let Some(max) = cx.policy.max_sessions(t.agent, t.inbox) {
        let owned = state.load(&inbox.name, &t.name);
        if owned >= max {
            return deny(d, Denial::AtCapacity { load: owned, max });
        }
    }
    let at = cx.at;
    state.update_at(t.slot, |c| {
        c.owner = Some(t.name.clone());
        c.alerts = None;
        c.unanswered = 0;
        if let Some(session) = &mut c.session {
            session.accepted_at = Some(at);
        }
    });
    let agent = state.agent_mut(&t.name);
    agent.missed_in_a_row = 0;
    d.changes.push(Change::Accepted {
        owner: t.name.clone(),
    });
    d.visible_to = vec![t.name].into();
}

/// Declining removes this agent's alert or invite.
pub(crate) fn decline(cx: &Cx<'_>, state: &mut Draft<'_>, a: &AgentAction, d: &mut Decision) {
    let Some((t, c)) = target(cx, state, a, d) else {
        return;
    };
    if !c
        .alerts
        .as_ref()
        .is_some_and(|al| al.agents.contains(&t.name))
    {
        return deny(d, Denial::NoOffer);
    }
    state.update_at(t.slot, |c| {
        if let Some(alerts) = &mut c.alerts {
            alerts.agents = alerts
                .agents
                .iter()
                .filter(|x| **x != t.name)
                .cloned()
                .collect();
            alerts.hidden.retain(|x| *x != t.name);
            if alerts.agents.is_empty() {
                c.alerts = None;
            }
        }
    });
    d.changes.push(Change::Declined {
        agent: t.name.clone(),
    });
}

/// Hiding takes the alert off the agent's screen; it stays pending, so the
/// pending count does not change.
pub(crate) fn hide(cx: &Cx<'_>, state: &mut Draft<'_>, a: &AgentAction, d: &mut Decision) {
    let Some((t, c)) = target(cx, state, a, d) else {
        return;
    };
    if !c
        .alerts
        .as_ref()
        .is_some_and(|al| al.agents.contains(&t.name))
    {
        return deny(d, Denial::NoOffer);
    }
    state.update_at(t.slot, |c| {
        if let Some(alerts) = &mut c.alerts {
            if !alerts.hidden.contains(&t.name) {
                alerts.hidden.push(t.name.clone());
            }
        }
    });
    d.changes.push(Change::Hidden {
        agent: t.name.clone(),
        pending: state.pending_alerts(&t.name),
    });
}

/// Closing archives the conversation and ends its owner's ownership (and a
/// keyword-queue session); the customer's next message starts a new one.
pub(crate) fn close(cx: &Cx<'_>, state: &mut Draft<'_>, a: &AgentAction, d: &mut Decision) {
    let Some((t, c)) = target(cx, state, a, d) else {
        return;
    };
    if !c.is_open() {
        return deny(d, Denial::Closed);
    }
    let owner_only = cx.policy.inbox(t.inbox).kind != InboxKind::Shared;
    let is_owner = c.owner.as_ref() == Some(&t.name);
    if (c.owner.is_some() || owner_only) && !is_owner {
        // Shared conversations nobody claimed may be closed by any member;
        // everything else only by its owner.
        return deny(d, Denial::NotOwner);
    }
    if c.session.is_some() {
        end_session(state, &t.id, cx.at, SessionEnd::Agent, d);
    } else {
        let at = cx.at;
        state.update_at(t.slot, |c| {
            c.closed_at = Some(at);
            c.owner = None;
            c.lock = None;
            c.alerts = None;
        });
    }
    d.changes.push(Change::Closed { by: t.name.clone() });
}

/// An agent's status: ready, on_call, offline, or one of the tenant's own.
/// Setting a status clears an unavailability the engine imposed.
pub(crate) fn status(cx: &Cx<'_>, state: &mut Draft<'_>, s: &StatusChange, d: &mut Decision) {
    if cx.policy.agent_id(&s.agent).is_none() {
        d.outcome = Outcome::Rejected;
        d.denial = Some(Denial::UnknownAgent {
            agent: s.agent.clone(),
        });
        return;
    }
    if cx.policy.status_id(&s.status).is_none() {
        d.outcome = Outcome::Rejected;
        d.denial = Some(Denial::UnknownStatus {
            status: s.status.clone(),
        });
        return;
    }
    let agent = state.agent_mut(&s.agent);
    agent.status = s.status.clone();
    agent.unavailable = None;
    agent.missed_in_a_row = 0;
    d.changes.push(Change::Status {
        agent: s.agent.clone(),
        status: s.status.clone(),
    });
}

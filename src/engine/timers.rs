//! Letting time pass: everything due by `now` expires, in deadline order.
//!
//! A deadline is exclusive: a lock held until 10:30 is free at 10:30.

use super::decision::{Change, Decision, SessionEnd};
use super::draft::Draft;

use crate::policy::Policy;
use chrono::{DateTime, Utc};
use smol_str::SmolStr;

#[inline]
pub(crate) fn advance(
    policy: &Policy,
    state: &mut Draft<'_>,
    now: DateTime<Utc>,
    d: &mut Decision,
) {
    // Most decisions find nothing due: that answer costs a comparison, not
    // the frame of the loop that fires what is.
    if state.next_deadline().is_some_and(|at| at <= now) {
        fire_due(policy, state, now, d);
    }
}

/// Fires every deadline due by `now`, earliest first.
#[inline(never)]
fn fire_due(policy: &Policy, state: &mut Draft<'_>, now: DateTime<Utc>, d: &mut Decision) {
    while let Some((at, slot)) = state.first_deadline() {
        if at > now {
            break;
        }
        let mut missed: Option<super::decision::Agents> = None;
        let mut ended: Option<(SmolStr, Option<u64>)> = None;
        let escalation_due = state
            .slot(slot)
            .and_then(|c| c.escalation.as_ref())
            .map(|e| e.at)
            .filter(|due| *due <= now);
        state.update_at(slot, |c| {
            if c.lock.as_ref().is_some_and(|l| l.until <= now) {
                if let Some(lock) = c.lock.take() {
                    // A claim's lock: the owner did not reply within it, so
                    // the conversation goes back to the team.
                    let lapsed = c.owner.as_ref() == Some(&lock.holder);
                    if lapsed {
                        c.owner = None;
                    }
                    d.changes.push(Change::LockExpired {
                        conversation: c.id.clone(),
                        holder: lock.holder.clone(),
                    });
                    if lapsed {
                        d.changes.push(Change::ClaimLapsed {
                            conversation: c.id.clone(),
                            owner: lock.holder,
                        });
                    }
                }
            }
            if c.alerts.as_ref().is_some_and(|a| a.until <= now) {
                if let Some(alerts) = c.alerts.take() {
                    missed = Some(alerts.agents.clone());
                    d.changes.push(Change::AlertsExpired {
                        conversation: c.id.clone(),
                        agents: alerts.agents,
                    });
                }
            }
            if c.session
                .as_ref()
                .is_some_and(|s| s.expires_at.is_some_and(|e| e <= now))
            {
                if let Some(session) = c.session.take() {
                    let end = session.expires_at.unwrap_or(now);
                    let handle = session
                        .accepted_at
                        .map(|a| (end - a).num_seconds().max(0) as u64);
                    c.closed_at = Some(end);
                    c.owner = None;
                    c.alerts = None;
                    c.lock = None;
                    d.changes.push(Change::SessionEnded {
                        conversation: c.id.clone(),
                        by: SessionEnd::Timeout,
                        handle_secs: handle,
                    });
                    ended = Some((c.inbox.clone(), handle));
                }
            }
        });
        if let Some((inbox, Some(secs))) = ended {
            let counters = state.counted(&inbox);
            counters.sessions_handled += 1;
            counters.handle_secs += secs;
        }
        for agent in missed.iter().flat_map(|m| m.iter()) {
            missed_chat(policy, state, agent, d);
        }
        if let Some(due) = escalation_due {
            super::refine::escalate(policy, state, slot, due, d);
        }
    }
}

/// An agent let an alert or invite expire: at the tenant's missed-chat
/// threshold, the engine sets them unavailable (offline) and says why.
fn missed_chat(policy: &Policy, state: &mut Draft<'_>, agent: &SmolStr, d: &mut Decision) {
    let threshold = policy.tenant.missed_chat_threshold;
    let could_accept = match (
        policy.agent_id(agent),
        policy.status_id(state.status_of(agent)),
    ) {
        (Some(a), Some(status)) => policy.agent(a).accepts(status),
        _ => false,
    };
    if !could_accept {
        // On a call, on break or offline: not a miss.
        return;
    }
    let a = state.agent_mut(agent);
    a.missed_in_a_row += 1;
    if a.missed_in_a_row >= threshold && a.unavailable.is_none() {
        a.status = SmolStr::new_static("offline");
        a.unavailable = Some(SmolStr::new_static("missed_chats"));
        d.changes.push(Change::Unavailable {
            agent: agent.clone(),
            missed: a.missed_in_a_row,
            reason: SmolStr::new_static("missed_chats"),
        });
    }
}

//! A customer's message: compliance first, then the number's inbox decides.

use super::compliance;
use super::decision::{
    no_agents, Agents, Change, CustomerCard, Decision, Denial, NotOffered, NotOfferedReason,
    Outcome, Rule, Why,
};
use super::draft::Draft;
use super::event::Inbound;
use super::refine;
use super::session::session_type;
use super::state::{Alerts, Conversation, ConversationId, Session};
use super::text::{answer, send, Envelope, Fill};
use super::Cx;
use crate::policy::{Inbox, InboxId, ScheduleId, Text};
use crate::vocab::{Channel, ComplianceSet, InboxKind, RevocationAction};
use chrono::{DateTime, Utc};
use smol_str::SmolStr;

pub(crate) fn inbound(cx: &Cx<'_>, state: &mut Draft<'_>, e: &Inbound, d: &mut Decision) {
    let policy = cx.policy;
    let Some(number) = policy.numbers.get(e.to.as_str()) else {
        d.outcome = Outcome::Rejected;
        d.denial = Some(Denial::UnknownNumber {
            number: e.to.clone(),
        });
        return;
    };
    if !number.channels.contains(&e.channel) {
        d.outcome = Outcome::Rejected;
        d.denial = Some(Denial::ChannelNotEnabled {
            channel: SmolStr::new_static(e.channel.as_str()),
        });
        return;
    }
    let Some(inbox_id) = number.inbox else {
        d.outcome = Outcome::Rejected;
        d.denial = Some(Denial::NotRouted {
            number: e.to.clone(),
        });
        return;
    };
    let inbox = policy.inbox(inbox_id);
    d.outcome = Outcome::Routed;
    d.inbox = Some(inbox.name.clone());
    d.explain(|| Rule::Number {
        number: e.to.clone(),
        inbox: inbox.name.clone(),
    });
    if let Some((keyword, set)) = compliance::classify(cx, &e.body) {
        // An opt-in keyword from a customer who never opted out ("Yes" to an
        // agent's question) is an ordinary message.
        if set != ComplianceSet::OptIn || state.is_opted_out(&e.from) {
            d.explain(|| Rule::Compliance {
                keyword: SmolStr::new(keyword),
                set,
            });
            compliance::handle(cx, state, e, set, d);
            return;
        }
    }
    // A revocation phrase inside a longer message: an opt-out, or a flag
    // for review once the message has routed.
    let revoked = compliance::revocation(cx, &e.body);
    if let Some(r) = revoked {
        d.explain(|| Rule::Revocation {
            phrase: SmolStr::new(&r.phrase),
            action: r.action,
        });
        if r.action == RevocationAction::OptOut {
            compliance::handle(cx, state, e, ComplianceSet::OptOut, d);
            return;
        }
    }
    d.customer = Some(CustomerCard {
        number: e.from.clone(),
        name: e.customer.name.clone(),
        status: e.customer.status,
    });
    d.session_type = Some(session_type(inbox, true));
    reroute(cx, state, e, inbox, d);
    match inbox.kind {
        _ if state.is_opted_out(&e.from) => opted_out(cx, state, e, inbox, d),
        InboxKind::Shared => shared(cx, state, e, inbox_id, d),
        InboxKind::Queue if inbox.keywords.is_some() => keyword_queue(cx, state, e, inbox_id, d),
        InboxKind::Queue => queue(cx, state, e, inbox_id, d),
        InboxKind::Direct => direct(cx, state, e, inbox, d),
    }
    if let (Some(r), Some(id)) = (revoked, d.conversation.clone()) {
        flag_for_review(state, &id, &r.phrase, d);
    }
    // What the conversation knows of the customer, from this message or an
    // earlier one.
    if let Some(c) = d
        .conversation
        .as_ref()
        .and_then(|id| state.conversation(id))
    {
        d.tags.clone_from(&c.tags);
        d.priority = c.priority;
        d.customer = Some(CustomerCard {
            number: c.customer.clone(),
            name: c.customer_info.as_ref().and_then(|i| i.name.clone()),
            status: c.customer_info.as_ref().and_then(|i| i.status),
        });
    }
}

/// Flags the conversation for a person to read: a revocation phrase the
/// tenant wants judged rather than acted on. The tag `revocation` stays on
/// the conversation for the agents' view; the change names the phrase.
fn flag_for_review(state: &mut Draft<'_>, id: &ConversationId, phrase: &str, d: &mut Decision) {
    const TAG: &str = "revocation";
    state.update(id, |c| {
        if !c.tags.iter().any(|t| t == TAG) {
            c.tags.push(SmolStr::new_static(TAG));
        }
    });
    d.changes.push(Change::FlaggedForReview {
        conversation: id.clone(),
        phrase: SmolStr::new(phrase),
    });
}

/// A message from a customer who opted out: kept on a conversation the
/// inbox's members can read, but nobody is alerted or offered it, no hook
/// runs and nothing is sent, so the customer holds no agent. A keyword
/// queue keeps messages only inside a session, and none starts.
fn opted_out(cx: &Cx<'_>, state: &mut Draft<'_>, e: &Inbound, inbox: &Inbox, d: &mut Decision) {
    d.explain(|| Rule::OptedOut);
    if inbox.keywords.is_some() {
        d.outcome = Outcome::Answered;
        return;
    }
    let (id, _) = open_or_create(cx, state, e, inbox, None, d);
    d.visible_to = visible(cx, state, &id, inbox);
}

/// Team SMS and team inboxes: every member sees the conversation until one
/// claims it.
fn shared(cx: &Cx<'_>, state: &mut Draft<'_>, e: &Inbound, inbox_id: InboxId, d: &mut Decision) {
    let inbox = cx.policy.inbox(inbox_id);
    let (id, new) = open_or_create(cx, state, e, inbox, None, d);
    if new {
        refine::claim(cx, state, e, inbox, &id, d);
        refine::route(cx, state, e, inbox_id, &id, d);
    }
    let conversation = &state.known(&id);
    d.explain(|| Rule::Claim {
        mode: conversation.claim,
    });
    if let Some(lock) = conversation.lock_at(cx.at) {
        d.explain(|| Rule::Lock {
            holder: lock.holder.clone(),
            until: lock.until,
        });
    }
    if let Some(owner) = &conversation.owner {
        d.explain(|| Rule::Owner {
            owner: owner.clone(),
        });
    }
    d.visible_to = visible(cx, state, &id, inbox);
    if !after_hours(cx, state, e, inbox, &id, d) && new {
        autoresponder(cx, state, e, inbox, &id, d);
    }
}

/// A queue without keywords (texting queues, direct numbers on a queue):
/// a new conversation alerts the members; the owner alone after acceptance.
fn queue(cx: &Cx<'_>, state: &mut Draft<'_>, e: &Inbound, inbox_id: InboxId, d: &mut Decision) {
    let inbox = cx.policy.inbox(inbox_id);
    let (id, new) = open_or_create(cx, state, e, inbox, None, d);
    if new {
        let offered = match refine::route(cx, state, e, inbox_id, &id, d) {
            Some(assigned) => assigned,
            None => shared_list(inbox, offer(cx, state, inbox_id, false, d)),
        };
        alert(cx, state, &id, inbox, &offered);
        d.offered_to = offered;
    } else {
        unresponsive(cx, state, &id, inbox_id, d);
        reoffer(cx, state, &id, inbox_id, d);
        d.offered_to = alerted(state, &id);
    }
    d.visible_to = visible(cx, state, &id, inbox);
    if !after_hours(cx, state, e, inbox, &id, d) && new {
        autoresponder(cx, state, e, inbox, &id, d);
    }
}

/// Archives a conversation the customer left open in another inbox than
/// the one the number now routes to (a new policy revision moved the
/// number, or renamed the inbox), so this message opens one where the
/// inbox's agents see it.
fn reroute(cx: &Cx<'_>, state: &mut Draft<'_>, e: &Inbound, inbox: &Inbox, d: &mut Decision) {
    let Some(stale) = state
        .open_conversation_of(&e.to, &e.from)
        .filter(|c| c.inbox != inbox.name)
    else {
        return;
    };
    let (id, from) = (stale.id.clone(), stale.inbox.clone());
    let at = cx.at;
    state.update(&id, |c| {
        c.closed_at = Some(at);
        c.owner = None;
        c.lock = None;
        c.alerts = None;
        c.session = None;
    });
    d.changes.push(Change::Rerouted {
        conversation: id,
        from,
    });
}

/// A keyword queue (SMS for call queues): a keyword starts a session, which
/// invites the available members; another ends it.
fn keyword_queue(
    cx: &Cx<'_>,
    state: &mut Draft<'_>,
    e: &Inbound,
    inbox_id: InboxId,
    d: &mut Decision,
) {
    let inbox = cx.policy.inbox(inbox_id);
    let Some(keywords) = &inbox.keywords else {
        return;
    };
    let existing = state
        .open_conversation(&e.to, &e.from)
        .map(|c| c.id.clone());
    let fill = Fill::reply(cx.policy, e, Some(inbox));

    if let Some(id) = existing {
        if let Some(keyword) = keywords
            .termination
            .iter()
            .find(|k| compliance::keyword_matches(&e.body, k))
        {
            d.explain(|| Rule::Keyword {
                keyword: SmolStr::new(keyword),
                action: "ends the session",
            });
            touch(state, &id, e, cx.at);
            d.conversation = Some(id.clone());
            super::session::end_session(state, &id, cx.at, super::decision::SessionEnd::Keyword, d);
            if let Some(text) = &keywords.termination_message {
                answer(state, d, e, fill.render(text), Why::Termination);
            }
            return;
        }
        d.conversation = Some(id.clone());
        d.explain(|| Rule::Existing);
        touch(state, &id, e, cx.at);
        refresh_session(cx, state, &id, inbox);
        unresponsive(cx, state, &id, inbox_id, d);
        d.offered_to = alerted(state, &id);
        d.visible_to = visible(cx, state, &id, inbox);
        return;
    }

    let Some(keyword) = keywords
        .initiation
        .iter()
        .find(|k| compliance::keyword_matches(&e.body, k))
    else {
        d.outcome = Outcome::Answered;
        // Closed: the after-hours reply, if there is one, instead.
        if inbox.after_hours.is_some() && closed_reply(cx, state, e, inbox, d) {
            return;
        }
        answer(
            state,
            d,
            e,
            fill.render(&keywords.initiation_needed),
            Why::InitiationNeeded,
        );
        return;
    };
    d.explain(|| Rule::Keyword {
        keyword: SmolStr::new(keyword),
        action: "starts a session",
    });
    if closed_reply(cx, state, e, inbox, d) {
        d.outcome = Outcome::Answered;
        return;
    }
    let offered = offer(cx, state, inbox_id, true, d);
    if offered.is_empty() {
        d.outcome = Outcome::Answered;
        answer(state, d, e, fill.render(&keywords.no_agents), Why::NoAgents);
        return;
    }
    let session = Session {
        started_at: cx.at,
        accepted_at: None,
        expires_at: inbox
            .session_timeout_secs
            .map(|s| super::event::after(cx.at, s)),
    };
    let (id, _) = open_or_create(cx, state, e, inbox, Some(session), d);
    d.changes.push(Change::SessionStarted);
    let offered = shared_list(inbox, offered);
    alert(cx, state, &id, inbox, &offered);
    d.offered_to = offered;
    d.visible_to = visible(cx, state, &id, inbox);
    answer(
        state,
        d,
        e,
        fill.render(&keywords.initiation_message),
        Why::Initiation,
    );
}

/// One agent's own number: routed to that agent alone, deflected after
/// their hours.
fn direct(cx: &Cx<'_>, state: &mut Draft<'_>, e: &Inbound, inbox: &Inbox, d: &mut Decision) {
    let Some(agent_id) = inbox.agent else { return };
    let agent = cx.policy.agent(agent_id);
    let (id, new) = open_or_create(cx, state, e, inbox, None, d);
    if new || !held(state, &id) {
        alert(cx, state, &id, inbox, &inbox.member_names.clone());
    }
    d.offered_to = inbox.member_names.clone();
    d.visible_to = vec![agent.name.clone()].into();

    let deflection = &agent.deflection;
    d.explain(|| Rule::Deflection {
        agent: agent.name.clone(),
        level: deflection.level,
        team: deflection
            .team
            .map(|t| cx.policy.teams[t.index()].name.clone()),
        on: deflection.rule.is_some(),
    });
    if let Some(rule) = &deflection.rule {
        if let Some(next) = closed(cx, rule.hours, true, d) {
            let zone = cx.policy.schedule(rule.hours).zone;
            let name = agent.display_name.as_deref().unwrap_or(&agent.name);
            away_notice(
                cx,
                state,
                e,
                inbox,
                &id,
                &rule.message,
                next.map(|n| (n, zone)),
                Some(name),
                Why::Deflection,
                d,
            );
            return;
        }
    }
    after_hours(cx, state, e, inbox, &id, d);
}

/// The open conversation for this customer and number, or a new one.
fn open_or_create(
    cx: &Cx<'_>,
    state: &mut Draft<'_>,
    e: &Inbound,
    inbox: &Inbox,
    session: Option<Session>,
    d: &mut Decision,
) -> (ConversationId, bool) {
    if let Some(c) = state.open_conversation_of(&e.to, &e.from) {
        let id = c.id.clone();
        d.conversation = Some(id.clone());
        d.explain(|| Rule::Existing);
        touch(state, &id, e, cx.at);
        return (id, false);
    }
    let id = state.new_id();
    state.put(Conversation {
        id: id.clone(),
        inbox: inbox.name.clone(),
        number: e.to.clone(),
        customer: e.from.clone(),
        channel: e.channel,
        customer_info: (!e.customer.is_empty()).then(|| Box::new(e.customer.clone())),
        opened_at: cx.at,
        last_inbound_at: cx.at,
        closed_at: None,
        claim: inbox.claim,
        owner: None,
        lock: None,
        session: session.map(Box::new),
        alerts: None,
        assigned: None,
        tags: Vec::new(),
        priority: None,
        escalation: None,
        away_until: None,
        inbound: 1,
        outbound: 0,
        unanswered: 0,
    });
    let counters = state.counted(&inbox.name);
    counters.conversations += 1;
    counters.inbound += 1;
    d.conversation = Some(id.clone());
    d.new_conversation = true;
    d.changes.push(Change::Opened);
    (id, true)
}

/// Records another customer message on an open conversation.
fn touch(state: &mut Draft<'_>, id: &str, e: &Inbound, at: DateTime<Utc>) {
    let inbox = state.update(id, |c| {
        c.inbound += 1;
        c.last_inbound_at = at;
        if c.owner.is_some() {
            c.unanswered += 1;
        }
        // What this message says of the customer adds to what was known.
        let new = &e.customer;
        if new.is_empty() {
            return c.inbox.clone();
        }
        let known = c.customer_info.get_or_insert_with(Default::default);
        if new.name.is_some() {
            known.name.clone_from(&new.name);
        }
        if new.status.is_some() {
            known.status = new.status;
        }
        if new.tier.is_some() {
            known.tier.clone_from(&new.tier);
        }
        if new.language.is_some() {
            known.language.clone_from(&new.language);
        }
        c.inbox.clone()
    });
    if let Some(inbox) = inbox {
        state.counted(&inbox).inbound += 1;
    }
}

fn refresh_session(cx: &Cx<'_>, state: &mut Draft<'_>, id: &str, inbox: &Inbox) {
    if let Some(secs) = inbox.session_timeout_secs {
        state.update(id, |c| {
            if let Some(session) = &mut c.session {
                session.expires_at = Some(super::event::after(cx.at, secs));
            }
        });
    }
}

/// Whether anyone holds or is offered the conversation: an owner, or
/// alerts still pending.
fn held(state: &Draft<'_>, id: &str) -> bool {
    let c = state.known(id);
    c.owner.is_some() || c.alerts.is_some()
}

/// A further message on a queue conversation nobody holds or is offered
/// (its alerts lapsed, or an opt-out let go of them) offers it again, as
/// the first message did: to the agents a hook gave it to, else to the
/// members.
fn reoffer(cx: &Cx<'_>, state: &mut Draft<'_>, id: &str, inbox_id: InboxId, d: &mut Decision) {
    if held(state, id) {
        return;
    }
    let inbox = cx.policy.inbox(inbox_id);
    let offered = match state.known(id).assigned.clone() {
        Some(assigned) => assigned,
        None => shared_list(inbox, offer(cx, state, inbox_id, false, d)),
    };
    alert(cx, state, id, inbox, &offered);
}

/// Who a further message on an open conversation alerts: its owner, else
/// the agents whose alerts are still pending.
fn alerted(state: &Draft<'_>, id: &str) -> Agents {
    let c = state.known(id);
    match (&c.owner, &c.alerts) {
        (Some(owner), _) => vec![owner.clone()].into(),
        (None, Some(alerts)) => alerts.agents.clone(),
        (None, None) => no_agents(),
    }
}

/// Who sees the conversation: its owner once it has one, else the agents a
/// hook assigned it to, else every member.
fn visible(cx: &Cx<'_>, state: &Draft<'_>, id: &str, inbox: &Inbox) -> Agents {
    match state.conversation(id) {
        Some(c) => match (&c.owner, &c.assigned) {
            (Some(owner), _) => vec![owner.clone()].into(),
            (None, Some(assigned)) => assigned.clone(),
            (None, None) => cx.member_names(inbox),
        },
        None => cx.member_names(inbox),
    }
}

/// The members a new conversation (or session) is offered to. With
/// `available`, only those whose status accepts new conversations; always,
/// only those below their max sessions in this queue.
fn offer(
    cx: &Cx<'_>,
    state: &Draft<'_>,
    inbox_id: InboxId,
    available: bool,
    d: &mut Decision,
) -> Vec<SmolStr> {
    let inbox = cx.policy.inbox(inbox_id);
    let mut offered = Vec::with_capacity(inbox.members.len());
    for &member in &inbox.members {
        let agent = cx.policy.agent(member);
        let reason = if available {
            let agent_state = state.agent(&agent.name);
            let status = state.status_of(&agent.name);
            if agent_state.is_some_and(|a| a.unavailable.is_some()) {
                Some(NotOfferedReason::Unavailable)
            } else if !cx
                .policy
                .status_id(status)
                .is_some_and(|s| agent.accepts(s))
            {
                Some(NotOfferedReason::Status {
                    status: SmolStr::new(status),
                })
            } else {
                None
            }
        } else {
            None
        };
        let reason = reason.or_else(|| {
            let max = cx.policy.max_sessions(member, inbox_id)?;
            let load = state.load(&inbox.name, &agent.name);
            (load >= max).then_some(NotOfferedReason::AtCapacity { load, max })
        });
        match reason {
            Some(reason) => d.not_offered(|| NotOffered {
                agent: agent.name.clone(),
                reason,
            }),
            None => offered.push(agent.name.clone()),
        }
    }
    offered
}

/// The offered agents, sharing the inbox's member list when they are all
/// of its members (the usual case), so a conversation's alerts cost no copy.
fn shared_list(inbox: &Inbox, offered: Vec<SmolStr>) -> Agents {
    if offered.as_slice() == inbox.member_names.as_ref() {
        inbox.member_names.clone()
    } else {
        offered.into()
    }
}

/// Puts up alerts (or invites) for these agents, for the inbox's alert
/// lifetime.
fn alert(cx: &Cx<'_>, state: &mut Draft<'_>, id: &str, inbox: &Inbox, agents: &Agents) {
    if agents.is_empty() {
        return;
    }
    let until = super::event::after(cx.at, inbox.alert_secs);
    state.update(id, |c| {
        c.alerts = Some(Box::new(Alerts {
            until,
            agents: agents.clone(),
            hidden: Vec::new(),
        }));
    });
}

/// The unresponsive threshold: an owner who leaves this many customer
/// messages unanswered loses the conversation back to the queue.
fn unresponsive(cx: &Cx<'_>, state: &mut Draft<'_>, id: &str, inbox_id: InboxId, d: &mut Decision) {
    let threshold = cx.policy.tenant.unresponsive_threshold;
    let Some(c) = state.conversation(id) else {
        return;
    };
    let (Some(owner), true) = (c.owner.clone(), c.unanswered >= threshold) else {
        return;
    };
    let unanswered = c.unanswered;
    state.update(id, |c| {
        c.owner = None;
        c.unanswered = 0;
    });
    d.changes.push(Change::Unresponsive {
        conversation: SmolStr::new(id),
        agent: owner.clone(),
        unanswered,
    });
    let inbox = cx.policy.inbox(inbox_id);
    let available = inbox.keywords.is_some();
    let offered: Vec<SmolStr> = offer(cx, state, inbox_id, available, d)
        .into_iter()
        .filter(|a| *a != owner)
        .collect();
    alert(cx, state, id, inbox, &offered.into());
}

/// `Some(next opening)` if the schedule is closed now.
fn closed(
    cx: &Cx<'_>,
    schedule: ScheduleId,
    notice: bool,
    d: &mut Decision,
) -> Option<Option<DateTime<Utc>>> {
    let s = cx.policy.schedule(schedule);
    let open = s.is_open(cx.at);
    // The next opening is a search through the week's hours and holidays:
    // done only for a notice that says it (and keeps quiet until then), or
    // for the explanation.
    let next_open = match open || !(notice || d.explains()) {
        true => None,
        false => s.next_open(cx.at),
    };
    d.explain(|| Rule::Hours {
        hours: SmolStr::new(&s.name),
        open,
        next_open,
    });
    (!open).then_some(next_open)
}

/// For a keyword queue with no session: if the inbox is closed, sends its
/// after-hours reply (when it has one) once per closed period, as a
/// conversation's goes; true if it is closed. With no conversation to
/// remember it, the state keeps who was told until the next opening (a day,
/// for hours with no opening in sight, so a queue that never opens does not
/// keep every customer who ever texted it).
fn closed_reply(
    cx: &Cx<'_>,
    state: &mut Draft<'_>,
    e: &Inbound,
    inbox: &Inbox,
    d: &mut Decision,
) -> bool {
    let Some(schedule) = inbox.hours else {
        return false;
    };
    let Some(next) = closed(cx, schedule, inbox.after_hours.is_some(), d) else {
        return false;
    };
    let Some(text) = &inbox.after_hours else {
        return true;
    };
    let pair = (e.to.clone(), e.from.clone());
    if state.told_closed(&pair).is_some_and(|until| cx.at < until) {
        return true;
    }
    let fill = Fill {
        next_open: next.map(|n| (n, cx.policy.schedule(schedule).zone)),
        ..Fill::reply(cx.policy, e, Some(inbox))
    };
    if answer(state, d, e, fill.render(text), Why::AfterHours) {
        let until = next.unwrap_or_else(|| cx.at + chrono::Duration::days(1));
        state.tell_closed(pair, until);
    }
    true
}

/// Sends the after-hours reply if the inbox is closed; true if it is.
fn after_hours(
    cx: &Cx<'_>,
    state: &mut Draft<'_>,
    e: &Inbound,
    inbox: &Inbox,
    id: &str,
    d: &mut Decision,
) -> bool {
    let Some(schedule) = inbox.hours else {
        return false;
    };
    let Some(next) = closed(cx, schedule, inbox.after_hours.is_some(), d) else {
        return false;
    };
    if let Some(text) = &inbox.after_hours {
        let zone = cx.policy.schedule(schedule).zone;
        away_notice(
            cx,
            state,
            e,
            inbox,
            id,
            text,
            next.map(|n| (n, zone)),
            None,
            Why::AfterHours,
            d,
        );
    }
    true
}

/// An after-hours or deflection message, sent once per closed period.
#[allow(clippy::too_many_arguments)]
fn away_notice(
    cx: &Cx<'_>,
    state: &mut Draft<'_>,
    e: &Inbound,
    inbox: &Inbox,
    id: &str,
    text: &Text,
    next_open: Option<(DateTime<Utc>, chrono_tz::Tz)>,
    agent: Option<&str>,
    why: Why,
    d: &mut Decision,
) {
    let already = state
        .conversation(id)
        .and_then(|c| c.away_until)
        .is_some_and(|until| cx.at < until);
    if already {
        return;
    }
    let fill = Fill {
        agent,
        next_open,
        ..Fill::reply(cx.policy, e, Some(inbox))
    };
    if answer(state, d, e, fill.render(text), why) {
        // Once per closed period: nothing more until the next opening. Hours
        // that do not open within their horizon hold it to the end of the
        // accepted range, which no event reaches (and which prints as
        // RFC 3339, as chrono's own maximum would not).
        let until = next_open.map_or(super::event::LATEST, |(at, _)| at);
        state.update(id, |c| c.away_until = Some(until));
    }
}

/// The autoresponder answers the first message of a new conversation. A
/// hook may write it (on any channel); else the policy's own goes out, on
/// SMS and MMS only (WhatsApp has its own templates), signed with the bot
/// name.
fn autoresponder(
    cx: &Cx<'_>,
    state: &mut Draft<'_>,
    e: &Inbound,
    inbox: &Inbox,
    id: &str,
    d: &mut Decision,
) {
    if let Some(reply) = refine::autoresponder(cx, state, e, inbox, id, d) {
        let bot = reply.bot.or_else(|| inbox.bot.as_deref().map(SmolStr::new));
        send(
            state,
            d,
            Envelope::reply_to(e),
            reply.text.into(),
            bot,
            Why::Autoresponder,
        );
        return;
    }
    let Some(text) = &inbox.autoresponder else {
        return;
    };
    let sent = e.channel != Channel::Whatsapp;
    d.explain(|| Rule::Autoresponder {
        sent,
        channel: SmolStr::new_static(e.channel.as_str()),
    });
    if !sent {
        return;
    }
    let fill = Fill::reply(cx.policy, e, Some(inbox));
    let bot = inbox.bot.as_deref().map(SmolStr::new);
    send(
        state,
        d,
        Envelope::reply_to(e),
        fill.render(text),
        bot,
        Why::Autoresponder,
    );
}

//! Decision latency on a large tenant: 1,000 inboxes, 5,000 agents and
//! 100,000 open conversations (targets: inbound median under 2 µs, agent
//! reply under 1 µs, `step` on an open conversation within 2x of a
//! hand-written function that routes the message and records it as `step`
//! does; a routing-only function is measured beside it).
//!
//! The `read_only` group asks without changing anything
//! (`Engine::decide`): a new customer's first message, and "may this agent
//! reply now?" on a claimed conversation, each beside a hand-written Rust
//! function that answers the same question (target: within 3x). The
//! `dry_run` group asks against 1,000,000 conversations, as the service's
//! dry run does (target: under 50 µs).
//!
//! cargo bench --bench decide

#[path = "../tests/common/synth.rs"]
mod synth;
use chrono::{DateTime, Duration, TimeZone, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use smol_str::SmolStr;
use std::collections::HashMap;
use switchboard::engine::{Engine, Event, State};
use synth::Size;

/// Keeps an answer from being optimized away, then drops it. criterion's
/// `iter` copies what a routine returns with a volatile read, which for a
/// whole decision (some 400 bytes) costs more than the hand-written answers
/// it is measured against; every routine here returns `()` instead, its
/// answer kept this way, the engine's and the hand-written alike.
fn kept<T>(answer: T) {
    std::hint::black_box(&answer);
}

const OPEN_CONVERSATIONS: usize = 100_000;

fn customer(i: usize) -> String {
    format!("+1628{:07}", i)
}

fn inbound(at: DateTime<Utc>, from: &str, to: &str) -> Event {
    serde_json::from_value(serde_json::json!({
        "type": "inbound", "at": at.to_rfc3339(), "from": from, "to": to, "body": "Is my order on its way?"
    }))
    .unwrap()
}

/// A Monday mid-morning in New York, when the synthetic inboxes are open.
fn monday() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 15, 0, 0).unwrap()
}

/// The engine with 100,000 open conversations spread over the shared inboxes.
fn loaded() -> (Engine, State, Vec<(String, String)>) {
    let policy =
        switchboard::compile(&synth::tenant(Size::LARGE)).expect("synthetic tenant checks");
    let engine = Engine::new(policy);
    let numbers = synth::shared_numbers(engine.policy());
    let mut state = State::new();
    let mut pairs = Vec::with_capacity(OPEN_CONVERSATIONS);
    let at = monday();
    for i in 0..OPEN_CONVERSATIONS {
        let (from, to) = (customer(i), numbers[i % numbers.len()].clone());
        engine.step(&mut state, &inbound(at, &from, &to));
        pairs.push((from, to));
    }
    assert_eq!(state.open_count(), OPEN_CONVERSATIONS);
    (engine, state, pairs)
}

/// The same routing decision written by hand: number to inbox, open
/// conversation by number and customer, the inbox's hours, and who sees it.
mod hand_written {
    use super::*;
    use switchboard::policy::text::Part;
    use switchboard::policy::{Policy, Schedule};

    pub struct Router {
        pub inbox_of: HashMap<String, usize>,
        pub inboxes: Vec<(SmolStr, Vec<SmolStr>, Option<Schedule>)>,
        /// Per inbox: what a new conversation is answered while open.
        pub autoresponders: Vec<Option<String>>,
        pub open: HashMap<(SmolStr, SmolStr), SmolStr>,
        /// What `record` keeps of each conversation, and inbound messages
        /// per inbox.
        pub recorded: HashMap<SmolStr, Recorded>,
        pub inbound: Vec<u64>,
    }

    pub struct Recorded {
        pub inbound: u32,
        pub last_inbound_at: DateTime<Utc>,
    }

    pub struct Routed {
        pub inbox: SmolStr,
        pub conversation: Option<SmolStr>,
        pub open: bool,
        pub visible_to: Vec<SmolStr>,
        /// The automatic answer to a new conversation in open hours.
        pub reply: Option<String>,
    }

    /// What "may this agent reply?" needs of each conversation.
    pub struct Claims {
        pub conversations: HashMap<SmolStr, (usize, Option<SmolStr>)>,
        pub members: Vec<Vec<SmolStr>>,
    }

    #[derive(Debug, PartialEq)]
    pub enum MayReply {
        Yes,
        OwnedBy(SmolStr),
        NotAMember,
        MustClaim,
    }

    impl Claims {
        pub fn new(policy: &Policy, state: &State) -> Claims {
            Claims {
                conversations: state
                    .conversations()
                    .map(|c| {
                        let inbox = policy.inbox_id(&c.inbox).unwrap().index();
                        (c.id.clone(), (inbox, c.owner.clone()))
                    })
                    .collect(),
                members: policy
                    .inboxes()
                    .iter()
                    .map(|i| {
                        let mut m: Vec<SmolStr> = i
                            .members
                            .iter()
                            .map(|&a| policy.agent(a).name.clone())
                            .collect();
                        m.sort();
                        m
                    })
                    .collect(),
            }
        }

        /// Every shared inbox of the synthetic tenant says `claim must`.
        pub fn may_reply(&self, agent: &str, conversation: &str) -> Option<MayReply> {
            let (inbox, owner) = self.conversations.get(conversation)?;
            if self.members[*inbox]
                .binary_search_by(|m| m.as_str().cmp(agent))
                .is_err()
            {
                return Some(MayReply::NotAMember);
            }
            Some(match owner {
                Some(owner) if owner != agent => MayReply::OwnedBy(owner.clone()),
                Some(_) => MayReply::Yes,
                None => MayReply::MustClaim,
            })
        }
    }

    impl Router {
        pub fn new(policy: &Policy, state: &State) -> Router {
            let inbox_of = policy
                .numbers()
                .filter_map(|n| Some((n.number.to_string(), n.inbox?.index())))
                .collect();
            let inboxes = policy
                .inboxes()
                .iter()
                .map(|i| {
                    let members = i
                        .members
                        .iter()
                        .map(|&a| policy.agent(a).name.clone())
                        .collect();
                    (
                        i.name.clone(),
                        members,
                        i.hours.map(|h| policy.schedule(h).clone()),
                    )
                })
                .collect();
            let open = state
                .conversations()
                .filter(|c| c.is_open())
                .map(|c| ((c.number.clone(), c.customer.clone()), c.id.clone()))
                .collect();
            let autoresponders = policy
                .inboxes()
                .iter()
                .map(|i| {
                    i.autoresponder.as_ref().map(|t| {
                        t.parts
                            .iter()
                            .map(|p| match p {
                                Part::Literal(s) => s.as_str(),
                                Part::Placeholder { .. } => "",
                            })
                            .collect()
                    })
                })
                .collect();
            let recorded = state
                .conversations()
                .map(|c| {
                    let r = Recorded {
                        inbound: c.inbound,
                        last_inbound_at: c.last_inbound_at,
                    };
                    (c.id.clone(), r)
                })
                .collect();
            let inbound = policy
                .inboxes()
                .iter()
                .map(|i| state.counters(&i.name).map_or(0, |c| c.inbound))
                .collect();
            Router {
                inbox_of,
                inboxes,
                autoresponders,
                open,
                recorded,
                inbound,
            }
        }

        /// What `step` does with a message on an open conversation: routes
        /// it, and records it on the conversation and the inbox's count.
        pub fn record(&mut self, from: &str, to: &str, at: DateTime<Utc>) -> Option<Routed> {
            let routed = self.route(from, to, at)?;
            if let Some(id) = &routed.conversation {
                let r = self.recorded.get_mut(id)?;
                r.inbound += 1;
                r.last_inbound_at = at;
                self.inbound[self.inbox_of[to]] += 1;
            }
            Some(routed)
        }

        pub fn route(&self, from: &str, to: &str, at: DateTime<Utc>) -> Option<Routed> {
            let &inbox = self.inbox_of.get(to)?;
            let (name, members, hours) = &self.inboxes[inbox];
            let conversation = self
                .open
                .get(&(SmolStr::new(to), SmolStr::new(from)))
                .cloned();
            let open = hours.as_ref().is_none_or(|h| h.is_open(at));
            let reply = match (&conversation, open) {
                (None, true) => self.autoresponders[inbox].clone(),
                _ => None,
            };
            Some(Routed {
                inbox: name.clone(),
                conversation,
                open,
                visible_to: members.clone(),
                reply,
            })
        }
    }
}

fn decide(c: &mut Criterion) {
    let (engine, state, pairs) = loaded();
    let mut router = hand_written::Router::new(engine.policy(), &state);
    let mut group = c.benchmark_group("decide");

    // An inbound message on an open conversation, cycling through them.
    let events: Vec<Event> = (0..4_096)
        .map(|i| {
            let (from, to) = &pairs[(i * 7_919) % pairs.len()];
            inbound(monday() + Duration::seconds(60), from, to)
        })
        .collect();
    // Both make the same routing decision and keep the same record of it.
    let mut check = state.clone();
    let mut checked = hand_written::Router::new(engine.policy(), &state);
    for event in events.iter().take(200) {
        let Event::Inbound(e) = event else {
            unreachable!()
        };
        let routed = checked.record(&e.from, &e.to, e.at).expect("routed");
        let decision = engine.step(&mut check, event);
        assert_eq!(Some(&routed.inbox), decision.inbox.as_ref());
        assert_eq!(routed.conversation, decision.conversation);
        assert_eq!(routed.visible_to.as_slice(), decision.visible_to.as_ref());
        assert!(routed.open);
        let id = routed.conversation.as_ref().expect("an open conversation");
        let stored = check.conversation(id).expect("kept");
        assert_eq!(checked.recorded[id].inbound, stored.inbound);
        assert_eq!(checked.recorded[id].last_inbound_at, stored.last_inbound_at);
        let inbox = engine.policy().inbox_id(&routed.inbox).unwrap().index();
        let counted = check.counters(&routed.inbox).unwrap().inbound;
        assert_eq!(checked.inbound[inbox], counted);
    }

    let mut s = state.clone();
    let mut i = 0;
    group.bench_function("inbound_existing_conversation", |b| {
        b.iter(|| {
            i = (i + 1) % events.len();
            kept(engine.step(&mut s, &events[i]))
        })
    });

    // The same, with the decision's explanation asked for.
    let explained = engine.explaining(true);
    let mut s = state.clone();
    let mut i = 0;
    group.bench_function("inbound_existing_explained", |b| {
        b.iter(|| {
            i = (i + 1) % events.len();
            kept(explained.step(&mut s, &events[i]))
        })
    });

    let mut i = 0;
    let at = monday() + Duration::seconds(60);
    group.bench_function("hand_written_routing", |b| {
        b.iter(|| {
            i = (i + 1) % events.len();
            let (from, to) = &pairs[(i * 7_919) % pairs.len()];
            kept(router.route(from, to, at))
        })
    });
    let mut i = 0;
    group.bench_function("hand_written_routing_recorded", |b| {
        b.iter(|| {
            i = (i + 1) % events.len();
            let (from, to) = &pairs[(i * 7_919) % pairs.len()];
            kept(router.record(from, to, at))
        })
    });

    // A new conversation: a customer the tenant has not heard from.
    let numbers = synth::shared_numbers(engine.policy());
    let mut s = state.clone();
    let mut n = 0usize;
    group.bench_function("inbound_new_conversation", |b| {
        b.iter_batched(
            || {
                n += 1;
                inbound(
                    monday() + Duration::seconds(60),
                    &customer(OPEN_CONVERSATIONS + n),
                    &numbers[n % numbers.len()],
                )
            },
            |event| kept(engine.step(&mut s, &event)),
            criterion::BatchSize::SmallInput,
        )
    });

    // An agent's reply that is allowed and renews their lock.
    let (from, to) = &pairs[0];
    let conversation = state.open_conversation(to, from).unwrap().id.clone();
    let inbox = engine
        .policy()
        .inbox_id(&state.conversation(&conversation).unwrap().inbox)
        .unwrap();
    let member = engine
        .policy()
        .agent(engine.policy().inbox(inbox).members[0])
        .name
        .clone();
    let claim: Event = serde_json::from_value(serde_json::json!({
        "type": "claim", "at": (monday() + Duration::seconds(61)).to_rfc3339(), "agent": member, "conversation": conversation
    }))
    .unwrap();
    let mut s = state.clone();
    engine.step(&mut s, &claim);
    let reply: Event = serde_json::from_value(serde_json::json!({
        "type": "reply", "at": (monday() + Duration::seconds(62)).to_rfc3339(), "agent": member,
        "conversation": conversation, "body": "It ships today."
    }))
    .unwrap();
    assert!(engine.step(&mut s, &reply).is_allowed());
    group.bench_function("agent_reply", |b| {
        b.iter(|| kept(engine.step(&mut s, &reply)))
    });
    group.finish();
}

fn reply(at: DateTime<Utc>, agent: &str, conversation: &str) -> Event {
    serde_json::from_value(serde_json::json!({
        "type": "reply", "at": at.to_rfc3339(), "agent": agent,
        "conversation": conversation, "body": "It ships today."
    }))
    .unwrap()
}

/// Questions that change nothing, each beside a hand-written answer.
fn read_only(c: &mut Criterion) {
    let (engine, mut state, pairs) = loaded();
    let policy = engine.policy();
    let at = monday() + Duration::seconds(120);
    // Claim every 7th conversation for its inbox's first member.
    for (k, (from, to)) in pairs.iter().enumerate().step_by(7) {
        let id = state.open_conversation(to, from).unwrap().id.clone();
        let inbox = policy
            .inbox_id(&state.conversation(&id).unwrap().inbox)
            .unwrap();
        let owner = policy
            .agent(policy.inbox(inbox).members[k % 2])
            .name
            .clone();
        let claim: Event = serde_json::from_value(serde_json::json!({
            "type": "claim", "at": (monday() + Duration::seconds(61)).to_rfc3339(),
            "agent": owner, "conversation": id
        }))
        .unwrap();
        assert!(engine.step(&mut state, &claim).is_allowed());
    }
    let router = hand_written::Router::new(policy, &state);
    let claims = hand_written::Claims::new(policy, &state);
    let numbers = synth::shared_numbers(policy);
    let mut group = c.benchmark_group("read_only");

    // A new customer's first message: both give the same inbox, audience
    // and automatic answer, and the engine's state is left as it was.
    let firsts: Vec<Event> = (0..4_096)
        .map(|n| {
            let from = customer(OPEN_CONVERSATIONS + n);
            inbound(at, &from, &numbers[n % numbers.len()])
        })
        .collect();
    let before = state.open_count();
    for event in firsts.iter().take(200) {
        let Event::Inbound(e) = event else {
            unreachable!()
        };
        let routed = router.route(&e.from, &e.to, e.at).expect("routed");
        let decision = engine.decide(&state, event);
        assert!(decision.new_conversation && routed.conversation.is_none());
        assert_eq!(Some(&routed.inbox), decision.inbox.as_ref());
        assert_eq!(routed.visible_to.as_slice(), decision.visible_to.as_ref());
        assert_eq!(
            routed.reply.as_deref(),
            decision.messages.first().map(|m| m.text.as_str())
        );
    }
    assert_eq!(state.open_count(), before, "decide changed nothing");

    let mut i = 0;
    group.bench_function("decide_new_customer", |b| {
        b.iter(|| {
            i = (i + 1) % firsts.len();
            kept(engine.decide(&state, &firsts[i]))
        })
    });
    let mut i = 0;
    group.bench_function("hand_written_new_customer", |b| {
        b.iter(|| {
            i = (i + 1) % firsts.len();
            let Event::Inbound(e) = &firsts[i] else {
                unreachable!()
            };
            kept(router.route(&e.from, &e.to, at))
        })
    });

    // "May this agent reply now?" on claimed conversations: the owner may,
    // the inbox's other member may not, and both answers agree with the
    // hand-written check. MAY_REPLY_CONVERSATIONS=16 asks about only 16
    // conversations, so everything both read stays in the cache: the gap
    // between the two runs is what reading the state from memory costs.
    let asked = std::env::var("MAY_REPLY_CONVERSATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4_096);
    let questions: Vec<(SmolStr, SmolStr, Event)> = pairs
        .iter()
        .enumerate()
        .step_by(7)
        .take(asked)
        .flat_map(|(k, (from, to))| {
            let c = state.open_conversation(to, from).unwrap();
            let inbox = policy.inbox_id(&c.inbox).unwrap();
            let members = &policy.inbox(inbox).members;
            [k % 2, (k + 1) % 2].map(|m| {
                let agent = policy.agent(members[m]).name.clone();
                (agent.clone(), c.id.clone(), reply(at, &agent, &c.id))
            })
        })
        .collect();
    for (agent, id, event) in &questions {
        let decision = engine.decide(&state, event);
        let expected = claims.may_reply(agent, id).expect("known conversation");
        let denial = decision.denial.as_ref().map(|d| d.code());
        match expected {
            hand_written::MayReply::Yes => assert!(decision.is_allowed(), "{decision:?}"),
            hand_written::MayReply::OwnedBy(_) => assert_eq!(denial, Some("owned_by")),
            other => panic!("the synthetic owners are members: {other:?}"),
        }
    }
    let mut i = 0;
    group.bench_function("decide_may_reply_claimed", |b| {
        b.iter(|| {
            i = (i + 1) % questions.len();
            kept(engine.decide(&state, &questions[i].2))
        })
    });
    let mut i = 0;
    group.bench_function("hand_written_may_reply_claimed", |b| {
        b.iter(|| {
            i = (i + 1) % questions.len();
            let (agent, id, _) = &questions[i];
            kept(claims.may_reply(agent, id))
        })
    });
    group.finish();
}

/// The service's dry run against a tenant holding 1,000,000 conversations.
fn dry_run(c: &mut Criterion) {
    const MILLION: usize = 1_000_000;
    let policy =
        switchboard::compile(&synth::tenant(Size::LARGE)).expect("synthetic tenant checks");
    let engine = Engine::new(policy);
    let numbers = synth::shared_numbers(engine.policy());
    let mut state = State::new();
    let at = monday();
    for i in 0..MILLION {
        engine.step(
            &mut state,
            &inbound(at, &customer(i), &numbers[i % numbers.len()]),
        );
    }
    assert_eq!(state.open_count(), MILLION);
    let later = at + Duration::seconds(60);
    let existing: Vec<Event> = (0..4_096)
        .map(|i| {
            let n = (i * 7_919) % MILLION;
            inbound(later, &customer(n), &numbers[n % numbers.len()])
        })
        .collect();
    let new: Vec<Event> = (0..4_096)
        .map(|i| inbound(later, &customer(MILLION + i), &numbers[i % numbers.len()]))
        .collect();
    let mut group = c.benchmark_group("dry_run_1m");
    let mut i = 0;
    group.bench_function("existing_conversation", |b| {
        b.iter(|| {
            i = (i + 1) % existing.len();
            kept(engine.decide(&state, &existing[i]))
        })
    });
    let mut i = 0;
    group.bench_function("new_customer", |b| {
        b.iter(|| {
            i = (i + 1) % new.len();
            kept(engine.decide(&state, &new[i]))
        })
    });
    group.finish();
    assert_eq!(state.open_count(), MILLION, "dry runs changed nothing");
}

criterion_group!(benches, decide, read_only, dry_run);
criterion_main!(benches);

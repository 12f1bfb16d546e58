//! Decision latency on a large tenant: 1,000 inboxes, 5,000 agents and
//! 100,000 open conversations (targets: inbound median under 2 µs, agent
//! reply under 1 µs, within 3x of a hand-written routing function).
//!
//! cargo bench --bench decide

use chrono::{DateTime, Duration, TimeZone, Utc};
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use smol_str::SmolStr;
use std::collections::HashMap;
use switchboard::engine::{Engine, Event, State};
use switchboard::synth::{self, Size};

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
    use switchboard::policy::{Policy, Schedule};

    pub struct Router {
        pub inbox_of: HashMap<String, usize>,
        pub inboxes: Vec<(SmolStr, Vec<SmolStr>, Option<Schedule>)>,
        pub open: HashMap<(SmolStr, SmolStr), SmolStr>,
    }

    pub struct Routed {
        pub inbox: SmolStr,
        pub conversation: Option<SmolStr>,
        pub open: bool,
        pub visible_to: Vec<SmolStr>,
    }

    impl Router {
        pub fn new(policy: &Policy, state: &State) -> Router {
            let inbox_of = policy
                .numbers
                .values()
                .filter_map(|n| Some((n.number.to_string(), n.inbox?.index())))
                .collect();
            let inboxes = policy
                .inboxes
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
            Router {
                inbox_of,
                inboxes,
                open,
            }
        }

        pub fn route(&self, from: &str, to: &str, at: DateTime<Utc>) -> Option<Routed> {
            let &inbox = self.inbox_of.get(to)?;
            let (name, members, hours) = &self.inboxes[inbox];
            let conversation = self
                .open
                .get(&(SmolStr::new(to), SmolStr::new(from)))
                .cloned();
            Some(Routed {
                inbox: name.clone(),
                conversation,
                open: hours.as_ref().is_none_or(|h| h.is_open(at)),
                visible_to: members.clone(),
            })
        }
    }
}

fn decide(c: &mut Criterion) {
    let (engine, state, pairs) = loaded();
    let router = hand_written::Router::new(engine.policy(), &state);
    let mut group = c.benchmark_group("decide");

    // An inbound message on an open conversation, cycling through them.
    let events: Vec<Event> = (0..4_096)
        .map(|i| {
            let (from, to) = &pairs[(i * 7_919) % pairs.len()];
            inbound(monday() + Duration::seconds(60), from, to)
        })
        .collect();
    // Both make the same routing decision.
    let mut check = state.clone();
    for event in events.iter().take(200) {
        let Event::Inbound(e) = event else {
            unreachable!()
        };
        let routed = router.route(&e.from, &e.to, e.at).expect("routed");
        let decision = engine.step(&mut check, event);
        assert_eq!(Some(&routed.inbox), decision.inbox.as_ref());
        assert_eq!(routed.conversation, decision.conversation);
        assert_eq!(routed.visible_to.as_slice(), decision.visible_to.as_ref());
        assert!(routed.open);
    }

    let mut s = state.clone();
    let mut i = 0;
    group.bench_function("inbound_existing_conversation", |b| {
        b.iter(|| {
            i = (i + 1) % events.len();
            black_box(engine.step(&mut s, &events[i]))
        })
    });

    let mut i = 0;
    let at = monday() + Duration::seconds(60);
    group.bench_function("hand_written_routing", |b| {
        b.iter(|| {
            i = (i + 1) % events.len();
            let (from, to) = &pairs[(i * 7_919) % pairs.len()];
            black_box(router.route(from, to, at))
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
            |event| black_box(engine.step(&mut s, &event)),
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
        b.iter(|| black_box(engine.step(&mut s, &reply)))
    });
    group.finish();
}

criterion_group!(benches, decide);
criterion_main!(benches);

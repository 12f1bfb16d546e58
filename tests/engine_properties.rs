//! Properties of the engine over random event sequences against every
//! example tenant: ownership and locks stay single, opted-out customers get
//! nothing but the confirmation and HELP replies and hold no agent, agents
//! are never offered past their max, outsiders never see or answer a
//! conversation, stepping is deterministic,
//! and state survives a JSON round trip. At any time at all, stepping never
//! panics: a time outside the accepted range is rejected (`bad_time`) and
//! changes nothing, and every time printed is RFC 3339.

mod common;

use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;
use std::collections::HashSet;
use std::sync::LazyLock;
use switchboard::engine::event::accepted_range;
use switchboard::engine::{Decision, Denial, Engine, Event, Outcome, State};
use switchboard::syntax::ast::InboxKind;

/// An event in terms of indexes into the tenant's own names.
#[derive(Clone, Debug)]
struct Spec {
    kind: u8,
    gap_secs: u32,
    number: usize,
    customer: usize,
    agent: usize,
    body: usize,
    status: usize,
    channel: u8,
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        0u8..12,
        0u32..4_000,
        any::<usize>(),
        0usize..4,
        any::<usize>(),
        any::<usize>(),
        any::<usize>(),
        0u8..3,
    )
        .prop_map(
            |(kind, gap, number, customer, agent, body, status, channel)| Spec {
                kind,
                gap_secs: gap * gap / 100,
                number,
                customer,
                agent,
                body,
                status,
                channel,
            },
        )
}

/// Turns specs into events for this tenant: its numbers, its agents (plus an
/// outsider), its statuses and keywords.
fn events(engine: &Engine, specs: &[Spec]) -> Vec<Event> {
    let policy = engine.policy();
    let mut numbers: Vec<&str> = policy.numbers().map(|n| n.number.as_str()).collect();
    numbers.sort_unstable();
    let mut agents: Vec<String> = policy.agents().iter().map(|a| a.name.to_string()).collect();
    agents.push("nobody".into());
    let mut bodies: Vec<String> = vec!["Hi there".into(), "Can someone help?".into(), "".into()];
    bodies.extend(policy.compliance().opt_out.iter().take(2).cloned());
    bodies.extend(policy.compliance().opt_in.iter().take(1).cloned());
    bodies.extend(policy.compliance().help.iter().take(1).cloned());
    bodies.extend(
        policy
            .compliance()
            .revocations
            .iter()
            .map(|r| format!("Please, {}!", r.phrase)),
    );
    for inbox in policy.inboxes() {
        if let Some(k) = &inbox.keywords {
            bodies.extend(
                k.initiation
                    .iter()
                    .map(|w| format!(" {} ", w.to_lowercase())),
            );
            bodies.extend(k.termination.iter().cloned());
        }
    }
    let statuses = &policy.statuses();
    let customers = [
        "+14155551001",
        "+14155551002",
        "+14155551003",
        "+16285551004",
    ];
    let channels = ["sms", "mms", "whatsapp"];
    let mut at: DateTime<Utc> = Utc.with_ymd_and_hms(2026, 3, 6, 15, 0, 0).unwrap();
    specs
        .iter()
        .map(|s| {
            at += Duration::seconds(i64::from(s.gap_secs));
            let number = numbers[s.number % numbers.len()];
            let customer = customers[s.customer % customers.len()];
            let agent = &agents[s.agent % agents.len()];
            let body = &bodies[s.body % bodies.len()];
            let t = at.to_rfc3339();
            let json = match s.kind {
                0..=3 => serde_json::json!({"type": "inbound", "at": t, "from": customer, "to": number, "body": body, "channel": channels[usize::from(s.channel)]}),
                4..=5 => serde_json::json!({"type": "reply", "at": t, "agent": agent, "number": number, "customer": customer, "body": "On it"}),
                6 => serde_json::json!({"type": (["note", "claim", "release"][s.body % 3]), "at": t, "agent": agent, "number": number, "customer": customer, "body": "note"}),
                7..=8 => serde_json::json!({"type": (["accept", "decline", "hide"][s.body % 3]), "at": t, "agent": agent, "number": number, "customer": customer}),
                9 => serde_json::json!({"type": "close", "at": t, "agent": agent, "number": number, "customer": customer}),
                10 => serde_json::json!({"type": "status", "at": t, "agent": agent, "status": statuses[s.status % statuses.len()]}),
                _ => serde_json::json!({"type": "tick", "at": t}),
            };
            serde_json::from_value(json).expect("generated events are well formed")
        })
        .collect()
}

/// Checks one step against the invariants, given the state before it.
fn check_step(
    engine: &Engine,
    before: &State,
    event: &Event,
    d: &Decision,
    after: &State,
) -> Result<(), String> {
    let policy = engine.policy();
    let members = |inbox: &str| -> HashSet<String> {
        policy
            .inbox_id(inbox)
            .map(|i| {
                policy
                    .inbox(i)
                    .members
                    .iter()
                    .map(|&a| policy.agent(a).name.to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    // Opted-out customers get nothing but the opt-out confirmation and the
    // help reply (an opt-in confirmation goes to a customer who is no
    // longer opted out).
    for m in &d.messages {
        use switchboard::engine::Why;
        if after.is_opted_out(&m.to) && !matches!(m.why, Why::OptOut | Why::Help) {
            return Err(format!("message to opted-out {}: {:?}", m.to, m));
        }
    }
    // An opted-out customer holds no agent: none of their open
    // conversations has an owner, a lock, pending alerts or a session.
    for c in after.conversations().filter(|c| c.is_open()) {
        if after.is_opted_out(&c.customer)
            && (c.owner.is_some()
                || c.lock_at(d.at).is_some()
                || c.alerts.is_some()
                || c.session.is_some())
        {
            return Err(format!("opted-out {} holds an agent: {c:?}", c.customer));
        }
    }
    // Outsiders never see, get offered, or answer a conversation.
    if let Some(inbox) = &d.inbox {
        let members = members(inbox);
        for a in d
            .visible_to
            .iter()
            .chain(d.offered_to.iter())
            .chain(&d.copied_to)
        {
            if !members.contains(a.as_str()) {
                return Err(format!(
                    "{a} is not a member of {inbox} but appears in {d:?}"
                ));
            }
        }
        if let (Event::Reply(r), Outcome::Allowed) = (event, d.outcome) {
            if !members.contains(r.agent.as_str()) {
                return Err(format!("reply by outsider {} allowed", r.agent));
            }
            // A reply is never allowed past someone else's lock or ownership.
            let c = before.open_conversation(
                r.number.as_deref().unwrap_or(""),
                r.customer.as_deref().unwrap_or(""),
            );
            if let Some(c) = c {
                if let Some(lock) = c.lock_at(r.at) {
                    if lock.holder != r.agent {
                        return Err(format!(
                            "reply by {} allowed while {} holds the lock",
                            r.agent, lock.holder
                        ));
                    }
                }
                if let Some(owner) = &c.owner {
                    if *owner != r.agent {
                        return Err(format!(
                            "reply by {} allowed on {}'s conversation",
                            r.agent, owner
                        ));
                    }
                }
            }
        }
    }
    // A new conversation or session is offered only to agents below their
    // max sessions in a queue.
    if let Some(inbox_id) = d.inbox.as_deref().and_then(|i| policy.inbox_id(i)) {
        if d.new_conversation && policy.inbox(inbox_id).kind == InboxKind::Queue {
            for a in d.offered_to.iter() {
                let agent = policy.agent_id(a).unwrap();
                if let Some(max) = policy.max_sessions(agent, inbox_id) {
                    let load = before.load(&policy.inbox(inbox_id).name, a);
                    if load >= max {
                        return Err(format!("{a} offered a session at {load} of {max}"));
                    }
                }
            }
        }
    }
    // One open conversation per number and customer; owner and lock agree;
    // nobody works past their max in a queue.
    let mut open = HashSet::new();
    for c in after.conversations().filter(|c| c.is_open()) {
        if !open.insert((c.number.clone(), c.customer.clone())) {
            return Err(format!(
                "two open conversations for {} / {}",
                c.number, c.customer
            ));
        }
        if let (Some(owner), Some(lock)) = (&c.owner, c.lock_at(d.at)) {
            if *owner != lock.holder {
                return Err(format!(
                    "{} owned by {owner} but locked by {}",
                    c.id, lock.holder
                ));
            }
        }
    }
    for (i, inbox) in policy.inboxes().iter().enumerate() {
        if inbox.kind != InboxKind::Queue {
            continue;
        }
        for &agent in &inbox.members {
            if let Some(max) = policy.max_sessions(agent, switchboard::policy::InboxId(i as u32)) {
                let load = after.load(&inbox.name, &policy.agent(agent).name);
                if load > max {
                    return Err(format!(
                        "{} has {load} sessions in {} (max {max})",
                        policy.agent(agent).name,
                        inbox.name
                    ));
                }
            }
        }
    }
    Ok(())
}

fn run(engine: &Engine, events: &[Event]) -> Result<(Vec<Decision>, State), String> {
    let mut state = State::new();
    let mut decisions = Vec::new();
    for event in events {
        let before = state.clone();
        // Asking first answers exactly what stepping decides, and changes
        // nothing.
        let asked = engine.decide(&state, event);
        if state != before {
            return Err(format!("decide changed the state: {event:?}"));
        }
        // An explanation changes nothing of what is decided.
        let mut plain = engine.explaining(false).decide(&state, event);
        if plain.explanation.is_some() || !engine.explains() {
            return Err("only an explained engine explains".into());
        }
        plain.explanation.clone_from(&asked.explanation);
        if plain != asked {
            return Err(format!(
                "explaining changed the decision on {event:?}:\n{asked:?}\n{plain:?}"
            ));
        }
        let d = engine.step(&mut state, event);
        if asked != d {
            return Err(format!(
                "decide and step disagree on {event:?}:\n{asked:?}\n{d:?}"
            ));
        }
        check_step(engine, &before, event, &d, &state)?;
        decisions.push(d);
    }
    Ok((decisions, state))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn invariants_hold_on_every_example_tenant(specs in prop::collection::vec(spec(), 1..120)) {
        for engine in common::example_engines() {
            let sequence = events(&engine, &specs);
            let (decisions, state) = match run(&engine, &sequence) {
                Ok(r) => r,
                Err(e) => return Err(TestCaseError::fail(format!("{}: {e}", engine.policy().tenant().name))),
            };

            // Deterministic: the same events give the same decisions and state.
            let (again, state_again) = run(&engine, &sequence).map_err(TestCaseError::fail)?;
            prop_assert_eq!(&decisions, &again);
            prop_assert_eq!(&state, &state_again);

            // State survives a JSON round trip, indexes included: stepping on
            // from the copy decides exactly as stepping on from the original.
            let json = serde_json::to_string(&state).unwrap();
            let mut copy: State = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(&copy, &state);
            prop_assert_eq!(serde_json::to_string(&copy).unwrap(), json);
            let mut original = state.clone();
            let tail = events(&engine, &specs[..specs.len().min(20)]);
            let shift = state.clock().unwrap_or_default() - tail[0].at() + Duration::seconds(1);
            for event in tail {
                let mut value = serde_json::to_value(&event).unwrap();
                value["at"] = serde_json::json!((event.at() + shift).to_rfc3339());
                let event: Event = serde_json::from_value(value).unwrap();
                prop_assert_eq!(engine.step(&mut original, &event), engine.step(&mut copy, &event));
            }
            prop_assert_eq!(original.open_count(), copy.open_count());
            prop_assert_eq!(original.next_deadline(), copy.next_deadline());
        }
    }
}

/// The generator reaches the interesting paths: routed messages, allowed
/// and denied replies, accepted offers, compliance answers and expiries.
#[test]
fn generated_sequences_exercise_the_engine() {
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let specs: Vec<Spec> = (0..3_000)
        .map(|_| Spec {
            kind: (next() % 12) as u8,
            gap_secs: (next() % 4_000) as u32 * (next() % 4_000) as u32 / 100_000,
            number: next() as usize,
            customer: (next() % 4) as usize,
            agent: next() as usize,
            body: next() as usize,
            status: next() as usize,
            channel: (next() % 3) as u8,
        })
        .collect();
    let mut seen: HashSet<String> = HashSet::new();
    for engine in common::example_engines() {
        let (decisions, _) = run(&engine, &events(&engine, &specs)).unwrap();
        for d in decisions {
            seen.insert(format!("{}:{:?}", d.event, d.outcome));
            for c in &d.changes {
                seen.insert(
                    serde_json::to_value(c).unwrap()["change"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                );
            }
        }
    }
    for wanted in [
        "inbound:Routed",
        "inbound:Compliance",
        "inbound:Answered",
        "reply:Allowed",
        "reply:Denied",
        "accept:Allowed",
        "claim:Allowed",
        "locked",
        "lock_expired",
        "alerts_expired",
        "session_started",
        "session_ended",
        "opted_out",
        "accepted",
    ] {
        assert!(seen.contains(wanted), "never saw {wanted}; saw {seen:?}");
    }
}

/// The example tenants, compiled once for the properties that need not
/// recompile them per case.
static ENGINES: LazyLock<Vec<Engine>> = LazyLock::new(common::example_engines);

/// The ends of the accepted range and of chrono's, times known to have
/// panicked once, and the years around them.
fn edge_times() -> Vec<DateTime<Utc>> {
    let mut times: Vec<DateTime<Utc>> = [
        "-262143-01-01T00:00:00Z",
        "+262142-12-31T23:59:59Z",
        "9999-12-31T00:00:00Z",
        "9999-12-31T23:59:59Z",
        "0000-01-01T00:00:00Z",
        "0000-06-15T12:00:00Z",
        "1969-12-31T23:59:59Z",
        "1969-06-15T12:00:00Z",
        "1970-01-01T00:00:00Z",
        "8999-12-31T23:59:59Z",
        "8999-06-15T12:00:00Z",
        "9000-01-01T00:00:00Z",
        "9000-06-15T12:00:00Z",
    ]
    .iter()
    .map(|t| t.parse().unwrap())
    .collect();
    times.extend([DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC]);
    times
}

/// Any time chrono can hold, weighted towards the edges.
fn any_time() -> impl Strategy<Value = DateTime<Utc>> {
    let range = accepted_range();
    let (earliest, latest) = (range.start.timestamp(), range.end.timestamp());
    prop_oneof![
        3 => prop::sample::select(edge_times()),
        // Any i64 timestamp chrono holds (most i64s are past its range).
        2 => (DateTime::<Utc>::MIN_UTC.timestamp()..=DateTime::<Utc>::MAX_UTC.timestamp())
            .prop_filter_map("a time chrono holds", |t| DateTime::from_timestamp(t, 0)),
        2 => (earliest..latest).prop_filter_map("in range", |t| DateTime::from_timestamp(t, 0)),
        1 => (-300_000i32..300_000, 1u32..=12, 1u32..=28).prop_filter_map("a date chrono holds", |(y, m, d)| {
            Utc.with_ymd_and_hms(y, m, d, 23, 59, 59).single()
        }),
    ]
}

fn set_at(event: &mut Event, at: DateTime<Utc>) {
    match event {
        Event::Inbound(e) => e.at = at,
        Event::Status(s) => s.at = at,
        Event::Tick(t) => t.at = at,
        Event::Reply(a)
        | Event::Note(a)
        | Event::Claim(a)
        | Event::Release(a)
        | Event::Accept(a)
        | Event::Decline(a)
        | Event::Hide(a)
        | Event::Close(a) => a.at = at,
    }
}

/// Every string in `value` that chrono reads as a time must be RFC 3339
/// (chrono also reads, and writes, years past 9999 as `+10000`).
fn times_are_rfc3339(value: &serde_json::Value, path: &str) -> Result<(), String> {
    match value {
        serde_json::Value::String(s)
            if s.parse::<DateTime<Utc>>().is_ok() && DateTime::parse_from_rfc3339(s).is_err() =>
        {
            return Err(format!("{path}: {s} is not RFC 3339"));
        }
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                times_are_rfc3339(item, &format!("{path}[{i}]"))?;
            }
        }
        serde_json::Value::Object(map) => {
            for (key, item) in map {
                times_are_rfc3339(item, &format!("{path}.{key}"))?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// The check above has teeth: chrono reads what it must refuse.
#[test]
fn a_five_digit_year_is_caught() {
    let late = serde_json::json!({"lock": {"until": "+10000-01-01T00:29:59Z"}});
    assert!(times_are_rfc3339(&late, "").is_err());
    let fine = serde_json::json!({"lock": {"until": "9000-01-01T00:29:59Z"}});
    assert!(times_are_rfc3339(&fine, "").is_ok());
}

/// One step at any time: an accepted one prints only RFC 3339 times; a
/// rejected one is `bad_time` and leaves the state exactly as it was.
fn check_any_time(engine: &Engine, state: &mut State, event: &Event) -> Result<(), String> {
    let before = state.clone();
    let d = engine.step(state, event);
    let _ = d.reasons(chrono_tz::UTC);
    let mut json = serde_json::to_value(&d).map_err(|e| e.to_string())?;
    if accepted_range().contains(&event.at()) {
        times_are_rfc3339(&json, "decision")?;
        let saved = serde_json::to_value(&*state).map_err(|e| e.to_string())?;
        return times_are_rfc3339(&saved, "state");
    }
    if d.outcome != Outcome::Rejected || d.denial != Some(Denial::BadTime { at: event.at() }) {
        return Err(format!(
            "{} at {} was not rejected as bad_time: {d:?}",
            event.kind(),
            event.at()
        ));
    }
    if *state != before || state.next_deadline() != before.next_deadline() {
        return Err(format!(
            "{} at {} changed the state",
            event.kind(),
            event.at()
        ));
    }
    // The decision echoes the time given; what it adds is RFC 3339.
    if let Some(map) = json.as_object_mut() {
        map.remove("at");
        map.remove("denial");
    }
    times_are_rfc3339(&json, "decision")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn any_time_is_answered_without_a_panic(
        steps in prop::collection::vec((spec(), prop::option::weighted(0.6, any_time())), 1..40),
    ) {
        let specs: Vec<Spec> = steps.iter().map(|(s, _)| s.clone()).collect();
        for engine in ENGINES.iter() {
            let mut state = State::new();
            for (mut event, (_, at)) in events(engine, &specs).into_iter().zip(&steps) {
                if let Some(at) = at {
                    set_at(&mut event, *at);
                }
                let checked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    check_any_time(engine, &mut state, &event)
                }));
                let tenant = &engine.policy().tenant().name;
                match checked {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => return Err(TestCaseError::fail(format!("{tenant}: {e}"))),
                    Err(_) => return Err(TestCaseError::fail(format!(
                        "{tenant}: {} at {} panicked", event.kind(), event.at()
                    ))),
                }
            }
        }
    }
}

/// A closed keyword queue tells a customer once until it opens, with no
/// conversation to hold that: the state keeps it, in its JSON too (so a
/// recovery from a snapshot does not tell them twice), and forgets it once
/// the opening comes.
#[test]
fn a_closed_queue_remembers_whom_it_told_until_it_opens() {
    let engine = ENGINES
        .iter()
        .find(|e| e.policy().tenant().name == "bayline_fiber")
        .expect("the call-queue example");
    let inbound = |at: &str| -> Event {
        serde_json::from_value(serde_json::json!({
            "type": "inbound", "at": at, "from": "+14155553902", "to": "+14155550410", "body": "SUPPORT"
        }))
        .unwrap()
    };
    let told = |d: &Decision| {
        d.messages
            .iter()
            .filter(|m| m.why == switchboard::engine::Why::AfterHours)
            .count()
    };
    let mut state = State::new();
    // Tech support is closed 23:00-07:00 Pacific (07:00-15:00 UTC).
    assert_eq!(
        told(&engine.step(&mut state, &inbound("2026-03-03T07:30:00Z"))),
        1
    );
    let json = serde_json::to_string(&state).unwrap();
    assert!(json.contains(r#""told_closed":[{"number":"+14155550410","customer":"+14155553902","until":"2026-03-03T15:00:00Z"}]"#), "{json}");
    let mut recovered: State = serde_json::from_str(&json).unwrap();
    assert_eq!(recovered, state);
    assert_eq!(
        told(&engine.step(&mut recovered, &inbound("2026-03-03T08:00:00Z"))),
        0
    );

    let tick: Event =
        serde_json::from_value(serde_json::json!({"type": "tick", "at": "2026-03-03T15:00:00Z"}))
            .unwrap();
    engine.step(&mut state, &tick);
    let json = serde_json::to_string(&state).unwrap();
    assert!(!json.contains("told_closed"), "{json}");
}

//! Hooks cannot hurt anyone: a tenant whose every hook misbehaves still
//! routes, and other tenants deciding at the same time, on other threads,
//! get exactly the decisions they get alone.

use std::path::Path;
use switchboard::engine::{Engine, Event, Outcome, State};
use switchboard::sources::Folder;

fn engine(path: &str) -> Engine {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    let source = std::fs::read_to_string(&path).unwrap();
    Engine::new(switchboard::compile_sources(&source, &Folder::of(&path)).unwrap()).explaining(true)
}

fn inbound(at: i64, from: &str, to: &str) -> Event {
    let at = chrono::DateTime::from_timestamp(1_772_467_200 + at, 0).unwrap(); // Monday 2026-03-02 16:00 UTC
    serde_json::from_value(serde_json::json!({
        "type": "inbound", "at": at.to_rfc3339(), "from": from, "to": to, "body": "Hello, is anyone there?",
        "customer": {"name": "Kim", "status": "customer"}
    }))
    .unwrap()
}

/// Every hostile number, a new customer each time.
fn hostile_events() -> Vec<Event> {
    (0..10)
        .flat_map(|round| (0..10).map(move |line| (round, line)))
        .map(|(round, line)| {
            inbound(
                round * 60 + line,
                &format!("+1773555{:04}", round * 10 + line),
                &format!("+131255501{line:02}"),
            )
        })
        .collect()
}

fn good_events() -> Vec<Event> {
    (0..100)
        .map(|i| inbound(i, &format!("+1415555{:04}", i), "+14155550100"))
        .collect()
}

#[test]
fn hostile_hooks_fall_back_and_route_every_message() {
    let hostile = engine("policies/hostile-hooks/hostile-hooks.policy");
    let hooks = hostile
        .policy()
        .hooks()
        .cloned()
        .expect("the hostile tenant has hooks");
    let mut state = State::new();
    for event in hostile_events() {
        let d = hostile.step(&mut state, &event);
        assert_eq!(d.outcome, Outcome::Routed, "{d:?}");
        assert!(!d.visible_to.is_empty(), "{d:?}");
    }
    // Every line but the main one misbehaves on every new conversation;
    // the main line's autoresponder hook throws on each too.
    assert!(hooks.failures() >= 90, "{} failures", hooks.failures());
}

#[test]
fn other_tenants_are_unaffected() {
    let good = engine("policies/team-sms/team-sms.policy");
    let alone: Vec<_> = {
        let mut state = State::new();
        good_events()
            .iter()
            .map(|e| good.step(&mut state, e))
            .collect()
    };
    let hostile = engine("policies/hostile-hooks/hostile-hooks.policy");
    let noisy = std::thread::spawn(move || {
        let mut state = State::new();
        for _ in 0..3 {
            for event in hostile_events() {
                hostile.step(&mut state, &event);
            }
        }
    });
    let together: Vec<_> = {
        let mut state = State::new();
        good_events()
            .iter()
            .map(|e| good.step(&mut state, e))
            .collect()
    };
    noisy
        .join()
        .expect("the hostile tenant's thread did not panic");
    assert_eq!(alone, together);
}

//! Archived conversations can leave memory without changing any decision:
//! random events stepped on every example tenant decide the same whether
//! the state evicts its archived conversations after every step or keeps
//! them all, and what is left is the same state less the archived ones.

mod common;

use chrono::{Duration, TimeZone, Utc};
use proptest::prelude::*;
use switchboard::engine::{Engine, Event, State};

/// Events that open, work and close conversations, and then name them by
/// id, archived or not.
fn events(engine: &Engine, picks: &[(u8, usize, usize, u16)]) -> Vec<Event> {
    let policy = engine.policy();
    let mut numbers: Vec<&str> = policy.numbers().map(|n| n.number.as_str()).collect();
    numbers.sort_unstable();
    let agents: Vec<&str> = policy.agents().iter().map(|a| a.name.as_str()).collect();
    let customers = ["+14155551001", "+14155551002", "+14155551003"];
    let mut at = Utc.with_ymd_and_hms(2026, 3, 6, 15, 0, 0).unwrap();
    picks
        .iter()
        .map(|&(kind, a, b, gap)| {
            at += Duration::seconds(i64::from(gap));
            let t = at.to_rfc3339();
            let number = numbers[a % numbers.len()];
            let customer = customers[b % customers.len()];
            let agent = agents[b % agents.len()];
            let id = format!("c{}", 1 + a % 8);
            let action = ["reply", "note", "claim", "release", "accept", "decline", "hide"][a % 7];
            let json = match kind % 6 {
                0 | 1 => serde_json::json!({"type": "inbound", "at": t, "from": customer, "to": number, "body": "Hello"}),
                2 => serde_json::json!({"type": "close", "at": t, "agent": agent, "number": number, "customer": customer}),
                3 => serde_json::json!({"type": "close", "at": t, "agent": agent, "conversation": id}),
                4 => serde_json::json!({"type": action, "at": t, "agent": agent, "conversation": id, "body": "On it"}),
                _ => serde_json::json!({"type": "tick", "at": t}),
            };
            serde_json::from_value(json).expect("generated events are well formed")
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn evicting_archived_conversations_changes_no_decision(
        picks in proptest::collection::vec((any::<u8>(), any::<usize>(), any::<usize>(), 0u16..3_000), 1..60)
    ) {
        for engine in common::example_engines() {
            let mut kept = State::new();
            let mut evicting = State::new();
            for event in events(&engine, &picks) {
                let expected = engine.step(&mut kept, &event);
                let decided = engine.step(&mut evicting, &event);
                prop_assert_eq!(
                    serde_json::to_value(&expected).unwrap(),
                    serde_json::to_value(&decided).unwrap()
                );
                evicting.evict_archived();
            }
            let archived = kept.conversations().filter(|c| !c.is_open()).count();
            prop_assert_eq!(kept.evict_archived().len(), archived);
            prop_assert_eq!(&kept, &evicting);
            prop_assert!(evicting.conversations().all(|c| c.is_open()));
        }
    }
}

//! How much memory open conversations take: builds 1,000,000 open
//! conversations on the large synthetic tenant and reports the resident set
//! (target: under 1 GiB).
//!
//! cargo bench --bench memory
//!
//! The mix is the tenant's own: inbound messages spread over every number,
//! so shared inboxes, queues with pending alerts and direct numbers all hold
//! conversations.

#[path = "../tests/common/synth.rs"]
mod synth;
use chrono::{TimeZone, Utc};
use switchboard::engine::{Engine, Event, State};
use synth::Size;

const CONVERSATIONS: usize = 1_000_000;

/// Resident memory of this process, in bytes (Linux).
fn resident() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn main() {
    // `cargo bench` passes flags such as --bench; this measurement takes none.
    let policy =
        switchboard::compile(&synth::tenant(Size::LARGE)).expect("synthetic tenant checks");
    let engine = Engine::new(policy);
    // Each number with what a customer texts it: keyword queues start a
    // session with their keyword.
    let policy = engine.policy();
    let mut numbers: Vec<(String, String)> = policy
        .numbers()
        .map(|n| {
            let keyword = n
                .inbox
                .and_then(|i| policy.inbox(i).keywords.as_ref())
                .map(|k| k.initiation[0].clone());
            (
                n.number.to_string(),
                keyword.unwrap_or_else(|| "Hello".to_string()),
            )
        })
        .collect();
    numbers.sort();
    let at = Utc.with_ymd_and_hms(2026, 3, 2, 15, 0, 0).unwrap();
    let before = resident().unwrap_or(0);
    let mut state = State::new();
    for i in 0..CONVERSATIONS {
        let (number, body) = &numbers[i % numbers.len()];
        let event: Event = serde_json::from_value(serde_json::json!({
            "type": "inbound", "at": at.to_rfc3339(), "from": format!("+1628{:07}", i),
            "to": number, "body": body,
            "customer": {"name": "Dana Whitfield", "status": "customer"}
        }))
        .unwrap();
        engine.step(&mut state, &event);
    }
    let after = resident().unwrap_or(0);
    let with_alerts = state.conversations().filter(|c| c.alerts.is_some()).count();
    let used = after.saturating_sub(before);
    println!("open conversations: {}", state.open_count());
    println!("  of which with pending alerts: {with_alerts}");
    println!(
        "resident before: {:.1} MiB",
        before as f64 / (1 << 20) as f64
    );
    println!(
        "resident after:  {:.1} MiB",
        after as f64 / (1 << 20) as f64
    );
    println!(
        "state: {:.1} MiB, {} bytes per conversation",
        used as f64 / (1 << 20) as f64,
        used / CONVERSATIONS as u64
    );
    assert_eq!(state.open_count(), CONVERSATIONS);
}

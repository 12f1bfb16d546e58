//! `switchboard diff` over a million recorded events: the large synthetic
//! tenant (1,000 inboxes, 5,000 agents) and the same tenant with longer
//! office hours, replaying a week of traffic written as JSON lines
//! (customers text shared numbers, a member claims, replies and closes),
//! parsed and stepped through both policies side by side as the command
//! does. Target: well under a minute.
//!
//! cargo bench --bench diff            (DIFF_EVENTS=N for another count)

#[path = "../tests/common/synth.rs"]
mod synth;
use chrono::{Duration, TimeZone, Utc};
use std::io::Write;
use std::time::Instant;
use switchboard::diff::{self, Options, Replay};
use switchboard::engine::{Engine, State};
use synth::Size;

fn main() {
    let events: usize = std::env::var("DIFF_EVENTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let text = synth::tenant(Size::LARGE);
    let longer = text.replace("mon-fri 09:00-17:00", "mon-fri 08:00-18:00");
    assert_ne!(text, longer);
    let old = Engine::new(switchboard::compile(&text).expect("synthetic tenant checks"));
    let new = Engine::new(switchboard::compile(&longer).expect("changed tenant checks"));

    // A week from Monday 06:00 in New York, one event every 0.6 s.
    let numbers = synth::shared_numbers(old.policy());
    let start = Utc.with_ymd_and_hms(2026, 3, 2, 11, 0, 0).unwrap();
    let step = Duration::milliseconds(600);
    let path = std::env::temp_dir().join("switchboard-diff-bench.jsonl");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let customers = 100_000;
    for i in 0..events {
        let at = (start + step * i as i32).to_rfc3339();
        let cycle = i / 4;
        let customer = format!("+1628{:07}", cycle % customers);
        let number = &numbers[cycle % numbers.len()];
        let policy = old.policy();
        let inbox = policy.inbox(policy.inbox_for_number(number).unwrap());
        let agent = &inbox.member_names[cycle % inbox.member_names.len()];
        let event = match i % 4 {
            0 => {
                serde_json::json!({"type": "inbound", "at": at, "from": customer, "to": number, "body": "Is my order on its way?"})
            }
            1 => {
                serde_json::json!({"type": "claim", "at": at, "agent": agent, "number": number, "customer": customer})
            }
            2 => {
                serde_json::json!({"type": "reply", "at": at, "agent": agent, "number": number, "customer": customer, "body": "It ships today."})
            }
            _ => {
                serde_json::json!({"type": "close", "at": at, "agent": agent, "number": number, "customer": customer})
            }
        };
        writeln!(out, "{event}").unwrap();
    }
    out.flush().unwrap();
    drop(out);
    let bytes = std::fs::metadata(&path).unwrap().len();

    let began = Instant::now();
    let mut replay = Replay::new(old, new, State::new(), Options::default());
    let file = std::io::BufReader::new(std::fs::File::open(&path).unwrap());
    diff::events(&mut replay, file).unwrap();
    let found = replay.finish();
    let took = began.elapsed();
    let _ = std::fs::remove_file(&path);
    println!(
        "diff: {} events ({:.0} MB of JSON lines) through two policies in {:.2} s: {:.0} events/s; {} decisions changed",
        found.compared,
        bytes as f64 / 1e6,
        took.as_secs_f64(),
        found.compared as f64 / took.as_secs_f64(),
        found.changed
    );
    for (kind, n) in &found.kinds {
        println!("  {n:>8} {}", kind.as_str());
    }
}

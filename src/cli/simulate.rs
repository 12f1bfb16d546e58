//! `switchboard simulate`: one decision per event, state carried between.
//!
//! A line that is not an event, or whose `at` is outside the engine's
//! accepted range, is an error of that line: named on stderr, answered with
//! `{"error": ...}` in place of a decision, and the exit status says failed.

use super::exit;
use std::io::{BufRead, Write};
use std::path::Path;
use switchboard::engine::{Engine, Event, State};

pub fn run(policy_path: &Path, events_path: &Path, explain: bool) -> i32 {
    let policy = match super::compile_policy(policy_path) {
        Ok(policy) => policy,
        Err(code) => return code,
    };
    let events: Box<dyn BufRead> = if events_path == Path::new("-") {
        Box::new(std::io::stdin().lock())
    } else {
        match std::fs::File::open(events_path) {
            Ok(f) => Box::new(std::io::BufReader::new(f)),
            Err(e) => {
                eprintln!("error: {}: {e}", events_path.display());
                return exit::USAGE;
            }
        }
    };
    let engine = Engine::new(policy).explaining(explain);
    let zone = engine.policy().tenant().zone;
    let mut state = State::new();
    let mut out = std::io::stdout().lock();
    let mut failed = false;
    for (number, line) in events.lines().enumerate() {
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                eprintln!("error: {}: {e}", events_path.display());
                return exit::FAILED;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        let event = serde_json::from_str::<Event>(&line)
            .map_err(|e| e.to_string())
            // The engine would reject it too; say why as an error of the line.
            .and_then(|event| {
                event
                    .check_time()
                    .map(|()| event)
                    .map_err(|bad| bad.to_string())
            });
        let result = match event {
            Ok(event) => {
                let decision = engine.step(&mut state, &event);
                let mut value = serde_json::to_value(&decision).unwrap_or_default();
                if explain {
                    value["reasons"] = serde_json::json!(decision.reasons(zone));
                }
                value
            }
            Err(e) => {
                failed = true;
                eprintln!("error: {}:{}: {e}", events_path.display(), number + 1);
                serde_json::json!({"error": format!("line {}: {e}", number + 1)})
            }
        };
        if writeln!(out, "{result}").is_err() {
            return exit::FAILED;
        }
    }
    if failed {
        exit::FAILED
    } else {
        exit::OK
    }
}

//! `switchboard simulate`: one decision per event, state carried between.
//!
//! A line that is not an event, or whose `at` is outside the engine's
//! accepted range, is an error of that line: named on stderr, answered with
//! `{"error": ...}` in place of a decision, and the exit status says failed.

use super::exit;
use std::io::{BufRead, Write};
use std::path::Path;
use switchboard::engine::{Engine, Event, State};
use switchboard::sources::Folder;

pub fn run(policy_path: &Path, events_path: &Path, explain: bool) -> i32 {
    // A tenant's folder stands for the one policy in it.
    let found;
    let policy_path = if policy_path.is_dir() {
        match switchboard::files::only_policy_in(policy_path) {
            Ok(path) => {
                found = path;
                found.as_path()
            }
            Err(e) => {
                eprintln!("error: {e}; name the policy file");
                return exit::USAGE;
            }
        }
    } else {
        policy_path
    };
    let source = match std::fs::read_to_string(policy_path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {}: {e}", policy_path.display());
            return exit::USAGE;
        }
    };
    let policy = match switchboard::compile_sources(&source, &Folder::of(policy_path)) {
        Ok(p) => p,
        Err(d) => {
            eprint!("{}", d.render(&policy_path.display().to_string(), &source));
            eprintln!("error: the policy does not check");
            return exit::FAILED;
        }
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

//! Scenario files: a tenant's tests, kept beside its policy.
//!
//! A scenario is YAML: a description, optional starting statuses, and steps.
//! A step is an event (its JSON fields, as YAML) or a query, with what the
//! decision must contain:
//!
//! ```yaml
//! description: T2, the first reply locks the conversation to its author.
//! steps:
//!   - type: inbound
//!     at: 2026-03-02T17:00:00Z
//!     from: "+14155551234"
//!     to: "+14155550100"
//!     body: Is the sale still on?
//!     expect:
//!       outcome: routed
//!       visible_to: [ana, ben, cho]
//!   - type: reply
//!     at: 2026-03-02T17:05:00Z
//!     agent: ana
//!     conversation: c1
//!     body: It is!
//!     expect:
//!       outcome: allowed
//!       changes:
//!         - {change: locked, holder: ana, until: 2026-03-02T17:35:00Z}
//! ```
//!
//! `expect` lists only what matters: each key must be in the decision with
//! that value; objects match key by key, lists item by item. Queries ask for
//! an agent's conversation list (`query: view`) or an inbox's reporting
//! counters (`query: counters`).

pub mod coverage;
mod run;
mod update;

pub use coverage::Coverage;
pub use run::{run_file, Failure, Report, StepResult};

use crate::engine::{BadTime, Event, State};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// A scenario file as written.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub description: String,
    /// The policy file, relative to the scenario; default: the one `.policy`
    /// file in the scenario's folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// Agents' statuses before the first step (default: ready).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub statuses: BTreeMap<String, String>,
    pub steps: Vec<RawStep>,
}

impl Scenario {
    /// The state before the first step: agents in their `statuses`.
    pub fn starting_state(&self, policy: &crate::Policy) -> Result<State, String> {
        let mut state = State::new();
        for (agent, status) in &self.statuses {
            if policy.agent_id(agent).is_none() {
                return Err(format!("statuses: no agent {agent} in the policy"));
            }
            if policy.status_id(status).is_none() {
                return Err(format!("statuses: {status} is not a status of this tenant"));
            }
            state
                .agents
                .entry(agent.as_str().into())
                .or_default()
                .status = status.as_str().into();
        }
        Ok(state)
    }

    /// The steps that are events, with their one-based step numbers
    /// (queries left out).
    pub fn events(&self) -> Result<Vec<(usize, Event)>, String> {
        let mut events = Vec::new();
        for (index, raw) in self.steps.iter().enumerate() {
            match Step::parse(raw).map_err(|e| format!("step {}: {e}", index + 1))? {
                Step::Event(event) => events.push((index + 1, *event)),
                Step::View { .. } | Step::Counters { .. } => {}
            }
        }
        Ok(events)
    }
}

/// A step as written: event or query fields, plus `expect` and `note`.
pub type RawStep = serde_json::Map<String, Value>;

/// A step, read.
#[derive(Clone, Debug)]
pub enum Step {
    Event(Box<Event>),
    /// The conversations an agent sees.
    View {
        agent: String,
        inbox: Option<String>,
        at: chrono::DateTime<chrono::Utc>,
    },
    /// An inbox's reporting counters.
    Counters {
        inbox: String,
    },
}

impl Step {
    /// Reads a step's own fields (not `expect` or `note`). A time outside
    /// the engine's accepted range is an error of the step, as it would be
    /// refused by the service.
    pub fn parse(raw: &RawStep) -> Result<Step, String> {
        let mut fields = raw.clone();
        fields.remove("expect");
        fields.remove("note");
        if let Some(Value::String(at)) = fields.get("at") {
            // As events read it: RFC 3339, years past 9999 with their sign.
            let read =
                serde_json::from_value::<chrono::DateTime<chrono::Utc>>(Value::String(at.clone()));
            if read.is_err() {
                return Err(format!(
                    "`at: {at}` is not an RFC 3339 time; write the date, `T`, the time and the offset: 2026-12-21T10:00:00Z (UTC) or 2026-12-21T10:00:00-07:00"
                ));
            }
        }
        match fields.remove("query") {
            None => {
                let event = serde_json::from_value::<Event>(Value::Object(fields))
                    .map_err(|e| format!("not an event: {e}"))?;
                event.check_time().map_err(|bad| bad.to_string())?;
                Ok(Step::Event(Box::new(event)))
            }
            Some(Value::String(q)) if q == "view" => {
                #[derive(Deserialize)]
                #[serde(deny_unknown_fields)]
                struct View {
                    agent: String,
                    inbox: Option<String>,
                    at: chrono::DateTime<chrono::Utc>,
                }
                let v: View = serde_json::from_value(Value::Object(fields))
                    .map_err(|e| format!("bad view query: {e}"))?;
                BadTime::check(v.at).map_err(|bad| format!("bad view query: {bad}"))?;
                Ok(Step::View {
                    agent: v.agent,
                    inbox: v.inbox,
                    at: v.at,
                })
            }
            Some(Value::String(q)) if q == "counters" => {
                #[derive(Deserialize)]
                #[serde(deny_unknown_fields)]
                struct Counters {
                    inbox: String,
                }
                let c: Counters = serde_json::from_value(Value::Object(fields))
                    .map_err(|e| format!("bad counters query: {e}"))?;
                Ok(Step::Counters { inbox: c.inbox })
            }
            Some(other) => Err(format!(
                "unknown query {other}; queries are `view` and `counters`"
            )),
        }
    }
}

/// Reads a scenario from YAML (JSON is YAML too). A YAML error is
/// rendered as a policy's diagnostics are: `file:line:col: error: ...`, the
/// line with a caret, and a hint where one helps.
pub fn parse(text: &str, file: &str) -> Result<Scenario, String> {
    serde_yaml_ng::from_str(text).map_err(|e| {
        // The library's message ends with its own "at line L column C".
        let message = e.to_string();
        let message = message.split(" at line ").next().unwrap_or(&message);
        let Some(at) = e.location() else {
            return format!("{file}: error: {message}");
        };
        let hint = yaml_hint(message, text, at.line());
        let span = crate::diag::Span::new(at.index(), at.index() + 1);
        crate::diag::render_error(file, text, span, message, hint.as_deref())
            .trim_end()
            .to_string()
    })
}

/// What usually causes a YAML error, said as a fix.
fn yaml_hint(message: &str, text: &str, line: usize) -> Option<String> {
    let shown = text.lines().nth(line.saturating_sub(1)).unwrap_or("");
    if shown.contains('\t') || message.contains("tab") {
        return Some("indent with spaces; YAML does not take tabs".into());
    }
    if message.contains("mapping values are not allowed") {
        return Some("a value holding `: ` needs quotes: body: \"Note: we open at 9\"".into());
    }
    if message.contains("expected ',' or ']'") {
        return Some("close the `[` list with `]` on the same line".into());
    }
    if message.contains("expected ',' or '}'") {
        return Some("close the `{` map with `}` on the same line".into());
    }
    if message.contains("unknown field") && message.contains("description") {
        return Some("a scenario has description, policy, statuses and steps".into());
    }
    if message.contains("missing field `description`") {
        return Some("start the file with `description:` and what it shows".into());
    }
    if message.contains("did not find expected key") || message.contains("block") {
        return Some("line the keys of one step up under each other".into());
    }
    None
}

/// A step's error, rendered as a policy's diagnostics are, at the line of
/// the step's `key` (or its first line). `message` may carry its hint
/// after `; `.
pub fn step_error(text: &str, file: &str, step: usize, key: Option<&str>, message: &str) -> String {
    let (message, hint) = match message.split_once("; ") {
        Some((m, h)) => (m, Some(h)),
        None => (message, None),
    };
    let suggested = hint.is_none().then(|| misspelt_field(message)).flatten();
    let hint = hint.or(suggested.as_deref());
    let message = format!("step {}: {message}", step + 1);
    let Some(span) = update::step_key_span(text, step, key) else {
        return format!(
            "{file}: error: {message}{}",
            hint.map_or(String::new(), |h| format!("\n  = hint: {h}"))
        );
    };
    crate::diag::render_error(file, text, span, &message, hint)
        .trim_end()
        .to_string()
}

/// `did you mean `body`?` for serde's "unknown field `bdy`, expected one
/// of `at`, `body`, ...".
fn misspelt_field(message: &str) -> Option<String> {
    let (_, rest) = message.split_once("unknown field `")?;
    let (field, rest) = rest.split_once('`')?;
    let known: Vec<&str> = rest.split('`').skip(1).step_by(2).collect();
    let close = crate::diag::did_you_mean(field, &known)?;
    Some(format!("did you mean `{close}`?"))
}

/// The key a step's error is about, read from its message: `at`, or the
/// field serde names (`unknown field `bdy``), or the misspelt expect key.
pub fn error_key(message: &str) -> Option<String> {
    if message.starts_with("`at:") || message.contains("accepted range") {
        return Some("at".into());
    }
    let quoted = |after: &str| {
        let rest = message.split(after).nth(1)?;
        let rest = rest.strip_prefix('`')?;
        Some(rest.split('`').next()?.to_string())
    };
    quoted("unknown field ").or_else(|| quoted("expect: "))
}

/// The keys `--update` writes for a step that has no `expect` yet.
/// (A subset of [`DECISION_KEYS`].)
pub const DEFAULT_KEYS: &[&str] = &[
    "outcome",
    "denial",
    "conversation",
    "inbox",
    "visible_to",
    "offered_to",
    "messages",
    "changes",
];

/// The keys a decision's JSON has, which an event step's `expect` may name
/// (`reasons`: the sentences `--explain` prints).
pub const DECISION_KEYS: &[&str] = &[
    "at",
    "event",
    "outcome",
    "denial",
    "conversation",
    "inbox",
    "new_conversation",
    "customer",
    "visible_to",
    "offered_to",
    "messages",
    "copied_to",
    "changes",
    "session_type",
    "tags",
    "priority",
    "next_tick",
    "explanation",
    "reasons",
];

/// The keys of a row of `query: view`.
pub const VIEW_KEYS: &[&str] = &[
    "conversation",
    "inbox",
    "customer",
    "customer_name",
    "last_inbound_at",
    "owner",
    "locked_by",
    "locked_until",
    "alerted",
    "hidden",
];

/// The keys of `query: counters`.
pub const COUNTER_KEYS: &[&str] = &[
    "conversations",
    "inbound",
    "outbound",
    "sessions_handled",
    "handle_secs",
    "average_handle_secs",
    "hook_failures",
];

/// An `expect` naming a key the output never has (`outcom:`), which would
/// otherwise read as "expected routed, actual nothing".
pub fn unknown_key(step: &Step, expected: &Value) -> Option<String> {
    let (known, what): (&[&str], &str) = match step {
        Step::Event(_) => (DECISION_KEYS, "a decision"),
        Step::View { .. } => (VIEW_KEYS, "a view row"),
        Step::Counters { .. } => (COUNTER_KEYS, "the counters"),
    };
    let objects: Vec<&serde_json::Map<String, Value>> = match expected {
        Value::Object(map) => vec![map],
        Value::Array(rows) => rows.iter().filter_map(Value::as_object).collect(),
        _ => Vec::new(),
    };
    let key = objects
        .iter()
        .flat_map(|o| o.keys())
        .find(|k| !known.contains(&k.as_str()))?;
    let hint = match crate::diag::did_you_mean(key, known) {
        Some(close) => format!("did you mean `{close}`?"),
        None => format!("it has {}", known.join(", ")),
    };
    Some(format!("expect: `{key}` is not a key of {what}; {hint}"))
}

/// Writes a scenario back as YAML.
pub fn write(scenario: &Scenario) -> String {
    serde_yaml_ng::to_string(scenario).unwrap_or_default()
}

/// Whether `actual` contains everything `expected` says: objects key by key,
/// lists item by item, anything else equal. Differences go to `out` as
/// `(path, expected, actual)`.
pub fn contains(
    expected: &Value,
    actual: &Value,
    path: &str,
    out: &mut Vec<(String, Value, Value)>,
) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (key, ev) in e {
                let p = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match a.get(key) {
                    Some(av) => contains(ev, av, &p, out),
                    // Decisions leave out what is empty: expecting nothing,
                    // an empty list or `false` matches a missing key.
                    None if is_empty(ev) => {}
                    None => out.push((p, ev.clone(), Value::Null)),
                }
            }
        }
        (Value::Array(e), Value::Array(a)) if e.len() == a.len() => {
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                contains(ev, av, &format!("{path}[{i}]"), out);
            }
        }
        (Value::Number(e), Value::Number(a)) if e.as_f64() == a.as_f64() => {}
        (e, a) if e == a => {}
        (e, a) => out.push((path.to_string(), e.clone(), a.clone())),
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null | Value::Bool(false) => true,
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.is_empty(),
        _ => false,
    }
}

/// `expected` with every value replaced by the actual one at the same path:
/// what `--update` writes.
pub fn refresh(expected: &Value, actual: &Value) -> Value {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => Value::Object(
            e.iter()
                .map(|(k, ev)| {
                    (
                        k.clone(),
                        match a.get(k) {
                            Some(av) => refresh(ev, av),
                            // Absent from a decision: what the author wrote
                            // for "none" (`[]`, `false`) still says so.
                            None if matches!(ev, Value::Bool(false))
                                || ev.as_array().is_some_and(Vec::is_empty) =>
                            {
                                ev.clone()
                            }
                            None => Value::Null,
                        },
                    )
                })
                .collect(),
        ),
        // Lists of the same length item by item, so an expected message
        // keeps only the fields it named.
        (Value::Array(e), Value::Array(a)) if e.len() == a.len() => {
            Value::Array(e.iter().zip(a).map(|(ev, av)| refresh(ev, av)).collect())
        }
        _ => actual.clone(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_yaml_error_names_and_shows_its_line() {
        let error = super::parse("description: x\nsteps:\n  - note: a: b\n", "s.yaml").unwrap_err();
        assert!(error.starts_with("s.yaml:3:"), "{error}");
        assert!(error.contains("3 |   - note: a: b"), "{error}");
        assert!(
            error.contains("= hint: a value holding `: ` needs quotes"),
            "{error}"
        );
    }

    #[test]
    fn a_misspelt_expect_key_is_named() {
        let step = super::Step::Counters { inbox: "i".into() };
        let error = super::unknown_key(&step, &serde_json::json!({"sessions_handed": 1})).unwrap();
        assert!(
            error.contains("did you mean `sessions_handled`?"),
            "{error}"
        );
    }

    use super::*;
    use serde_json::json;

    #[test]
    fn expectations_are_subsets() {
        let actual = json!({"a": 1, "b": {"c": [1, 2], "d": "x"}, "e": "extra"});
        let mut diffs = Vec::new();
        contains(&json!({"b": {"d": "x"}}), &actual, "", &mut diffs);
        assert!(diffs.is_empty());
        contains(&json!({"b": {"c": [1]}}), &actual, "", &mut diffs);
        assert_eq!(diffs.len(), 1);
        assert_eq!(diffs[0].0, "b.c");
    }

    #[test]
    fn refresh_keeps_the_chosen_keys() {
        let actual = json!({"a": 2, "b": {"c": 3, "d": 4}});
        assert_eq!(
            refresh(&json!({"b": {"c": 0}}), &actual),
            json!({"b": {"c": 3}})
        );
    }
}

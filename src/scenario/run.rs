//! Running a scenario file against its policy.

use super::{contains, refresh, Scenario, Step, DEFAULT_KEYS};
use crate::engine::{Decision, Engine};
use crate::sources::Folder;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// What running one scenario file found.
#[derive(Debug)]
pub struct Report {
    pub path: PathBuf,
    pub description: String,
    /// Every step's input and output: the scenario's transcript.
    pub steps: Vec<StepResult>,
    /// Steps whose output did not contain what they expected.
    pub failures: Vec<Failure>,
    /// The scenario could not run at all (bad file, bad policy, bad step).
    pub error: Option<String>,
    /// `--update` rewrote the file.
    pub updated: bool,
    /// The policy file it ran against, once found.
    pub policy: Option<PathBuf>,
    /// That policy, compiled, once it checked.
    pub engine: Option<Engine>,
    /// Every event step's decision, in order (what coverage reads).
    pub decisions: Vec<Decision>,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.error.is_none() && self.failures.is_empty()
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct StepResult {
    pub input: Value,
    pub output: Value,
}

#[derive(Debug)]
pub struct Failure {
    /// One-based step number.
    pub step: usize,
    /// "reply by ana at 2026-03-02T17:05:00Z", say.
    pub label: String,
    pub diffs: Vec<(String, Value, Value)>,
}

/// Runs a scenario file; with `update`, rewrites its expectations from what
/// the engine decided.
pub fn run_file(path: &Path, update: bool) -> Report {
    let mut report = Report {
        path: path.to_path_buf(),
        description: String::new(),
        steps: Vec::new(),
        failures: Vec::new(),
        error: None,
        updated: false,
        policy: None,
        engine: None,
        decisions: Vec::new(),
    };
    if let Err(error) = run(path, update, &mut report) {
        report.error = Some(error);
    }
    report
}

fn run(path: &Path, update: bool, report: &mut Report) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    let file = path.display().to_string();
    let mut scenario: Scenario = super::parse(&text, &file)?;
    report.description = scenario.description.clone();
    let engine = load_engine(path, &scenario, report)?;
    let mut state = scenario.starting_state(engine.policy())?;

    let mut changed = false;
    let mut updates: Vec<(usize, Value)> = Vec::new();
    let zone = engine.policy().tenant().zone;
    for (index, raw) in scenario.steps.iter_mut().enumerate() {
        let located = |message: &str| {
            let key = super::error_key(message);
            super::step_error(&text, &file, index, key.as_deref(), message)
        };
        let step = Step::parse(raw).map_err(|e| located(&e))?;
        let (label, output, reasons) = match &step {
            Step::Event(event) => {
                let decision = engine.step(&mut state, event);
                report.decisions.push(decision.clone());
                let who = match event.as_ref() {
                    crate::engine::Event::Inbound(e) => format!(" from {}", e.from),
                    crate::engine::Event::Status(s) => format!(" of {}", s.agent),
                    crate::engine::Event::Tick(_) => String::new(),
                    other => serde_json::to_value(other)
                        .ok()
                        .and_then(|v| {
                            v.get("agent")
                                .and_then(Value::as_str)
                                .map(|a| format!(" by {a}"))
                        })
                        .unwrap_or_default(),
                };
                let at = event
                    .at()
                    .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
                let label = format!("{}{who} at {at}", event.kind());
                (
                    label,
                    serde_json::to_value(&decision).map_err(|e| e.to_string())?,
                    Some(decision.reasons(zone)),
                )
            }
            Step::View { agent, inbox, at } => {
                let rows = engine.visible_conversations(&state, agent, inbox.as_deref(), *at);
                (
                    format!("view of {agent}"),
                    serde_json::to_value(rows).map_err(|e| e.to_string())?,
                    None,
                )
            }
            Step::Counters { inbox } => {
                if engine.policy().inbox_id(inbox).is_none() {
                    return Err(format!(
                        "step {}: no inbox {inbox} in the policy",
                        index + 1
                    ));
                }
                let c = state.counters(inbox).cloned().unwrap_or_default();
                let value = json!({
                    "conversations": c.conversations,
                    "inbound": c.inbound,
                    "outbound": c.outbound,
                    "sessions_handled": c.sessions_handled,
                    "handle_secs": c.handle_secs,
                                        "average_handle_secs": c.average_handle_secs(),
                    "hook_failures": c.hook_failures,
                });
                (format!("counters of {inbox}"), value, None)
            }
        };
        let mut input = raw.clone();
        input.remove("expect");
        input.remove("note");
        report.steps.push(super::StepResult {
            input: Value::Object(input),
            output: output.clone(),
        });
        // A decision's reasons, as `--explain` words them in the tenant's
        // time, may be expected too; the transcript keeps the JSON alone.
        let mut output = output;
        if let Some(reasons) = reasons {
            output["reasons"] = json!(reasons);
        }

        if let Some(error) = raw.get("expect").and_then(|e| super::unknown_key(&step, e)) {
            return Err(located(&error));
        }
        match raw.get("expect") {
            Some(expected) => {
                let mut diffs = Vec::new();
                contains(expected, &output, "", &mut diffs);
                if !diffs.is_empty() {
                    if update {
                        let fresh = refresh(expected, &output);
                        updates.push((index, fresh.clone()));
                        raw.insert("expect".into(), fresh);
                        changed = true;
                    } else {
                        report.failures.push(Failure {
                            step: index + 1,
                            label,
                            diffs,
                        });
                    }
                }
            }
            None if update => {
                let picked: serde_json::Map<String, Value> = DEFAULT_KEYS
                    .iter()
                    .filter_map(|k| output.get(*k).map(|v| (k.to_string(), v.clone())))
                    .collect();
                let fresh = if output.is_object() {
                    Value::Object(picked)
                } else {
                    output.clone()
                };
                updates.push((index, fresh.clone()));
                raw.insert("expect".into(), fresh);
                changed = true;
            }
            None => {}
        }
    }
    if update && changed {
        // In place where the layout allows; else the scenario whole.
        let rewritten = super::update::rewrite(&text, scenario.steps.len(), &updates)
            .unwrap_or_else(|| super::write(&scenario));
        std::fs::write(path, rewritten).map_err(|e| format!("cannot write: {e}"))?;
        report.updated = true;
    }
    Ok(())
}

/// Compiles the scenario's policy: the one it names, or the only `.policy`
/// file beside it.
fn load_engine(path: &Path, scenario: &Scenario, report: &mut Report) -> Result<Engine, String> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let policy_path = match &scenario.policy {
        Some(p) => dir.join(p),
        None => crate::files::only_policy_in(dir)
            .map_err(|e| format!("{e}; name one with `policy:`"))?,
    };
    report.policy = Some(policy_path.clone());
    let source = std::fs::read_to_string(&policy_path)
        .map_err(|e| format!("{}: {e}", policy_path.display()))?;
    let policy = crate::compile_sources(&source, &Folder::of(&policy_path)).map_err(|d| {
        format!(
            "the policy does not check:\n{}",
            d.render(&policy_path.display().to_string(), &source)
        )
    })?;
    let engine = Engine::new(policy).explaining(true);
    report.engine = Some(engine.clone());
    Ok(engine)
}

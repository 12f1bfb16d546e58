//! A diff as people read it: counts by kind of change, then examples with
//! both decisions and why.

use super::{Diff, Example, Kind};
use crate::engine::Decision;
use std::fmt::Write;

pub fn render(diff: &Diff) -> String {
    let mut out = String::new();
    let warmed = match diff.warmed_up {
        0 => String::new(),
        n => format!(" (after {n} earlier events stepped by the old policy alone)"),
    };
    if let Some(seq) = diff.log_starts_at {
        let _ = writeln!(
            out,
            "the stored log starts at event {seq} (retention removed those before): \
             conversations opened before it are unknown to both policies"
        );
    }
    if diff.is_empty() {
        let _ = writeln!(
            out,
            "no decision changes: {} events compared{warmed}",
            diff.compared
        );
        return out;
    }
    let _ = writeln!(
        out,
        "{} of {} decisions change{warmed}",
        diff.changed, diff.compared
    );
    out.push_str("\nby kind of change (a decision may change in several ways)\n");
    for kind in Kind::ALL {
        if let Some(n) = diff.kinds.get(&kind) {
            let _ = writeln!(out, "  {n:>7}  {:<12} {}", kind.as_str(), kind.describe());
        }
    }
    out.push_str("\nby event\n");
    for (event, n) in &diff.by_event {
        let _ = writeln!(out, "  {n:>7}  {event}");
    }
    for example in &diff.examples {
        out.push('\n');
        render_example(&mut out, example);
    }
    out
}

fn render_example(out: &mut String, e: &Example) {
    let kinds: Vec<&str> = e.kinds.iter().map(|k| k.as_str()).collect();
    let event = serde_json::to_string(&e.event).unwrap_or_default();
    let _ = writeln!(out, "{} ({}): {event}", e.from, kinds.join(", "));
    side(out, "before", &e.old, &e.old_reasons);
    side(out, "after", &e.new, &e.new_reasons);
}

fn side(out: &mut String, label: &str, d: &Decision, reasons: &[String]) {
    let mut line = format!("  {label:<6} {}", d.outcome.as_str());
    if let Some(denial) = &d.denial {
        let _ = write!(line, " ({})", denial.code());
    }
    if let Some(inbox) = &d.inbox {
        let _ = write!(line, " in {inbox}");
    }
    if let Some(c) = &d.conversation {
        let _ = write!(line, ", {c}");
    }
    if !d.visible_to.is_empty() {
        let _ = write!(line, "; seen by {}", d.visible_to.join(", "));
    }
    if !d.offered_to.is_empty() {
        let _ = write!(line, "; offered to {}", d.offered_to.join(", "));
    }
    let _ = writeln!(out, "{line}");
    for m in &d.messages {
        let why = serde_json::to_value(m.why)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let text = m.text.replace('\n', "\n                ");
        let _ = writeln!(out, "         sends ({why}): {text}");
    }
    for c in &d.changes {
        let change = serde_json::to_string(c).unwrap_or_default();
        let _ = writeln!(out, "         change: {change}");
    }
    for reason in reasons {
        let _ = writeln!(out, "         because {reason}");
    }
}

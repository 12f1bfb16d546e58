//! The overview as people read it on a terminal.

use super::{InboxCard, Overview, Week};
use crate::vocab::{Channel, ClaimMode};
use std::fmt::Write;

pub fn render(o: &Overview) -> String {
    let mut out = String::new();
    let t = &o.tenant;
    let shown = match t.display_name == t.name {
        true => String::new(),
        false => format!(" ({})", t.display_name),
    };
    let country = match t.country.is_empty() {
        true => String::new(),
        false => format!(", {}", t.country),
    };
    let _ = writeln!(out, "tenant {}{shown}: {}{country}", t.name, t.zone);
    let _ = writeln!(
        out,
        "hours shown for the week {} to {}",
        o.week[0], o.week[1]
    );

    out.push_str("\nnumbers\n");
    let width = o.numbers.iter().map(|n| n.number.len()).max().unwrap_or(0);
    for n in &o.numbers {
        let to = n.inbox.as_deref().unwrap_or("(no inbox)");
        let mut line = format!("  {:width$}  → {to}  [{}]", n.number, channels(&n.channels));
        if let Some(label) = &n.label {
            let _ = write!(line, "  \"{label}\"");
        }
        if let Some(voice) = &n.voice_queue {
            let _ = write!(line, "  voice: {voice}");
        }
        let _ = writeln!(out, "{line}");
    }

    for inbox in &o.inboxes {
        out.push('\n');
        render_inbox(&mut out, inbox);
    }

    let c = &o.compliance;
    out.push_str("\ncompliance\n");
    let _ = writeln!(out, "  opt-out   {}", c.opt_out.join(", "));
    let _ = writeln!(out, "  opt-in    {}", c.opt_in.join(", "));
    let _ = writeln!(out, "  help      {}", c.help.join(", "));
    for (phrase, action) in &c.revocations {
        let action = match action {
            crate::vocab::RevocationAction::OptOut => "opts out",
            crate::vocab::RevocationAction::Review => "flags for review",
        };
        let _ = writeln!(out, "  \"{phrase}\" {action}");
    }
    for m in &c.replies {
        let _ = writeln!(out, "  says      {}: {}", m.when, m.text);
    }
    out
}

fn render_inbox(out: &mut String, i: &InboxCard) {
    let _ = writeln!(out, "inbox {} ({})", i.name, i.kind.as_str());
    let _ = writeln!(out, "  numbers   {}", or_none(&i.numbers.join(", ")));
    if let Some(direct) = &i.direct {
        let d = &direct.deflection;
        let from = match (&d.level, &d.team) {
            (_, Some(team)) => format!("team {team}"),
            (level, None) => format!("{} setting", level_name(*level)),
        };
        let _ = writeln!(out, "  agent     {}", direct.agent);
        match (&d.on, &d.hours) {
            (true, Some(week)) => {
                let _ = writeln!(
                    out,
                    "  deflects  outside {} ({}), from the {from}",
                    week.hours, week.zone
                );
                render_days(out, week);
            }
            _ => {
                let _ = writeln!(out, "  deflects  never (off, from the {from})");
            }
        }
    }
    for team in &i.teams {
        let _ = writeln!(
            out,
            "  team      {}: {}",
            team.name,
            or_none(&team.agents.join(", "))
        );
    }
    if !i.agents.is_empty() {
        let _ = writeln!(out, "  agents    {}", i.agents.join(", "));
    }
    let claim = match i.claim {
        ClaimMode::Can => "can be claimed",
        ClaimMode::Cannot => "cannot be claimed",
        ClaimMode::Must => "must be claimed before a reply",
    };
    let lock = match i.lock_secs {
        Some(secs) => format!("a reply locks it for {}", duration(secs)),
        None => "replies take no lock".into(),
    };
    let claim_lasts = match i.claim_lock_secs {
        Some(secs) => format!("; a claim lapses after {} without a reply", duration(secs)),
        None => String::new(),
    };
    let _ = writeln!(out, "  claim     {claim}; {lock}{claim_lasts}");
    if let Some(k) = &i.keywords {
        let _ = writeln!(out, "  keywords  start {}", k.initiation.join(", "));
        if !k.termination.is_empty() {
            let _ = writeln!(out, "            end {}", k.termination.join(", "));
        }
        let capacity: Vec<String> = k
            .capacity
            .iter()
            .map(|(agent, max)| match max {
                Some(max) => format!("{agent} {max}"),
                None => format!("{agent} unlimited"),
            })
            .collect();
        let _ = writeln!(out, "  sessions  {}", or_none(&capacity.join(", ")));
        if let Some(secs) = k.session_timeout_secs {
            let _ = writeln!(out, "            end after {} of quiet", duration(secs));
        }
    }
    for hook in &i.hooks {
        let _ = writeln!(out, "  hook      {}: {}", hook.point, hook.function);
    }
    match (&i.hours, &i.direct) {
        (Some(week), _) => render_week(out, week),
        (None, Some(_)) => {}
        (None, None) => {
            let _ = writeln!(out, "  hours     always open");
        }
    }
    for m in &i.messages {
        let _ = writeln!(out, "  says      {}: {}", m.when, m.text);
    }
}

fn render_week(out: &mut String, week: &Week) {
    if week.always {
        let _ = writeln!(out, "  hours     {}: always open", week.hours);
        return;
    }
    let _ = writeln!(out, "  hours     {} ({})", week.hours, week.zone);
    render_days(out, week);
}

fn render_days(out: &mut String, week: &Week) {
    for day in &week.days {
        let open = match day.open.is_empty() {
            true => "closed".to_string(),
            false => day.open.join(", "),
        };
        let mut line = format!("    {} {}  {open}", day.weekday, day.date);
        for note in [&day.note, &day.clocks].into_iter().flatten() {
            let _ = write!(line, "  · {note}");
        }
        let _ = writeln!(out, "{line}");
    }
}

fn level_name(level: crate::policy::Level) -> &'static str {
    match level {
        crate::policy::Level::Global => "global",
        crate::policy::Level::Team => "team",
        crate::policy::Level::Agent => "agent's own",
    }
}

fn channels(channels: &[Channel]) -> String {
    let names: Vec<&str> = channels.iter().map(|c| c.as_str()).collect();
    names.join(" ")
}

fn or_none(text: &str) -> &str {
    match text.is_empty() {
        true => "(none)",
        false => text,
    }
}

/// `30m`, `2h`, `14d`, `1h30m`.
pub fn duration(secs: u64) -> String {
    let (d, h, m, s) = (
        secs / 86_400,
        secs % 86_400 / 3600,
        secs % 3600 / 60,
        secs % 60,
    );
    let mut out = String::new();
    for (n, unit) in [(d, "d"), (h, "h"), (m, "m"), (s, "s")] {
        if n > 0 {
            let _ = write!(out, "{n}{unit}");
        }
    }
    if out.is_empty() {
        out.push_str("0s");
    }
    out
}

//! The routing map as a Mermaid flowchart: numbers → inboxes → teams →
//! agents, each direct number's deflection on its edge.

use super::Overview;
use std::collections::BTreeMap;
use std::fmt::Write;

pub fn render(o: &Overview) -> String {
    let mut out = String::from("flowchart LR\n");
    let inbox_ids: BTreeMap<&str, usize> = o
        .inboxes
        .iter()
        .enumerate()
        .map(|(i, inbox)| (inbox.name.as_str(), i))
        .collect();
    let mut agents: BTreeMap<&str, usize> = BTreeMap::new();
    let mut teams: BTreeMap<&str, usize> = BTreeMap::new();
    for inbox in &o.inboxes {
        for team in &inbox.teams {
            let next = teams.len();
            teams.entry(&team.name).or_insert(next);
            for agent in &team.agents {
                let next = agents.len();
                agents.entry(agent).or_insert(next);
            }
        }
        let direct = inbox.direct.iter().map(|d| &d.agent);
        for agent in inbox.agents.iter().chain(direct) {
            let next = agents.len();
            agents.entry(agent).or_insert(next);
        }
    }

    out.push_str("  subgraph numbers\n");
    for (i, n) in o.numbers.iter().enumerate() {
        let label = match &n.label {
            Some(label) => format!("{}<br/>{label}", n.number),
            None => n.number.clone(),
        };
        let _ = writeln!(out, "    n{i}[\"{}\"]", escape(&label));
    }
    out.push_str("  end\n");
    for (i, inbox) in o.inboxes.iter().enumerate() {
        let mut label = format!("{}<br/>{}", inbox.name, inbox.kind.as_str());
        if let Some(k) = &inbox.keywords {
            let _ = write!(label, ", starts on {}", k.initiation.join(" "));
        }
        let _ = writeln!(out, "  i{i}[[\"{}\"]]", escape(&label));
    }
    for (name, i) in &teams {
        let _ = writeln!(out, "  t{i}([\"team {}\"])", escape(name));
    }
    for (name, i) in &agents {
        let _ = writeln!(out, "  a{i}(\"{}\")", escape(name));
    }

    for (i, n) in o.numbers.iter().enumerate() {
        if let Some(inbox) = n.inbox.as_deref().and_then(|name| inbox_ids.get(name)) {
            let _ = writeln!(out, "  n{i} --> i{inbox}");
        }
    }
    let mut team_edges = std::collections::BTreeSet::new();
    for (i, inbox) in o.inboxes.iter().enumerate() {
        for team in &inbox.teams {
            let t = teams[team.name.as_str()];
            let _ = writeln!(out, "  i{i} --> t{t}");
            for agent in &team.agents {
                team_edges.insert((t, agents[agent.as_str()]));
            }
        }
        for agent in &inbox.agents {
            let _ = writeln!(out, "  i{i} --> a{}", agents[agent.as_str()]);
        }
        if let Some(direct) = &inbox.direct {
            let d = &direct.deflection;
            let from = match (&d.team, d.level) {
                (Some(team), _) => format!("team {team}"),
                (None, crate::policy::Level::Agent) => "own setting".into(),
                (None, _) => "global".into(),
            };
            let state = if d.on { "on" } else { "off" };
            let how = format!("deflection {state}, {from}");
            let _ = writeln!(
                out,
                "  i{i} -->|\"{}\"| a{}",
                escape(&how),
                agents[direct.agent.as_str()]
            );
        }
    }
    for (t, a) in team_edges {
        let _ = writeln!(out, "  t{t} --> a{a}");
    }
    out
}

/// A label inside Mermaid's double quotes.
fn escape(text: &str) -> String {
    text.replace('"', "#quot;")
}

//! Which of a policy's branches its scenarios exercise, like a test
//! runner's coverage: each inbox's routing, open and closed hours and
//! after-hours reply, claim mode, lock and its expiry, keyword initiation,
//! termination, initiation-needed and no-agents paths, session timeouts,
//! each direct number's deflection (at the level it comes from), each hook
//! point with its fallback, and each compliance set and revocation phrase.
//!
//! A branch is read off the decisions the scenarios got (their
//! explanations, messages, changes and denials), so it counts what the
//! engine did, not what a scenario says it expects. A branch names the
//! line of the policy that asks for it: the setting, else the inbox.

use crate::engine::decision::{Change, Rule, SessionEnd, Why};
use crate::engine::{Decision, Outcome};
use crate::policy::{Level, Policy};
use crate::vocab::{ClaimMode, ComplianceSet, InboxKind};
use serde::Serialize;
use std::collections::HashMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// One policy's branches and how often its scenarios took each.
#[derive(Clone, Debug, Serialize)]
pub struct Coverage {
    pub policy: PathBuf,
    pub branches: Vec<Branch>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Branch {
    /// `inbox sales`, `compliance`.
    pub area: String,
    /// `closed`, `lock expires`, `hook routing falls back`.
    pub branch: String,
    pub line: Option<usize>,
    /// Decisions that took it.
    pub hits: u64,
    #[serde(skip)]
    probe: Probe,
}

/// What a decision shows when it takes a branch.
#[derive(Clone, Debug)]
enum Probe {
    Routed,
    Hours { hours: String, open: bool },
    Sent(Why),
    Claimed,
    Locked,
    LockExpired,
    ClaimLapsed,
    Accepted,
    SessionEnded(SessionEnd),
    Denied(&'static str),
    Deflection,
    Hook { point: &'static str, failed: bool },
    Compliance(ComplianceSet),
    Revocation(String),
}

impl Coverage {
    /// Every branch of `policy`, none taken yet; `source` gives the lines.
    pub fn new(path: &Path, policy: &Policy, source: &str) -> Coverage {
        let lines = crate::compile::lines(source);
        let mut branches = Vec::new();
        for inbox in policy.inboxes() {
            let name = inbox.name.as_str();
            let area = format!("inbox {name}");
            let mut add = |branch: &str, setting: &str, probe: Probe| {
                branches.push(Branch {
                    area: area.clone(),
                    branch: branch.to_string(),
                    line: lines.of_inbox(name, setting),
                    hits: 0,
                    probe,
                });
            };
            add("routed", "", Probe::Routed);
            // Hours that are `always` open have no closed branch (nor an
            // after-hours reply to send).
            let hours = inbox.hours.filter(|&h| !policy.schedule(h).is_always());
            if let Some(hours) = hours {
                let hours = policy.schedule(hours).name.clone();
                add(
                    "open",
                    "hours",
                    Probe::Hours {
                        hours: hours.clone(),
                        open: true,
                    },
                );
                add("closed", "hours", Probe::Hours { hours, open: false });
            }
            if inbox.after_hours.is_some() && hours.is_some() {
                add(
                    "after-hours reply",
                    "after_hours",
                    Probe::Sent(Why::AfterHours),
                );
            }
            if inbox.autoresponder.is_some() {
                add(
                    "autoresponder",
                    "autoresponder",
                    Probe::Sent(Why::Autoresponder),
                );
            }
            // A claim mode or lock the policy leaves at its default is no
            // branch of its own: every inbox would have them.
            let written = |setting: &str| {
                lines
                    .inboxes
                    .get(name)
                    .is_some_and(|(_, settings)| settings.contains_key(setting))
            };
            let claim = if written("claim") {
                Some(inbox.claim)
            } else {
                None
            };
            match (inbox.kind, claim) {
                (InboxKind::Shared, Some(ClaimMode::Can)) => {
                    add("claimed", "claim", Probe::Claimed)
                }
                (InboxKind::Shared, Some(ClaimMode::Must)) => {
                    add("claimed", "claim", Probe::Claimed);
                    add(
                        "reply before a claim denied",
                        "claim",
                        Probe::Denied("must_claim"),
                    );
                }
                (InboxKind::Shared, Some(ClaimMode::Cannot)) => {
                    add("claim refused", "claim", Probe::Denied("claim_not_allowed"))
                }
                _ => {}
            }
            if inbox.lock_secs.is_some() && written("lock") {
                add("reply locks", "lock", Probe::Locked);
                add("lock expires", "lock", Probe::LockExpired);
                // Under `claim must` only the owner replies, so no reply
                // meets another's lock.
                if inbox.kind != InboxKind::Direct && inbox.claim != ClaimMode::Must {
                    add("reply while locked denied", "lock", Probe::Denied("locked"));
                }
            }
            if inbox.claim_lock_secs.is_some() && inbox.claim != ClaimMode::Cannot {
                add("claim lapses", "lock", Probe::ClaimLapsed);
            }
            match (&inbox.keywords, inbox.kind) {
                (Some(k), _) => {
                    add(
                        "session started",
                        "initiation_keyword",
                        Probe::Sent(Why::Initiation),
                    );
                    add(
                        "initiation needed",
                        "initiation_needed",
                        Probe::Sent(Why::InitiationNeeded),
                    );
                    if !k.termination.is_empty() {
                        add(
                            "ended by keyword",
                            "termination_keyword",
                            Probe::SessionEnded(SessionEnd::Keyword),
                        );
                    }
                    add("no agents free", "no_agents", Probe::Sent(Why::NoAgents));
                }
                (None, InboxKind::Queue) => add("offer accepted", "", Probe::Accepted),
                _ => {}
            }
            if inbox.session_timeout_secs.is_some() {
                add(
                    "session timed out",
                    "session_timeout",
                    Probe::SessionEnded(SessionEnd::Timeout),
                );
            }
            for (point, _) in &inbox.hooks {
                let setting = format!("hook {}", point.as_str());
                let point = point.as_str();
                add(
                    &format!("hook {point} runs"),
                    &setting,
                    Probe::Hook {
                        point,
                        failed: false,
                    },
                );
                add(
                    &format!("hook {point} falls back"),
                    &setting,
                    Probe::Hook {
                        point,
                        failed: true,
                    },
                );
            }
            if let Some(agent) = inbox.agent.map(|a| policy.agent(a)) {
                let d = &agent.deflection;
                let team = d
                    .team
                    .map(|t| policy.teams()[t.0 as usize].name.to_string());
                let (from, line) = match (d.level, &team) {
                    (Level::Agent, _) => (
                        "as its agent sets it".to_string(),
                        lines.agent_deflections.get(agent.name.as_str()).copied(),
                    ),
                    (Level::Team, Some(team)) => (
                        format!("as team {team} sets it"),
                        lines.team_deflections.get(team).copied(),
                    ),
                    _ => ("as set globally".to_string(), lines.deflection),
                };
                let line = line.or(lines.of_inbox(name, ""));
                let mut add = |branch: String, probe: Probe| {
                    branches.push(Branch {
                        area: area.clone(),
                        branch,
                        line,
                        hits: 0,
                        probe,
                    });
                };
                let state = if d.rule.is_some() { "on" } else { "off" };
                add(format!("deflection {state}, {from}"), Probe::Deflection);
                if let Some(rule) = &d.rule {
                    add("deflected".into(), Probe::Sent(Why::Deflection));
                    let hours = policy.schedule(rule.hours).name.clone();
                    add(
                        "within the agent's hours".into(),
                        Probe::Hours { hours, open: true },
                    );
                }
            }
        }
        let mut add = |branch: String, line: Option<usize>, probe: Probe| {
            branches.push(Branch {
                area: "compliance".into(),
                branch,
                line,
                hits: 0,
                probe,
            });
        };
        let block = lines.compliance.or(lines.tenant);
        for set in ComplianceSet::ALL {
            add(set.as_str().to_string(), block, Probe::Compliance(set));
        }
        for r in &policy.compliance().revocations {
            let line = lines.revocations.get(&r.phrase).copied().or(block);
            add(
                format!("revocation \"{}\"", r.phrase),
                line,
                Probe::Revocation(r.phrase.clone()),
            );
        }
        Coverage {
            policy: path.to_path_buf(),
            branches,
        }
    }

    /// Counts the branches one scenario's decisions took, in order (the
    /// conversation ids they name are that scenario's own).
    pub fn record(&mut self, decisions: &[Decision]) {
        let mut inbox_of: HashMap<String, String> = HashMap::new();
        for d in decisions {
            if let (Some(c), Some(inbox)) = (&d.conversation, &d.inbox) {
                inbox_of.insert(c.to_string(), inbox.to_string());
            }
            let inbox = d.inbox.as_deref().map(str::to_string);
            for branch in &mut self.branches {
                let here = |area: &str| {
                    area.strip_prefix("inbox ")
                        .is_none_or(|name| inbox.as_deref() == Some(name))
                };
                let in_area = |conversation: &str| {
                    let area = branch.area.strip_prefix("inbox ");
                    area.is_some_and(|name| {
                        inbox_of.get(conversation).map(String::as_str) == Some(name)
                    })
                };
                let taken = match &branch.probe {
                    Probe::Routed => here(&branch.area) && d.outcome == Outcome::Routed,
                    Probe::Hours { hours, open } => {
                        here(&branch.area)
                            && steps(d).any(|s| matches!(s, Rule::Hours { hours: h, open: o, .. } if h == hours && o == open))
                    }
                    Probe::Sent(why) => here(&branch.area) && d.messages.iter().any(|m| m.why == *why),
                    Probe::Claimed => {
                        here(&branch.area) && d.changes.iter().any(|c| matches!(c, Change::Claimed { .. }))
                    }
                    Probe::Locked => {
                        here(&branch.area) && d.changes.iter().any(|c| matches!(c, Change::Locked { .. }))
                    }
                    Probe::Accepted => {
                        here(&branch.area) && d.changes.iter().any(|c| matches!(c, Change::Accepted { .. }))
                    }
                    Probe::LockExpired => d.changes.iter().any(|c| {
                        matches!(c, Change::LockExpired { conversation, .. } if in_area(conversation))
                    }),
                    Probe::ClaimLapsed => d.changes.iter().any(|c| {
                        matches!(c, Change::ClaimLapsed { conversation, .. } if in_area(conversation))
                    }),
                    Probe::SessionEnded(by) => d.changes.iter().any(|c| {
                        matches!(c, Change::SessionEnded { conversation, by: b, .. } if b == by && in_area(conversation))
                    }),
                    Probe::Denied(code) => {
                        here(&branch.area) && d.denial.as_ref().is_some_and(|x| x.code() == *code)
                    }
                    Probe::Deflection => {
                        here(&branch.area) && steps(d).any(|s| matches!(s, Rule::Deflection { .. }))
                    }
                    Probe::Hook { point, failed } => steps(d).any(|s| {
                        matches!(s, Rule::Hook { point: p, inbox: i, error, .. }
                            if p == point
                                && error.is_some() == *failed
                                && branch.area.strip_prefix("inbox ") == Some(i.as_str()))
                    }),
                    Probe::Compliance(set) => {
                        steps(d).any(|s| matches!(s, Rule::Compliance { set: x, .. } if x == set))
                    }
                    Probe::Revocation(phrase) => {
                        steps(d).any(|s| matches!(s, Rule::Revocation { phrase: p, .. } if p == phrase))
                    }
                };
                if taken {
                    branch.hits += 1;
                }
            }
        }
    }

    /// Branches taken at least once.
    pub fn exercised(&self) -> usize {
        self.branches.iter().filter(|b| b.hits > 0).count()
    }

    /// As a table: each area's branches with their hits, then the lines no
    /// scenario exercised.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let total = self.branches.len();
        let exercised = self.exercised();
        let percent = (exercised * 100).checked_div(total).unwrap_or(100);
        let _ = writeln!(
            out,
            "{}: {exercised} of {total} branches exercised ({percent}%)",
            self.policy.display()
        );
        let mut area = "";
        for b in &self.branches {
            if b.area != area {
                area = &b.area;
                let _ = writeln!(out, "  {area}");
            }
            let hits = match b.hits {
                0 => "    -".to_string(),
                n => format!("{n:>5}"),
            };
            let _ = writeln!(out, "  {hits}  {}", b.branch);
        }
        let missed: Vec<&Branch> = self.branches.iter().filter(|b| b.hits == 0).collect();
        if !missed.is_empty() {
            out.push_str("  never exercised:\n");
            let file = self.policy.display();
            for b in missed {
                let at = b.line.map_or(String::new(), |l| format!(":{l}"));
                let _ = writeln!(out, "    {file}{at}  {}: {}", b.area, b.branch);
            }
        }
        out
    }
}

/// The coverage of every policy the reports ran against, in the order
/// first met: each policy's branches counted over all its scenarios.
/// Reports whose policy did not check add nothing.
pub fn of_reports(reports: &[super::Report]) -> Vec<Coverage> {
    let mut found: Vec<Coverage> = Vec::new();
    for report in reports {
        let (Some(path), Some(engine)) = (&report.policy, &report.engine) else {
            continue;
        };
        let index = match found.iter().position(|c| &c.policy == path) {
            Some(index) => index,
            None => {
                let source = std::fs::read_to_string(path).unwrap_or_default();
                found.push(Coverage::new(path, engine.policy(), &source));
                found.len() - 1
            }
        };
        found[index].record(&report.decisions);
    }
    found
}

fn steps(d: &Decision) -> impl Iterator<Item = &Rule> {
    d.explanation.iter().flat_map(|e| e.steps.iter())
}

//! Synthetic tenants, for benchmarks and load tests: a policy of any size
//! that checks clean, built from a few parameters.
//!
//! Not part of the library: the benches and tests that use it include this
//! file by path (`#[path = "../tests/common/synth.rs"] mod synth;`).

// Each bench and test uses only some of it.
#![allow(dead_code)]

use std::fmt::Write as _;

/// The size of a synthetic tenant.
#[derive(Clone, Copy, Debug)]
pub struct Size {
    pub inboxes: usize,
    pub agents: usize,
    pub numbers: usize,
}

impl Size {
    /// The size the performance targets are stated for.
    pub const LARGE: Size = Size {
        inboxes: 1_000,
        agents: 5_000,
        numbers: 2_000,
    };
}

/// Agents per team.
const TEAM_SIZE: usize = 25;

/// The business number with index `i`.
pub fn number(i: usize) -> String {
    format!("+1415{:07}", i)
}

/// Agent `i`'s name.
pub fn agent(i: usize) -> String {
    format!("agent_{i}")
}

/// Inbox `i`'s name.
pub fn inbox(i: usize) -> String {
    format!("inbox_{i}")
}

/// A policy with `size.inboxes` inboxes (a tenth direct, a third queues of
/// which half keyword queues, the rest shared), `size.agents` agents in teams
/// of 25, and `size.numbers` numbers spread over the inboxes.
pub fn tenant(size: Size) -> String {
    let teams = size.agents.div_ceil(TEAM_SIZE).max(1);
    let mut p = String::with_capacity(size.agents * 40 + size.inboxes * 200);
    p.push_str(
        "tenant synth {\n  zone America/New_York\n  country US\n  statuses break restroom\n}\n\n",
    );
    p.push_str(
        "hours office {\n  mon-fri 09:00-17:00\n  sat 10:00-14:00\n  holiday 2026-12-25\n}\n\n",
    );
    p.push_str("template closed \"Thanks for texting {inbox}; we open {next_open}.\"\n\n");
    p.push_str("deflection {\n  hours office\n  message closed\n}\n\n");
    for i in 0..size.numbers {
        let _ = writeln!(p, "number {} {{ channels sms mms }}", number(i));
    }
    p.push('\n');
    for t in 0..teams {
        let _ = write!(p, "team team_{t} {{\n  members");
        for a in (t * TEAM_SIZE)..((t + 1) * TEAM_SIZE).min(size.agents) {
            let _ = write!(p, " {}", agent(a));
        }
        p.push_str("\n}\n");
    }
    p.push('\n');
    for a in 0..size.agents {
        let _ = writeln!(p, "agent {} {{ max_sessions 3 }}", agent(a));
    }
    p.push('\n');
    // Deal the numbers out round-robin, so every inbox gets one when there
    // are enough.
    let mut numbers_of = vec![Vec::new(); size.inboxes.max(1)];
    for n in 0..size.numbers {
        numbers_of[n % size.inboxes.max(1)].push(number(n));
    }
    for (i, numbers) in numbers_of.iter().enumerate().take(size.inboxes) {
        let numbers = if numbers.is_empty() {
            String::new()
        } else {
            format!("  numbers {}\n", numbers.join(" "))
        };
        let team = format!("team_{}", i % teams);
        let name = inbox(i);
        if i % 10 == 0 {
            let _ = writeln!(
                p,
                "inbox {name} direct {{\n{numbers}  agent {}\n}}",
                agent(i % size.agents.max(1))
            );
        } else if i % 3 == 0 {
            let keywords = if i % 2 == 0 {
                format!(
                    "  initiation_keyword JOIN{i}\n  initiation_message \"You're in.\"\n  initiation_needed \"Text JOIN{i} to start.\"\n  termination_keyword DONE{i}\n  termination_message \"Bye.\"\n  no_agents \"Nobody is free.\"\n"
                )
            } else {
                String::new()
            };
            let _ = writeln!(
                p,
                "inbox {name} queue {{\n{numbers}  teams {team}\n  max_sessions 2\n{keywords}}}"
            );
        } else {
            let _ = writeln!(
                p,
                "inbox {name} shared {{\n{numbers}  teams {team}\n  claim must\n  lock 30m\n  hours office\n  after_hours closed\n  autoresponder \"Thanks! We'll be right with you.\"\n}}"
            );
        }
    }
    p
}

/// A compiled synthetic tenant's shared-inbox numbers, sorted: the bulk of
/// its traffic, for benchmarks to send messages to.
pub fn shared_numbers(policy: &switchboard::Policy) -> Vec<String> {
    let mut numbers: Vec<String> = policy
        .numbers()
        .filter(|n| {
            n.inbox
                .is_some_and(|i| policy.inbox(i).kind == switchboard::vocab::InboxKind::Shared)
        })
        .map(|n| n.number.to_string())
        .collect();
    numbers.sort();
    numbers
}

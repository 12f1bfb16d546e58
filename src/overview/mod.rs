//! A tenant at a glance, for the admin who writes its policy: which number
//! routes to which inbox, who answers there, each direct number's effective
//! deflection and the level it comes from, a week of every schedule in
//! local time, and every message with sample placeholders filled.
//!
//! [`Overview::of`] reads a compiled [`Policy`] (nothing here decides);
//! [`Overview::text`] and [`Overview::mermaid`] draw it, and it serializes
//! as JSON. Messages are filled by the engine's own code, so they read as
//! a customer would get them.

mod mermaid;
mod text;
mod week;

pub use week::{monday_of, Day, Week};

use crate::engine::event::{Customer, Inbound};
use crate::engine::text::Fill;
use crate::policy::{Inbox, InboxId, Level, Policy, ScheduleId, Text};
use crate::vocab::{Channel, ClaimMode, InboxKind};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use smol_str::SmolStr;

/// The customer messages are shown to, in samples.
pub const SAMPLE_CUSTOMER: &str = "+15555550123";
/// Their name, where a message names them.
pub const SAMPLE_NAME: &str = "Sam";

/// Everything `switchboard show` prints.
#[derive(Clone, Debug, Serialize)]
pub struct Overview {
    pub tenant: TenantCard,
    /// The week the hours are shown for: Monday to Sunday.
    pub week: [NaiveDate; 2],
    pub numbers: Vec<NumberCard>,
    pub inboxes: Vec<InboxCard>,
    pub compliance: ComplianceCard,
}

#[derive(Clone, Debug, Serialize)]
pub struct TenantCard {
    pub name: String,
    pub display_name: String,
    pub zone: String,
    pub country: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct NumberCard {
    pub number: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub channels: Vec<Channel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub voice_queue: Option<String>,
    /// The inbox it routes to; `None`: declared but routed nowhere.
    pub inbox: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct InboxCard {
    pub name: String,
    pub kind: InboxKind,
    pub numbers: Vec<String>,
    /// The teams that answer it, with their members.
    pub teams: Vec<TeamCard>,
    /// Members named on the inbox itself, not through a team.
    pub agents: Vec<String>,
    pub claim: ClaimMode,
    /// How long a reply locks the conversation; `None`: no lock.
    pub lock_secs: Option<u64>,
    /// How long a claim lasts without a reply; `None`: until released.
    pub claim_lock_secs: Option<u64>,
    pub alert_secs: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direct: Option<DirectCard>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keywords: Option<KeywordsCard>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hooks: Vec<HookCard>,
    /// The inbox's own hours for the week; `None`: always open.
    pub hours: Option<Week>,
    /// Every message the inbox can send, with sample placeholders.
    pub messages: Vec<Message>,
}

#[derive(Clone, Debug, Serialize)]
pub struct TeamCard {
    pub name: String,
    pub agents: Vec<String>,
}

/// A direct number's agent and the deflection that applies to them.
#[derive(Clone, Debug, Serialize)]
pub struct DirectCard {
    pub agent: String,
    pub deflection: DeflectionCard,
}

#[derive(Clone, Debug, Serialize)]
pub struct DeflectionCard {
    pub on: bool,
    /// Where it comes from: the agent's own setting, a team's, or global.
    pub level: Level,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// The hours outside which it deflects, for the week.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hours: Option<Week>,
}

#[derive(Clone, Debug, Serialize)]
pub struct KeywordsCard {
    pub initiation: Vec<String>,
    pub termination: Vec<String>,
    /// Members' session capacities here; `None`: no limit.
    pub capacity: Vec<(String, Option<u32>)>,
    pub session_timeout_secs: Option<u64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct HookCard {
    pub point: &'static str,
    pub function: String,
}

/// One message, filled as the customer would read it.
#[derive(Clone, Debug, Serialize)]
pub struct Message {
    /// When it is sent: `after_hours`, `deflection`, `initiation`, ...
    pub when: &'static str,
    pub text: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct ComplianceCard {
    pub opt_out: Vec<String>,
    pub opt_in: Vec<String>,
    pub help: Vec<String>,
    pub replies: Vec<Message>,
    /// Phrases inside longer messages, and what each does.
    pub revocations: Vec<(String, crate::vocab::RevocationAction)>,
}

impl Overview {
    /// The tenant as `policy` has it, with hours for the week holding `day`
    /// (Monday to Sunday).
    pub fn of(policy: &Policy, day: NaiveDate) -> Overview {
        let week = week::monday_of(day);
        let t = policy.tenant();
        let mut numbers: Vec<NumberCard> = policy
            .numbers()
            .map(|n| NumberCard {
                number: n.number.to_string(),
                label: n.label.clone(),
                channels: n.channels.clone(),
                voice_queue: n.voice_queue.clone(),
                inbox: n.inbox.map(|i| policy.inbox(i).name.to_string()),
            })
            .collect();
        numbers.sort_by(|a, b| a.number.cmp(&b.number));
        let inboxes = policy
            .inboxes()
            .iter()
            .enumerate()
            .map(|(i, inbox)| inbox_card(policy, InboxId(i as u32), inbox, week))
            .collect();
        let c = policy.compliance();
        let sample = sample_message(policy, None, week::start(policy, None, week));
        let fill = Fill::reply(policy, &sample, None);
        let compliance = ComplianceCard {
            opt_out: c.opt_out.clone(),
            opt_in: c.opt_in.clone(),
            help: c.help.clone(),
            replies: vec![
                message("opt_out_reply", fill.render(&c.opt_out_reply)),
                message("opt_in_reply", fill.render(&c.opt_in_reply)),
                message("help_reply", fill.render(&c.help_reply)),
            ],
            revocations: c
                .revocations
                .iter()
                .map(|r| (r.phrase.clone(), r.action))
                .collect(),
        };
        Overview {
            tenant: TenantCard {
                name: t.name.to_string(),
                display_name: t.display_name.to_string(),
                zone: t.zone.name().to_string(),
                country: t.country.clone(),
            },
            week: [
                week,
                week.checked_add_days(chrono::Days::new(6)).unwrap_or(week),
            ],
            numbers,
            inboxes,
            compliance,
        }
    }

    /// The date it is at `now` in the tenant's zone: the week an overview
    /// shows when none is asked for.
    pub fn today(policy: &Policy, now: DateTime<Utc>) -> NaiveDate {
        now.with_timezone(&policy.tenant().zone).date_naive()
    }

    /// As people read it.
    pub fn text(&self) -> String {
        text::render(self)
    }

    /// The routing map as a Mermaid flowchart.
    pub fn mermaid(&self) -> String {
        mermaid::render(self)
    }
}

fn inbox_card(policy: &Policy, id: InboxId, inbox: &Inbox, week: NaiveDate) -> InboxCard {
    let name_of = |a: crate::policy::AgentId| policy.agent(a).name.to_string();
    let teams: Vec<TeamCard> = inbox
        .teams
        .iter()
        .map(|&t| {
            let team = &policy.teams()[t.0 as usize];
            TeamCard {
                name: team.name.to_string(),
                agents: team.members.iter().map(|&a| name_of(a)).collect(),
            }
        })
        .collect();
    let through_teams = |a: &crate::policy::AgentId| {
        inbox
            .teams
            .iter()
            .any(|&t| policy.teams()[t.0 as usize].members.contains(a))
    };
    let agents = inbox
        .members
        .iter()
        .filter(|a| !through_teams(a) && Some(**a) != inbox.agent)
        .map(|&a| name_of(a))
        .collect();
    let hours = inbox.hours.map(|s| Week::of(policy.schedule(s), week));

    // Samples: the customer texts the inbox's first number, the agent is the
    // direct number's own (or the first member).
    let shown_agent = inbox.agent.or(inbox.members.first().copied()).map(|a| {
        let agent = policy.agent(a);
        agent.display_name.clone().unwrap_or(agent.name.to_string())
    });
    let closed_at = |s: Option<ScheduleId>| week::start(policy, s, week);
    let filled = |text: &Text, hours: Option<ScheduleId>, agent: Option<&str>| {
        let at = closed_at(hours);
        let sample = sample_message(policy, inbox.numbers.first(), at);
        let next_open = hours.and_then(|s| {
            let schedule = policy.schedule(s);
            schedule.next_open(at).map(|n| (n, schedule.zone))
        });
        Fill {
            agent,
            next_open,
            ..Fill::reply(policy, &sample, Some(inbox))
        }
        .render(text)
    };

    let mut messages = Vec::new();
    let direct = inbox.agent.map(|a| {
        let agent = policy.agent(a);
        let d = &agent.deflection;
        if let Some(rule) = &d.rule {
            let text = filled(&rule.message, Some(rule.hours), shown_agent.as_deref());
            messages.push(message("deflection", text));
        }
        DirectCard {
            agent: agent.name.to_string(),
            deflection: DeflectionCard {
                on: d.rule.is_some(),
                level: d.level,
                team: d
                    .team
                    .map(|t| policy.teams()[t.0 as usize].name.to_string()),
                hours: d
                    .rule
                    .as_ref()
                    .map(|r| Week::of(policy.schedule(r.hours), week)),
            },
        }
    });
    if let Some(text) = &inbox.autoresponder {
        messages.push(message("autoresponder", filled(text, None, None)));
    }
    if let Some(text) = &inbox.after_hours {
        messages.push(message("after_hours", filled(text, inbox.hours, None)));
    }
    let keywords = inbox.keywords.as_ref().map(|k| {
        let agent = shown_agent.as_deref();
        messages.push(message(
            "initiation",
            filled(&k.initiation_message, None, agent),
        ));
        messages.push(message(
            "initiation_needed",
            filled(&k.initiation_needed, None, None),
        ));
        if let Some(text) = &k.termination_message {
            messages.push(message("termination", filled(text, None, agent)));
        }
        messages.push(message("no_agents", filled(&k.no_agents, None, None)));
        KeywordsCard {
            initiation: k.initiation.clone(),
            termination: k.termination.clone(),
            capacity: inbox
                .members
                .iter()
                .map(|&a| (name_of(a), policy.max_sessions(a, id)))
                .collect(),
            session_timeout_secs: inbox.session_timeout_secs,
        }
    });
    InboxCard {
        name: inbox.name.to_string(),
        kind: inbox.kind,
        numbers: inbox.numbers.clone(),
        teams,
        agents,
        claim: inbox.claim,
        lock_secs: inbox.lock_secs,
        claim_lock_secs: inbox.claim_lock_secs,
        alert_secs: inbox.alert_secs,
        direct,
        keywords,
        hooks: inbox
            .hooks
            .iter()
            .map(|(point, function)| HookCard {
                point: point.as_str(),
                function: function.clone(),
            })
            .collect(),
        hours,
        messages,
    }
}

fn message(when: &'static str, text: SmolStr) -> Message {
    Message {
        when,
        text: text.into(),
    }
}

/// The customer's sample message to `to` (or to no number) at `at`.
fn sample_message(policy: &Policy, to: Option<&String>, at: DateTime<Utc>) -> Inbound {
    let to = to
        .cloned()
        .or_else(|| policy.numbers().map(|n| n.number.to_string()).min())
        .unwrap_or_default();
    Inbound {
        at,
        from: SAMPLE_CUSTOMER.into(),
        to: to.into(),
        body: String::new(),
        channel: Channel::Sms,
        customer: Customer {
            name: Some(SAMPLE_NAME.into()),
            ..Customer::default()
        },
        message_id: None,
    }
}

//! Assembles the compiled [`Policy`] from an AST the checker found no errors
//! in. Nothing here reports: every name resolves by now.

use super::names::Symbols;
use crate::policy::dates::Dates;
use crate::policy::{
    defaults, Agent, AgentId, Compliance, Deflection, DeflectionRule, Inbox, InboxId, Keywords,
    Level, Number, Policy, Schedule, ScheduleId, StatusId, Team, TeamId, Tenant, Text, OFFLINE,
    ON_CALL,
};
use crate::syntax::ast::{self, ClaimMode, Clock, HoursRule, InboxKind, Message};
use chrono::NaiveDate;
use chrono_tz::Tz;
use smol_str::SmolStr;
use std::cell::RefCell;
use std::collections::HashMap;

pub(super) fn build(
    ast: &ast::Policy,
    symbols: &Symbols<'_>,
    compliance: Compliance,
    hooks: Option<std::sync::Arc<crate::hooks::Hooks>>,
) -> Policy {
    let b = PolicyBuilder {
        ast,
        symbols,
        dates: RefCell::default(),
    };
    let tenant = b.tenant();
    let mut policy = Policy::empty(tenant, compliance);
    policy.statuses = symbols.statuses.iter().map(|s| s.to_string()).collect();
    policy.schedules = ast
        .hours
        .iter()
        .map(|h| b.schedule(h, policy.tenant.zone))
        .collect();
    policy.teams = ast
        .teams
        .iter()
        .enumerate()
        .map(|(i, t)| b.team(i, t))
        .collect();
    policy.agents = ast
        .agents
        .iter()
        .enumerate()
        .map(|(i, a)| b.agent(i, a, &policy.statuses))
        .collect();
    policy.inboxes = ast
        .inboxes
        .iter()
        .map(|i| b.inbox(i, &policy.teams, &policy.agents))
        .collect();
    let mut inbox_of = std::collections::HashMap::new();
    for (i, inbox) in ast.inboxes.iter().enumerate() {
        for n in &inbox.numbers {
            inbox_of.insert(n.value.as_str(), InboxId(i as u32));
        }
    }
    for number in &ast.numbers {
        let inbox = inbox_of.get(number.number.value.as_str()).copied();
        policy.numbers.insert(
            number.number.value.clone(),
            Number {
                number: number.number.value.as_str().into(),
                label: number.label.as_ref().map(|l| l.value.clone()),
                channels: number.channels.iter().map(|c| c.value).collect(),
                voice_queue: number.voice_queue.as_ref().map(|v| v.value.clone()),
                inbox,
            },
        );
    }
    if let Some(hooks) = &hooks {
        hooks.set_names(
            policy
                .inboxes
                .iter()
                .map(|i| (i.name.as_str(), i.kind, &i.member_names[..])),
            policy.statuses.iter().map(String::as_str),
        );
    }
    policy.hooks = hooks;
    policy.index_names();
    policy
}

struct PolicyBuilder<'a> {
    ast: &'a ast::Policy,
    symbols: &'a Symbols<'a>,
    /// Date formats by language and clock, built once each.
    dates: RefCell<HashMap<(String, Option<Clock>), Dates>>,
}

impl PolicyBuilder<'_> {
    fn tenant(&self) -> Tenant {
        let t = self.ast.tenant.as_ref();
        Tenant {
            name: t.map_or_else(SmolStr::default, |t| t.name.value.as_str().into()),
            display_name: t
                .and_then(|t| {
                    t.display_name
                        .as_ref()
                        .map(|n| n.value.as_str())
                        .or(Some(t.name.value.as_str()))
                })
                .map_or_else(SmolStr::default, SmolStr::new),
            zone: t
                .and_then(|t| t.zone.as_ref())
                .and_then(|z| z.value.parse().ok())
                .unwrap_or(Tz::UTC),
            country: t
                .and_then(|t| t.country.as_ref())
                .map_or_else(String::new, |c| c.value.clone()),
            sms: t.and_then(|t| t.sms.as_ref()).is_none_or(|s| s.value),
            missed_chat_threshold: t
                .and_then(|t| t.missed_chat_threshold.as_ref())
                .map_or(defaults::MISSED_CHAT_THRESHOLD, |n| n.value),
            unresponsive_threshold: t
                .and_then(|t| t.unresponsive_threshold.as_ref())
                .map_or(defaults::UNRESPONSIVE_THRESHOLD, |n| n.value),
        }
    }

    fn schedule(&self, hours: &ast::Hours, tenant_zone: Tz) -> Schedule {
        let zone = hours
            .zone
            .as_ref()
            .and_then(|z| z.value.parse().ok())
            .unwrap_or(tenant_zone);
        let mut schedule = Schedule::new(hours.name.value.clone(), zone);
        // A calendar's days, but for those the hours give themselves.
        let own = |date: NaiveDate| {
            hours.rules.iter().any(|r| match r {
                HoursRule::Holiday { date: d, .. } | HoursRule::Special { date: d, .. } => {
                    d.value == date
                }
                _ => false,
            })
        };
        let calendars = hours.rules.iter().filter_map(|r| match r {
            HoursRule::Calendar(name) => self
                .ast
                .holidays
                .iter()
                .find(|h| h.name.value == name.value),
            _ => None,
        });
        for calendar in calendars {
            for day in &calendar.days {
                match day {
                    HoursRule::Holiday { date, label } if !own(date.value) => {
                        schedule.add_dated(date.value, &[]);
                        schedule.note(date.value, holiday_note(label));
                    }
                    HoursRule::Special { date, intervals } if !own(date.value) => {
                        let intervals: Vec<_> = intervals.iter().map(|i| i.value).collect();
                        schedule.add_dated(date.value, &intervals);
                        schedule.note(date.value, "special hours".into());
                    }
                    _ => {}
                }
            }
        }
        for rule in &hours.rules {
            match rule {
                HoursRule::Weekly { days, intervals } => {
                    for i in intervals {
                        schedule.add_weekly(days.value, i.value);
                    }
                }
                HoursRule::Always(_) => schedule.set_always(),
                HoursRule::Holiday { date, label } => {
                    schedule.add_dated(date.value, &[]);
                    schedule.note(date.value, holiday_note(label));
                }
                HoursRule::Special { date, intervals } => {
                    let intervals: Vec<_> = intervals.iter().map(|i| i.value).collect();
                    schedule.add_dated(date.value, &intervals);
                    schedule.note(date.value, "special hours".into());
                }
                HoursRule::Calendar(_) => {}
            }
        }
        schedule
    }

    /// The inbox's date formats: its language or the tenant's, on its
    /// clock or the tenant's. A tag the checker took always has them (CLDR
    /// falls back to the language's root data).
    fn dates(&self, inbox: &ast::Inbox) -> Option<Dates> {
        let tenant = self.ast.tenant.as_ref();
        let language = inbox
            .language
            .as_ref()
            .or_else(|| tenant.and_then(|t| t.language.as_ref()))?;
        let clock = inbox
            .clock
            .as_ref()
            .or_else(|| tenant.and_then(|t| t.clock.as_ref()))
            .map(|c| c.value);
        let key = (language.value.clone(), clock);
        let mut made = self.dates.borrow_mut();
        if let Some(dates) = made.get(&key) {
            return Some(dates.clone());
        }
        let dates = Dates::new(&language.value, clock).ok()?;
        made.insert(key, dates.clone());
        Some(dates)
    }

    fn agent_id(&self, name: &str) -> AgentId {
        AgentId(self.symbols.agents[name] as u32)
    }

    fn team_id(&self, name: &str) -> TeamId {
        TeamId(self.symbols.teams[name] as u32)
    }

    fn schedule_id(&self, name: &str) -> ScheduleId {
        ScheduleId(self.symbols.hours[name] as u32)
    }

    /// A team's members: those it lists and those who list it.
    fn team(&self, index: usize, team: &ast::Team) -> Team {
        Team {
            name: team.name.value.as_str().into(),
            members: self.symbols.team_members[index]
                .iter()
                .map(|&a| AgentId(a as u32))
                .collect(),
        }
    }

    fn agent(&self, index: usize, agent: &ast::Agent, statuses: &[String]) -> Agent {
        let teams: Vec<TeamId> = self.symbols.agent_teams[index]
            .iter()
            .map(|&t| TeamId(t as u32))
            .collect();
        let accepts = match &agent.accepts {
            Some(list) => list.iter().fold(0u64, |bits, s| {
                let id = statuses.iter().position(|x| *x == s.value).unwrap_or(64);
                bits | 1u64.checked_shl(id as u32).unwrap_or(0)
            }),
            // Ready and every custom status; never on a call, never offline.
            None => (0..statuses.len().min(64))
                .map(|i| StatusId(i as u32))
                .filter(|s| *s != ON_CALL && *s != OFFLINE)
                .fold(0u64, |bits, s| bits | 1 << s.0),
        };
        Agent {
            name: agent.name.value.as_str().into(),
            display_name: agent.display_name.as_ref().map(|n| n.value.clone()),
            deflection: self.deflection_for(agent, &teams),
            teams,
            accepts,
            max_sessions: agent.max_sessions.as_ref().map(|m| m.value),
            queue_max_sessions: agent
                .queue_max_sessions
                .iter()
                .map(|(q, n)| {
                    (
                        InboxId(self.symbols.inboxes[q.value.as_str()] as u32),
                        n.value,
                    )
                })
                .collect(),
            edit_deflection: agent.edit_deflection.as_ref().is_some_and(|e| e.value),
        }
    }

    /// Resolves user → team → global. Among several teams, the first (in
    /// declaration order) that sets a deflection decides.
    fn deflection_for(&self, agent: &ast::Agent, teams: &[TeamId]) -> Deflection {
        let own = agent.deflection.as_ref().map(|d| &d.value);
        if let Some(d) = own.filter(|d| **d != ast::Deflection::Inherit) {
            return Deflection {
                level: Level::Agent,
                team: None,
                rule: self.rule(d),
            };
        }
        for team in teams {
            let decl = &self.ast.teams[team.index()];
            if let Some(d) = decl.deflection.as_ref().map(|d| &d.value) {
                if *d != ast::Deflection::Inherit {
                    return Deflection {
                        level: Level::Team,
                        team: Some(*team),
                        rule: self.rule(d),
                    };
                }
            }
        }
        Deflection {
            level: Level::Global,
            team: None,
            rule: self
                .ast
                .deflection
                .as_ref()
                .and_then(|d| self.rule(&d.value)),
        }
    }

    fn rule(&self, deflection: &ast::Deflection) -> Option<DeflectionRule> {
        match deflection {
            ast::Deflection::On {
                hours: Some(hours),
                message: Some(message),
            } => Some(DeflectionRule {
                hours: self.schedule_id(&hours.value),
                message: self.text(message),
            }),
            _ => None,
        }
    }

    fn text(&self, message: &Message) -> Text {
        match message {
            Message::Text(t) => Text::parse(&t.value),
            Message::Template(name) => Text::parse(
                &self.ast.templates[self.symbols.templates[name.value.as_str()]]
                    .text
                    .value,
            ),
        }
    }

    fn inbox(&self, inbox: &ast::Inbox, teams: &[Team], agents: &[Agent]) -> Inbox {
        let team_ids: Vec<TeamId> = inbox.teams.iter().map(|t| self.team_id(&t.value)).collect();
        let agent = inbox.agent.as_ref().map(|a| self.agent_id(&a.value));
        let mut members: Vec<AgentId> = inbox
            .agents
            .iter()
            .map(|a| self.agent_id(&a.value))
            .collect();
        members.extend(
            team_ids
                .iter()
                .flat_map(|t| teams[t.index()].members.iter().copied()),
        );
        members.extend(agent);
        members.sort_unstable();
        members.dedup();
        let text = |m: &Option<Message>| m.as_ref().map(|m| self.text(m));
        let keywords = (!inbox.initiation_keywords.is_empty()).then(|| Keywords {
            initiation: inbox
                .initiation_keywords
                .iter()
                .map(|k| k.value.clone())
                .collect(),
            initiation_message: text(&inbox.initiation_message).unwrap_or_else(|| Text::parse("")),
            initiation_needed: text(&inbox.initiation_needed).unwrap_or_else(|| Text::parse("")),
            termination: inbox
                .termination_keywords
                .iter()
                .map(|k| k.value.clone())
                .collect(),
            termination_message: text(&inbox.termination_message),
            no_agents: text(&inbox.no_agents).unwrap_or_else(|| Text::parse("")),
        });
        Inbox {
            name: inbox.name.value.as_str().into(),
            display_name: inbox.display_name.as_ref().map(|n| n.value.clone()),
            dates: self.dates(inbox),
            kind: inbox.kind.value,
            numbers: inbox.numbers.iter().map(|n| n.value.clone()).collect(),
            member_names: members
                .iter()
                .map(|a| agents[a.index()].name.clone())
                .collect(),
            members,
            teams: team_ids,
            agent,
            hours: inbox.hours.as_ref().map(|h| self.schedule_id(&h.value)),
            after_hours: text(&inbox.after_hours),
            claim: inbox.claim.as_ref().map_or(
                match inbox.kind.value {
                    InboxKind::Shared => ClaimMode::Can,
                    _ => ClaimMode::Cannot,
                },
                |c| c.value,
            ),
            lock_secs: match &inbox.lock {
                None => Some(defaults::LOCK_SECS),
                Some(lock) => lock.value.map(|d| d.0),
            },
            claim_lock_secs: inbox.lock.as_ref().and_then(|l| l.value.map(|d| d.0)),
            autoresponder: text(&inbox.autoresponder),
            bot: inbox.bot.as_ref().map(|b| b.value.clone()),
            copy_team: inbox.copy_team.as_ref().is_some_and(|c| c.value),
            alert_secs: inbox
                .alerts
                .as_ref()
                .map_or(defaults::ALERT_SECS, |d| d.value.0),
            keywords,
            max_sessions: inbox.max_sessions.as_ref().map(|m| m.value),
            session_timeout_secs: inbox.session_timeout.as_ref().map(|d| d.value.0),
            hooks: inbox
                .hooks
                .iter()
                .map(|h| (h.point.value, h.function.value.clone()))
                .collect(),
        }
    }
}

/// How a holiday is named where hours are shown: `holiday Thanksgiving`.
fn holiday_note(label: &Option<crate::diag::Spanned<String>>) -> String {
    match label {
        Some(label) => format!("holiday {}", label.value),
        None => "holiday".into(),
    }
}

//! The compiled policy: everything a decision needs, resolved and indexed.
//!
//! Names are replaced by dense ids (`AgentId`, `InboxId`, ...), numbers map
//! straight to their inbox, and each agent's deflection is resolved through
//! user → team → global once, here, rather than on every message.

pub mod compliance;
pub mod dates;
pub mod hours;
pub mod text;

pub use compliance::Compliance;
pub use hours::Schedule;
pub use text::Text;

use crate::diag::Diagnostics;
use crate::vocab::{Channel, ClaimMode, HookPoint, InboxKind};
use chrono_tz::Tz;
use serde::Serialize;
use smol_str::SmolStr;

/// The policy's lookups by name hash with foldhash: a decision asks them
/// for every number, agent and inbox it names, and SipHash (the default,
/// whose flood resistance a compiled policy's own names do not need) was
/// most of that.
pub type Map<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

macro_rules! id {
    ($name:ident) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        pub struct $name(pub u32);

        impl $name {
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }
    };
}

id!(AgentId);
id!(TeamId);
id!(InboxId);
id!(ScheduleId);
id!(StatusId);

/// The built-in statuses come first: ready, on_call, offline.
pub const READY: StatusId = StatusId(0);
pub const ON_CALL: StatusId = StatusId(1);
pub const OFFLINE: StatusId = StatusId(2);

/// A tenant's policy, compiled and ready to decide. Read through its
/// methods; only the checker builds one.
///
/// ```
/// let policy = switchboard::compile(
///     "tenant dental { zone America/Denver; country US }\n\
///      number +13035550100\nagent ana\nagent ben\n\
///      inbox front shared { numbers +13035550100; agents ana, ben; claim must }",
/// )
/// .unwrap();
/// assert_eq!(policy.tenant().zone, chrono_tz::America::Denver);
/// let front = policy.inbox_for_number("+13035550100").unwrap();
/// assert_eq!(policy.inbox(front).name, "front");
/// let members: Vec<&str> = policy.inbox(front).members.iter()
///     .map(|&a| policy.agent(a).name.as_str())
///     .collect();
/// assert_eq!(members, ["ana", "ben"]);
/// assert_eq!(policy.inboxes().len(), 1);
/// assert!(policy.warnings().items.is_empty());
/// ```
#[derive(Debug)]
pub struct Policy {
    pub(crate) tenant: Tenant,
    pub(crate) statuses: Vec<String>,
    pub(crate) agents: Vec<Agent>,
    pub(crate) teams: Vec<Team>,
    pub(crate) inboxes: Vec<Inbox>,
    pub(crate) schedules: Vec<Schedule>,
    /// Every declared number, by its E.164 text.
    pub(crate) numbers: Map<String, Number>,
    pub(crate) compliance: Compliance,
    /// The tenant's compiled hook script, if it has one.
    pub(crate) hooks: Option<std::sync::Arc<crate::hooks::Hooks>>,
    /// Warnings the checker found; a policy with errors does not compile.
    pub(crate) warnings: Diagnostics,
    names: Names,
}

#[derive(Debug, Default)]
struct Names {
    agents: Map<String, AgentId>,
    teams: Map<String, TeamId>,
    inboxes: Map<String, InboxId>,
    statuses: Map<String, StatusId>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Tenant {
    pub name: SmolStr,
    /// How messages name the business; the tenant's name if not set.
    pub display_name: SmolStr,
    pub zone: Tz,
    pub country: String,
    pub sms: bool,
    pub missed_chat_threshold: u32,
    pub unresponsive_threshold: u32,
}

#[derive(Clone, Debug, Serialize)]
pub struct Number {
    pub number: SmolStr,
    pub label: Option<String>,
    pub channels: Vec<Channel>,
    pub voice_queue: Option<String>,
    pub inbox: Option<InboxId>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Team {
    pub name: SmolStr,
    pub members: Vec<AgentId>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Agent {
    pub name: SmolStr,
    pub display_name: Option<String>,
    pub teams: Vec<TeamId>,
    /// Bit `n` set: the agent may accept new conversations in status `n`.
    pub accepts: u64,
    /// Max sessions per queue where the queue sets none of its own for them.
    pub max_sessions: Option<u32>,
    pub queue_max_sessions: Vec<(InboxId, u32)>,
    pub deflection: Deflection,
    pub edit_deflection: bool,
}

impl Agent {
    pub fn accepts(&self, status: StatusId) -> bool {
        status.0 < 64 && self.accepts & (1 << status.0) != 0
    }
}

/// Where an effective deflection came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Global,
    Team,
    Agent,
}

/// An agent's effective after-hours deflection, resolved user → team → global.
#[derive(Clone, Debug, Serialize)]
pub struct Deflection {
    /// The level that decided.
    pub level: Level,
    /// The team whose setting applied, when `level` is `Team`.
    pub team: Option<TeamId>,
    /// `None`: deflection is off.
    pub rule: Option<DeflectionRule>,
}

#[derive(Clone, Debug, Serialize)]
pub struct DeflectionRule {
    pub hours: ScheduleId,
    pub message: Text,
}

#[derive(Clone, Debug, Serialize)]
pub struct Inbox {
    pub name: SmolStr,
    /// How messages name the inbox (`{inbox}`), if not by its name.
    pub display_name: Option<String>,
    /// How its messages write dates and times: its language (or the
    /// tenant's); `None`: the built-in English form.
    pub dates: Option<dates::Dates>,
    pub kind: InboxKind,
    pub numbers: Vec<String>,
    /// Every agent who sees the inbox's conversations, sorted.
    pub members: Vec<AgentId>,
    /// Their names, in the same order.
    pub member_names: std::sync::Arc<[SmolStr]>,
    pub teams: Vec<TeamId>,
    /// A direct inbox's agent.
    pub agent: Option<AgentId>,
    pub hours: Option<ScheduleId>,
    pub after_hours: Option<Text>,
    pub claim: ClaimMode,
    /// How long a reply locks the conversation; `None`: replies take no lock.
    pub lock_secs: Option<u64>,
    /// How long a claim lasts without a reply from its owner: the inbox's
    /// `lock` when the policy writes one out (not the default). `None`: a
    /// claim lasts until it is released.
    pub claim_lock_secs: Option<u64>,
    pub autoresponder: Option<Text>,
    pub bot: Option<String>,
    pub copy_team: bool,
    pub alert_secs: u64,
    pub keywords: Option<Keywords>,
    /// A member's max sessions here, unless the agent sets their own.
    pub max_sessions: Option<u32>,
    pub session_timeout_secs: Option<u64>,
    pub hooks: Vec<(HookPoint, String)>,
}

impl Inbox {
    /// How messages name the inbox: its display name, else its name.
    pub fn shown_name(&self) -> &str {
        self.display_name.as_deref().unwrap_or(&self.name)
    }
}

/// A keyword queue's words and messages.
#[derive(Clone, Debug, Serialize)]
pub struct Keywords {
    pub initiation: Vec<String>,
    pub initiation_message: Text,
    pub initiation_needed: Text,
    pub termination: Vec<String>,
    pub termination_message: Option<Text>,
    pub no_agents: Text,
}

/// Defaults the articles give.
pub mod defaults {
    /// Team SMS "agent assignment time limit".
    pub const LOCK_SECS: u64 = 30 * 60;
    /// Texting queues alert agents for 14 days.
    pub const ALERT_SECS: u64 = 14 * 24 * 3600;
    pub const MISSED_CHAT_THRESHOLD: u32 = 2;
    pub const UNRESPONSIVE_THRESHOLD: u32 = 2;
}

impl Policy {
    /// The `tenant` block: name, zone, country and thresholds.
    pub fn tenant(&self) -> &Tenant {
        &self.tenant
    }

    /// Every agent, in declaration order (`AgentId` indexes it).
    pub fn agents(&self) -> &[Agent] {
        &self.agents
    }

    /// Every team, in declaration order.
    pub fn teams(&self) -> &[Team] {
        &self.teams
    }

    /// Every inbox, in declaration order (`InboxId` indexes it).
    pub fn inboxes(&self) -> &[Inbox] {
        &self.inboxes
    }

    /// Every declared number, with its label.
    pub fn numbers(&self) -> impl Iterator<Item = &Number> {
        self.numbers.values()
    }

    /// The agent statuses: the built-in ones first, then the tenant's.
    pub fn statuses(&self) -> &[String] {
        &self.statuses
    }

    /// The opt-out, opt-in and help words and replies.
    pub fn compliance(&self) -> &Compliance {
        &self.compliance
    }

    /// The tenant's compiled hook script, if it has one.
    pub fn hooks(&self) -> Option<&std::sync::Arc<crate::hooks::Hooks>> {
        self.hooks.as_ref()
    }

    /// Warnings the checker found; a policy with errors does not compile.
    pub fn warnings(&self) -> &Diagnostics {
        &self.warnings
    }

    pub fn agent_id(&self, name: &str) -> Option<AgentId> {
        self.names.agents.get(name).copied()
    }

    pub fn team_id(&self, name: &str) -> Option<TeamId> {
        self.names.teams.get(name).copied()
    }

    pub fn inbox_id(&self, name: &str) -> Option<InboxId> {
        self.names.inboxes.get(name).copied()
    }

    pub fn status_id(&self, name: &str) -> Option<StatusId> {
        self.names.statuses.get(name).copied()
    }

    pub fn agent(&self, id: AgentId) -> &Agent {
        &self.agents[id.index()]
    }

    pub fn inbox(&self, id: InboxId) -> &Inbox {
        &self.inboxes[id.index()]
    }

    pub fn schedule(&self, id: ScheduleId) -> &Schedule {
        &self.schedules[id.index()]
    }

    /// An agent's max concurrent sessions in a queue: their own limit for
    /// that queue, else the queue's, else their default. `None`: no limit.
    pub fn max_sessions(&self, agent: AgentId, inbox: InboxId) -> Option<u32> {
        let a = self.agent(agent);
        a.queue_max_sessions
            .iter()
            .find(|(q, _)| *q == inbox)
            .map(|(_, n)| *n)
            .or(self.inbox(inbox).max_sessions)
            .or(a.max_sessions)
    }

    /// The inbox a business number routes to.
    pub fn inbox_for_number(&self, number: &str) -> Option<InboxId> {
        self.numbers.get(number).and_then(|n| n.inbox)
    }

    /// Builds the name indexes; the checker calls this once it has filled in
    /// the rest.
    pub(crate) fn index_names(&mut self) {
        self.names = Names {
            agents: enumerate(&self.agents, |a| a.name.as_str(), AgentId),
            teams: enumerate(&self.teams, |t| t.name.as_str(), TeamId),
            inboxes: enumerate(&self.inboxes, |i| i.name.as_str(), InboxId),
            statuses: enumerate(&self.statuses, |s| s.as_str(), StatusId),
        };
    }

    pub(crate) fn empty(tenant: Tenant, compliance: Compliance) -> Policy {
        Policy {
            tenant,
            statuses: Vec::new(),
            agents: Vec::new(),
            teams: Vec::new(),
            inboxes: Vec::new(),
            schedules: Vec::new(),
            numbers: Map::default(),
            compliance,
            hooks: None,
            warnings: Diagnostics::default(),
            names: Names::default(),
        }
    }
}

fn enumerate<T, I>(
    items: &[T],
    name: impl Fn(&T) -> &str,
    id: impl Fn(u32) -> I,
) -> Map<String, I> {
    items
        .iter()
        .enumerate()
        .map(|(i, item)| (name(item).to_string(), id(i as u32)))
        .collect()
}

//! The typed AST: a policy's declarations, each value parsed and spanned.
//!
//! Lowering (`super::lower`) builds this from the statement tree and reports
//! what is malformed in a single statement (a bad duration, an unknown
//! setting). What needs the whole policy (unknown names, a number in two
//! inboxes) is the checker's job (`crate::check`).

use crate::diag::{Span, Spanned};
use chrono::NaiveDate;
use serde::Serialize;

pub use crate::vocab::{
    Channel, ClaimMode, Clock, Days, HookPoint, InboxKind, Interval, RevocationAction,
};

pub type Name = Spanned<String>;

/// Agent statuses every tenant has; a tenant declares its own besides.
pub const BUILTIN_STATUSES: &[&str] = &["ready", "on_call", "offline"];

/// Everything one policy file declares.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Policy {
    pub tenant: Option<Tenant>,
    pub hours: Vec<Hours>,
    pub holidays: Vec<Holidays>,
    pub templates: Vec<Template>,
    pub numbers: Vec<NumberDecl>,
    pub teams: Vec<Team>,
    pub agents: Vec<Agent>,
    pub inboxes: Vec<Inbox>,
    /// The global after-hours deflection for direct numbers.
    pub deflection: Option<Spanned<Deflection>>,
    pub compliance: Option<Compliance>,
    pub hooks: Option<HookScript>,
    pub tables: Vec<Table>,
}

/// `tenant acme { zone ...; country US; ... }`
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Tenant {
    pub name: Name,
    /// How messages name the business (`{tenant}`).
    pub display_name: Option<Spanned<String>>,
    pub zone: Option<Spanned<String>>,
    pub country: Option<Spanned<String>>,
    pub sms: Option<Spanned<bool>>,
    /// Custom agent statuses, besides ready, on_call and offline.
    pub statuses: Vec<Name>,
    pub missed_chat_threshold: Option<Spanned<u32>>,
    pub unresponsive_threshold: Option<Spanned<u32>>,
    /// The language messages write dates in, unless an inbox says (BCP 47).
    pub language: Option<Spanned<String>>,
    /// 12- or 24-hour times, whatever the language's habit.
    pub clock: Option<Spanned<Clock>>,
    pub span: Span,
}

/// `hours office { mon-fri 09:00-17:00; holiday 2026-12-25 }`
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Hours {
    pub name: Name,
    pub zone: Option<Spanned<String>>,
    pub rules: Vec<HoursRule>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum HoursRule {
    /// Open on these days during these intervals.
    Weekly {
        days: Spanned<Days>,
        intervals: Vec<Spanned<Interval>>,
    },
    /// Open around the clock, every day.
    Always(Span),
    /// Closed all day on this date.
    Holiday {
        date: Spanned<NaiveDate>,
        label: Option<Spanned<String>>,
    },
    /// Open only during these intervals on this date.
    Special {
        date: Spanned<NaiveDate>,
        intervals: Vec<Spanned<Interval>>,
    },
    /// The holidays and special days of a named calendar.
    Calendar(Name),
}

/// `holidays us_office { holiday 2026-12-25 "Christmas Day" }`: dated days
/// declared once, for several `hours` blocks.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Holidays {
    pub name: Name,
    /// `Holiday` and `Special` rules only.
    pub days: Vec<HoursRule>,
    pub span: Span,
}

/// `template welcome "Hi {customer_name}!"`
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Template {
    pub name: Name,
    pub text: Spanned<String>,
    pub span: Span,
}

/// A message: a template's name or the text itself.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Message {
    Template(Name),
    Text(Spanned<String>),
}

impl Message {
    pub fn span(&self) -> Span {
        match self {
            Message::Template(n) => n.span,
            Message::Text(t) => t.span,
        }
    }
}

/// `number +14155550100 { label "Main"; channels sms mms }`
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NumberDecl {
    /// In E.164 form.
    pub number: Spanned<String>,
    pub label: Option<Spanned<String>>,
    pub channels: Vec<Spanned<Channel>>,
    /// The voice/IVR queue that also answers this number, if any.
    pub voice_queue: Option<Spanned<String>>,
    pub span: Span,
}

/// `team sales { members alice bob; deflection inherit }`
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Team {
    pub name: Name,
    pub members: Vec<Name>,
    pub deflection: Option<Spanned<Deflection>>,
    pub span: Span,
}

/// `agent alice { teams sales; accepts ready break; max_sessions 3 }`
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Agent {
    pub name: Name,
    pub display_name: Option<Spanned<String>>,
    pub teams: Vec<Name>,
    /// Statuses in which the agent may accept new conversations.
    pub accepts: Option<Vec<Name>>,
    /// Max concurrent queue sessions, for every queue...
    pub max_sessions: Option<Spanned<u32>>,
    /// ...or for one queue.
    pub queue_max_sessions: Vec<(Name, Spanned<u32>)>,
    pub deflection: Option<Spanned<Deflection>>,
    /// Whether the agent may edit their own deflection.
    pub edit_deflection: Option<Spanned<bool>>,
    pub span: Span,
}

/// After-hours deflection at one level (global, team or agent).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Deflection {
    /// Use the level above ("reset to global").
    Inherit,
    /// No deflection at this level, whatever the level above says.
    Off,
    On {
        hours: Option<Name>,
        message: Option<Message>,
    },
}

/// A keyword as customers type it, normalised to upper case with single
/// spaces.
pub type Keyword = Spanned<String>;

/// `inbox sales shared { numbers ...; teams sales; claim must }`
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Inbox {
    pub name: Name,
    /// How messages name the inbox (`{inbox}`); its name if not set.
    pub display_name: Option<Spanned<String>>,
    /// The language its messages write dates in (BCP 47); the tenant's if
    /// not set.
    pub language: Option<Spanned<String>>,
    pub clock: Option<Spanned<Clock>>,
    pub kind: Spanned<InboxKind>,
    pub numbers: Vec<Spanned<String>>,
    pub teams: Vec<Name>,
    pub agents: Vec<Name>,
    /// The agent a direct inbox belongs to.
    pub agent: Option<Name>,
    pub hours: Option<Name>,
    pub after_hours: Option<Message>,
    pub claim: Option<Spanned<ClaimMode>>,
    /// The assignment time limit: how long a reply locks the conversation;
    /// `None` inside for `lock off`.
    pub lock: Option<Spanned<Option<Duration>>>,
    pub autoresponder: Option<Message>,
    pub bot: Option<Spanned<String>>,
    pub copy_team: Option<Spanned<bool>>,
    /// How long alerts and invites stay up.
    pub alerts: Option<Spanned<Duration>>,
    pub initiation_keywords: Vec<Keyword>,
    pub initiation_message: Option<Message>,
    pub initiation_needed: Option<Message>,
    pub termination_keywords: Vec<Keyword>,
    pub termination_message: Option<Message>,
    pub no_agents: Option<Message>,
    pub max_sessions: Option<Spanned<u32>>,
    pub session_timeout: Option<Spanned<Duration>>,
    pub hooks: Vec<HookRef>,
    pub span: Span,
}

impl Inbox {
    /// Every message setting of the inbox, set or not.
    pub fn messages(&self) -> [&Option<Message>; 6] {
        [
            &self.after_hours,
            &self.autoresponder,
            &self.initiation_message,
            &self.initiation_needed,
            &self.termination_message,
            &self.no_agents,
        ]
    }
}

/// A length of time, in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Duration(pub u64);

/// `compliance { opt_out STOP QUIT; opt_out_reply "..." }`. Anything left out
/// comes from the tenant country's defaults.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Compliance {
    pub opt_out: Option<Vec<Keyword>>,
    pub opt_out_reply: Option<Message>,
    pub opt_in: Option<Vec<Keyword>>,
    pub opt_in_reply: Option<Message>,
    pub help: Option<Vec<Keyword>>,
    pub help_reply: Option<Message>,
    /// `revocation opt_out|review "phrase" ...`: phrases matched inside
    /// longer messages, and what each does.
    pub revocations: Vec<(Spanned<RevocationAction>, Vec<Spanned<String>>)>,
    pub span: Span,
}

/// `hooks "acme.rhai" { max_operations 50000 }`: the tenant's hook script,
/// relative to the policy, and the limits it runs under.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HookScript {
    pub path: Spanned<String>,
    pub limits: HookLimits,
    pub span: Span,
}

/// Limits a hook call runs under; unset ones take the defaults.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct HookLimits {
    /// `timeout`, in milliseconds: accepted for older policies but ignored,
    /// since a wall clock would make replays decide otherwise than live
    /// (the checker warns, W0009).
    pub timeout_ms: Option<Spanned<u64>>,
    pub max_operations: Option<Spanned<u64>>,
    pub max_call_depth: Option<Spanned<u64>>,
    pub max_string_size: Option<Spanned<u64>>,
    pub max_array_size: Option<Spanned<u64>>,
    pub max_map_size: Option<Spanned<u64>>,
}

/// `table vips "vips.csv"`: data hooks can read, beside the policy.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Table {
    pub name: Name,
    pub path: Spanned<String>,
    pub span: Span,
}

/// `hook routing route_vip`: an inbox runs this script function at this point.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HookRef {
    pub point: Spanned<HookPoint>,
    pub function: Name,
}

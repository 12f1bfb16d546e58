//! What a hook is told, typed: the engine fills a [`Context`], and this
//! module alone turns it into the script's `ctx` map (docs/HOOKS.md lists
//! its keys). The strings a policy's hooks see again and again (inbox
//! names, kinds, member names, statuses) are made once, when the policy is
//! built, so a call's context costs no allocation for them.

use crate::vocab::{Channel, HookPoint, InboxKind};
use chrono::{Datelike, NaiveDateTime, Timelike};
use rhai::{Array, Dynamic, ImmutableString, Map};
use smol_str::SmolStr;

/// Everything a hook call may read.
#[derive(Clone, Debug)]
pub struct Context<'a> {
    pub point: HookPoint,
    pub inbox: Inbox<'a>,
    pub conversation: Conversation<'a>,
    /// The message that opened the conversation; none for escalation.
    pub message: Option<Message<'a>>,
    pub customer: Customer<'a>,
    /// The time in the inbox's zone.
    pub local: NaiveDateTime,
    /// Whether the inbox is open now.
    pub open: bool,
    /// Escalation only: how long the conversation has waited.
    pub waited_secs: Option<i64>,
    /// What `status(name)`, `load(name)` and `accepting(name)` answer, one
    /// per member in the inbox's order; `None` when the script never asks
    /// ([`super::Hooks::reads_members`]).
    pub members: Option<Vec<Member>>,
}

#[derive(Clone, Copy, Debug)]
pub struct Inbox<'a> {
    /// The inbox's place in the policy: the key to its cached names.
    pub index: usize,
    pub name: &'a str,
    pub kind: InboxKind,
    pub members: &'a [SmolStr],
}

#[derive(Clone, Copy, Debug)]
pub struct Conversation<'a> {
    pub id: &'a str,
    pub new: bool,
    pub seed: u64,
    pub channel: Channel,
    /// Escalation only: the agents it is assigned to now.
    pub assigned: Option<&'a [SmolStr]>,
}

#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    pub body: &'a str,
    pub channel: Channel,
    pub from: &'a str,
    pub to: &'a str,
}

#[derive(Clone, Copy, Debug)]
pub struct Customer<'a> {
    pub number: &'a str,
    pub name: Option<&'a str>,
    /// `lead` or `customer`, when known.
    pub status: Option<&'static str>,
    pub tier: Option<&'a str>,
    pub language: Option<&'a str>,
}

/// One member of the inbox, as the script's member functions see it.
#[derive(Clone, Debug)]
pub struct Member {
    /// The policy's status id, when the status is declared.
    pub status_id: Option<usize>,
    pub status: SmolStr,
    pub load: u32,
    pub accepting: bool,
}

/// The strings made once per policy.
#[derive(Debug, Default)]
pub(super) struct Names {
    inboxes: Vec<InboxNames>,
    statuses: Vec<ImmutableString>,
}

#[derive(Debug)]
struct InboxNames {
    name: ImmutableString,
    kind: ImmutableString,
    /// `ctx.members`.
    members: Array,
    /// The same names, one by one, for the member functions.
    member_names: Vec<ImmutableString>,
}

impl Names {
    pub(super) fn new<'p>(
        inboxes: impl IntoIterator<Item = (&'p str, InboxKind, &'p [SmolStr])>,
        statuses: impl IntoIterator<Item = &'p str>,
    ) -> Names {
        Names {
            inboxes: inboxes
                .into_iter()
                .map(|(name, kind, members)| {
                    let member_names: Vec<ImmutableString> =
                        members.iter().map(|m| m.as_str().into()).collect();
                    InboxNames {
                        name: name.into(),
                        kind: kind.as_str().into(),
                        members: member_names.iter().cloned().map(Dynamic::from).collect(),
                        member_names,
                    }
                })
                .collect(),
            statuses: statuses.into_iter().map(Into::into).collect(),
        }
    }
}

/// What the member functions answer during one call: carried to them as
/// the call's tag, so no state outlives the call.
#[derive(Clone, Debug, Default)]
pub(super) struct Members(std::sync::Arc<Vec<Answer>>);

#[derive(Debug)]
pub(super) struct Answer {
    name: ImmutableString,
    pub(super) status: ImmutableString,
    pub(super) load: i64,
    pub(super) accepting: bool,
}

impl Members {
    pub(super) fn find(&self, name: &str) -> Option<&Answer> {
        self.0.iter().find(|a| a.name == name)
    }
}

const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn text(s: &str) -> Dynamic {
    Dynamic::from(s.to_string())
}

fn maybe(s: Option<&str>) -> Dynamic {
    s.map_or(Dynamic::UNIT, text)
}

impl Context<'_> {
    /// The script's `ctx` map, and what its member functions answer.
    pub(super) fn to_rhai(&self, names: Option<&Names>) -> (Map, Members) {
        let cached = names.and_then(|n| n.inboxes.get(self.inbox.index));
        let mut ctx = Map::new();
        ctx.insert("hook".into(), text(self.point.as_str()));
        ctx.insert("conversation".into(), self.conversation.to_rhai().into());
        if let Some(message) = &self.message {
            ctx.insert("message".into(), message.to_rhai().into());
        }
        ctx.insert("customer".into(), self.customer.to_rhai().into());
        let mut inbox = Map::new();
        match cached {
            Some(n) => {
                inbox.insert("name".into(), n.name.clone().into());
                inbox.insert("kind".into(), n.kind.clone().into());
                ctx.insert("members".into(), n.members.clone().into());
            }
            None => {
                inbox.insert("name".into(), text(self.inbox.name));
                inbox.insert("kind".into(), text(self.inbox.kind.as_str()));
                let members: Array = self.inbox.members.iter().map(|m| text(m)).collect();
                ctx.insert("members".into(), members.into());
            }
        }
        ctx.insert("inbox".into(), inbox.into());
        ctx.insert("time".into(), time(self.local).into());
        ctx.insert("open".into(), self.open.into());
        if let Some(waited) = self.waited_secs {
            ctx.insert("waited_secs".into(), waited.into());
        }
        (ctx, self.members(names, cached))
    }

    fn members(&self, names: Option<&Names>, cached: Option<&InboxNames>) -> Members {
        let Some(members) = &self.members else {
            return Members::default();
        };
        let all = members
            .iter()
            .zip(self.inbox.members)
            .enumerate()
            .map(|(k, (member, name))| {
                let name = cached
                    .and_then(|c| c.member_names.get(k).cloned())
                    .unwrap_or_else(|| name.as_str().into());
                let status = member
                    .status_id
                    .and_then(|s| names.and_then(|n| n.statuses.get(s)).cloned())
                    .unwrap_or_else(|| member.status.as_str().into());
                Answer {
                    name,
                    status,
                    load: i64::from(member.load),
                    accepting: member.accepting,
                }
            })
            .collect();
        Members(std::sync::Arc::new(all))
    }
}

impl Conversation<'_> {
    fn to_rhai(self) -> Map {
        let mut map = Map::new();
        map.insert("id".into(), text(self.id));
        map.insert("new".into(), self.new.into());
        map.insert("seed".into(), (self.seed as i64).into());
        map.insert("channel".into(), text(self.channel.as_str()));
        if let Some(assigned) = self.assigned {
            let assigned: Array = assigned.iter().map(|a| text(a)).collect();
            map.insert("assigned".into(), assigned.into());
        }
        map
    }
}

impl Message<'_> {
    fn to_rhai(self) -> Map {
        let mut map = Map::new();
        map.insert("body".into(), text(self.body));
        map.insert("channel".into(), text(self.channel.as_str()));
        map.insert("from".into(), text(self.from));
        map.insert("to".into(), text(self.to));
        map
    }
}

impl Customer<'_> {
    fn to_rhai(self) -> Map {
        let mut map = Map::new();
        map.insert("number".into(), text(self.number));
        map.insert("name".into(), maybe(self.name));
        map.insert("status".into(), maybe(self.status));
        map.insert("tier".into(), maybe(self.tier));
        map.insert("language".into(), maybe(self.language));
        map
    }
}

fn time(local: NaiveDateTime) -> Map {
    let mut map = Map::new();
    map.insert(
        "date".into(),
        text(&format!(
            "{:04}-{:02}-{:02}",
            local.year(),
            local.month(),
            local.day()
        )),
    );
    map.insert(
        "weekday".into(),
        text(WEEKDAYS[local.weekday().num_days_from_monday() as usize]),
    );
    map.insert("hour".into(), i64::from(local.hour()).into());
    map.insert("minute".into(), i64::from(local.minute()).into());
    map
}

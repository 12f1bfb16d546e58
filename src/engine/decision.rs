//! Decisions: what the engine answers for one event, and why.
//!
//! A decision is plain serializable data. Reasons are codes with their facts
//! (`locked` by `bob` until 14:32); [`Decision::reasons`] renders them as
//! sentences for people.

use super::ids::ConversationId;
pub use super::ids::{no_agents, Agents};
use crate::policy::Level;
use crate::vocab::{ClaimMode, ComplianceSet, RevocationAction};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use smallvec::SmallVec;
use smol_str::SmolStr;

fn is_empty(agents: &Agents) -> bool {
    agents.is_empty()
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Decision {
    pub at: DateTime<Utc>,
    /// The event's type.
    pub event: &'static str,
    pub outcome: Outcome,
    /// Why an action was denied or an event rejected, with the facts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub denial: Option<Denial>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversation: Option<ConversationId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inbox: Option<SmolStr>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub new_conversation: bool,
    /// What agents see of the customer: a known number's name and status
    /// (lead or customer); an unknown one, only the number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer: Option<CustomerCard>,
    /// Agents who can see the conversation.
    #[serde(skip_serializing_if = "is_empty")]
    pub visible_to: Agents,
    /// Agents alerted or invited by this event.
    #[serde(skip_serializing_if = "is_empty")]
    pub offered_to: Agents,
    /// Messages to send to the customer (held inline: a decision sends
    /// at most one in most cases, and a reply's decision allocates nothing
    /// for it).
    #[serde(skip_serializing_if = "SmallVec::is_empty")]
    pub messages: SmallVec<[Outbound; 1]>,
    /// Agents who get a copy of an outbound message (copy_team).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub copied_to: Vec<SmolStr>,
    /// What the event changed (inline up to two, as most decisions make).
    #[serde(skip_serializing_if = "SmallVec::is_empty")]
    pub changes: SmallVec<[Change; 2]>,
    /// The reporting label of the message, e.g. "Messaging Inbound (SMS Direct)".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_type: Option<&'static str>,
    /// Tags and priority a routing hook gave the conversation.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<SmolStr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
    /// When the engine next needs a tick.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_tick: Option<DateTime<Utc>>,
    /// Why: recorded only when the engine was asked to explain
    /// ([`super::Engine::explaining`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explanation: Option<Explanation>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// An inbound message went to an inbox.
    Routed,
    /// A compliance keyword was answered before any routing.
    Compliance,
    /// A keyword queue answered without a session (initiation needed, no agents).
    Answered,
    /// An agent's action is allowed.
    Allowed,
    /// An agent's action is denied; see `denial`.
    Denied,
    /// The event names something the policy or state does not have.
    Rejected,
    /// Time passed.
    Ticked,
}

impl Outcome {
    pub const ALL: [Outcome; 7] = [
        Outcome::Routed,
        Outcome::Compliance,
        Outcome::Answered,
        Outcome::Allowed,
        Outcome::Denied,
        Outcome::Rejected,
        Outcome::Ticked,
    ];

    /// The outcome as decisions write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Routed => "routed",
            Outcome::Compliance => "compliance",
            Outcome::Answered => "answered",
            Outcome::Allowed => "allowed",
            Outcome::Denied => "denied",
            Outcome::Rejected => "rejected",
            Outcome::Ticked => "ticked",
        }
    }
}

/// A denial's code and the facts behind it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Denial {
    /// Another agent holds the reply lock.
    Locked {
        holder: SmolStr,
        until: DateTime<Utc>,
    },
    /// The conversation is claimed or owned by another agent.
    OwnedBy {
        owner: SmolStr,
    },
    /// The inbox says conversations must be claimed before a reply.
    MustClaim,
    /// A queue conversation must be accepted before a reply.
    MustAccept,
    /// A hook gave the conversation to other agents.
    NotAssigned {
        assigned: Agents,
    },
    /// The inbox says conversations cannot be claimed.
    ClaimNotAllowed,
    /// The agent is not a member of the conversation's inbox.
    NotAMember {
        inbox: SmolStr,
    },
    /// The agent's status does not allow accepting new conversations.
    NotAccepting {
        status: SmolStr,
    },
    /// The agent already works as many sessions as they may.
    AtCapacity {
        load: u32,
        max: u32,
    },
    /// The customer opted out; nothing may be sent to them.
    OptedOut,
    /// The agent has no pending alert or invite for the conversation.
    NoOffer,
    /// Only the owner can do this.
    NotOwner,
    /// The conversation is closed.
    Closed,
    /// The conversation is not claimed, so there is nothing to release.
    NotClaimed,
    /// A reply or note needs a body.
    EmptyBody,
    UnknownAgent {
        agent: SmolStr,
    },
    UnknownConversation {
        conversation: SmolStr,
    },
    UnknownNumber {
        number: SmolStr,
    },
    UnknownStatus {
        status: SmolStr,
    },
    /// The number takes no messages on this channel.
    ChannelNotEnabled {
        channel: SmolStr,
    },
    /// The number is declared but in no inbox.
    NotRouted {
        number: SmolStr,
    },
    /// Events must name a conversation by id or by number and customer.
    NoConversationNamed,
    /// The event's `at` is outside the accepted range
    /// ([`super::event::accepted_range`]); the state is left as it was.
    BadTime {
        at: DateTime<Utc>,
    },
}

/// A message the engine sends.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Outbound {
    pub to: SmolStr,
    pub from: SmolStr,
    pub channel: crate::vocab::Channel,
    pub text: SmolStr,
    /// The bot or agent name the message is signed with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sender: Option<SmolStr>,
    pub why: Why,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Why {
    Reply,
    Autoresponder,
    AfterHours,
    Deflection,
    Initiation,
    InitiationNeeded,
    Termination,
    NoAgents,
    OptOut,
    OptIn,
    Help,
}

/// What agents are shown about the customer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CustomerCard {
    pub number: SmolStr,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<SmolStr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<super::event::CustomerStatus>,
}

/// A change the event made to the state.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    Opened,
    /// The customer's conversation left open in inbox `from`, where the
    /// number no longer routes, is archived; this message opens a new one.
    Rerouted {
        conversation: ConversationId,
        from: SmolStr,
    },
    Closed {
        by: SmolStr,
    },
    Locked {
        holder: SmolStr,
        until: DateTime<Utc>,
    },
    LockExpired {
        conversation: ConversationId,
        holder: SmolStr,
    },
    Claimed {
        owner: SmolStr,
    },
    /// The owner of a claim with a lock did not reply within it: the
    /// conversation went back to the team.
    ClaimLapsed {
        conversation: ConversationId,
        owner: SmolStr,
    },
    Released {
        by: SmolStr,
    },
    Accepted {
        owner: SmolStr,
    },
    Declined {
        agent: SmolStr,
    },
    Hidden {
        agent: SmolStr,
        pending: u32,
    },
    AlertsExpired {
        conversation: ConversationId,
        agents: Agents,
    },
    SessionStarted,
    SessionEnded {
        conversation: ConversationId,
        by: SessionEnd,
        #[serde(skip_serializing_if = "Option::is_none")]
        handle_secs: Option<u64>,
    },
    OptedOut {
        customer: SmolStr,
    },
    OptedIn {
        customer: SmolStr,
    },
    /// A revocation phrase the tenant wants judged: the conversation is
    /// flagged (tag `revocation`) for a person to read.
    FlaggedForReview {
        conversation: ConversationId,
        phrase: SmolStr,
    },
    /// An opt-out withdrew the alerts or invites still pending on one of
    /// the customer's conversations.
    AlertsWithdrawn {
        conversation: ConversationId,
        agents: Agents,
    },
    /// An opt-out took one of the customer's conversations from its owner.
    OwnershipEnded {
        conversation: ConversationId,
        owner: SmolStr,
    },
    /// An opt-out lifted the reply lock on one of the customer's
    /// conversations.
    LockLifted {
        conversation: ConversationId,
        holder: SmolStr,
    },
    Status {
        agent: SmolStr,
        status: SmolStr,
    },
    /// The engine set an agent unavailable (missed-chat threshold).
    Unavailable {
        agent: SmolStr,
        missed: u32,
        reason: SmolStr,
    },
    /// An escalation hook gave an unanswered conversation to these agents.
    Escalated {
        conversation: ConversationId,
        agents: Agents,
    },
    /// An owner left the customer unanswered too often; the conversation
    /// went back to the inbox.
    Unresponsive {
        conversation: ConversationId,
        agent: SmolStr,
        unanswered: u32,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionEnd {
    Keyword,
    Agent,
    Timeout,
    /// The customer opted out.
    OptOut,
}

/// Why the decision came out as it did.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Explanation {
    /// The rules that decided, in order.
    pub steps: Vec<Rule>,
    /// Members of the inbox who were not offered the conversation, and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_offered: Vec<NotOffered>,
}

/// One rule that took part in the decision.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Rule {
    /// The business number matched an inbox.
    Number {
        number: SmolStr,
        inbox: SmolStr,
    },
    /// A compliance keyword was recognised.
    Compliance {
        keyword: SmolStr,
        set: ComplianceSet,
    },
    /// A revocation phrase was found inside the message.
    Revocation {
        phrase: SmolStr,
        action: RevocationAction,
    },
    /// The customer opted out, so automatic messages were held back.
    Suppressed {
        why: Why,
    },
    /// The message is from a customer who opted out: kept for the inbox to
    /// read, but nobody is alerted or offered it and no hook runs.
    OptedOut,
    Hours {
        hours: SmolStr,
        open: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        next_open: Option<DateTime<Utc>>,
    },
    /// The deflection that applies to a direct number's agent.
    Deflection {
        agent: SmolStr,
        level: Level,
        #[serde(skip_serializing_if = "Option::is_none")]
        team: Option<SmolStr>,
        on: bool,
    },
    Claim {
        mode: ClaimMode,
    },
    /// The first message of a new conversation on a channel that gets the
    /// autoresponder, or not.
    Autoresponder {
        sent: bool,
        channel: SmolStr,
    },
    Keyword {
        keyword: SmolStr,
        action: &'static str,
    },
    Lock {
        holder: SmolStr,
        until: DateTime<Utc>,
    },
    Owner {
        owner: SmolStr,
    },
    /// A claim under the inbox's lock: it lapses back to the team unless the
    /// owner replies by `until`.
    ClaimLasts {
        owner: SmolStr,
        until: DateTime<Utc>,
    },
    /// The conversation continues an open one.
    Existing,
    /// The acting agent is a member of the conversation's inbox.
    Member {
        agent: SmolStr,
        inbox: SmolStr,
    },
    /// A hook ran: what it decided, or why it fell back.
    Hook {
        point: &'static str,
        /// The inbox whose hook it is (an escalation runs on the clock,
        /// for a conversation of any inbox).
        inbox: SmolStr,
        function: SmolStr,
        result: SmolStr,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NotOffered {
    pub agent: SmolStr,
    #[serde(flatten)]
    pub reason: NotOfferedReason,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum NotOfferedReason {
    /// The agent's status does not take new conversations.
    Status {
        status: SmolStr,
    },
    AtCapacity {
        load: u32,
        max: u32,
    },
    /// The conversation is owned by someone else.
    OwnedBy {
        owner: SmolStr,
    },
    /// The agent was set unavailable by the engine.
    Unavailable,
}

impl Decision {
    pub(crate) fn new(
        at: DateTime<Utc>,
        event: &'static str,
        outcome: Outcome,
        explain: bool,
    ) -> Self {
        Decision {
            at,
            event,
            outcome,
            denial: None,
            conversation: None,
            inbox: None,
            new_conversation: false,
            customer: None,
            visible_to: no_agents(),
            offered_to: no_agents(),
            messages: SmallVec::new(),
            copied_to: Vec::new(),
            changes: SmallVec::new(),
            session_type: None,
            tags: Vec::new(),
            priority: None,
            next_tick: None,
            explanation: explain.then(Explanation::default),
        }
    }

    /// Whether this decision records its explanation.
    pub(crate) fn explains(&self) -> bool {
        self.explanation.is_some()
    }

    /// Records a step of the explanation, if one is asked for; the step is
    /// not even built otherwise.
    pub(crate) fn explain(&mut self, step: impl FnOnce() -> Rule) {
        if let Some(explanation) = &mut self.explanation {
            explanation.steps.push(step());
        }
    }

    /// Records a member who was not offered the conversation, if an
    /// explanation is asked for.
    pub(crate) fn not_offered(&mut self, why: impl FnOnce() -> NotOffered) {
        if let Some(explanation) = &mut self.explanation {
            explanation.not_offered.push(why());
        }
    }

    pub fn is_allowed(&self) -> bool {
        matches!(self.outcome, Outcome::Allowed)
    }

    /// The decision's reasons as sentences, for `--explain` and logs, with
    /// times in `zone` (the tenant's): the denial alone when no explanation
    /// was asked for.
    pub fn reasons(&self, zone: Tz) -> Vec<String> {
        let mut out = Vec::new();
        let (steps, not_offered) = match &self.explanation {
            Some(e) => (e.steps.as_slice(), e.not_offered.as_slice()),
            None => (&[][..], &[][..]),
        };
        for step in steps {
            out.push(step.describe(zone));
        }
        if let Some(denial) = &self.denial {
            out.push(denial.describe(zone));
        }
        for n in not_offered {
            out.push(format!(
                "{} was not offered it: {}",
                n.agent,
                n.reason.describe()
            ));
        }
        out
    }
}

/// A time as an admin reads it: local, with the zone named
/// (`2026-12-21 07:30 America/Denver`).
fn time(at: &DateTime<Utc>, zone: Tz) -> String {
    format!(
        "{} {}",
        at.with_timezone(&zone).format("%Y-%m-%d %H:%M"),
        zone.name()
    )
}

impl Denial {
    /// The denial's code, as the decision's JSON writes it (`locked`,
    /// `bad_time`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            Denial::Locked { .. } => "locked",
            Denial::OwnedBy { .. } => "owned_by",
            Denial::MustClaim => "must_claim",
            Denial::MustAccept => "must_accept",
            Denial::NotAssigned { .. } => "not_assigned",
            Denial::ClaimNotAllowed => "claim_not_allowed",
            Denial::NotAMember { .. } => "not_a_member",
            Denial::NotAccepting { .. } => "not_accepting",
            Denial::AtCapacity { .. } => "at_capacity",
            Denial::OptedOut => "opted_out",
            Denial::NoOffer => "no_offer",
            Denial::NotOwner => "not_owner",
            Denial::Closed => "closed",
            Denial::NotClaimed => "not_claimed",
            Denial::EmptyBody => "empty_body",
            Denial::UnknownAgent { .. } => "unknown_agent",
            Denial::UnknownConversation { .. } => "unknown_conversation",
            Denial::UnknownNumber { .. } => "unknown_number",
            Denial::UnknownStatus { .. } => "unknown_status",
            Denial::ChannelNotEnabled { .. } => "channel_not_enabled",
            Denial::NotRouted { .. } => "not_routed",
            Denial::NoConversationNamed => "no_conversation_named",
            Denial::BadTime { .. } => "bad_time",
        }
    }

    /// The denial as a sentence, with times in `zone`.
    pub fn describe(&self, zone: Tz) -> String {
        match self {
            Denial::Locked { holder, until } => {
                format!("denied: locked by {holder} until {}", time(until, zone))
            }
            Denial::OwnedBy { owner } => format!("denied: the conversation belongs to {owner}"),
            Denial::MustClaim => {
                "denied: this inbox's conversations must be claimed before a reply".into()
            }
            Denial::MustAccept => "denied: accept the conversation before replying".into(),
            Denial::ClaimNotAllowed => {
                "denied: this inbox's conversations cannot be claimed".into()
            }
            Denial::NotAMember { inbox } => format!("denied: not a member of inbox {inbox}"),
            Denial::NotAssigned { assigned } => {
                format!(
                    "denied: a hook gave the conversation to {}",
                    assigned.join(", ")
                )
            }
            Denial::NotAccepting { status } => {
                format!("denied: agents cannot accept new conversations while {status}")
            }
            Denial::AtCapacity { load, max } => {
                format!("denied: already at {load} of {max} sessions")
            }
            Denial::OptedOut => "denied: the customer opted out".into(),
            Denial::NoOffer => "denied: no pending alert or invite for this agent".into(),
            Denial::NotOwner => "denied: only the owner can do this".into(),
            Denial::Closed => "denied: the conversation is closed".into(),
            Denial::NotClaimed => "denied: the conversation is not claimed".into(),
            Denial::EmptyBody => "rejected: the message has no body".into(),
            Denial::UnknownAgent { agent } => format!("rejected: no agent {agent} in the policy"),
            Denial::UnknownConversation { conversation } => {
                format!("rejected: no conversation {conversation}")
            }
            Denial::UnknownNumber { number } => {
                format!("rejected: {number} is not a number of this tenant")
            }
            Denial::UnknownStatus { status } => {
                format!("rejected: {status} is not a status of this tenant")
            }
            Denial::ChannelNotEnabled { channel } => {
                format!("rejected: the number does not take {channel}")
            }
            Denial::NotRouted { number } => format!("rejected: {number} is in no inbox"),
            Denial::NoConversationNamed => {
                "rejected: name the conversation, or the number and customer".into()
            }
            Denial::BadTime { at } => format!("rejected: {}", super::event::BadTime::of(*at)),
        }
    }
}

impl Rule {
    /// The rule as a sentence, with times in `zone`.
    pub fn describe(&self, zone: Tz) -> String {
        match self {
            Rule::Number { number, inbox } => format!("{number} belongs to inbox {inbox}"),
            Rule::Compliance { keyword, set } => {
                let article = match set {
                    ComplianceSet::OptOut | ComplianceSet::OptIn => "an",
                    ComplianceSet::Help => "a",
                };
                let set = set.as_str();
                format!("{keyword} is {article} {set} keyword, handled before routing")
            }
            Rule::Revocation { phrase, action } => match action {
                RevocationAction::OptOut => {
                    format!("the message says \"{phrase}\", a revocation: the customer opts out")
                }
                RevocationAction::Review => format!(
                    "the message says \"{phrase}\", a revocation: the conversation is flagged for review"
                ),
            },
            Rule::Suppressed { why } => format!(
                "the customer opted out, so no {} message was sent",
                why_name(*why)
            ),
            Rule::OptedOut => {
                "the customer opted out: the message is kept, but nobody is alerted or offered it"
                    .into()
            }
            Rule::Hours {
                hours, open: true, ..
            } => format!("hours {hours} are open"),
            Rule::Hours {
                hours,
                open: false,
                next_open,
            } => match next_open {
                Some(at) => format!("hours {hours} are closed until {}", time(at, zone)),
                None => format!("hours {hours} are closed"),
            },
            Rule::Deflection {
                agent,
                level,
                team,
                on,
            } => {
                let from = match (level, team) {
                    (Level::Agent, _) => format!("{agent}'s own setting"),
                    (Level::Team, Some(team)) => format!("team {team}"),
                    _ => "the global setting".into(),
                };
                format!(
                    "deflection for {agent} is {} by {from}",
                    if *on { "on" } else { "off" }
                )
            }
            Rule::Claim { mode } => format!(
                "claim mode: {}",
                match mode {
                    ClaimMode::Can => "can be claimed",
                    ClaimMode::Cannot => "cannot be claimed",
                    ClaimMode::Must => "must be claimed before a reply",
                }
            ),
            Rule::Autoresponder {
                sent: true,
                channel,
            } => format!("first message on {channel}: autoresponder sent"),
            Rule::Autoresponder {
                sent: false,
                channel,
            } => format!("first message on {channel}: no autoresponder on this channel"),
            Rule::Keyword { keyword, action } => format!("keyword {keyword} {action}"),
            Rule::Lock { holder, until } => {
                format!("locked by {holder} until {}", time(until, zone))
            }
            Rule::Owner { owner } => format!("owned by {owner}"),
            Rule::ClaimLasts { owner, until } => format!(
                "the claim lapses back to the team unless {owner} replies by {}",
                time(until, zone)
            ),
            Rule::Existing => "continues the open conversation".into(),
            Rule::Member { agent, inbox } => format!("{agent} is a member of inbox {inbox}"),
            Rule::Hook {
                point,
                function,
                result,
                error,
                ..
            } => match error {
                Some(error) => format!("{point} hook {function} {error}; {result}"),
                None => format!("{point} hook {function} {result}"),
            },
        }
    }
}

fn why_name(why: Why) -> &'static str {
    match why {
        Why::Reply => "reply",
        Why::Autoresponder => "autoresponder",
        Why::AfterHours => "after-hours",
        Why::Deflection => "deflection",
        Why::Initiation => "initiation",
        Why::InitiationNeeded => "initiation-needed",
        Why::Termination => "termination",
        Why::NoAgents => "no-agents",
        Why::OptOut => "opt-out",
        Why::OptIn => "opt-in",
        Why::Help => "help",
    }
}

impl NotOfferedReason {
    pub fn describe(&self) -> String {
        match self {
            NotOfferedReason::Status { status } => format!("status {status}"),
            NotOfferedReason::AtCapacity { load, max } => format!("at capacity ({load} of {max})"),
            NotOfferedReason::OwnedBy { owner } => format!("owned by {owner}"),
            NotOfferedReason::Unavailable => "set unavailable after missed chats".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `code()` names each denial as its JSON does.
    #[test]
    fn outcomes_are_written_as_json_names_them() {
        for outcome in Outcome::ALL {
            assert_eq!(serde_json::to_value(outcome).unwrap(), outcome.as_str());
        }
    }

    #[test]
    fn codes_are_the_json_tags() {
        let name = || SmolStr::new("x");
        let at = chrono::DateTime::<Utc>::UNIX_EPOCH;
        let all = [
            Denial::Locked {
                holder: name(),
                until: at,
            },
            Denial::OwnedBy { owner: name() },
            Denial::MustClaim,
            Denial::MustAccept,
            Denial::NotAssigned {
                assigned: no_agents(),
            },
            Denial::ClaimNotAllowed,
            Denial::NotAMember { inbox: name() },
            Denial::NotAccepting { status: name() },
            Denial::AtCapacity { load: 1, max: 1 },
            Denial::OptedOut,
            Denial::NoOffer,
            Denial::NotOwner,
            Denial::Closed,
            Denial::NotClaimed,
            Denial::EmptyBody,
            Denial::UnknownAgent { agent: name() },
            Denial::UnknownConversation {
                conversation: name(),
            },
            Denial::UnknownNumber { number: name() },
            Denial::UnknownStatus { status: name() },
            Denial::ChannelNotEnabled { channel: name() },
            Denial::NotRouted { number: name() },
            Denial::NoConversationNamed,
            Denial::BadTime { at },
        ];
        for denial in all {
            let json = serde_json::to_value(&denial).unwrap();
            assert_eq!(json["code"], denial.code(), "{denial:?}");
        }
    }
}

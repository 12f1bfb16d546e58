//! Events: what happened, and when. Every event carries its own time `at`;
//! the engine never reads a clock.
//!
//! Events are JSON objects tagged by `type`:
//!
//! ```json
//! {"type": "inbound", "at": "2026-03-02T17:00:00Z", "from": "+14155551234",
//!  "to": "+14155550100", "body": "Hi!", "channel": "sms",
//!  "customer": {"name": "Dana", "status": "lead"}}
//! {"type": "reply", "at": "2026-03-02T17:01:00Z", "agent": "ana", "conversation": "c1", "body": "Hello"}
//! {"type": "status", "at": "2026-03-02T17:02:00Z", "agent": "ana", "status": "on_call"}
//! {"type": "tick", "at": "2026-03-02T18:00:00Z"}
//! ```
//!
//! Agent actions name their conversation by the id a decision returned
//! (`conversation`), or by the business `number` and the `customer` number.

use crate::syntax::ast::Channel;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use smol_str::SmolStr;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Event {
    /// A customer's message to a business number.
    Inbound(Inbound),
    /// An agent's message to the customer.
    Reply(AgentAction),
    /// An agent's internal note: seen by the team, never by the customer.
    Note(AgentAction),
    /// An agent claims a shared-inbox conversation.
    Claim(AgentAction),
    /// The owner gives a claimed conversation back to the team.
    Release(AgentAction),
    /// An agent accepts an alert or a queue invite, becoming the owner.
    Accept(AgentAction),
    /// An agent declines an alert or invite.
    Decline(AgentAction),
    /// An agent hides an alert from their own view.
    Hide(AgentAction),
    /// An agent closes the conversation (ends a queue session), giving up
    /// ownership; the conversation is archived.
    Close(AgentAction),
    /// An agent's status changes: ready, on_call, offline or a custom one.
    Status(StatusChange),
    /// Time passes: locks, alerts, invites and sessions due by `at` expire.
    Tick(Tick),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inbound {
    pub at: DateTime<Utc>,
    /// The customer's number.
    pub from: SmolStr,
    /// The business number texted.
    pub to: SmolStr,
    #[serde(default)]
    pub body: String,
    #[serde(default = "sms")]
    pub channel: Channel,
    /// What the business knows of the customer.
    #[serde(default, skip_serializing_if = "Customer::is_empty")]
    pub customer: Customer,
    /// The provider's message id, for idempotent redelivery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<SmolStr>,
}

fn sms() -> Channel {
    Channel::Sms
}

/// Known facts about a customer: a recognised number is a lead or a customer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Customer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<SmolStr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<CustomerStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<SmolStr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<SmolStr>,
}

impl Customer {
    pub fn is_empty(&self) -> bool {
        *self == Customer::default()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CustomerStatus {
    Lead,
    Customer,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentAction {
    pub at: DateTime<Utc>,
    pub agent: SmolStr,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation: Option<SmolStr>,
    /// With `customer`: the business number of the conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<SmolStr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<SmolStr>,
    /// The text of a reply or note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The caller's id for this action, for idempotent retries: the
    /// service answers a repeated id with the first decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_id: Option<SmolStr>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    pub at: DateTime<Utc>,
    pub agent: SmolStr,
    pub status: SmolStr,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tick {
    pub at: DateTime<Utc>,
}

impl Event {
    /// The agent's action, for the events that are one.
    pub fn action(&self) -> Option<&AgentAction> {
        match self {
            Event::Reply(a)
            | Event::Note(a)
            | Event::Claim(a)
            | Event::Release(a)
            | Event::Accept(a)
            | Event::Decline(a)
            | Event::Hide(a)
            | Event::Close(a) => Some(a),
            Event::Inbound(_) | Event::Status(_) | Event::Tick(_) => None,
        }
    }

    pub fn at(&self) -> DateTime<Utc> {
        match self {
            Event::Inbound(e) => e.at,
            Event::Status(s) => s.at,
            Event::Tick(t) => t.at,
            Event::Reply(a)
            | Event::Note(a)
            | Event::Claim(a)
            | Event::Release(a)
            | Event::Accept(a)
            | Event::Decline(a)
            | Event::Hide(a)
            | Event::Close(a) => a.at,
        }
    }

    /// The event's `type`, as written in JSON.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Inbound(_) => "inbound",
            Event::Reply(_) => "reply",
            Event::Note(_) => "note",
            Event::Claim(_) => "claim",
            Event::Release(_) => "release",
            Event::Accept(_) => "accept",
            Event::Decline(_) => "decline",
            Event::Hide(_) => "hide",
            Event::Close(_) => "close",
            Event::Status(_) => "status",
            Event::Tick(_) => "tick",
        }
    }
}

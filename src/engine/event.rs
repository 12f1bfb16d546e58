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
//!
//! The engine takes an `at` from [`EARLIEST`] up to (not including)
//! [`LATEST`]; [`Event::check_time`] says whether an event's is.

use crate::vocab::Channel;
use chrono::{DateTime, NaiveDate, NaiveTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use smol_str::SmolStr;

/// The earliest `at` the engine takes: 1970-01-01T00:00:00Z.
pub const EARLIEST: DateTime<Utc> = DateTime::UNIX_EPOCH;

/// The end of the times the engine takes: an `at` must be before
/// 9000-01-01T00:00:00Z.
///
/// Every deadline the engine sets is at most 366 days after the event's
/// `at` (the longest duration a policy may write, `MAX_DURATION_SECS`; a
/// hook's `escalate_in` is at most 7 days), and hours look about a year
/// ahead for their next opening. Ending the range here leaves every time
/// the engine prints a four-digit year, so it is always RFC 3339; starting
/// it at the Unix epoch keeps every time a nonnegative timestamp.
pub const LATEST: DateTime<Utc> = match NaiveDate::from_ymd_opt(9000, 1, 1) {
    Some(date) => date.and_time(NaiveTime::MIN).and_utc(),
    // 9000-01-01 exists; this arm only satisfies the type.
    None => DateTime::<Utc>::MAX_UTC,
};

/// The times the engine takes for an event's `at`: [`EARLIEST`]`..`[`LATEST`].
pub fn accepted_range() -> std::ops::Range<DateTime<Utc>> {
    EARLIEST..LATEST
}

/// An event's `at` outside [`accepted_range`]. The message names the time
/// given and the range:
///
/// ```
/// use switchboard::engine::Event;
/// let event: Event = serde_json::from_str(r#"{"type":"tick","at":"9999-12-31T00:00:00Z"}"#).unwrap();
/// let bad = event.check_time().unwrap_err();
/// assert_eq!(
///     bad.to_string(),
///     "`at` 9999-12-31T00:00:00Z is outside the accepted range: \
///      from 1970-01-01T00:00:00Z up to (not including) 9000-01-01T00:00:00Z",
/// );
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "`at` {} is outside the accepted range: from {} up to (not including) {}",
    rfc3339(.at),
    rfc3339(&EARLIEST),
    rfc3339(&LATEST)
)]
pub struct BadTime {
    at: DateTime<Utc>,
}

impl BadTime {
    /// `Err` if `at` is outside [`accepted_range`].
    pub fn check(at: DateTime<Utc>) -> Result<(), BadTime> {
        if accepted_range().contains(&at) {
            Ok(())
        } else {
            Err(BadTime { at })
        }
    }

    /// The error for a time already found outside the range (a `bad_time`
    /// denial's, say).
    pub(crate) fn of(at: DateTime<Utc>) -> BadTime {
        BadTime { at }
    }

    /// The time given.
    pub fn at(&self) -> DateTime<Utc> {
        self.at
    }
}

/// A time as events write it: `2026-03-02T17:00:00Z`. (Outside the accepted
/// range chrono writes a signed year, e.g. `+10000-01-01T00:00:00Z`, which is
/// why the range ends where it does.)
fn rfc3339(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

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
    pub body: Option<SmolStr>,
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

    /// `Err` if the event's `at` is outside [`accepted_range`]: the engine
    /// rejects such an event (`bad_time`) and callers should refuse it
    /// before storing it.
    pub fn check_time(&self) -> Result<(), BadTime> {
        BadTime::check(self.at())
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

/// `secs` seconds after `at`: when a lock, alert, session or escalation set
/// at `at` falls due. From an accepted `at` this is at most 366 days on, so
/// it never overflows; should it ever, it saturates at the end of the
/// accepted range (or at `at` itself, past it) instead of panicking.
pub(crate) fn after(at: DateTime<Utc>, secs: u64) -> DateTime<Utc> {
    i64::try_from(secs)
        .ok()
        .and_then(chrono::TimeDelta::try_seconds)
        .and_then(|delta| at.checked_add_signed(delta))
        .unwrap_or_else(|| at.max(LATEST))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn the_range_runs_from_the_epoch_to_the_year_9000() {
        assert_eq!(EARLIEST, utc("1970-01-01T00:00:00Z"));
        assert_eq!(LATEST, utc("9000-01-01T00:00:00Z"));
        assert!(BadTime::check(EARLIEST).is_ok());
        assert!(BadTime::check(utc("8999-12-31T23:59:59.999999999Z")).is_ok());
        assert!(BadTime::check(LATEST).is_err());
        assert!(BadTime::check(utc("1969-12-31T23:59:59Z")).is_err());
        assert!(BadTime::check(DateTime::<Utc>::MIN_UTC).is_err());
        assert!(BadTime::check(DateTime::<Utc>::MAX_UTC).is_err());
    }

    #[test]
    fn a_bad_time_names_the_time_given_and_the_range() {
        let bad = BadTime::check(utc("+262142-12-31T23:59:59Z")).unwrap_err();
        assert_eq!(bad.at(), utc("+262142-12-31T23:59:59Z"));
        assert_eq!(
            bad.to_string(),
            "`at` +262142-12-31T23:59:59Z is outside the accepted range: \
             from 1970-01-01T00:00:00Z up to (not including) 9000-01-01T00:00:00Z"
        );
    }
}

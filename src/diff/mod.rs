//! What a policy change would have decided otherwise: recorded traffic
//! replayed through two revisions side by side.
//!
//! Each side keeps its own state, so a change that routes one message
//! elsewhere goes on mattering for the messages after it, as it would
//! have live. Every decision is compared field by field (its explanation
//! and `next_tick` aside: the first says why, the second follows from
//! the changes) and each difference counted under the kinds of change it
//! shows ([`Kind`]); the first few of each kind are kept as examples with
//! both decisions explained.
//!
//! Events name conversations by id (`c12`) or by number and customer. Ids
//! are numbered as conversations open, so once one side opens a
//! conversation the other does not, later ids differ between the sides;
//! an agent's recorded action naming `c12` then names another
//! conversation on one side. Counting such differences is right (they
//! are what the change would do to those actions), and the `conversation`
//! kind says when ids alone differ.

mod report;

use crate::engine::{Decision, Engine, Event, State};
use crate::store::{StoreError, Stored};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// A kind of change between two decisions for the same event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The decision's outcome (routed, allowed, denied, ...) or its
    /// denial code.
    Outcome,
    /// The inbox the message went to.
    Inbox,
    /// Who sees the conversation, who is offered it, who gets copies.
    Audience,
    /// The messages sent to the customer, or why.
    Messages,
    /// What the event changed: claims, locks, sessions, opt-outs, ...
    Changes,
    /// The conversation the event opened or acted on.
    Conversation,
    /// The customer card, session type, tags or priority.
    Other,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::Outcome,
        Kind::Inbox,
        Kind::Audience,
        Kind::Messages,
        Kind::Changes,
        Kind::Conversation,
        Kind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Outcome => "outcome",
            Kind::Inbox => "inbox",
            Kind::Audience => "audience",
            Kind::Messages => "messages",
            Kind::Changes => "changes",
            Kind::Conversation => "conversation",
            Kind::Other => "other",
        }
    }

    /// What a person calls it.
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Outcome => "allowed, denied or routed otherwise (or another denial code)",
            Kind::Inbox => "routed to another inbox",
            Kind::Audience => "seen by, offered to or copied to other agents",
            Kind::Messages => "other messages sent to the customer",
            Kind::Changes => "other changes (claims, locks, sessions, opt-outs)",
            Kind::Conversation => "another conversation",
            Kind::Other => "another customer card, session type, tag or priority",
        }
    }
}

/// The kinds of change between two decisions; empty when they agree.
pub fn compare(old: &Decision, new: &Decision) -> Vec<Kind> {
    let mut kinds = Vec::new();
    let mut differs = |kind: Kind, differ: bool| {
        if differ {
            kinds.push(kind);
        }
    };
    differs(
        Kind::Outcome,
        old.outcome != new.outcome || old.denial != new.denial,
    );
    differs(Kind::Inbox, old.inbox != new.inbox);
    differs(
        Kind::Audience,
        old.visible_to != new.visible_to
            || old.offered_to != new.offered_to
            || old.copied_to != new.copied_to,
    );
    differs(Kind::Messages, old.messages != new.messages);
    differs(Kind::Changes, old.changes != new.changes);
    differs(
        Kind::Conversation,
        old.conversation != new.conversation || old.new_conversation != new.new_conversation,
    );
    differs(
        Kind::Other,
        old.customer != new.customer
            || old.session_type != new.session_type
            || old.tags != new.tags
            || old.priority != new.priority,
    );
    kinds
}

/// How a replay runs.
#[derive(Clone, Debug)]
pub struct Options {
    /// Events before this are stepped by the old policy alone, to build the
    /// state the comparison starts from: what was, when the change would
    /// have gone live.
    pub since: Option<DateTime<Utc>>,
    /// Examples kept for each kind of change of each event type (a
    /// changed reply, a changed inbound message, ...).
    pub examples_per_kind: usize,
    /// Whether closed conversations leave memory after each event, as the
    /// service does (replaying its stored log), or stay (as `simulate` and
    /// scenarios keep them).
    pub evict: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            since: None,
            examples_per_kind: 3,
            evict: false,
        }
    }
}

/// What replaying found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Diff {
    /// Events compared (those from `since` on).
    pub compared: u64,
    /// Events stepped before `since`, by the old policy alone.
    pub warmed_up: u64,
    /// Events whose decisions differ.
    pub changed: u64,
    /// Changed decisions by kind; one decision may count under several.
    pub kinds: BTreeMap<Kind, u64>,
    /// Decisions per event type (`inbound`, `claim`, ...) that changed.
    pub by_event: BTreeMap<&'static str, u64>,
    pub examples: Vec<Example>,
    /// Replaying a stored log whose first events retention removed: the
    /// sequence number it starts at. Both sides start there from an empty
    /// state, so conversations opened before it are unknown to both.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_starts_at: Option<u64>,
}

impl Diff {
    /// Whether the two policies decided everything alike.
    pub fn is_empty(&self) -> bool {
        self.changed == 0
    }

    /// As people read it.
    pub fn text(&self) -> String {
        report::render(self)
    }
}

/// One changed decision, both ways.
#[derive(Clone, Debug, Serialize)]
pub struct Example {
    /// Where the event came from: its line in an events file, its step in
    /// a scenario, or its sequence number in the service's log.
    pub from: String,
    pub kinds: Vec<Kind>,
    pub event: serde_json::Value,
    pub old: Decision,
    pub new: Decision,
    /// Each decision's explanation, in the tenant's time.
    pub old_reasons: Vec<String>,
    pub new_reasons: Vec<String>,
}

/// Two policies replaying the same events.
pub struct Replay {
    old: Engine,
    new: Engine,
    old_state: State,
    new_state: State,
    options: Options,
    diff: Diff,
    /// Examples kept so far, per event type and kind of change.
    shown: BTreeMap<(&'static str, Kind), usize>,
    /// Before `since`: only the old side steps.
    warming: bool,
}

impl Replay {
    /// Both sides start from `state` (empty, or a snapshot).
    pub fn new(old: Engine, new: Engine, state: State, options: Options) -> Replay {
        Replay {
            old: old.explaining(true),
            new: new.explaining(true),
            old_state: state.clone(),
            new_state: state,
            warming: options.since.is_some(),
            options,
            diff: Diff::default(),
            shown: BTreeMap::new(),
        }
    }

    /// The old side's policy (which scenario statuses are checked against).
    pub fn old_policy(&self) -> &crate::Policy {
        self.old.policy()
    }

    /// Both sides start again from `state`, the counts kept: the next
    /// events are another recording (another scenario file).
    pub fn start_over(&mut self, state: State) {
        self.old_state = state.clone();
        self.new_state = state;
        self.warming = self.options.since.is_some();
    }

    /// Steps one recorded event through both policies (or, before `since`,
    /// through the old one); `from` says where it came from (`line 12`).
    pub fn step(&mut self, from: impl FnOnce() -> String, event: &Event) {
        if self.warming {
            if self.options.since.is_some_and(|since| event.at() < since) {
                self.old.step(&mut self.old_state, event);
                self.diff.warmed_up += 1;
                if self.options.evict {
                    self.old_state.evict_archived();
                }
                return;
            }
            // The new side starts from what was, the moment it would have
            // gone live.
            self.warming = false;
            self.new_state = self.old_state.clone();
        }
        let old = self.old.step(&mut self.old_state, event);
        let new = self.new.step(&mut self.new_state, event);
        if self.options.evict {
            self.old_state.evict_archived();
            self.new_state.evict_archived();
        }
        self.diff.compared += 1;
        let kinds = compare(&old, &new);
        if kinds.is_empty() {
            return;
        }
        self.diff.changed += 1;
        *self.diff.by_event.entry(event.kind()).or_default() += 1;
        for kind in &kinds {
            *self.diff.kinds.entry(*kind).or_default() += 1;
        }
        let event_type = event.kind();
        let wanted = kinds.iter().any(|&k| {
            self.shown.get(&(event_type, k)).copied().unwrap_or(0) < self.options.examples_per_kind
        });
        if wanted {
            for &kind in &kinds {
                *self.shown.entry((event_type, kind)).or_default() += 1;
            }
            let zone = self.old.policy().tenant().zone;
            self.diff.examples.push(Example {
                from: from(),
                kinds,
                event: serde_json::to_value(event).unwrap_or_default(),
                old_reasons: old.reasons(zone),
                new_reasons: new.reasons(zone),
                old,
                new,
            });
        }
    }

    pub fn finish(self) -> Diff {
        self.diff
    }
}

/// Replays an events file: one JSON event per line, as `simulate` reads
/// them (blank lines skipped). A line that is not an event is an error
/// naming it; nothing is compared past it.
pub fn events(replay: &mut Replay, lines: impl std::io::BufRead) -> Result<(), String> {
    replay.start_over(State::new());
    for (index, line) in lines.lines().enumerate() {
        let number = index as u64 + 1;
        let line = line.map_err(|e| format!("line {number}: {e}"))?;
        if line.trim().is_empty() {
            continue;
        }
        let event: Event =
            serde_json::from_str(&line).map_err(|e| format!("line {number}: not an event: {e}"))?;
        replay.step(|| format!("line {number}"), &event);
    }
    Ok(())
}

/// Replays a tenant's stored log, as the service would step it (closed
/// conversations leave memory); `log` hands over each stored event in
/// order, as [`crate::store::TenantStore::replay`] does from the start.
pub fn stored(
    log: impl FnOnce(&mut dyn FnMut(Stored) -> Result<(), String>) -> Result<(), StoreError>,
    old: Engine,
    new: Engine,
    options: Options,
) -> Result<Diff, String> {
    let options = Options {
        evict: true,
        ..options
    };
    let mut replay = Replay::new(old, new, State::new(), options);
    let mut first = None;
    log(&mut |stored| {
        first.get_or_insert(stored.seq);
        let event: Event = serde_json::from_str(&stored.event)
            .map_err(|e| format!("stored event {}: {e}", stored.seq))?;
        replay.step(|| format!("event {}", stored.seq), &event);
        Ok(())
    })
    .map_err(|e| e.to_string())?;
    let mut diff = replay.finish();
    diff.log_starts_at = first.filter(|&seq| seq > 1);
    Ok(diff)
}

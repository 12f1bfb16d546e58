//! The decision engine: a compiled policy answers events.
//!
//! ```text
//! (policy, state, event) ──step──▶ decision + changed state
//! ```
//!
//! `step` is pure and deterministic: it reads no clock (the event carries
//! `at`) and no global randomness, so the same policy, state and events give
//! the same decisions, every time. First it lets time pass to `at` (locks,
//! alerts, invites and sessions due by then expire, in deadline order), then
//! it handles the event.
//!
//! An event whose `at` is outside [`event::accepted_range`] is rejected
//! (`bad_time`) before anything happens, so every time the engine computes
//! stays in years 1970 to 9000 and prints as RFC 3339.

mod actions;
mod compliance;
pub mod decision;
mod draft;
pub mod event;
mod ids;
mod inbound;
mod refine;
mod session;
mod slots;
pub mod state;
pub(crate) mod text;
mod timers;
pub mod view;

pub use decision::{Change, Decision, Denial, Outbound, Outcome, Rule, Why};
pub use event::{BadTime, Event};
pub use state::{Conversation, State};

use crate::policy::{AgentId, Inbox, Policy};
use chrono::{DateTime, Utc};
use draft::Draft;
use std::sync::Arc;

/// A compiled policy, ready to decide. Cheap to clone; share it across
/// threads.
#[derive(Clone, Debug)]
pub struct Engine {
    policy: Arc<Policy>,
    /// Whether decisions carry their explanation.
    explain: bool,
}

impl Engine {
    /// An engine whose decisions carry no explanation: the fastest, for
    /// callers that only act on the answer.
    pub fn new(policy: Policy) -> Self {
        Engine::from_shared(Arc::new(policy))
    }

    pub fn from_shared(policy: Arc<Policy>) -> Self {
        Engine {
            policy,
            explain: false,
        }
    }

    /// The same engine, its decisions explained (or not): every rule that took part
    /// (`explanation.steps`) and every member not offered a conversation,
    /// with why. The service, scenarios and `simulate --explain` ask for
    /// it; otherwise nothing of it is built. What is decided is the same
    /// either way.
    ///
    /// ```
    /// use switchboard::engine::{Engine, Event, State};
    /// let policy = switchboard::compile(
    ///     "tenant a { zone UTC; country US }\n\
    ///      number +14155550100\nagent ana\n\
    ///      inbox main shared { numbers +14155550100; agents ana }",
    /// ).unwrap();
    /// let event: Event = serde_json::from_str(
    ///     r#"{"type":"inbound","at":"2026-03-02T10:00:00Z","from":"+14155551234","to":"+14155550100","body":"Hi"}"#,
    /// ).unwrap();
    /// let engine = Engine::new(policy);
    /// assert!(engine.decide(&State::new(), &event).explanation.is_none());
    /// let explained = engine.explaining(true).decide(&State::new(), &event);
    /// assert!(!explained.explanation.unwrap().steps.is_empty());
    /// ```
    pub fn explaining(&self, explain: bool) -> Engine {
        Engine {
            policy: self.policy.clone(),
            explain,
        }
    }

    /// Whether this engine's decisions carry their explanation.
    pub fn explains(&self) -> bool {
        self.explain
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Answers what [`Engine::step`] would decide for `event`, and changes
    /// nothing: "may ana reply to c12 now?" for an agent desktop greying out
    /// a button, or the service's dry run.
    ///
    /// The state is neither changed nor copied: the decision works on a
    /// draft that reads through to `state` and holds only what the event
    /// would change (a conversation or two, an agent, a counter), dropped
    /// after. `step` decides through the same draft and commits it, so the
    /// two always agree. The cost does not grow with the state.
    ///
    /// ```
    /// use switchboard::engine::{Engine, Event, State};
    /// let policy = switchboard::compile(
    ///     "tenant a { zone UTC; country US }\n\
    ///      number +14155550100\nagent ana\n\
    ///      inbox main shared { numbers +14155550100; agents ana }",
    /// ).unwrap();
    /// let engine = Engine::new(policy);
    /// let state = State::new();
    /// let event: Event = serde_json::from_str(
    ///     r#"{"type":"inbound","at":"2026-03-02T10:00:00Z","from":"+14155551234","to":"+14155550100","body":"Hi"}"#,
    /// ).unwrap();
    /// let decision = engine.decide(&state, &event);
    /// assert_eq!(decision.inbox.as_deref(), Some("main"));
    /// assert_eq!(state.open_count(), 0, "nothing was opened");
    /// ```
    pub fn decide(&self, state: &State, event: &Event) -> Decision {
        self.draft(&mut Draft::new(state), event)
    }

    /// Decides one event and applies its changes to `state`.
    ///
    /// An event at a time outside [`event::accepted_range`] is rejected with
    /// the denial `bad_time`, and `state` is left exactly as it was: not even
    /// the clock or the timers move.
    ///
    /// ```
    /// use switchboard::engine::{Engine, Event, State};
    /// let policy = switchboard::compile(
    ///     "tenant a { zone UTC; country US }\n\
    ///      number +14155550100\nagent ana\n\
    ///      inbox main shared { numbers +14155550100; agents ana }",
    /// ).unwrap();
    /// let engine = Engine::new(policy);
    /// let mut state = State::new();
    /// let event: Event = serde_json::from_str(
    ///     r#"{"type":"inbound","at":"2026-03-02T10:00:00Z","from":"+14155551234","to":"+14155550100","body":"Hi"}"#,
    /// ).unwrap();
    /// let decision = engine.step(&mut state, &event);
    /// assert_eq!(decision.inbox.as_deref(), Some("main"));
    /// assert_eq!(decision.visible_to.as_ref(), ["ana"]);
    /// ```
    pub fn step(&self, state: &mut State, event: &Event) -> Decision {
        let (decision, changes) = {
            let mut draft = Draft::new(state);
            let decision = self.draft(&mut draft, event);
            (decision, draft.into_changes())
        };
        state.commit(changes);
        decision
    }

    /// Decides one event on a draft of the state.
    fn draft(&self, state: &mut Draft<'_>, event: &Event) -> Decision {
        let at = event.at();
        if event.check_time().is_err() {
            let mut d = Decision::new(at, event.kind(), Outcome::Rejected, self.explain);
            d.denial = Some(Denial::BadTime { at });
            d.next_tick = state.next_deadline();
            return d;
        }
        let mut d = Decision::new(at, event.kind(), Outcome::Allowed, self.explain);
        timers::advance(&self.policy, state, at, &mut d);
        let cx = Cx {
            policy: &self.policy,
            at,
        };
        match event {
            Event::Inbound(e) => inbound::inbound(&cx, state, e, &mut d),
            Event::Reply(a) => actions::reply(&cx, state, a, &mut d),
            Event::Note(a) => actions::note(&cx, state, a, &mut d),
            Event::Claim(a) => actions::claim(&cx, state, a, &mut d),
            Event::Release(a) => actions::release(&cx, state, a, &mut d),
            Event::Accept(a) => actions::accept(&cx, state, a, &mut d),
            Event::Decline(a) => actions::decline(&cx, state, a, &mut d),
            Event::Hide(a) => actions::hide(&cx, state, a, &mut d),
            Event::Close(a) => actions::close(&cx, state, a, &mut d),
            Event::Status(s) => actions::status(&cx, state, s, &mut d),
            Event::Tick(_) => d.outcome = Outcome::Ticked,
        }
        state.advance_clock(at);
        d.next_tick = state.next_deadline();
        d
    }
}

/// What every handler needs besides the state.
pub(crate) struct Cx<'p> {
    pub policy: &'p Policy,
    pub at: DateTime<Utc>,
}

impl Cx<'_> {
    pub fn is_member(&self, inbox: &Inbox, agent: AgentId) -> bool {
        inbox.members.binary_search(&agent).is_ok()
    }

    /// Every member's name, in declaration order.
    pub fn member_names(&self, inbox: &Inbox) -> decision::Agents {
        inbox.member_names.clone()
    }
}

/// A stable 64-bit seed for anything a decision picks at random: the same
/// conversation always gets the same choice.
pub fn seed(conversation: &str) -> u64 {
    // FNV-1a: simple, fast, and the same on every platform and release.
    conversation
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        })
}

//! A decision's working copy of the state: reads fall through to the state
//! it was drawn from, writes stay in the draft.
//!
//! ```text
//! decide: State ─Draft::new─▶ handlers ─▶ decision        (the draft is dropped)
//! step:   State ─Draft::new─▶ handlers ─▶ decision ─commit─▶ State
//! ```
//!
//! Both run the same handlers on the same draft, so `decide` answers exactly
//! what `step` decides, without changing or copying the state: a decision
//! touches a handful of conversations and agents, and only those are copied
//! into the draft; what it adds to counters is kept apart and added at
//! commit. What the state derives (open conversations
//! by number, deadlines, loads, pending alerts) is read from the state and
//! corrected for what the draft changed.

use super::ids::{slot_of, ConversationId, Slot};
use super::state::{AgentState, Changes, Conversation, Counters, Pair, State};
use chrono::{DateTime, Utc};
use smallvec::SmallVec;
use smol_str::SmolStr;
use std::cell::RefCell;

pub(crate) struct Draft<'s> {
    base: &'s State,
    /// Conversations changed or opened, with their slots; a decision
    /// touches few, so a list searched in order is fastest.
    conversations: SmallVec<[(Slot, Conversation); 2]>,
    agents: SmallVec<[(SmolStr, AgentState); 1]>,
    /// What the decision adds to inboxes' counters: counters are only
    /// ever added to, so the state's are not read (nor copied) until
    /// commit.
    counted: SmallVec<[(SmolStr, Counters); 2]>,
    /// Customers whose opt-out changed: whether they are opted out now.
    opted_out: SmallVec<[(SmolStr, bool); 1]>,
    /// Customers a closed keyword queue told so, until its next opening.
    told_closed: Vec<(Pair, DateTime<Utc>)>,
    next_id: u64,
    clock: Option<DateTime<Utc>>,
    /// The state's answer to the last "which conversation is open between
    /// this number and customer?": an inbound message asks it twice (is one
    /// open in another inbox? is one open here?), and in a large state the
    /// first lookup is most of a new customer's decision.
    open_asked: RefCell<Option<(SmolStr, SmolStr, Option<Slot>)>>,
}

impl<'s> Draft<'s> {
    pub fn new(base: &'s State) -> Draft<'s> {
        Draft {
            base,
            conversations: SmallVec::new(),
            agents: SmallVec::new(),
            counted: SmallVec::new(),
            opted_out: SmallVec::new(),
            told_closed: Vec::new(),
            next_id: base.next_id,
            clock: base.clock,
            open_asked: RefCell::new(None),
        }
    }

    pub fn into_changes(self) -> Changes {
        Changes {
            conversations: self.conversations,
            agents: self.agents,
            counted: self.counted,
            opted_out: self.opted_out,
            told_closed: self.told_closed,
            next_id: self.next_id,
            clock: self.clock,
        }
    }

    fn drafted(&self, slot: Slot) -> Option<&Conversation> {
        self.conversations
            .iter()
            .find(|(s, _)| *s == slot)
            .map(|(_, c)| c)
    }

    pub fn slot(&self, slot: Slot) -> Option<&Conversation> {
        self.drafted(slot).or_else(|| self.base.slot(slot))
    }

    pub fn conversation(&self, id: &str) -> Option<&Conversation> {
        slot_of(id).and_then(|slot| self.slot(slot))
    }

    /// The conversation an id names, with its slot.
    pub fn conversation_at(&self, id: &str) -> Option<(Slot, &Conversation)> {
        let slot = slot_of(id)?;
        Some((slot, self.slot(slot)?))
    }

    /// A conversation the caller found in this draft a moment ago.
    pub fn known(&self, id: &str) -> &Conversation {
        self.conversation(id).expect("a conversation of this state")
    }

    pub fn was_archived(&self, id: &str) -> bool {
        slot_of(id).is_some_and(|n| {
            n <= self.next_id && self.drafted(n).is_none() && self.base.was_archived(id)
        })
    }

    pub fn open_conversation_of(
        &self,
        number: &SmolStr,
        customer: &SmolStr,
    ) -> Option<&Conversation> {
        self.open_conversation_at(number, customer).map(|(_, c)| c)
    }

    /// The open conversation between a number and a customer, with its slot.
    pub fn open_conversation_at(
        &self,
        number: &SmolStr,
        customer: &SmolStr,
    ) -> Option<(Slot, &Conversation)> {
        let drafted = self
            .conversations
            .iter()
            .find(|(_, c)| c.is_open() && c.number == *number && c.customer == *customer);
        if let Some((slot, c)) = drafted {
            return Some((*slot, c));
        }
        let slot = self.stored_open_slot(number, customer)?;
        // Drafted and no longer open: not open.
        match self.drafted(slot) {
            Some(_) => None,
            None => Some((slot, self.base.slot(slot)?)),
        }
    }

    /// The state's open conversation between a number and a customer,
    /// asked of the state once per draft for the same pair.
    fn stored_open_slot(&self, number: &SmolStr, customer: &SmolStr) -> Option<Slot> {
        let mut asked = self.open_asked.borrow_mut();
        if let Some((n, c, slot)) = &*asked {
            if n == number && c == customer {
                return *slot;
            }
        }
        let slot = self.base.open_slot(number, customer);
        *asked = Some((number.clone(), customer.clone(), slot));
        slot
    }

    pub fn open_conversation(&self, number: &str, customer: &str) -> Option<&Conversation> {
        self.open_conversation_of(&SmolStr::new(number), &SmolStr::new(customer))
    }

    pub fn new_id(&mut self) -> ConversationId {
        self.next_id += 1;
        super::ids::conversation_id(self.next_id)
    }

    /// A new conversation, its id made by `new_id`.
    pub fn put(&mut self, conversation: Conversation) {
        let slot = slot_of(&conversation.id).unwrap_or(self.next_id);
        self.conversations.push((slot, conversation));
    }

    pub fn update<R>(&mut self, id: &str, f: impl FnOnce(&mut Conversation) -> R) -> Option<R> {
        self.update_at(slot_of(id)?, f)
    }

    pub fn update_at<R>(
        &mut self,
        slot: Slot,
        f: impl FnOnce(&mut Conversation) -> R,
    ) -> Option<R> {
        let at = match self.conversations.iter().position(|(s, _)| *s == slot) {
            Some(at) => at,
            None => {
                let copy = self.base.slot(slot)?.clone();
                self.conversations.push((slot, copy));
                self.conversations.len() - 1
            }
        };
        Some(f(&mut self.conversations[at].1))
    }

    pub fn agent(&self, name: &str) -> Option<&AgentState> {
        match self.agents.iter().find(|(n, _)| n == name) {
            Some((_, a)) => Some(a),
            None => self.base.agent(name),
        }
    }

    /// An agent's status; an agent with no status event yet is ready.
    pub fn status_of(&self, agent: &str) -> &str {
        self.agent(agent).map_or("ready", |a| a.status.as_str())
    }

    pub fn agent_mut(&mut self, name: &SmolStr) -> &mut AgentState {
        let base = self.base;
        entry(&mut self.agents, name, || base.agent(name).cloned())
    }

    /// What this decision adds to an inbox's counters (starting at zero;
    /// the state's own counts are added at commit).
    pub fn counted(&mut self, inbox: &SmolStr) -> &mut Counters {
        entry(&mut self.counted, inbox, || None)
    }

    pub fn is_opted_out(&self, customer: &str) -> bool {
        match self.opted_out.iter().find(|(c, _)| c == customer) {
            Some((_, out)) => *out,
            None => self.base.is_opted_out(customer),
        }
    }

    fn set_opted_out(&mut self, customer: &SmolStr, out: bool) -> bool {
        if self.is_opted_out(customer) == out {
            return false;
        }
        match self.opted_out.iter_mut().find(|(c, _)| c == customer) {
            Some(entry) => entry.1 = out,
            None => self.opted_out.push((customer.clone(), out)),
        }
        true
    }

    /// Until when a closed keyword queue's customer has been told so.
    pub fn told_closed(&self, pair: &Pair) -> Option<DateTime<Utc>> {
        match self.told_closed.iter().find(|(p, _)| p == pair) {
            Some((_, until)) => Some(*until),
            None => self.base.told_closed(pair),
        }
    }

    /// Notes that a closed keyword queue told its customer so, until `until`.
    pub fn tell_closed(&mut self, pair: Pair, until: DateTime<Utc>) {
        match self.told_closed.iter_mut().find(|(p, _)| *p == pair) {
            Some(entry) => entry.1 = until,
            None => self.told_closed.push((pair, until)),
        }
    }

    /// Notes that a customer opted out; false if they already had.
    pub fn opt_out(&mut self, customer: &SmolStr) -> bool {
        self.set_opted_out(customer, true)
    }

    /// Notes that a customer opted back in; false if they had not opted out.
    pub fn opt_in(&mut self, customer: &SmolStr) -> bool {
        self.set_opted_out(customer, false)
    }

    /// The earliest deadline and the conversation it belongs to: the
    /// state's, skipping conversations the draft holds, against the
    /// draft's own.
    pub fn first_deadline(&self) -> Option<(DateTime<Utc>, Slot)> {
        if self.conversations.is_empty() {
            return self.base.first_deadline();
        }
        let drafted = self
            .conversations
            .iter()
            .filter_map(|(slot, c)| Some((c.deadline()?, *slot)))
            .min();
        // Usually the state's first deadline is not the draft's business;
        // walking the deadlines in order is for when it is.
        let stored = match self.base.first_deadline() {
            Some((_, slot)) if self.drafted(slot).is_some() => self
                .base
                .deadlines_in_order()
                .find(|(_, slot)| self.drafted(*slot).is_none()),
            first => first,
        };
        match (drafted, stored) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The next time anything expires: when the engine wants a tick.
    pub fn next_deadline(&self) -> Option<DateTime<Utc>> {
        self.first_deadline().map(|(at, _)| at)
    }

    /// The change the draft makes to a count the state derives from its
    /// conversations.
    fn delta(&self, counts: impl Fn(&Conversation) -> bool) -> i64 {
        self.conversations
            .iter()
            .map(|(slot, after)| {
                let before = self.base.slot(*slot).is_some_and(&counts);
                i64::from(counts(after)) - i64::from(before)
            })
            .sum()
    }

    fn corrected(stored: u32, delta: i64) -> u32 {
        (i64::from(stored) + delta).max(0) as u32
    }

    /// Open conversations in `inbox` that `agent` owns.
    pub fn load_of(&self, inbox: &SmolStr, agent: &SmolStr) -> u32 {
        let owns =
            |c: &Conversation| c.is_open() && c.inbox == *inbox && c.owner.as_ref() == Some(agent);
        Self::corrected(self.base.load_of(inbox, agent), self.delta(owns))
    }

    pub fn load(&self, inbox: &str, agent: &str) -> u32 {
        self.load_of(&SmolStr::new(inbox), &SmolStr::new(agent))
    }

    /// The agent's pending alerts and invites, hidden ones included.
    pub fn pending_alerts(&self, agent: &str) -> u32 {
        let offered = |c: &Conversation| {
            c.is_open()
                && c.alerts
                    .as_ref()
                    .is_some_and(|a| a.agents.iter().any(|x| x == agent))
        };
        Self::corrected(self.base.pending_alerts(agent), self.delta(offered))
    }

    /// Moves the clock forward to `at`, never back.
    pub fn advance_clock(&mut self, at: DateTime<Utc>) {
        if self.clock.is_none_or(|c| c < at) {
            self.clock = Some(at);
        }
    }
}

/// The draft's copy of a named value: found in the list, or copied in from
/// the state (`stored`) on first write, or the default when the state has
/// none.
fn entry<'d, V: Default, A: smallvec::Array<Item = (SmolStr, V)>>(
    list: &'d mut SmallVec<A>,
    name: &SmolStr,
    stored: impl FnOnce() -> Option<V>,
) -> &'d mut V {
    let at = match list.iter().position(|(n, _)| n == name) {
        Some(at) => at,
        None => {
            list.push((name.clone(), stored().unwrap_or_default()));
            list.len() - 1
        }
    };
    &mut list[at].1
}

//! Conversation state: plain data the engine reads and returns.
//!
//! State serializes to JSON (maps sorted, conversations in the order they
//! opened, so equal states print equal) and back unchanged. Conversations
//! are kept by their slot, the number of their id (`c7` at 7), which grows
//! in the order they opened; the indexes that make lookups fast (open
//! conversation by number and customer, deadlines in time order, agents'
//! loads) hold slots. They are derived: not serialized, rebuilt when a
//! state is read.
//!
//! Every collection is persistent (copy-on-write: the conversations in a
//! radix trie over their slots, `engine::slots`; the rest from `imbl`), so a clone
//! costs a few reference counts whatever the state's size, and changing the
//! clone copies only the parts it touches. The runtime leans on that: it
//! keeps the state before a batch of steps to put back if its write fails,
//! publishes a clone for readers after every durable step, and serializes a
//! clone for a snapshot on another thread, none of it copying the state.
//!
//! An archived conversation plays no further part in any decision (an
//! action naming it is denied `closed` whether or not it is still here), so
//! the runtime can [evict](State::evict_archived) archived conversations
//! once they are stored, and the state stays as large as what is open.

use super::event::Customer;
pub(crate) use super::ids::Slot;
use super::ids::{slot_of, Agents};
use super::slots::Slots;
use crate::vocab::{Channel, ClaimMode};
use chrono::{DateTime, Utc};
use imbl::OrdSet;

/// The state's hash maps hash with foldhash, seeded at random per map: the
/// open-conversation index is the first thing a customer's message asks,
/// and SipHash (the default) was a fifth of that lookup.
type HashMap<K, V> =
    imbl::GenericHashMap<K, V, foldhash::fast::RandomState, imbl::shared_ptr::DefaultSharedPtr>;
type HashSet<K> =
    imbl::GenericHashSet<K, foldhash::fast::RandomState, imbl::shared_ptr::DefaultSharedPtr>;
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;
use smol_str::SmolStr;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

pub use super::ids::ConversationId;

/// What a decision's draft changed, to be committed to the state it was
/// drawn from (`engine::draft`).
pub(crate) struct Changes {
    pub conversations: SmallVec<[(Slot, Conversation); 2]>,
    pub agents: SmallVec<[(SmolStr, AgentState); 1]>,
    pub counted: SmallVec<[(SmolStr, Counters); 2]>,
    pub opted_out: SmallVec<[(SmolStr, bool); 1]>,
    pub told_closed: Vec<(Pair, DateTime<Utc>)>,
    pub next_id: u64,
    pub clock: Option<DateTime<Utc>>,
}

/// A business number and a customer.
pub(crate) type Pair = (SmolStr, SmolStr);

/// Everything the engine remembers for one tenant.
#[derive(Clone, Debug, Default)]
pub struct State {
    /// Every conversation in memory, open or archived, by slot.
    pub(crate) conversations: Slots<Arc<Conversation>>,
    pub(crate) agents: HashMap<SmolStr, AgentState>,
    /// Customers who opted out of the tenant's messages.
    pub(crate) opted_out: HashSet<SmolStr>,
    /// Reporting counters per inbox.
    pub(crate) counters: HashMap<SmolStr, Counters>,
    /// Customers a closed keyword queue sent its after-hours reply, with no
    /// conversation to remember it by (a conversation's own is its
    /// `away_until`): by business number and customer, until the next
    /// opening. Kept only while it holds: each decision drops those whose
    /// opening has come.
    pub(crate) told_closed: HashMap<Pair, DateTime<Utc>>,
    /// The number the next conversation id takes.
    pub(crate) next_id: u64,
    /// The latest time the engine has seen.
    pub(crate) clock: Option<DateTime<Utc>>,
    /// Derived: the open conversation of a business number and customer.
    pub(crate) open: Open,
    /// Derived: each conversation's next deadline, in time order.
    pub(crate) deadlines: Deadlines,
    /// Derived: per inbox and agent, the open conversations the agent owns.
    pub(crate) loads: HashMap<(SmolStr, SmolStr), u32>,
    /// Derived: per agent, pending alerts and invites (hidden ones too).
    pub(crate) pending: HashMap<SmolStr, u32>,
    /// Derived: archived conversations still in memory.
    pub(crate) archived: OrdSet<Slot>,
    /// Derived: `told_closed` in time order, so the ones whose opening has
    /// come are found without a walk over them all.
    pub(crate) told_closed_until: OrdSet<(DateTime<Utc>, Pair)>,
}

/// The open conversation of each business number and customer, by number
/// and then by customer: a number's customers make a small map under it,
/// and the numbers' own level, asked by every message, stays in the cache.
/// One map keyed by both took four cache-missing levels at 100,000
/// conversations.
#[derive(Clone, Debug, Default)]
pub(crate) struct Open {
    by_number: HashMap<SmolStr, HashMap<SmolStr, Slot>>,
    len: usize,
}

impl Open {
    fn get(&self, number: &str, customer: &str) -> Option<Slot> {
        self.by_number.get(number)?.get(customer).copied()
    }

    fn insert(&mut self, number: &SmolStr, customer: &SmolStr, slot: Slot) {
        let customers = self.by_number.entry(number.clone()).or_default();
        if customers.insert(customer.clone(), slot).is_none() {
            self.len += 1;
        }
    }

    fn remove(&mut self, number: &str, customer: &str) {
        let Some(customers) = self.by_number.get_mut(number) else {
            return;
        };
        if customers.remove(customer).is_some() {
            self.len -= 1;
        }
        if customers.is_empty() {
            self.by_number.remove(number);
        }
    }

    fn len(&self) -> usize {
        self.len
    }
}

/// Each conversation's next deadline, in time order, with the earliest
/// kept beside the set: every decision asks for it (are timers due? when
/// is the next tick?), and reading it from the tree is a walk down its
/// levels, each a likely cache miss.
#[derive(Clone, Debug, Default)]
pub(crate) struct Deadlines {
    set: OrdSet<(DateTime<Utc>, Slot)>,
    first: Option<(DateTime<Utc>, Slot)>,
}

impl Deadlines {
    fn insert(&mut self, deadline: (DateTime<Utc>, Slot)) {
        self.set.insert(deadline);
        if self.first.is_none_or(|first| deadline < first) {
            self.first = Some(deadline);
        }
    }

    fn remove(&mut self, deadline: &(DateTime<Utc>, Slot)) {
        self.set.remove(deadline);
        if self.first.as_ref() == Some(deadline) {
            self.first = self.set.get_min().copied();
        }
    }

    fn first(&self) -> Option<(DateTime<Utc>, Slot)> {
        self.first
    }

    fn iter(&self) -> impl Iterator<Item = (DateTime<Utc>, Slot)> + '_ {
        self.set.iter().copied()
    }
}

/// What a conversation adds to its agents' loads.
#[derive(PartialEq)]
struct Load {
    open: bool,
    owner: Option<SmolStr>,
    offered: Option<Agents>,
}

impl Load {
    fn of(c: &Conversation) -> Load {
        Load {
            open: c.is_open(),
            owner: c.owner.clone(),
            offered: c.alerts.as_ref().map(|a| a.agents.clone()),
        }
    }
}

/// One conversation between a customer and a business number.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    pub id: ConversationId,
    pub inbox: SmolStr,
    /// The business number.
    pub number: SmolStr,
    pub customer: SmolStr,
    pub channel: Channel,
    /// What is known of the customer (boxed: most conversations know
    /// nothing, and a small conversation keeps memory low).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_info: Option<Box<Customer>>,
    pub opened_at: DateTime<Utc>,
    pub last_inbound_at: DateTime<Utc>,
    /// Set when the conversation is closed and archived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<DateTime<Utc>>,
    pub claim: ClaimMode,
    /// Who works the conversation: the claimer, the agent who accepted, or a
    /// direct number's agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<SmolStr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock: Option<Lock>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<Box<Session>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alerts: Option<Box<Alerts>>,
    /// The agents a routing or escalation hook gave the conversation to:
    /// they, not all the inbox's members, see it and are offered it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned: Option<Agents>,
    /// Tags and priority a routing hook set.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<SmolStr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
    /// When the escalation hook runs if nobody has replied by then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation: Option<Box<Escalation>>,
    /// An after-hours or deflection notice went out; none again before this
    /// (the next opening).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub away_until: Option<DateTime<Utc>>,
    pub inbound: u32,
    pub outbound: u32,
    /// Customer messages since the owner last replied.
    #[serde(default)]
    pub unanswered: u32,
}

/// A reply lock: only `holder` may reply until `until` (exclusive).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lock {
    pub holder: SmolStr,
    pub until: DateTime<Utc>,
}

/// A pending escalation: at `at`, if the conversation has had no reply since
/// (its outbound count is still `outbound`), the inbox's escalation hook runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Escalation {
    pub at: DateTime<Utc>,
    pub outbound: u32,
}

/// A keyword-queue session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub started_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_at: Option<DateTime<Utc>>,
    /// When the session ends for want of messages, if the queue has a timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}

/// Pending new-conversation alerts or queue invites.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alerts {
    pub until: DateTime<Utc>,
    /// Agents with a pending alert, in offer order (shared with the
    /// policy's member list when every member was alerted).
    pub agents: Agents,
    /// Of those, the ones who hid it from their view (still pending).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hidden: Vec<SmolStr>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentState {
    pub status: SmolStr,
    /// Offers let expire since the agent last accepted one.
    #[serde(default)]
    pub missed_in_a_row: u32,
    /// Why the engine set the agent unavailable, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<SmolStr>,
}

impl Default for AgentState {
    fn default() -> Self {
        AgentState {
            status: SmolStr::new_static("ready"),
            missed_in_a_row: 0,
            unavailable: None,
        }
    }
}

/// Reporting counters for one inbox.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    pub conversations: u64,
    pub inbound: u64,
    pub outbound: u64,
    /// Keyword-queue sessions an agent handled to the end (SMS_VOL).
    pub sessions_handled: u64,
    /// Their total handling time, from acceptance to end, in seconds.
    pub handle_secs: u64,
    /// Hook calls that fell back to the policy.
    #[serde(default)]
    pub hook_failures: u64,
}

impl Counters {
    /// Adds another's counts to these (saturating: a count never wraps).
    pub(crate) fn add(&mut self, other: &Counters) {
        let Counters {
            conversations,
            inbound,
            outbound,
            sessions_handled,
            handle_secs,
            hook_failures,
        } = other;
        self.conversations = self.conversations.saturating_add(*conversations);
        self.inbound = self.inbound.saturating_add(*inbound);
        self.outbound = self.outbound.saturating_add(*outbound);
        self.sessions_handled = self.sessions_handled.saturating_add(*sessions_handled);
        self.handle_secs = self.handle_secs.saturating_add(*handle_secs);
        self.hook_failures = self.hook_failures.saturating_add(*hook_failures);
    }

    /// Average handle time in seconds (SMS_AHT), if any session was handled.
    pub fn average_handle_secs(&self) -> Option<f64> {
        (self.sessions_handled > 0).then(|| self.handle_secs as f64 / self.sessions_handled as f64)
    }
}

impl Conversation {
    pub fn is_open(&self) -> bool {
        self.closed_at.is_none()
    }

    /// The earliest time something about this conversation expires.
    pub fn deadline(&self) -> Option<DateTime<Utc>> {
        // A closed conversation waits for nothing: its lock, alerts, session
        // and escalation ended with it (and it may leave memory at once).
        if !self.is_open() {
            return None;
        }
        [
            self.lock.as_ref().map(|l| l.until),
            self.alerts.as_ref().map(|a| a.until),
            self.session.as_ref().and_then(|s| s.expires_at),
            self.escalation.as_ref().map(|e| e.at),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The lock, if it is still held at `now`.
    pub fn lock_at(&self, now: DateTime<Utc>) -> Option<&Lock> {
        self.lock.as_ref().filter(|l| now < l.until)
    }
}

impl State {
    pub fn new() -> Self {
        State::default()
    }

    pub fn conversation(&self, id: &str) -> Option<&Conversation> {
        slot_of(id).and_then(|slot| self.slot(slot))
    }

    pub(crate) fn slot(&self, slot: Slot) -> Option<&Conversation> {
        self.conversations.get(slot).map(|c| &**c)
    }

    /// Whether `id` names a conversation this state opened that is no longer
    /// in memory: ids are `c` and a number the state counts up, and only an
    /// archived conversation ever leaves.
    pub fn was_archived(&self, id: &str) -> bool {
        slot_of(id).is_some_and(|n| n <= self.next_id && !self.conversations.contains_key(n))
    }

    /// Every conversation in memory, open or archived, in the order they
    /// opened.
    pub fn conversations(&self) -> impl Iterator<Item = &Conversation> {
        self.conversations.values().map(|c| &**c)
    }

    /// The open conversation between a business number and a customer.
    pub fn open_conversation(&self, number: &str, customer: &str) -> Option<&Conversation> {
        self.open_conversation_of(&SmolStr::new(number), &SmolStr::new(customer))
    }

    /// As `open_conversation`, for names already held as `SmolStr` (no copy).
    pub fn open_conversation_of(
        &self,
        number: &SmolStr,
        customer: &SmolStr,
    ) -> Option<&Conversation> {
        self.open
            .get(number, customer)
            .and_then(|slot| self.slot(slot))
    }

    pub fn agent(&self, name: &str) -> Option<&AgentState> {
        self.agents.get(name)
    }

    /// An agent's status; an agent with no status event yet is ready.
    pub fn status_of(&self, agent: &str) -> &str {
        self.agents
            .get(agent)
            .map_or("ready", |a| a.status.as_str())
    }

    pub fn is_opted_out(&self, customer: &str) -> bool {
        // Most tenants' lists are empty: asked on every message sent, that
        // answer needs no hashing.
        !self.opted_out.is_empty() && self.opted_out.contains(customer)
    }

    pub fn counters(&self, inbox: &str) -> Option<&Counters> {
        self.counters.get(inbox)
    }

    /// Until when a closed keyword queue's customer has been told so.
    pub(crate) fn told_closed(&self, pair: &Pair) -> Option<DateTime<Utc>> {
        if self.told_closed.is_empty() {
            return None;
        }
        self.told_closed.get(pair).copied()
    }

    fn tell_closed(&mut self, pair: Pair, until: DateTime<Utc>) {
        if let Some(was) = self.told_closed.insert(pair.clone(), until) {
            self.told_closed_until.remove(&(was, pair.clone()));
        }
        self.told_closed_until.insert((until, pair));
    }

    /// Forgets who was told a queue is closed once it has opened.
    fn forget_told_closed(&mut self, now: DateTime<Utc>) {
        while let Some((until, pair)) = self.told_closed_until.get_min().cloned() {
            if until > now {
                break;
            }
            self.told_closed_until.remove(&(until, pair.clone()));
            self.told_closed.remove(&pair);
        }
    }

    pub fn clock(&self) -> Option<DateTime<Utc>> {
        self.clock
    }

    /// The next time anything expires: when the engine wants a tick.
    pub fn next_deadline(&self) -> Option<DateTime<Utc>> {
        self.deadlines.first().map(|(at, _)| at)
    }

    /// How many conversations the state holds in memory, open or archived.
    pub fn conversation_count(&self) -> usize {
        self.conversations.len()
    }

    pub fn open_count(&self) -> usize {
        self.open.len()
    }

    /// Open conversations in `inbox` that `agent` owns: the sessions that
    /// count against their max.
    pub fn load(&self, inbox: &str, agent: &str) -> u32 {
        let key = (SmolStr::new(inbox), SmolStr::new(agent));
        self.loads.get(&key).copied().unwrap_or(0)
    }

    /// As `load`, for names already held as `SmolStr` (no copy).
    pub fn load_of(&self, inbox: &SmolStr, agent: &SmolStr) -> u32 {
        self.loads
            .get(&(inbox.clone(), agent.clone()))
            .copied()
            .unwrap_or(0)
    }

    /// The agent's pending alerts and invites, hidden ones included.
    pub fn pending_alerts(&self, agent: &str) -> u32 {
        self.pending.get(agent).copied().unwrap_or(0)
    }

    /// Takes the archived conversations out of memory and returns them,
    /// in the order they opened. No decision depends on them any more;
    /// the caller keeps them elsewhere if they are to be read.
    pub fn evict_archived(&mut self) -> Vec<Conversation> {
        let slots = std::mem::take(&mut self.archived);
        let mut evicted = Vec::with_capacity(slots.len());
        for slot in slots {
            let Some(c) = self.conversations.remove(slot) else {
                continue;
            };
            if let Some(when) = c.deadline() {
                self.deadlines.remove(&(when, slot));
            }
            evicted.push(Arc::unwrap_or_clone(c));
        }
        evicted
    }

    /// Stores a new conversation and indexes it.
    pub(crate) fn put(&mut self, conversation: Conversation) {
        // Ids are made by `new_id`, or checked when a state is read.
        let slot = slot_of(&conversation.id).unwrap_or(self.next_id);
        self.index(slot, &conversation);
        self.conversations.insert(slot, Arc::new(conversation));
    }

    /// The slot of the open conversation between a number and a customer.
    pub(crate) fn open_slot(&self, number: &SmolStr, customer: &SmolStr) -> Option<Slot> {
        self.open.get(number, customer)
    }

    /// The earliest deadline and the conversation it belongs to.
    pub(crate) fn first_deadline(&self) -> Option<(DateTime<Utc>, Slot)> {
        self.deadlines.first()
    }

    /// Every deadline, earliest first, with its conversation.
    pub(crate) fn deadlines_in_order(&self) -> impl Iterator<Item = (DateTime<Utc>, Slot)> + '_ {
        self.deadlines.iter()
    }

    /// Applies what a decision's draft changed. Conversations go in slot
    /// order, so one closed by this decision leaves the open index before
    /// a new one for the same customer enters it.
    pub(crate) fn commit(&mut self, mut changes: Changes) {
        changes.conversations.sort_by_key(|(slot, _)| *slot);
        for (slot, conversation) in changes.conversations {
            self.replace(slot, conversation);
        }
        for (name, agent) in changes.agents {
            self.agents.insert(name, agent);
        }
        for (inbox, counted) in changes.counted {
            self.counters.entry(inbox).or_default().add(&counted);
        }
        for (customer, out) in changes.opted_out {
            if out {
                self.opted_out.insert(customer);
            } else {
                self.opted_out.remove(&customer);
            }
        }
        for (pair, until) in changes.told_closed {
            self.tell_closed(pair, until);
        }
        self.next_id = changes.next_id;
        self.clock = changes.clock;
        if let Some(now) = self.clock.filter(|_| !self.told_closed.is_empty()) {
            self.forget_told_closed(now);
        }
    }

    /// Puts a conversation at its slot, in place of the one there, keeping
    /// the indexes in step.
    fn replace(&mut self, slot: Slot, conversation: Conversation) {
        let Some(stored) = self.conversations.get_mut(slot) else {
            self.index(slot, &conversation);
            self.conversations.insert(slot, Arc::new(conversation));
            return;
        };
        let (before, was, was_open) = (Load::of(stored), stored.deadline(), stored.is_open());
        let (after, deadline, open) = (
            Load::of(&conversation),
            conversation.deadline(),
            conversation.is_open(),
        );
        let (inbox, closed) = (conversation.inbox.clone(), was_open && !open);
        let pair = closed.then(|| (conversation.number.clone(), conversation.customer.clone()));
        // In place when nothing else holds the old one (no published view
        // or snapshot shares it); otherwise a new one beside it.
        match Arc::get_mut(stored) {
            Some(c) => *c = conversation,
            None => *stored = Arc::new(conversation),
        }
        if before != after {
            Self::count(&mut self.loads, &mut self.pending, &inbox, &before, -1);
            Self::count(&mut self.loads, &mut self.pending, &inbox, &after, 1);
        }
        if was != deadline {
            if let Some(when) = was {
                self.deadlines.remove(&(when, slot));
            }
            if let Some(when) = deadline {
                self.deadlines.insert((when, slot));
            }
        }
        if let Some(pair) = pair {
            self.open.remove(&pair.0, &pair.1);
            self.archived.insert(slot);
        }
    }

    fn index(&mut self, slot: Slot, c: &Conversation) {
        if c.is_open() {
            self.open.insert(&c.number, &c.customer, slot);
        } else {
            self.archived.insert(slot);
        }
        if let Some(when) = c.deadline() {
            self.deadlines.insert((when, slot));
        }
        Self::count(
            &mut self.loads,
            &mut self.pending,
            &c.inbox,
            &Load::of(c),
            1,
        );
    }

    fn count(
        loads: &mut HashMap<(SmolStr, SmolStr), u32>,
        pending: &mut HashMap<SmolStr, u32>,
        inbox: &SmolStr,
        load: &Load,
        delta: i64,
    ) {
        if !load.open {
            return;
        }
        if let Some(owner) = &load.owner {
            let n = loads.entry((inbox.clone(), owner.clone())).or_insert(0);
            *n = (i64::from(*n) + delta).max(0) as u32;
        }
        for agent in load.offered.iter().flat_map(|a| a.iter()) {
            let n = pending.entry(agent.clone()).or_insert(0);
            *n = (i64::from(*n) + delta).max(0) as u32;
        }
    }

    /// Indexes the conversations of a state that was read; refuses one that
    /// contradicts itself.
    fn rebuild_indexes(&mut self, conversations: Vec<Conversation>) -> Result<(), String> {
        for c in conversations {
            let Some(slot) = slot_of(&c.id).filter(|n| *n >= 1 && *n <= self.next_id) else {
                return Err(format!(
                    "conversation id {} is not c and a number up to next_id {}",
                    c.id, self.next_id
                ));
            };
            if self.conversations.contains_key(slot) {
                return Err(format!("conversation {} appears twice", c.id));
            }
            if c.is_open() && self.open.get(&c.number, &c.customer).is_some() {
                return Err(format!(
                    "two open conversations between {} and {}",
                    c.number, c.customer
                ));
            }
            self.put(c);
        }
        Ok(())
    }
}

impl PartialEq for State {
    /// Equal when the stored data is; the indexes follow from it.
    fn eq(&self, other: &Self) -> bool {
        self.conversations.values().eq(other.conversations.values())
            && self.agents == other.agents
            && self.opted_out == other.opted_out
            && self.told_closed == other.told_closed
            && self.counters == other.counters
            && self.next_id == other.next_id
            && self.clock == other.clock
    }
}

/// The serialized form: the stored data, sorted.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateData {
    #[serde(default)]
    next_id: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    clock: Option<DateTime<Utc>>,
    #[serde(default)]
    conversations: Vec<Conversation>,
    #[serde(default)]
    agents: BTreeMap<SmolStr, AgentState>,
    #[serde(default)]
    opted_out: BTreeSet<SmolStr>,
    #[serde(default)]
    counters: BTreeMap<SmolStr, Counters>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    told_closed: Vec<ToldClosed>,
}

/// One customer a closed keyword queue told so, as a state stores it.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ToldClosed {
    number: SmolStr,
    customer: SmolStr,
    until: DateTime<Utc>,
}

impl Serialize for State {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let agents: BTreeMap<_, _> = self.agents.iter().collect();
        let opted_out: BTreeSet<_> = self.opted_out.iter().collect();
        let mut s = serializer.serialize_struct("State", 7)?;
        s.serialize_field("next_id", &self.next_id)?;
        if let Some(clock) = &self.clock {
            s.serialize_field("clock", clock)?;
        }
        let conversations: Vec<&Conversation> = self.conversations().collect();
        s.serialize_field("conversations", &conversations)?;
        s.serialize_field("agents", &agents)?;
        s.serialize_field("opted_out", &opted_out)?;
        let counters: BTreeMap<_, _> = self.counters.iter().collect();
        s.serialize_field("counters", &counters)?;
        // Written only when some customer is told, so a state with none
        // reads in a release from before it.
        if !self.told_closed.is_empty() {
            let mut told: Vec<ToldClosed> = self
                .told_closed
                .iter()
                .map(|((number, customer), until)| ToldClosed {
                    number: number.clone(),
                    customer: customer.clone(),
                    until: *until,
                })
                .collect();
            told.sort_by(|a, b| (&a.number, &a.customer).cmp(&(&b.number, &b.customer)));
            s.serialize_field("told_closed", &told)?;
        }
        s.end()
    }
}

impl<'de> Deserialize<'de> for State {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let data = StateData::deserialize(deserializer)?;
        let mut state = State {
            agents: data.agents.into_iter().collect(),
            opted_out: data.opted_out.into_iter().collect(),
            counters: data.counters.into_iter().collect(),
            next_id: data.next_id,
            clock: data.clock,
            ..State::default()
        };
        state
            .rebuild_indexes(data.conversations)
            .map_err(serde::de::Error::custom)?;
        for told in data.told_closed {
            state.tell_closed((told.number, told.customer), told.until);
        }
        Ok(state)
    }
}

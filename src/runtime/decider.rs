//! A tenant's decider: the one thread that steps the tenant's events, in
//! the order its mailbox received them.
//!
//! It takes what is waiting in the mailbox as one batch, steps each event
//! on the state (a hook and all: a slow hook slows this tenant only), and
//! hands the batch to the store as one transaction. While that batch is
//! being written it decides the next one, so the disk is never idle for
//! want of a decision; two batches are in flight at most. Only once a
//! batch is durable is its state published to readers and each of its
//! events answered. If the write fails, the state goes back to what it was
//! before the batch (a copy-on-write clone kept for that), and the batch
//! and the one decided on top of it (which the store refuses unwritten)
//! are answered `not_stored`. The tenant stops: it tries a write again with
//! backoff, recovers its state from the store (so memory is exactly what
//! is on disk, whatever the failed write left), and resumes. An event whose
//! step panics is undone alike and answered as an internal error.

use super::log::Summary;
use super::mailbox::{DecideError, Decided, Job, Mailbox};
use super::recover;
use super::revision::Stamped;
use super::stats::Stats;
use super::stream::{Item, Streamed};
use super::tenant::{Tenant, View};
use super::Shared;
use crate::engine::event::Tick;
use crate::engine::{Event, State};
use crate::store::Record;
use chrono::{DateTime, Utc};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// The most events one batch takes.
const BATCH: usize = 256;
/// How many batches may be on their way to disk at once.
const IN_FLIGHT: usize = 2;
/// How many recent idempotency keys keep their decisions in memory, so a
/// redelivery soon after the first is answered without the store.
const RECENT_IDS: usize = 16_384;
/// The first and the longest wait between tries after a failed write.
const FIRST_RETRY: Duration = Duration::from_millis(100);
const LONGEST_RETRY: Duration = Duration::from_secs(5);
/// How often an idle decider looks whether a snapshot is due.
const IDLE_LOOK: Duration = Duration::from_secs(1);

/// Why the decider is not storing, and when it tries again.
struct Stopped {
    reason: String,
    next_try: Instant,
    wait: Duration,
}

pub(crate) struct Decider {
    tenant: Arc<Tenant>,
    shared: Arc<Shared>,
    mailbox: Mailbox,
    /// The state with every decided event, durable or on its way.
    state: State,
    seq: u64,
    /// The state as of the latest durable event, and its sequence number.
    durable: (State, u64),
    /// Jobs taken from the mailbox, not yet decided or done.
    queued: VecDeque<Job>,
    /// Batches on their way to disk, oldest first.
    flying: VecDeque<Flight>,
    next_batch: u64,
    /// Decisions of the latest idempotency keys; oldest first in `order`.
    recent: HashMap<String, (Arc<str>, Summary)>,
    order: VecDeque<String>,
    since_snapshot: u64,
    snapshot_at: Instant,
    /// Set while a snapshot of this tenant is being written.
    snapshotting: Arc<AtomicBool>,
    /// The deadline last ticked for, and when.
    ticked_for: Option<(DateTime<Utc>, DateTime<Utc>)>,
    stopped: Option<Stopped>,
}

/// A batch on its way to disk.
struct Flight {
    number: u64,
    answers: Vec<Answer>,
    /// The state and sequence number before and after the batch.
    before: (State, u64),
    after: (State, u64),
    /// The idempotency keys the batch decided.
    fresh: HashMap<String, (Arc<str>, Summary)>,
    /// How many events of the batch are stored with it.
    stored: u64,
    /// Its decisions for the tenant's stream, when anyone listened.
    streamed: Vec<Streamed>,
}

/// A batch being decided.
struct Batch {
    /// The state and sequence number before it.
    before: (State, u64),
    /// Its decided events, and the revision that decided each.
    records: Vec<Record>,
    revisions: Vec<Arc<super::revision::Revision>>,
    /// The idempotency keys it decided.
    fresh: HashMap<String, (Arc<str>, Summary)>,
    /// What the store answered, in one question, for the batch's keys
    /// that memory did not hold; `None` if it could not be asked (each key
    /// is then asked on its own).
    stored: Option<HashMap<String, String>>,
    /// Its decisions for the tenant's stream, when anyone listens.
    streamed: Vec<Streamed>,
}

/// One event of a batch, decided or answered, waiting for the write.
struct Answer {
    reply: Option<oneshot::Sender<Result<Decided, DecideError>>>,
    event: Event,
    received: Instant,
    outcome: Result<Decided, DecideError>,
    /// The decision is one of this batch's: it stands only if the batch is
    /// stored.
    in_batch: bool,
}

impl Decider {
    pub(crate) fn new(
        tenant: Arc<Tenant>,
        shared: Arc<Shared>,
        mailbox: Mailbox,
        state: State,
        seq: u64,
    ) -> Self {
        Decider {
            tenant,
            shared,
            mailbox,
            durable: (state.clone(), seq),
            state,
            seq,
            queued: VecDeque::new(),
            flying: VecDeque::new(),
            next_batch: 0,
            recent: HashMap::new(),
            order: VecDeque::new(),
            since_snapshot: 0,
            snapshot_at: Instant::now(),
            snapshotting: Arc::new(AtomicBool::new(false)),
            ticked_for: None,
            stopped: None,
        }
    }

    pub(crate) fn run(mut self, mailbox: Receiver<Job>) {
        loop {
            // With a batch in flight, its answer is on its way: wait for
            // it (or anything else) without a bound.
            let waited = if !self.flying.is_empty() {
                mailbox.recv().map_err(|_| RecvTimeoutError::Disconnected)
            } else {
                let wait = match &self.stopped {
                    Some(s) => s.next_try.saturating_duration_since(Instant::now()),
                    None => IDLE_LOOK,
                };
                mailbox.recv_timeout(wait)
            };
            match waited {
                Ok(job) => self.take(job),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            while let Ok(job) = mailbox.try_recv() {
                self.take(job);
            }
            if self.stopped.is_some() && self.flying.is_empty() {
                self.try_resuming();
            }
            if self.work() {
                return;
            }
            if self.flying.is_empty() {
                self.snapshot_if_due();
            }
        }
    }

    /// Takes a job from the mailbox: a write's answer is dealt with now,
    /// the rest queue in order.
    fn take(&mut self, job: Job) {
        match job {
            Job::Written { batch, result } => self.landed(batch, result),
            other => self.queued.push_back(other),
        }
    }

    /// Decides what is queued, as far as batches may fly, and does the
    /// checkpoints and stops whose turn it is. True once stopped.
    fn work(&mut self) -> bool {
        while let Some(front) = self.queued.front() {
            match front {
                Job::Decide { .. } | Job::Tick { .. } => {
                    if self.stopped.is_some() {
                        self.refuse_front();
                        continue;
                    }
                    if self.flying.len() >= IN_FLIGHT {
                        return false;
                    }
                    let mut batch = Vec::new();
                    while batch.len() < BATCH
                        && matches!(
                            self.queued.front(),
                            Some(Job::Decide { .. } | Job::Tick { .. })
                        )
                    {
                        if let Some(job) = self.queued.pop_front() {
                            self.mailbox.taken();
                            batch.push(job);
                        }
                    }
                    self.decide_batch(batch);
                }
                // Behind every event before it, once those are durable.
                Job::Checkpoint { .. } | Job::Stop if !self.flying.is_empty() => return false,
                Job::Checkpoint { .. } => {
                    if let Some(Job::Checkpoint { reply }) = self.queued.pop_front() {
                        let _ = reply.send(self.checkpoint());
                    }
                }
                Job::Stop => {
                    if let Err(e) = self.checkpoint() {
                        self.log_error("checkpoint failed", &e);
                    }
                    return true;
                }
                Job::Written { .. } => {
                    self.queued.pop_front();
                }
            }
        }
        false
    }

    /// Answers the event at the front of the queue while writes fail: a
    /// redelivery from what is stored (it needs no write), anything else
    /// `stopped`.
    fn refuse_front(&mut self) {
        let Some(job) = self.queued.pop_front() else {
            return;
        };
        self.mailbox.taken();
        let Job::Decide { event, reply, .. } = job else {
            return;
        };
        let reason = self
            .stopped
            .as_ref()
            .map(|s| s.reason.clone())
            .unwrap_or_default();
        let earlier = idempotency_key(&event)
            .and_then(|key| self.earlier(&key, &HashMap::new(), None).ok().flatten());
        let answer = match earlier {
            Some((decision, summary, _)) => Ok(Decided {
                decision,
                summary,
                redelivered: true,
            }),
            None => Err(DecideError::Stopped {
                tenant: self.tenant.name().to_string(),
                reason,
            }),
        };
        let _ = reply.send(answer);
    }

    /// Decides a batch and hands it to the store; it is answered when the
    /// store says it is durable.
    fn decide_batch(&mut self, jobs: Vec<Job>) {
        let mut batch = Batch {
            before: (self.state.clone(), self.seq),
            records: Vec::new(),
            revisions: Vec::new(),
            fresh: HashMap::new(),
            stored: None,
            streamed: Vec::new(),
        };
        batch.stored = self.stored_decisions(&jobs);
        let mut answers = Vec::new();
        for job in jobs {
            let (event, reply, received) = match job {
                Job::Decide {
                    event,
                    reply,
                    received,
                } => (event, Some(reply), received),
                Job::Tick { now } => match self.tick_due(now) {
                    Some(tick) => (tick, None, Instant::now()),
                    None => continue,
                },
                _ => continue,
            };
            let (outcome, in_batch) = self.decide_one(&event, &mut batch);
            if let (Ok(decided), Some(key)) = (&outcome, idempotency_key(&event)) {
                if in_batch && !decided.redelivered {
                    let first = (decided.decision.clone(), decided.summary.clone());
                    batch.fresh.insert(key, first);
                }
            }
            answers.push(Answer {
                reply,
                event,
                received,
                outcome,
                in_batch,
            });
        }
        let number = self.next_batch;
        self.next_batch += 1;
        let Batch {
            before,
            records,
            fresh,
            streamed,
            ..
        } = batch;
        let stored = records.len() as u64;
        self.flying.push_back(Flight {
            number,
            answers,
            before,
            after: (self.state.clone(), self.seq),
            fresh,
            stored,
            streamed,
        });
        // Nothing to store, and nothing in flight that its answers (a
        // redelivery of an event still on its way) could depend on.
        if records.is_empty() && self.flying.len() == 1 {
            self.landed(number, Ok(()));
            return;
        }
        let mailbox = self.mailbox.clone();
        let done: crate::store::Done = Box::new(move |result| {
            let result = result.map_err(|e| e.to_string());
            let _ = mailbox.send(Job::Written {
                batch: number,
                result,
            });
        });
        if let Err(error) = self.shared.store.submit_all(records, done) {
            self.landed(number, Err(error.to_string()));
        }
    }

    /// A batch's write finished: publish and answer, or undo and answer
    /// `not_stored`.
    fn landed(&mut self, number: u64, result: Result<(), String>) {
        let Some(position) = self.flying.iter().position(|f| f.number == number) else {
            return;
        };
        // Batches are written in order, so this is the oldest in flight.
        let Some(flight) = self.flying.remove(position) else {
            return;
        };
        // A batch decided before an earlier one failed stands on it: its
        // decisions fail with it, even one the store took.
        let result = match (&self.stopped, result) {
            (Some(stopped), Ok(())) => Err(stopped.reason.clone()),
            (_, result) => result,
        };
        match result {
            Ok(()) => {
                if flight.stored > 0 {
                    self.since_snapshot += flight.stored;
                    self.durable = flight.after.clone();
                    self.tenant.publish(View {
                        state: flight.after.0,
                        seq: flight.after.1,
                    });
                }
                for decided in flight.streamed {
                    self.tenant.stream().send(Item::Decision(Arc::new(decided)));
                }
                for (key, decided) in flight.fresh {
                    self.remember(key, decided);
                }
                for answer in flight.answers {
                    self.answered(answer);
                }
            }
            Err(error) => {
                if self.stopped.is_none() {
                    (self.state, self.seq) = flight.before;
                    self.stop(error.clone());
                }
                let failed = DecideError::NotStored(error);
                for answer in flight.answers {
                    let outcome = match answer.outcome {
                        Ok(_) if answer.in_batch => Err(failed.clone()),
                        other => other,
                    };
                    if let Some(reply) = answer.reply {
                        let _ = reply.send(outcome);
                    }
                }
            }
        }
    }

    /// Decides one event on the state (or finds its earlier decision) and
    /// adds its record to the batch; true with a decision of this batch.
    fn decide_one(
        &mut self,
        event: &Event,
        batch: &mut Batch,
    ) -> (Result<Decided, DecideError>, bool) {
        let key = idempotency_key(event);
        if let Some(key) = &key {
            match self.earlier(key, &batch.fresh, batch.stored.as_ref()) {
                Ok(Some((decision, summary, in_batch))) => {
                    let decided = Decided {
                        decision,
                        summary,
                        redelivered: true,
                    };
                    return (Ok(decided), in_batch);
                }
                Ok(None) => {}
                Err(e) => return (Err(DecideError::NotStored(e)), false),
            }
        }
        let event_text = match serde_json::to_string(event) {
            Ok(text) => text,
            Err(e) => return (Err(DecideError::Internal(e.to_string())), false),
        };
        let revision = self.tenant.revision();
        // Stepped in place: a clone per event would copy every part of the
        // state the event touches. A step that panics is undone from the
        // state before the batch instead (below).
        let state = &mut self.state;
        let stepped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let decision = revision.engine.step(state, event);
            let archived = state.evict_archived();
            let text = serde_json::to_string(&Stamped {
                decision: &decision,
                revision: &revision.id,
            });
            (decision, archived, text)
        }));
        let (decision, archived, text) = match stepped {
            Ok((decision, archived, Ok(text))) => (decision, archived, text),
            Ok((_, _, Err(e))) => {
                self.undo_to(batch);
                return (Err(DecideError::Internal(e.to_string())), false);
            }
            Err(panic) => {
                let why = panic_message(&panic);
                self.log_error("deciding an event panicked; it was undone", &why);
                self.undo_to(batch);
                return (Err(DecideError::Internal(why)), false);
            }
        };
        let summary = Summary::of(&decision, &revision.id);
        self.seq += 1;
        let decision: Arc<str> = text.into();
        if self.tenant.stream().is_heard() {
            batch.streamed.push(Streamed {
                seq: self.seq,
                event: event_text.as_str().into(),
                decision: decision.clone(),
            });
        }
        batch.records.push(Record {
            tenant: self.tenant.name().to_string(),
            seq: self.seq,
            message_id: key,
            revision: revision.id.clone(),
            event: event_text,
            decision: decision.to_string(),
            archived: archived
                .iter()
                .filter_map(|c| Some((c.id.to_string(), serde_json::to_string(c).ok()?)))
                .collect(),
        });
        batch.revisions.push(revision);
        let decided = Decided {
            decision,
            summary,
            redelivered: false,
        };
        (Ok(decided), true)
    }

    /// Puts the state back to what it was before the batch, then steps the
    /// batch's decided events again (the engine is deterministic): the
    /// state is as if the failed event never came.
    fn undo_to(&mut self, batch: &Batch) {
        (self.state, self.seq) = batch.before.clone();
        for (record, revision) in batch.records.iter().zip(&batch.revisions) {
            if let Ok(event) = serde_json::from_str::<Event>(&record.event) {
                revision.engine.step(&mut self.state, &event);
                self.state.evict_archived();
            }
            self.seq = record.seq;
        }
    }

    /// The keys of a batch's events that memory does not hold, asked of
    /// the store at once: against a database over the network, one
    /// question per event would be a round trip per event.
    fn stored_decisions(&self, jobs: &[Job]) -> Option<HashMap<String, String>> {
        let keys: Vec<String> = jobs
            .iter()
            .filter_map(|job| match job {
                Job::Decide { event, .. } => idempotency_key(event),
                _ => None,
            })
            .filter(|key| !self.remembers(key))
            .collect();
        if keys.is_empty() {
            return Some(HashMap::new());
        }
        self.shared
            .store
            .decisions_for(self.tenant.name(), &keys)
            .ok()
    }

    /// Whether a key's decision is in memory: in a batch on its way to
    /// disk, or among the recent ones.
    fn remembers(&self, key: &str) -> bool {
        self.flying.iter().any(|f| f.fresh.contains_key(key)) || self.recent.contains_key(key)
    }

    /// The first decision of an idempotency key: from this batch, from
    /// memory, or from the store (`stored`, when the batch asked it
    /// already for every key memory did not hold).
    #[allow(clippy::type_complexity)]
    fn earlier(
        &self,
        key: &str,
        fresh: &HashMap<String, (Arc<str>, Summary)>,
        stored: Option<&HashMap<String, String>>,
    ) -> Result<Option<(Arc<str>, Summary, bool)>, String> {
        let flying = self.flying.iter().map(|f| &f.fresh);
        for batch in std::iter::once(fresh).chain(flying) {
            if let Some((decision, summary)) = batch.get(key) {
                // Stands only if the batches in flight are stored.
                return Ok(Some((decision.clone(), summary.clone(), true)));
            }
        }
        if let Some((decision, summary)) = self.recent.get(key) {
            return Ok(Some((decision.clone(), summary.clone(), false)));
        }
        let stored = match stored {
            Some(asked) => asked.get(key).cloned(),
            None => self
                .shared
                .store
                .decision_for(self.tenant.name(), key)
                .map_err(|e| e.to_string())?,
        };
        Ok(stored.map(|text| {
            let value: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            (Arc::from(text), Summary::of_json(&value), false)
        }))
    }

    fn remember(&mut self, key: String, decided: (Arc<str>, Summary)) {
        if self.order.len() >= RECENT_IDS {
            if let Some(oldest) = self.order.pop_front() {
                self.recent.remove(&oldest);
            }
        }
        self.order.push_back(key.clone());
        self.recent.insert(key, decided);
    }

    /// Counts, logs and answers one event of a stored batch.
    fn answered(&self, answer: Answer) {
        let stats = &self.shared.stats;
        if let Ok(decided) = &answer.outcome {
            let took = answer.received.elapsed();
            if decided.redelivered {
                Stats::count(&stats.redeliveries);
            } else if answer.reply.is_none() {
                Stats::count(&stats.ticks);
            } else {
                stats.decided(took);
            }
            self.shared.decision_log.record(
                self.tenant.name(),
                &answer.event,
                &decided.summary,
                took.as_micros() as u64,
                decided.redelivered,
            );
        }
        if let Some(reply) = answer.reply {
            let _ = reply.send(answer.outcome);
        }
    }

    /// A tick at `now`, if a timer is due by then. Should a deadline
    /// outlive the tick it asked for, it is ticked for again only a minute
    /// later, not at every look of the clock.
    fn tick_due(&mut self, now: DateTime<Utc>) -> Option<Event> {
        let due = self.state.next_deadline().filter(|d| *d <= now)?;
        if let Some((deadline, at)) = self.ticked_for {
            if deadline == due && now < at + chrono::Duration::minutes(1) {
                return None;
            }
        }
        self.ticked_for = Some((due, now));
        Some(Event::Tick(Tick { at: now }))
    }

    fn stop(&mut self, reason: String) {
        Stats::count(&self.shared.stats.failed_writes);
        // A tick that was undone is due again at once.
        self.ticked_for = None;
        tracing::error!(
            tenant = self.tenant.name(),
            error = %reason,
            "a write failed; the tenant's events were undone, and it retries by itself"
        );
        self.tenant.set_stopped(Some(reason.clone()));
        self.stopped = Some(Stopped {
            reason,
            next_try: Instant::now() + FIRST_RETRY,
            wait: FIRST_RETRY,
        });
    }

    /// Tries a write and, if it succeeds, reads the state back from the
    /// store and decides again.
    fn try_resuming(&mut self) {
        let Some(stopped) = &mut self.stopped else {
            return;
        };
        if Instant::now() < stopped.next_try {
            return;
        }
        let resumed = self
            .shared
            .store
            .probe(self.tenant.name())
            .map_err(|e| e.to_string())
            .and_then(|()| {
                recover::recover(
                    &*self.shared.store,
                    self.tenant.name(),
                    &self.tenant.revision(),
                    &self.shared.stats,
                )
            });
        match resumed {
            Ok(recovered) => {
                self.durable = (recovered.state.clone(), recovered.seq);
                self.state = recovered.state;
                self.seq = recovered.seq;
                self.recent.clear();
                self.order.clear();
                self.stopped = None;
                self.tenant.set_stopped(None);
                self.tenant.publish(View {
                    state: self.state.clone(),
                    seq: self.seq,
                });
                tracing::info!(
                    tenant = self.tenant.name(),
                    seq = self.seq,
                    "writes succeed again; the tenant decides"
                );
            }
            Err(reason) => {
                let Some(stopped) = &mut self.stopped else {
                    return;
                };
                stopped.wait = (stopped.wait * 2).min(LONGEST_RETRY);
                stopped.next_try = Instant::now() + stopped.wait;
                if reason != stopped.reason {
                    self.tenant.set_stopped(Some(reason.clone()));
                    stopped.reason = reason;
                }
            }
        }
    }

    /// Hands a copy of the state to the snapshot writer when enough events
    /// or enough time have passed since the last one.
    fn snapshot_if_due(&mut self) {
        let settings = &self.shared.settings;
        let due = self.since_snapshot >= settings.snapshot_events
            || (self.since_snapshot > 0
                && self.snapshot_at.elapsed() >= settings.snapshot_interval);
        if !due || self.stopped.is_some() || self.snapshotting.swap(true, Ordering::AcqRel) {
            return;
        }
        self.since_snapshot = 0;
        self.snapshot_at = Instant::now();
        self.shared.retention.snapshot(
            self.tenant.name(),
            self.durable.1,
            self.durable.0.clone(),
            self.snapshotting.clone(),
        );
    }

    /// Saves a snapshot now, on this thread.
    fn checkpoint(&mut self) -> Result<(), String> {
        if self.stopped.is_some() {
            return Err("the tenant is not storing".into());
        }
        let text = serde_json::to_string(&self.durable.0).map_err(|e| e.to_string())?;
        self.shared
            .store
            .snapshot(self.tenant.name(), self.durable.1, text)
            .map_err(|e| e.to_string())?;
        self.since_snapshot = 0;
        self.snapshot_at = Instant::now();
        Ok(())
    }

    fn log_error(&self, msg: &str, error: &str) {
        tracing::error!(tenant = self.tenant.name(), error = %error, "{msg}");
    }
}

/// What makes an event idempotent: an inbound message's provider id, or an
/// agent action's `action_id` (kept apart from message ids by a prefix).
pub(crate) fn idempotency_key(event: &Event) -> Option<String> {
    match (event, event.action()) {
        (Event::Inbound(e), _) => e.message_id.as_ref().map(|m| m.to_string()),
        (_, Some(action)) => action.action_id.as_ref().map(|id| format!("action:{id}")),
        _ => None,
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into())
}

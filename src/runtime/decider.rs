//! A tenant's decider: the one thread that steps the tenant's events, in
//! the order its mailbox received them.
//!
//! It takes what is waiting in the mailbox as one batch, steps each event
//! on the state (a hook and all: a slow hook slows this tenant only), and
//! stores the batch in one transaction. Only once the batch is durable is
//! the new state published to readers and each event answered. If the
//! write fails, the state goes back to what it was before the batch (a
//! copy-on-write clone kept for that), every event of the batch is answered
//! `not_stored`, and the tenant stops: it tries a write again with backoff,
//! recovers its state from the store (so memory is exactly what is on
//! disk, whatever the failed write left), and resumes. An event whose step
//! panics is undone alike and answered as an internal error.

use super::log::{self, Level, Summary};
use super::recover;
use super::stats::Stats;
use super::tenant::{DecideError, Tenant, View};
use super::Shared;
use crate::engine::event::Tick;
use crate::engine::{Event, State};
use crate::store::Record;
use chrono::{DateTime, Utc};
use serde_json::json;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// The most events one batch takes.
const BATCH: usize = 256;
/// How many recent idempotency keys keep their decisions in memory, so a
/// redelivery soon after the first is answered without the store.
const RECENT_IDS: usize = 16_384;
/// The first and the longest wait between tries after a failed write.
const FIRST_RETRY: Duration = Duration::from_millis(100);
const LONGEST_RETRY: Duration = Duration::from_secs(5);
/// How often an idle decider looks whether a snapshot is due.
const IDLE_LOOK: Duration = Duration::from_secs(1);

/// What a decider is asked to do.
pub enum Job {
    Decide {
        event: Event,
        reply: oneshot::Sender<Result<Decided, DecideError>>,
        received: Instant,
    },
    /// Step a tick at `now` if a timer is due by then.
    Tick { now: DateTime<Utc> },
    /// Save a snapshot now.
    Checkpoint {
        reply: std::sync::mpsc::Sender<Result<(), String>>,
    },
    /// Finish what is waiting, save a snapshot and end.
    Stop,
}

/// A decision, durable.
#[derive(Clone, Debug)]
pub struct Decided {
    /// The decision as JSON text, with its `revision`.
    pub decision: Arc<str>,
    pub summary: Summary,
    /// The event's idempotency key was decided before: this is that first
    /// decision, and nothing changed now.
    pub redelivered: bool,
}

/// A decision and the revision that made it, serialized together.
#[derive(serde::Serialize)]
pub(crate) struct Stamped<'a> {
    #[serde(flatten)]
    pub decision: &'a crate::engine::Decision,
    pub revision: &'a str,
}

/// Why the decider is not storing, and when it tries again.
struct Stopped {
    reason: String,
    next_try: Instant,
    wait: Duration,
}

pub(crate) struct Decider {
    tenant: Arc<Tenant>,
    shared: Arc<Shared>,
    state: State,
    seq: u64,
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
    pub(crate) fn new(tenant: Arc<Tenant>, shared: Arc<Shared>, state: State, seq: u64) -> Self {
        Decider {
            tenant,
            shared,
            state,
            seq,
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
            let wait = match &self.stopped {
                Some(s) => s.next_try.saturating_duration_since(Instant::now()),
                None => IDLE_LOOK,
            };
            let first = match mailbox.recv_timeout(wait) {
                Ok(job) => Some(job),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => return,
            };
            if self.stopped.is_some() {
                self.try_resuming();
            }
            let mut jobs: Vec<Job> = first.into_iter().collect();
            while jobs.len() < BATCH {
                match mailbox.try_recv() {
                    Ok(job) => jobs.push(job),
                    Err(_) => break,
                }
            }
            let mut batch = Vec::new();
            for job in jobs {
                match job {
                    Job::Decide { .. } | Job::Tick { .. } => batch.push(job),
                    Job::Checkpoint { reply } => {
                        self.decide_batch(std::mem::take(&mut batch));
                        let _ = reply.send(self.checkpoint());
                    }
                    Job::Stop => {
                        self.decide_batch(batch);
                        if let Err(e) = self.checkpoint() {
                            self.log_error("checkpoint failed", &e);
                        }
                        return;
                    }
                }
            }
            self.decide_batch(batch);
            self.snapshot_if_due();
        }
    }

    /// Decides a batch, stores it in one write, then publishes and answers.
    fn decide_batch(&mut self, batch: Vec<Job>) {
        if batch.is_empty() {
            return;
        }
        if let Some(stopped) = &self.stopped {
            let error = DecideError::Stopped {
                tenant: self.tenant.name().to_string(),
                reason: stopped.reason.clone(),
            };
            for job in batch {
                if let Job::Decide { event, reply, .. } = job {
                    // A redelivery is answered from what is stored: it
                    // needs no write.
                    let earlier = idempotency_key(&event)
                        .and_then(|key| self.earlier(&key, &HashMap::new()).ok().flatten());
                    let answer = match earlier {
                        Some((decision, summary, _)) => Ok(Decided {
                            decision,
                            summary,
                            redelivered: true,
                        }),
                        None => Err(error.clone()),
                    };
                    let _ = reply.send(answer);
                }
            }
            return;
        }
        let before = (self.state.clone(), self.seq);
        let mut records = Vec::new();
        let mut answers = Vec::new();
        let mut fresh: HashMap<String, (Arc<str>, Summary)> = HashMap::new();
        for job in batch {
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
                Job::Checkpoint { .. } | Job::Stop => continue,
            };
            let answer = self.decide_one(&event, &fresh, &mut records);
            if let (Ok(decided), Some(key)) = (&answer.0, idempotency_key(&event)) {
                if answer.1 {
                    fresh.insert(key, (decided.decision.clone(), decided.summary.clone()));
                }
            }
            answers.push(Answer {
                reply,
                event,
                received,
                outcome: answer.0,
                in_batch: answer.1,
            });
        }
        if !records.is_empty() {
            let written = self
                .shared
                .store
                .submit_all(records)
                .and_then(|pending| pending.wait());
            if let Err(error) = written {
                (self.state, self.seq) = before;
                self.stop(error.to_string());
                let failed = DecideError::NotStored(error.to_string());
                for answer in answers {
                    let outcome = match answer.outcome {
                        Ok(_) if answer.in_batch => Err(failed.clone()),
                        other => other,
                    };
                    if let Some(reply) = answer.reply {
                        let _ = reply.send(outcome);
                    }
                }
                return;
            }
            self.since_snapshot += answers.iter().filter(|a| a.in_batch).count() as u64;
            self.tenant.publish(View {
                state: self.state.clone(),
                seq: self.seq,
            });
        }
        for (key, decided) in fresh {
            self.remember(key, decided);
        }
        for answer in answers {
            self.answered(answer);
        }
    }

    /// Decides one event on the state (or finds its earlier decision) and
    /// adds its record to the batch; true with a decision of this batch.
    fn decide_one(
        &mut self,
        event: &Event,
        fresh: &HashMap<String, (Arc<str>, Summary)>,
        records: &mut Vec<Record>,
    ) -> (Result<Decided, DecideError>, bool) {
        let key = idempotency_key(event);
        if let Some(key) = &key {
            match self.earlier(key, fresh) {
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
        let revision = self.tenant.revision();
        // Stepped on a clone (a few reference counts), so a panic leaves
        // the state as it was.
        let mut next = self.state.clone();
        let stepped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let decision = revision.engine.step(&mut next, event);
            let archived = next.evict_archived();
            let text = serde_json::to_string(&Stamped {
                decision: &decision,
                revision: &revision.id,
            });
            (decision, archived, text)
        }));
        let (decision, archived, text) = match stepped {
            Ok((decision, archived, Ok(text))) => (decision, archived, text),
            Ok((_, _, Err(e))) => return (Err(DecideError::Internal(e.to_string())), false),
            Err(panic) => {
                let why = panic_message(&panic);
                self.log_error("deciding an event panicked; it was undone", &why);
                return (Err(DecideError::Internal(why)), false);
            }
        };
        let event_text = match serde_json::to_string(event) {
            Ok(text) => text,
            Err(e) => return (Err(DecideError::Internal(e.to_string())), false),
        };
        let summary = Summary::of(&decision, &revision.id);
        self.state = next;
        self.seq += 1;
        let decision: Arc<str> = text.into();
        records.push(Record {
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
        let decided = Decided {
            decision,
            summary,
            redelivered: false,
        };
        (Ok(decided), true)
    }

    /// The first decision of an idempotency key: from this batch, from
    /// memory, or from the store.
    #[allow(clippy::type_complexity)]
    fn earlier(
        &self,
        key: &str,
        fresh: &HashMap<String, (Arc<str>, Summary)>,
    ) -> Result<Option<(Arc<str>, Summary, bool)>, String> {
        if let Some((decision, summary)) = fresh.get(key) {
            return Ok(Some((decision.clone(), summary.clone(), true)));
        }
        if let Some((decision, summary)) = self.recent.get(key) {
            return Ok(Some((decision.clone(), summary.clone(), false)));
        }
        let stored = self
            .shared
            .store
            .decision_for(self.tenant.name(), key)
            .map_err(|e| e.to_string())?;
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
        log::service(
            Level::Error,
            "a write failed; the tenant's events were undone, and it retries by itself",
            json!({"tenant": self.tenant.name(), "error": reason}),
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
            .probe()
            .map_err(|e| e.to_string())
            .and_then(|()| {
                recover::recover(
                    &*self.shared.store,
                    self.tenant.name(),
                    &self.tenant.revision(),
                    &self.shared.scratch,
                    &self.shared.stats,
                )
            });
        match resumed {
            Ok(recovered) => {
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
                log::service(
                    Level::Info,
                    "writes succeed again; the tenant decides",
                    json!({"tenant": self.tenant.name(), "seq": self.seq}),
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
            self.seq,
            self.state.clone(),
            self.snapshotting.clone(),
        );
    }

    /// Saves a snapshot now, on this thread.
    fn checkpoint(&mut self) -> Result<(), String> {
        if self.stopped.is_some() {
            return Err("the tenant is not storing".into());
        }
        let text = serde_json::to_string(&self.state).map_err(|e| e.to_string())?;
        self.shared
            .store
            .snapshot(self.tenant.name(), self.seq, text)
            .map_err(|e| e.to_string())?;
        self.since_snapshot = 0;
        self.snapshot_at = Instant::now();
        Ok(())
    }

    fn log_error(&self, msg: &str, error: &str) {
        log::service(
            Level::Error,
            msg,
            json!({"tenant": self.tenant.name(), "error": error}),
        );
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

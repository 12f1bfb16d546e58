//! One tenant's runtime: the policy revision serving it, its state in
//! memory, and its durable history in the store.
//!
//! `decide` steps the engine under the tenant's lock and hands the decided
//! event to the store in that same order; it waits for the write outside the
//! lock, so a tenant's events share commits, and answers only once the event
//! is on disk. A redelivered message id gets its first decision back and
//! changes nothing. If a write fails, memory is ahead of disk: the runtime
//! stops deciding until it is opened again from the store.
//!
//! Every decision names the revision that made it. A reload swaps the
//! revision under the same lock, between two events.

use super::log::{self, Level, Summary};
use super::revision::{Files, Refusal, Revision};
use crate::engine::event::Tick;
use crate::engine::{Engine, Event, State};
use crate::store::{Appended, ConversationStore, Pending, Record, StoreError};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// The fewest events between snapshots. A snapshot costs in proportion to
/// the state, so one is taken after this many events or as many events as
/// the state has conversations, whichever is more: the cost per event stays
/// flat, and recovery replays at most that many events.
const SNAPSHOT_EVERY: u64 = 10_000;
/// How many recent message ids keep their decisions in memory, for
/// redeliveries that arrive while the first delivery is still being
/// written; older ones are found in the store. Far more than can be in
/// flight at once.
const RECENT_IDS: usize = 16_384;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the stored history of tenant {tenant} does not replay: {why}")]
    Recovery { tenant: String, why: String },
    #[error(
        "tenant {0} stopped deciding after a failed write; restart it to recover from the store"
    )]
    Stopped(String),
}

pub struct TenantRuntime {
    name: String,
    /// The policy file this tenant is loaded from.
    path: PathBuf,
    store: Arc<dyn ConversationStore>,
    inner: Mutex<Inner>,
    /// Set while a snapshot is being written, so only one is.
    snapshotting: Arc<AtomicBool>,
}

struct Inner {
    revision: Arc<Revision>,
    /// The latest revision that failed to load, while it is the newest.
    refused: Option<Refusal>,
    state: State,
    seq: u64,
    since_snapshot: u64,
    /// Decisions of the latest message ids, for redeliveries that arrive
    /// while the first is still being written; oldest first in `order`.
    recent: HashMap<String, (Arc<str>, Summary)>,
    order: VecDeque<String>,
    /// The deadline the clock last ticked for, and when.
    ticked_for: Option<(DateTime<Utc>, DateTime<Utc>)>,
    stopped: bool,
}

/// What a decision was: the decision itself (with its `revision`), and
/// whether it was decided now or is the answer to an earlier delivery.
pub struct Decided {
    pub decision: Value,
    pub redelivered: bool,
}

/// A decision made, on its way to disk: it may be answered once `pending`
/// is durable and [`TenantRuntime::settle`] agrees.
pub struct Begun {
    /// The decision as JSON text, with its `revision`.
    pub decision: Arc<str>,
    pub summary: Summary,
    pub pending: Pending,
    /// The message id was decided before: `decision` is that first
    /// decision, and `pending` a barrier behind its write, in case it is
    /// still on its way.
    pub redelivered: bool,
}

/// A decision and the revision that made it, serialized together.
#[derive(serde::Serialize)]
struct Stamped<'a> {
    #[serde(flatten)]
    decision: &'a crate::engine::Decision,
    revision: &'a str,
}

impl TenantRuntime {
    /// Opens a tenant: stores the revision it starts with, then loads its
    /// latest snapshot and steps the later events again, each with the
    /// revision that decided it (compiled from the store under `scratch` if
    /// it is not the current one).
    pub fn open(
        path: &Path,
        files: &Files,
        revision: Revision,
        store: Arc<dyn ConversationStore>,
        scratch: &Path,
    ) -> Result<TenantRuntime, ServiceError> {
        let name = revision.engine.policy().tenant.name.to_string();
        let recovery = |why: String| ServiceError::Recovery {
            tenant: name.clone(),
            why,
        };
        store.save_revision(&name, &revision.id, &files.to_json())?;
        let history = store.history(&name)?;
        let (mut seq, mut state) = match history.snapshot {
            Some((seq, state)) => (
                seq,
                serde_json::from_str(&state).map_err(|e| recovery(e.to_string()))?,
            ),
            None => (0, State::new()),
        };
        let mut earlier: HashMap<String, Engine> = HashMap::new();
        let replayed_earlier = history
            .events
            .iter()
            .any(|e| e.revision != revision.id && !e.revision.is_empty());
        for stored in history.events {
            let event: Event = serde_json::from_str(&stored.event)
                .map_err(|e| recovery(format!("event {}: {e}", stored.seq)))?;
            // Events stored before revisions were recorded ('') step with
            // the current one.
            let engine = if stored.revision == revision.id || stored.revision.is_empty() {
                &revision.engine
            } else {
                if !earlier.contains_key(&stored.revision) {
                    let engine = compile_stored(&*store, &name, &stored.revision, scratch)
                        .map_err(&recovery)?;
                    earlier.insert(stored.revision.clone(), engine);
                }
                &earlier[&stored.revision]
            };
            engine.step(&mut state, &event);
            seq = stored.seq;
        }
        let runtime = TenantRuntime {
            name: name.clone(),
            path: path.to_path_buf(),
            store,
            inner: Mutex::new(Inner {
                revision: Arc::new(revision),
                refused: None,
                state,
                seq,
                since_snapshot: 0,
                recent: HashMap::new(),
                order: VecDeque::new(),
                ticked_for: None,
                stopped: false,
            }),
            snapshotting: Arc::new(AtomicBool::new(false)),
        };
        if replayed_earlier {
            // From here on, recovery needs only the current revision.
            runtime.checkpoint()?;
        }
        Ok(runtime)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The policy file this tenant is loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The revision serving now.
    pub fn revision(&self) -> Arc<Revision> {
        self.lock().revision.clone()
    }

    /// The newest revision that failed to load, unless a later one loaded.
    pub fn refused(&self) -> Option<Refusal> {
        self.lock().refused.clone()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Serves a new revision from the next event on. Its files are stored
    /// first, so a restart can step the events it decides.
    pub fn reload(&self, files: &Files, revision: Revision) -> Result<(), ServiceError> {
        self.store
            .save_revision(&self.name, &revision.id, &files.to_json())?;
        let mut inner = self.lock();
        inner.revision = Arc::new(revision);
        inner.refused = None;
        Ok(())
    }

    /// Notes a revision that failed to load; the current one keeps serving.
    pub fn refuse(&self, refusal: Refusal) {
        self.lock().refused = Some(refusal);
    }

    /// Whether deciding may run a hook script, which can take
    /// milliseconds; without one a decision takes microseconds.
    pub fn runs_hooks(&self) -> bool {
        self.lock().revision.engine.policy().hooks.is_some()
    }

    /// Decides an event and returns its decision once it is durable.
    pub fn decide(&self, event: &Event) -> Result<Decided, ServiceError> {
        let begun = self.begin(event)?;
        self.settle(begun.pending.wait())?;
        let decision = serde_json::from_str(&begun.decision).map_err(StoreError::from)?;
        Ok(Decided {
            decision,
            redelivered: begun.redelivered,
        })
    }

    /// Decides an event under the tenant's lock and queues its write; the
    /// caller waits for the write outside the lock and hands the result to
    /// [`settle`](Self::settle) before answering.
    pub fn begin(&self, event: &Event) -> Result<Begun, ServiceError> {
        let key = idempotency_key(event);
        let mut inner = self.lock();
        if inner.stopped {
            return Err(ServiceError::Stopped(self.name.clone()));
        }
        if let Some(id) = &key {
            let earlier = match inner.recent.get(id) {
                Some(first) => Some(first.clone()),
                None => match self.store.decision_for(&self.name, id)? {
                    Some(stored) => {
                        let value: Value =
                            serde_json::from_str(&stored).map_err(StoreError::from)?;
                        Some((Arc::from(stored), Summary::of_json(&value)))
                    }
                    None => None,
                },
            };
            if let Some((decision, summary)) = earlier {
                // Its write may still be on its way: answer behind it.
                return Ok(Begun {
                    decision,
                    summary,
                    pending: self.store.barrier()?,
                    redelivered: true,
                });
            }
        }
        let revision = inner.revision.clone();
        let decided = revision.engine.step(&mut inner.state, event);
        let summary = Summary::of(&decided, &revision.id);
        let stamped = Stamped {
            decision: &decided,
            revision: &revision.id,
        };
        let decision: Arc<str> = serde_json::to_string(&stamped)
            .map_err(StoreError::from)?
            .into();
        inner.seq += 1;
        let record = Record {
            tenant: self.name.clone(),
            seq: inner.seq,
            message_id: key.clone(),
            revision: revision.id.clone(),
            event: serde_json::to_string(event).map_err(StoreError::from)?,
            decision: decision.to_string(),
        };
        let pending = match self.store.submit(record) {
            Ok(p) => p,
            Err(e) => return Err(self.stop(&mut inner, e)),
        };
        if let Some(id) = key {
            if inner.order.len() >= RECENT_IDS {
                if let Some(oldest) = inner.order.pop_front() {
                    inner.recent.remove(&oldest);
                }
            }
            inner.order.push_back(id.clone());
            inner.recent.insert(id, (decision.clone(), summary.clone()));
        }
        inner.since_snapshot += 1;
        let due = SNAPSHOT_EVERY.max(inner.state.conversation_count() as u64);
        if inner.since_snapshot >= due && !self.snapshotting.swap(true, Ordering::AcqRel) {
            inner.since_snapshot = 0;
            self.snapshot_in_background(inner.seq, inner.state.clone());
        }
        Ok(Begun {
            decision,
            summary,
            pending,
            redelivered: false,
        })
    }

    /// Takes the outcome of a decision's write: if it failed, memory is
    /// ahead of disk, so the tenant stops deciding.
    pub fn settle(&self, written: Result<Appended, StoreError>) -> Result<(), ServiceError> {
        let mut inner = self.lock();
        match written {
            // A write before this one failed after all.
            Ok(_) if inner.stopped => Err(ServiceError::Stopped(self.name.clone())),
            Ok(_) => Ok(()),
            Err(e) => Err(self.stop(&mut inner, e)),
        }
    }

    fn stop(&self, inner: &mut Inner, error: StoreError) -> ServiceError {
        if !inner.stopped {
            inner.stopped = true;
            log::service(
                Level::Error,
                "a write failed; the tenant stops deciding until restarted",
                json!({"tenant": self.name, "error": error.to_string()}),
            );
        }
        error.into()
    }

    /// Writes a copy of the state as of `seq` from another thread, so no
    /// decision waits for it. The store writes it after every event up to
    /// `seq`; a failed snapshot is logged, and recovery replays from the
    /// one before.
    fn snapshot_in_background(&self, seq: u64, state: State) {
        let (store, name, flag) = (
            self.store.clone(),
            self.name.clone(),
            self.snapshotting.clone(),
        );
        let spawned = std::thread::Builder::new()
            .name("switchboard-snapshot".into())
            .spawn(move || {
                let written = serde_json::to_string(&state)
                    .map_err(StoreError::from)
                    .and_then(|text| store.snapshot(&name, seq, text));
                if let Err(e) = written {
                    log::service(
                        Level::Error,
                        "snapshot failed",
                        json!({"tenant": name, "seq": seq, "error": e.to_string()}),
                    );
                }
                flag.store(false, Ordering::Release);
            });
        if spawned.is_err() {
            self.snapshotting.store(false, Ordering::Release);
        }
    }

    /// Decides an event on a copy of the state: nothing changes.
    pub fn dry_run(&self, event: &Event) -> Value {
        let (revision, mut copy) = {
            let inner = self.lock();
            (inner.revision.clone(), inner.state.clone())
        };
        let decision = revision.engine.step(&mut copy, event);
        let mut decision = serde_json::to_value(&decision).unwrap_or_default();
        decision["revision"] = Value::String(revision.id.clone());
        decision
    }

    /// If a timer is due by `now`, steps a tick at `now` (durably, like any
    /// event) and returns its decision.
    ///
    /// A tick expires everything due by its time. Should a deadline outlive
    /// the tick it asked for, it is ticked for again only a minute later,
    /// not at every look of the clock.
    pub fn tick_if_due(&self, now: DateTime<Utc>) -> Result<Option<Value>, ServiceError> {
        {
            let mut inner = self.lock();
            let Some(due) = inner.state.next_deadline().filter(|d| *d <= now) else {
                return Ok(None);
            };
            if let Some((deadline, at)) = inner.ticked_for {
                if deadline == due && now < at + chrono::Duration::minutes(1) {
                    return Ok(None);
                }
            }
            inner.ticked_for = Some((due, now));
        }
        let decided = self.decide(&Event::Tick(Tick { at: now }))?;
        Ok(Some(decided.decision))
    }

    /// Reads the tenant's state with the revision serving it.
    pub fn with_state<R>(&self, read: impl FnOnce(&Revision, &State) -> R) -> R {
        let inner = self.lock();
        read(&inner.revision, &inner.state)
    }

    /// Saves a snapshot now (on a clean shutdown, say), so the next start
    /// replays nothing.
    pub fn checkpoint(&self) -> Result<(), ServiceError> {
        let mut inner = self.lock();
        let state = serde_json::to_string(&inner.state).map_err(StoreError::from)?;
        self.store.snapshot(&self.name, inner.seq, state)?;
        inner.since_snapshot = 0;
        Ok(())
    }
}

/// What makes an event idempotent: an inbound message's provider id, or an
/// agent action's `action_id` (kept apart from message ids by a prefix).
fn idempotency_key(event: &Event) -> Option<String> {
    match (event, event.action()) {
        (Event::Inbound(e), _) => e.message_id.as_ref().map(|m| m.to_string()),
        (_, Some(action)) => action.action_id.as_ref().map(|id| format!("action:{id}")),
        _ => None,
    }
}

/// Compiles a revision kept in the store.
fn compile_stored(
    store: &dyn ConversationStore,
    tenant: &str,
    revision: &str,
    scratch: &Path,
) -> Result<Engine, String> {
    let files = store
        .revision(tenant, revision)
        .map_err(|e| e.to_string())?
        .and_then(|v| Files::from_json(&v))
        .ok_or_else(|| format!("policy revision {revision} is not in the store"))?;
    files
        .compile(scratch)
        .map(|r| r.engine)
        .map_err(|d| format!("policy revision {revision} no longer compiles:\n{d}"))
}

//! One tenant's runtime: its engine, its state in memory, and its durable
//! history in the store.
//!
//! `decide` steps the engine under the tenant's lock and hands the decided
//! event to the store in that same order; it waits for the write outside the
//! lock, so a tenant's events share commits, and answers only once the event
//! is on disk. A redelivered message id gets its first decision back and
//! changes nothing. If a write fails, memory is ahead of disk: the runtime
//! stops deciding until it is opened again from the store.

use crate::engine::{Engine, Event, State};
use crate::store::{ConversationStore, Record, StoreError};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// How many events between snapshots.
const SNAPSHOT_EVERY: u64 = 10_000;
/// How many recent message ids stay in memory (older ones are found in the
/// store).
const RECENT_IDS: usize = 100_000;

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
    engine: Engine,
    store: Arc<dyn ConversationStore>,
    inner: Mutex<Inner>,
}

struct Inner {
    state: State,
    seq: u64,
    since_snapshot: u64,
    /// Decisions of message ids seen since start, for redeliveries that
    /// arrive while the first is still being written.
    recent: HashMap<String, Value>,
    stopped: bool,
}

impl TenantRuntime {
    /// Opens a tenant: its latest snapshot, then its later events stepped
    /// again. A replay that decides differently from what was stored means
    /// the policy changed meaning under the history; it is reported, and
    /// the stored state is still what is used.
    pub fn open(
        name: &str,
        engine: Engine,
        store: Arc<dyn ConversationStore>,
    ) -> Result<TenantRuntime, ServiceError> {
        let history = store.history(name)?;
        let recovery = |why: String| ServiceError::Recovery {
            tenant: name.to_string(),
            why,
        };
        let (mut seq, mut state) = match history.snapshot {
            Some((seq, state)) => (
                seq,
                serde_json::from_value(state).map_err(|e| recovery(e.to_string()))?,
            ),
            None => (0, State::new()),
        };
        for (event_seq, event, _) in history.events {
            let event: Event = serde_json::from_value(event)
                .map_err(|e| recovery(format!("event {event_seq}: {e}")))?;
            engine.step(&mut state, &event);
            seq = event_seq;
        }
        Ok(TenantRuntime {
            name: name.to_string(),
            engine,
            store,
            inner: Mutex::new(Inner {
                state,
                seq,
                since_snapshot: 0,
                recent: HashMap::new(),
                stopped: false,
            }),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Decides an event and returns its decision once it is durable.
    pub fn decide(&self, event: &Event) -> Result<Value, ServiceError> {
        let message_id = match event {
            Event::Inbound(e) => e.message_id.as_ref().map(|m| m.to_string()),
            _ => None,
        };
        let (pending, decision) = {
            let mut inner = self.lock();
            if inner.stopped {
                return Err(ServiceError::Stopped(self.name.clone()));
            }
            if let Some(id) = &message_id {
                if let Some(first) = inner.recent.get(id) {
                    return Ok(first.clone());
                }
                if let Some(first) = self.store.decision_for(&self.name, id)? {
                    return Ok(first);
                }
            }
            let decision = self.engine.step(&mut inner.state, event);
            let decision = serde_json::to_value(&decision).map_err(StoreError::from)?;
            inner.seq += 1;
            let record = Record {
                tenant: self.name.clone(),
                seq: inner.seq,
                message_id: message_id.clone(),
                event: serde_json::to_value(event).map_err(StoreError::from)?,
                decision: decision.clone(),
            };
            let pending = match self.store.submit(record) {
                Ok(p) => p,
                Err(e) => {
                    inner.stopped = true;
                    return Err(e.into());
                }
            };
            if let Some(id) = message_id {
                if inner.recent.len() >= RECENT_IDS {
                    inner.recent.clear();
                }
                inner.recent.insert(id, decision.clone());
            }
            inner.since_snapshot += 1;
            if inner.since_snapshot >= SNAPSHOT_EVERY {
                inner.since_snapshot = 0;
                let state = serde_json::to_value(&inner.state).map_err(StoreError::from)?;
                // Written after every append before it.
                if let Err(e) = self.store.snapshot(&self.name, inner.seq, &state) {
                    inner.stopped = true;
                    return Err(e.into());
                }
            }
            (pending, decision)
        };
        if let Err(e) = pending.wait() {
            self.lock().stopped = true;
            return Err(e.into());
        }
        Ok(decision)
    }

    /// Reads the tenant's state.
    pub fn with_state<R>(&self, read: impl FnOnce(&State) -> R) -> R {
        read(&self.lock().state)
    }

    /// Saves a snapshot now (on a clean shutdown, say), so the next start
    /// replays nothing.
    pub fn checkpoint(&self) -> Result<(), ServiceError> {
        let mut inner = self.lock();
        let state = serde_json::to_value(&inner.state).map_err(StoreError::from)?;
        self.store.snapshot(&self.name, inner.seq, &state)?;
        inner.since_snapshot = 0;
        Ok(())
    }
}

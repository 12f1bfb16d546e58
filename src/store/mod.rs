//! Durable conversation state, behind a trait so another backend can follow.
//!
//! The engine is deterministic, so the store keeps what happened, not what it
//! did to memory: each tenant's events in order, with the decisions they got,
//! plus a snapshot of the state now and then. Recovery loads the latest
//! snapshot and steps the events after it again, which reproduces the state
//! exactly (and the stored decisions prove it).
//!
//! Each event names the policy revision that decided it, and each revision's
//! files are kept, so recovery steps every event with the policy it was
//! decided by, even after the policy changed.
//!
//! An event is acknowledged only once it is on disk. Appends from many
//! threads are written together, one transaction and one fsync for the
//! batch (group commit), so durable throughput is not one fsync per event.

mod lease;
mod postgres;
mod queue;
mod sqlite;

pub use lease::{Lease, Leases, Member, Node, Round};
pub use postgres::PostgresStore;
pub use sqlite::{backup, LogReader, SqliteStore};

use serde_json::Value;

/// One decided event, ready to store.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Record {
    pub tenant: String,
    /// The event's place in the tenant's sequence, from 1.
    pub seq: u64,
    /// The event's idempotency key, stored once per tenant: an inbound
    /// message's provider id, or `action:` and an agent action's id.
    pub message_id: Option<String>,
    /// The policy revision that decided it.
    pub revision: String,
    /// The event, as JSON text.
    pub event: String,
    /// The decision, as JSON text.
    pub decision: String,
    /// The conversations the event archived, leaving memory: id and the
    /// conversation as JSON text. Readable by id for the retention window.
    pub archived: Vec<(String, String)>,
}

/// A stored event as recovery reads it back.
#[derive(Clone, Debug, PartialEq)]
pub struct Stored {
    pub seq: u64,
    pub revision: String,
    /// As JSON text, like the decision.
    pub event: String,
    pub decision: String,
}

/// What appending found.
#[derive(Clone, Debug, PartialEq)]
pub enum Appended {
    /// Stored, durably.
    Stored,
    /// The message id was stored before; here is the decision it got
    /// (JSON text).
    Duplicate(String),
    /// Retention removed this many events and archived conversations.
    Pruned { events: usize, archived: usize },
}

/// A tenant's stored history from its latest snapshot on.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// The latest snapshot: the sequence number it was taken after, and
    /// the state as JSON text.
    pub snapshot: Option<(u64, String)>,
    /// Every event after the snapshot, in order, with its decision.
    pub events: Vec<Stored>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the store's database: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("the store's database: {0}")]
    Postgres(String),
    #[error("the store's writer has stopped")]
    WriterGone,
    #[error("writing to the store failed: {0}")]
    Write(String),
    #[error("stored data is not valid JSON: {0}")]
    Corrupt(#[from] serde_json::Error),
    #[error("the database was made by a newer switchboard (schema {0})")]
    NewerSchema(i64),
    #[error("{0}")]
    Replay(String),
}

/// A tenant the store has served: its policy file and the latest revision
/// that served it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Served {
    pub tenant: String,
    pub path: String,
    pub revision: String,
}

/// What is called once a batch is durable, or failed.
pub type Done = Box<dyn FnOnce(Result<(), StoreError>) + Send>;

/// A write on its way to disk; `wait` (on a thread that may block) or
/// `durable` (in async code) returns once it is on disk.
pub struct Pending(tokio::sync::oneshot::Receiver<Result<Appended, String>>);

impl Pending {
    pub fn wait(self) -> Result<Appended, StoreError> {
        Pending::settle(self.0.blocking_recv())
    }

    pub async fn durable(self) -> Result<Appended, StoreError> {
        Pending::settle(self.0.await)
    }

    fn settle<E>(answer: Result<Result<Appended, String>, E>) -> Result<Appended, StoreError> {
        match answer {
            Ok(Ok(appended)) => Ok(appended),
            Ok(Err(message)) => Err(StoreError::Write(message)),
            Err(_) => Err(StoreError::WriterGone),
        }
    }
}

/// Where each tenant's durable state lives: its events with their
/// decisions, its snapshots, and its policy revisions' files.
pub trait TenantStore: Send + Sync {
    /// Queues a decided event for writing, in order; the caller waits on the
    /// result outside any lock, so appends from many callers share a commit.
    fn submit(&self, record: Record) -> Result<Pending, StoreError>;

    /// Stores a decided event; returns once it is durable. A message id the
    /// tenant stored before is not stored again.
    fn append(&self, record: Record) -> Result<Appended, StoreError> {
        self.submit(record)?.wait()
    }

    /// The decision (JSON text) a message id got, if the tenant stored it.
    fn decision_for(&self, tenant: &str, message_id: &str) -> Result<Option<String>, StoreError>;

    /// The decisions (JSON text) of those of `message_ids` the tenant
    /// stored, by message id; one question for a batch of events (a store
    /// across a network answers it in one round trip).
    fn decisions_for(
        &self,
        tenant: &str,
        message_ids: &[String],
    ) -> Result<std::collections::HashMap<String, String>, StoreError> {
        let mut found = std::collections::HashMap::new();
        for id in message_ids {
            if let Some(decision) = self.decision_for(tenant, id)? {
                found.insert(id.clone(), decision);
            }
        }
        Ok(found)
    }

    /// Saves the tenant's state as of `seq`, after every append submitted
    /// before it; events up to `seq` are then covered by the snapshot. If
    /// event `seq` is not stored (its write failed), nothing is saved.
    fn snapshot(&self, tenant: &str, seq: u64, state: String) -> Result<(), StoreError>;

    /// Queues a tenant's decided events for writing in one transaction, and
    /// calls `done` (on the writer's thread: it must not block) once they
    /// are durable, or failed: all of them are stored, or none. A message
    /// id stored before fails the whole batch. Batches are written in the
    /// order they were queued; once one of a tenant's fails, its later ones
    /// fail unwritten (they were decided on top of it) until
    /// [`probe`](Self::probe) succeeds for the tenant.
    fn submit_all(&self, records: Vec<Record>, done: Done) -> Result<(), StoreError>;

    /// Writes something of no consequence and returns once it is durable:
    /// whether writes succeed now. If they do, the tenant's batches are
    /// taken again.
    fn probe(&self, tenant: &str) -> Result<(), StoreError>;

    /// Removes the tenant's events up to `through` (covered by a snapshot)
    /// that were stored before `before`, and the archived conversations
    /// stored before it. Returns how many of each went.
    fn prune(
        &self,
        tenant: &str,
        through: u64,
        before: chrono::DateTime<chrono::Utc>,
    ) -> Result<(usize, usize), StoreError>;

    /// The tenant's latest snapshot: the sequence number it was taken
    /// after, and the state as JSON text.
    fn latest_snapshot(&self, tenant: &str) -> Result<Option<(u64, String)>, StoreError>;

    /// Hands each of the tenant's events after `after` to `each`, in
    /// order, one at a time (recovery never holds them all). An error from
    /// `each` stops the replay and is returned as [`StoreError::Replay`].
    fn replay(
        &self,
        tenant: &str,
        after: u64,
        each: &mut dyn FnMut(Stored) -> Result<(), String>,
    ) -> Result<(), StoreError>;

    /// The tenant's latest snapshot and the events after it, all in memory;
    /// for tests and tools (recovery uses [`replay`](Self::replay)).
    fn history(&self, tenant: &str) -> Result<History, StoreError> {
        let snapshot = self.latest_snapshot(tenant)?;
        let mut events = Vec::new();
        let after = snapshot.as_ref().map_or(0, |(seq, _)| *seq);
        self.replay(tenant, after, &mut |stored| {
            events.push(stored);
            Ok(())
        })?;
        Ok(History { snapshot, events })
    }

    /// An archived conversation that left memory, as JSON text.
    fn archived(&self, tenant: &str, id: &str) -> Result<Option<String>, StoreError>;

    /// Records that `tenant` serves `revision` of the policy file at `path`,
    /// so a start that cannot compile the file serves that revision.
    fn note_serving(&self, tenant: &str, path: &str, revision: &str) -> Result<(), StoreError>;

    /// Every tenant the store has served.
    fn served(&self) -> Result<Vec<Served>, StoreError>;

    /// Keeps a policy revision's files (a JSON object of path → text), so
    /// events it decided can be stepped again after the files change. Written
    /// in order with appends; storing a revision twice keeps the first.
    fn save_revision(&self, tenant: &str, revision: &str, files: &Value) -> Result<(), StoreError>;

    /// The files of a stored policy revision.
    fn revision(&self, tenant: &str, revision: &str) -> Result<Option<Value>, StoreError>;

    /// The tenants' leases, if the store is shared by several nodes.
    fn leases(&self) -> Option<&dyn Leases> {
        None
    }
}

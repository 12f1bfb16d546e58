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

mod sqlite;

pub use sqlite::SqliteStore;

use serde_json::Value;

/// One decided event, ready to store.
#[derive(Clone, Debug, PartialEq)]
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
    #[error("the store's writer has stopped")]
    WriterGone,
    #[error("writing to the store failed: {0}")]
    Write(String),
    #[error("stored data is not valid JSON: {0}")]
    Corrupt(#[from] serde_json::Error),
    #[error("the database was made by a newer switchboard (schema {0})")]
    NewerSchema(i64),
}

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

/// Where conversation state lives.
pub trait ConversationStore: Send + Sync {
    /// Queues a decided event for writing, in order; the caller waits on the
    /// result outside any lock, so appends from many callers share a commit.
    fn submit(&self, record: Record) -> Result<Pending, StoreError>;

    /// A write of nothing, durable once everything submitted before it is
    /// (or failed with the batch that failed).
    fn barrier(&self) -> Result<Pending, StoreError>;

    /// Stores a decided event; returns once it is durable. A message id the
    /// tenant stored before is not stored again.
    fn append(&self, record: Record) -> Result<Appended, StoreError> {
        self.submit(record)?.wait()
    }

    /// The decision (JSON text) a message id got, if the tenant stored it.
    fn decision_for(&self, tenant: &str, message_id: &str) -> Result<Option<String>, StoreError>;

    /// Saves the tenant's state as of `seq`, after every append submitted
    /// before it; events up to `seq` are then covered by the snapshot. If
    /// event `seq` is not stored (its write failed), nothing is saved.
    fn snapshot(&self, tenant: &str, seq: u64, state: String) -> Result<(), StoreError>;

    /// The tenant's latest snapshot and the events after it.
    fn history(&self, tenant: &str) -> Result<History, StoreError>;

    /// Keeps a policy revision's files (a JSON object of path → text), so
    /// events it decided can be stepped again after the files change. Written
    /// in order with appends; storing a revision twice keeps the first.
    fn save_revision(&self, tenant: &str, revision: &str, files: &Value) -> Result<(), StoreError>;

    /// The files of a stored policy revision.
    fn revision(&self, tenant: &str, revision: &str) -> Result<Option<Value>, StoreError>;
}

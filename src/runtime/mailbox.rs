//! A tenant's mailbox: what callers send its decider, bounded, and what
//! the store answers about its writes, not bounded.
//!
//! One channel carries both, so the decider waits on one thing and takes
//! them in the order they came. The bound counts the events waiting to be
//! decided (sent and not yet taken into a batch); a sender over it is
//! refused at once. The store's answers and the runtime's own requests
//! (checkpoint, stop) are never refused, since they must not be lost.

use super::log::Summary;
use crate::engine::Event;
use chrono::{DateTime, Utc};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::oneshot;

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
    /// The store finished writing batch `batch` (sent by its writer).
    Written {
        batch: u64,
        result: Result<(), String>,
    },
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

/// Why an event was not decided.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecideError {
    #[error("tenant {0} has more events waiting than it takes; retry shortly")]
    Busy(String),
    #[error("the event was not stored, and nothing changed: {0}")]
    NotStored(String),
    #[error("tenant {tenant} is not storing events ({reason}); it retries by itself")]
    Stopped { tenant: String, reason: String },
    #[error("tenant {tenant} is not served: {reason}")]
    Failed { tenant: String, reason: String },
    #[error("deciding the event failed, and nothing changed: {0}")]
    Internal(String),
    #[error("the service is shutting down")]
    ShuttingDown,
    #[error("tenant {0} is decided by another node now; retry")]
    Elsewhere(String),
}

/// Why a job was not taken.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// As many events wait as the mailbox takes.
    Full,
    /// The decider has ended.
    Closed,
}

#[derive(Clone)]
pub(crate) struct Mailbox {
    sender: Sender<Job>,
    waiting: Arc<AtomicUsize>,
    capacity: usize,
}

impl Mailbox {
    /// A mailbox for `capacity` waiting events, and its receiving end.
    pub(crate) fn new(capacity: usize) -> (Mailbox, Receiver<Job>) {
        let (sender, receiver) = mpsc::channel();
        let mailbox = Mailbox {
            sender,
            waiting: Arc::new(AtomicUsize::new(0)),
            capacity: capacity.max(1),
        };
        (mailbox, receiver)
    }

    /// Sends an event to decide, unless the mailbox is full.
    pub(crate) fn offer(&self, job: Job) -> Result<(), Refused> {
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.capacity {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(Refused::Full);
        }
        self.sender.send(job).map_err(|_| {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            Refused::Closed
        })
    }

    /// Sends what must not be refused: the store's answers, a checkpoint,
    /// a stop.
    pub(crate) fn send(&self, job: Job) -> Result<(), Refused> {
        self.sender.send(job).map_err(|_| Refused::Closed)
    }

    /// The decider took an offered event into a batch.
    pub(crate) fn taken(&self) {
        self.waiting.fetch_sub(1, Ordering::AcqRel);
    }
}

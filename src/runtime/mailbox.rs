//! A tenant's mailbox: what callers send its decider, bounded, and what
//! the store answers about its writes, not bounded.
//!
//! One channel carries both, so the decider waits on one thing and takes
//! them in the order they came. The bound counts the events waiting to be
//! decided (sent and not yet taken into a batch); a sender over it is
//! refused at once. The store's answers and the runtime's own requests
//! (checkpoint, stop) are never refused, since they must not be lost.

use super::decider::Job;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;

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

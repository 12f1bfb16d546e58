//! A tenant's live stream: every durable decision (timer-driven ones
//! included), each policy revision it starts serving or refuses, and its
//! end, for whoever listens (`GET .../stream`, the console, an agent's
//! desktop).
//!
//! The decider sends into a bounded broadcast channel once a batch is
//! durable, never waiting: a listener that falls behind by more than the
//! channel holds (`serve --stream-buffer`) loses the oldest items and is
//! told how many (it may fill the gap from the store by resuming from its
//! last sequence number). With nobody listening the decider copies nothing
//! for the stream.

use std::sync::Arc;
use tokio::sync::broadcast;

/// How many items a tenant's stream holds for a listener behind it, unless
/// the service is told otherwise.
pub const DEFAULT_BUFFER: usize = 1024;

/// One decided event, as it is stored: the event and the decision (with
/// the revision that decided it) as JSON text.
#[derive(Clone, Debug)]
pub struct Streamed {
    pub seq: u64,
    pub event: Arc<str>,
    pub decision: Arc<str>,
}

/// What a tenant's stream carries.
#[derive(Clone, Debug)]
pub enum Item {
    Decision(Arc<Streamed>),
    /// The tenant serves this revision from its next event on.
    Serving {
        revision: String,
    },
    /// A revision failed to load; the one before goes on serving.
    Refused {
        revision: String,
        diagnostics: String,
    },
    /// The tenant stopped being decided here (shutdown, or another node
    /// took it): a listener reconnects, resuming where it was.
    End {
        reason: String,
    },
}

/// The sending side, held by the tenant.
pub(crate) struct Stream {
    sender: broadcast::Sender<Item>,
}

impl Stream {
    pub(crate) fn new(buffer: usize) -> Stream {
        let (sender, _) = broadcast::channel(buffer.max(1));
        Stream { sender }
    }

    /// Whether anyone listens (else a decision need not be copied for it).
    pub(crate) fn is_heard(&self) -> bool {
        self.sender.receiver_count() > 0
    }

    /// Sends to every listener; never waits.
    pub(crate) fn send(&self, item: Item) {
        let _ = self.sender.send(item);
    }

    pub(crate) fn listen(&self) -> broadcast::Receiver<Item> {
        self.sender.subscribe()
    }
}

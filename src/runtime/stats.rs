//! What the runtime counts, for `/metrics`: decisions and their latency,
//! redeliveries, ticks, reloads, failed writes, replay divergences.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the decision latency histogram, in seconds.
pub const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Default)]
pub struct Stats {
    pub decisions: AtomicU64,
    pub redeliveries: AtomicU64,
    pub ticks: AtomicU64,
    pub reloads: AtomicU64,
    pub reloads_refused: AtomicU64,
    /// Events refused because their tenant's mailbox was full.
    pub busy: AtomicU64,
    /// Batches of events whose write failed (and were undone).
    pub failed_writes: AtomicU64,
    /// Replayed events whose decision differed from the stored one.
    pub divergences: AtomicU64,
    pub snapshots: AtomicU64,
    /// Events and archived conversations removed by retention.
    pub pruned_events: AtomicU64,
    pub pruned_conversations: AtomicU64,
    /// Decisions whose latency was at most each bucket's bound.
    pub latency_buckets: [AtomicU64; BUCKETS.len()],
    pub latency_micros: AtomicU64,
    pub latency_count: AtomicU64,
}

impl Stats {
    /// Counts a decision and how long it took, from its arrival in the
    /// tenant's mailbox to its being durable.
    pub fn decided(&self, took: Duration) {
        self.decisions.fetch_add(1, Ordering::Relaxed);
        let seconds = took.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|b| seconds <= *b) {
            self.latency_buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.latency_micros
            .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
        self.latency_count.fetch_add(1, Ordering::Relaxed);
    }

    pub fn count(counter: &AtomicU64) {
        Self::add(counter, 1);
    }

    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

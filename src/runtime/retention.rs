//! Snapshots and retention, on a thread of their own.
//!
//! A decider hands over a copy-on-write clone of its state (a few reference
//! counts); this thread serializes it and stores it, so no decision waits
//! for a snapshot, however large the state. Once a snapshot is stored, the
//! events it covers that are older than the retention window are removed,
//! and so are archived conversations stored before the window: recovery
//! needs neither, and the data folder stays as large as the window's
//! traffic. Idempotency keys live with their events: a redelivery is
//! recognised for the retention window.

use super::stats::Stats;
use crate::engine::State;
use crate::store::TenantStore;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

struct Snapshot {
    tenant: String,
    seq: u64,
    state: State,
    /// Cleared once this snapshot is written (or failed).
    busy: Arc<AtomicBool>,
}

pub(crate) struct Retention {
    jobs: Mutex<Option<Sender<Snapshot>>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Retention {
    pub(crate) fn start(
        store: Arc<dyn TenantStore>,
        stats: Arc<Stats>,
        window: Duration,
    ) -> std::io::Result<Retention> {
        let (jobs, receive) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("switchboard-snapshots".into())
            .spawn(move || run(&*store, &stats, window, receive))?;
        Ok(Retention {
            jobs: Mutex::new(Some(jobs)),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Queues a snapshot of `state` as of event `seq`.
    pub(crate) fn snapshot(&self, tenant: &str, seq: u64, state: State, busy: Arc<AtomicBool>) {
        let job = Snapshot {
            tenant: tenant.to_string(),
            seq,
            state,
            busy,
        };
        let jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        match jobs.as_ref() {
            Some(jobs) => {
                if let Err(mpsc::SendError(job)) = jobs.send(job) {
                    job.busy.store(false, Ordering::Release);
                }
            }
            None => job.busy.store(false, Ordering::Release),
        }
    }

    /// Writes what is queued and ends the thread.
    pub(crate) fn stop(&self) {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner()).take();
        let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}

fn run(store: &dyn TenantStore, stats: &Stats, window: Duration, jobs: Receiver<Snapshot>) {
    while let Ok(job) = jobs.recv() {
        let written = serde_json::to_string(&job.state)
            .map_err(|e| e.to_string())
            .and_then(|text| {
                store
                    .snapshot(&job.tenant, job.seq, text)
                    .map_err(|e| e.to_string())
            });
        drop(job.state);
        match written {
            Ok(()) => {
                Stats::count(&stats.snapshots);
                prune(store, stats, &job.tenant, job.seq, window);
            }
            Err(e) => tracing::error!(
                tenant = %job.tenant,
                seq = job.seq,
                error = %e,
                "snapshot failed; recovery replays from the one before"
            ),
        }
        job.busy.store(false, Ordering::Release);
    }
}

fn prune(store: &dyn TenantStore, stats: &Stats, tenant: &str, through: u64, window: Duration) {
    let Ok(window) = chrono::Duration::from_std(window) else {
        return;
    };
    let Some(before) = chrono::Utc::now().checked_sub_signed(window) else {
        return;
    };
    match store.prune(tenant, through, before) {
        Ok((events, conversations)) => {
            Stats::add(&stats.pruned_events, events as u64);
            Stats::add(&stats.pruned_conversations, conversations as u64);
        }
        Err(e) => tracing::warn!(
            tenant = %tenant,
            error = %e,
            "retention could not remove old events; it tries again after the next snapshot"
        ),
    }
}

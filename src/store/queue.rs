//! What a store's writer is asked to do, and where it answers: the same
//! queue for every backend, so each writes the jobs in the order they were
//! asked and group-commits the appends that wait together.

use super::{Appended, Done, Pending, Record, StoreError};
use serde_json::Value;
use std::collections::HashSet;
use tokio::sync::oneshot;

/// Where a job's outcome goes: a channel the caller waits on, or a call.
pub(super) enum Reply {
    Channel(oneshot::Sender<Result<Appended, String>>),
    Call(Call),
}

/// A call made exactly once: with the outcome, or, should the writer drop
/// the job unanswered, with the writer gone.
pub(super) struct Call(pub(super) Option<super::Done>);

impl Drop for Call {
    fn drop(&mut self) {
        if let Some(done) = self.0.take() {
            done(Err(StoreError::WriterGone));
        }
    }
}

impl Reply {
    pub(super) fn send(self, result: Result<Appended, String>) {
        match self {
            Reply::Channel(sender) => {
                let _ = sender.send(result);
            }
            Reply::Call(mut call) => {
                if let Some(done) = call.0.take() {
                    done(result.map(|_| ()).map_err(StoreError::Write));
                }
            }
        }
    }
}

/// What the writer does, in the order it was asked.
pub(super) enum Job {
    Append(Record),
    /// A tenant's events, stored in one transaction: all or none.
    Batch(Vec<Record>),
    /// A snapshot goes through the writer too, so it is written after
    /// every append submitted before it.
    Snapshot {
        tenant: String,
        seq: u64,
        /// As JSON text.
        state: String,
    },
    Revision {
        tenant: String,
        revision: String,
        files: Value,
    },
    /// A write of no consequence, to learn whether writes succeed; once it
    /// does, the tenant's batches are taken again.
    Probe {
        tenant: String,
    },
    /// Removes what retention no longer keeps.
    Prune {
        tenant: String,
        through: u64,
        before_ms: i64,
    },
    /// Records which revision of which policy file a tenant serves.
    Serving {
        tenant: String,
        path: String,
        revision: String,
    },
}

impl Job {
    /// The tenant whose lease the job needs, if it writes the tenant's
    /// history: its events, snapshots, pruning, and probes (a probe that
    /// succeeds lets the tenant write again).
    pub(super) fn fenced_tenant(&self) -> Option<&str> {
        match self {
            Job::Append(record) => Some(&record.tenant),
            Job::Batch(records) => records.first().map(|r| r.tenant.as_str()),
            Job::Snapshot { tenant, .. } | Job::Probe { tenant } | Job::Prune { tenant, .. } => {
                Some(tenant)
            }
            Job::Revision { .. } | Job::Serving { .. } => None,
        }
    }
}

/// Tenants whose last batch failed. Their later batches were decided on
/// top of the failed one, so they are refused unwritten until a probe of
/// the tenant succeeds.
#[derive(Debug, Default)]
pub(super) struct Poisoned(HashSet<String>);

impl Poisoned {
    /// Why `job` is refused unwritten, if it is.
    pub(super) fn refuses(&self, job: &Job) -> Option<String> {
        match job {
            Job::Batch(records) => {
                records
                    .first()
                    .filter(|r| self.0.contains(&r.tenant))
                    .map(|r| {
                        format!(
                            "an earlier write of tenant {} failed; its later events are not stored",
                            r.tenant
                        )
                    })
            }
            _ => None,
        }
    }

    /// Notes what a written job's outcome means for its tenant.
    pub(super) fn note(&mut self, job: &Job, result: &Result<Appended, String>) {
        match (job, result) {
            (Job::Batch(records), Err(_)) => {
                if let Some(first) = records.first() {
                    self.0.insert(first.tenant.clone());
                }
            }
            (Job::Probe { tenant }, Ok(_)) => {
                self.0.remove(tenant);
            }
            _ => {}
        }
    }
}

/// A store whose writes go through its writer's queue, in order: the
/// writing half of [`TenantStore`](super::TenantStore), the same for every
/// backend, each giving only how a job reaches its writer.
pub(super) trait Writer {
    fn queue(&self, job: Job, reply: Reply) -> Result<(), StoreError>;

    /// Queues a job; the answer comes once it is durable.
    fn send(&self, job: Job) -> Result<Pending, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.queue(job, Reply::Channel(reply))?;
        Ok(Pending(answer))
    }

    /// Queues a job and waits until it is durable.
    fn written(&self, job: Job) -> Result<Appended, StoreError> {
        self.send(job)?.wait()
    }

    fn queue_batch(&self, records: Vec<Record>, done: Done) -> Result<(), StoreError> {
        self.queue(Job::Batch(records), Reply::Call(Call(Some(done))))
    }

    fn write_snapshot(&self, tenant: &str, seq: u64, state: String) -> Result<(), StoreError> {
        let tenant = tenant.to_string();
        self.written(Job::Snapshot { tenant, seq, state }).map(drop)
    }

    fn write_probe(&self, tenant: &str) -> Result<(), StoreError> {
        let tenant = tenant.to_string();
        self.written(Job::Probe { tenant }).map(drop)
    }

    fn write_prune(
        &self,
        tenant: &str,
        through: u64,
        before: chrono::DateTime<chrono::Utc>,
    ) -> Result<(usize, usize), StoreError> {
        let job = Job::Prune {
            tenant: tenant.to_string(),
            through,
            before_ms: before.timestamp_millis(),
        };
        match self.written(job)? {
            Appended::Pruned { events, archived } => Ok((events, archived)),
            _ => Ok((0, 0)),
        }
    }

    fn write_serving(&self, tenant: &str, path: &str, revision: &str) -> Result<(), StoreError> {
        let job = Job::Serving {
            tenant: tenant.to_string(),
            path: path.to_string(),
            revision: revision.to_string(),
        };
        self.written(job).map(drop)
    }

    fn write_revision(
        &self,
        tenant: &str,
        revision: &str,
        files: &Value,
    ) -> Result<(), StoreError> {
        let job = Job::Revision {
            tenant: tenant.to_string(),
            revision: revision.to_string(),
            files: files.clone(),
        };
        self.written(job).map(drop)
    }
}

//! The writer: one task that takes the queued jobs in order and writes
//! each run that waited together in one transaction (group commit).
//!
//! A transaction is two round trips to the server, whatever it holds.
//! Statements are prepared once per connection (deadpool's statement
//! cache), and those that do not depend on each other's answers are sent
//! together: tokio-postgres sends a statement when its future is first
//! polled and the server runs them in the order they came.
//!
//! 1. `BEGIN`, the fence (the leases of the tenants written, locked `FOR
//!    SHARE`) and what the batch's message ids got before.
//! 2. Every row and job the answers let through, in the order they were
//!    queued, and `COMMIT`.
//!
//! A statement that fails aborts the transaction on the server, so the
//! `COMMIT` sent behind it rolls back and the whole batch fails, as it
//! would one statement at a time.

use super::super::queue::{Job, Poisoned, Reply};
use super::super::{Appended, Record, StoreError};
use super::{database, earlier_decisions, leases, pool_error};
use deadpool_postgres::{ClientWrapper, Pool};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use tokio::sync::mpsc;

/// The most jobs one transaction takes.
const BATCH: usize = 1024;

const INSERT_EVENTS: &str = "INSERT INTO events
         (tenant, seq, message_id, revision, event, decision, epoch, stored_at)
     SELECT r.*, $8::bigint
     FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[],
                 $6::text[], $7::bigint[]) AS r";
const INSERT_ARCHIVED: &str = "INSERT INTO archive (tenant, id, conversation, stored_at)
     SELECT a.*, $4::bigint FROM unnest($1::text[], $2::text[], $3::text[]) AS a
     ON CONFLICT (tenant, id) DO UPDATE
     SET conversation = excluded.conversation, stored_at = excluded.stored_at";
/// Only over events that were stored, as in the embedded store.
const SNAPSHOT: &str = "INSERT INTO snapshots (tenant, seq, state)
     SELECT $1::text, $2::bigint, $3::text
     WHERE $2::bigint = 0
        OR EXISTS (SELECT 1 FROM events WHERE tenant = $1::text AND seq = $2::bigint)
     ON CONFLICT (tenant) DO UPDATE SET seq = excluded.seq, state = excluded.state
     WHERE excluded.seq > snapshots.seq";
const REVISION: &str = "INSERT INTO revisions (tenant, revision, files) VALUES ($1, $2, $3)
     ON CONFLICT DO NOTHING";
const PROBE: &str = "INSERT INTO switchboard_meta (key, value) VALUES ('probed_at', $1)
     ON CONFLICT (key) DO UPDATE SET value = excluded.value";
const PRUNE_EVENTS: &str = "DELETE FROM events WHERE tenant = $1 AND seq <= $2 AND stored_at < $3";
const PRUNE_ARCHIVED: &str = "DELETE FROM archive WHERE tenant = $1 AND stored_at < $2";
const SERVING: &str = "INSERT INTO tenants (tenant, path, revision) VALUES ($1, $2, $3)
     ON CONFLICT (tenant) DO UPDATE SET path = excluded.path, revision = excluded.revision";

/// A job on its way to the writer, with the epoch of the tenant's lease it
/// was queued under (`None` where leases are not enforced).
pub(super) struct Queued {
    pub(super) job: Job,
    pub(super) epoch: Option<i64>,
    pub(super) reply: Reply,
}

/// Takes jobs as they come and writes all that waited together in one
/// transaction; a tenant's failed batch poisons the tenant, as in the
/// embedded store.
pub(super) async fn write_loop(pool: Pool, mut jobs: mpsc::UnboundedReceiver<Queued>) {
    let mut poisoned = Poisoned::default();
    while let Some(first) = jobs.recv().await {
        let (mut batch, mut epochs, mut replies) = (Vec::new(), Vec::new(), Vec::new());
        let mut next = Some(first);
        while let Some(queued) = next.take() {
            batch.push(queued.job);
            epochs.push(queued.epoch);
            replies.push(queued.reply);
            if batch.len() < BATCH {
                next = jobs.try_recv().ok();
            }
        }
        let results = match write_batch(&pool, &batch, &epochs, &poisoned).await {
            Ok(results) => results,
            Err(error) => {
                let message = error.to_string();
                batch.iter().map(|_| Err(message.clone())).collect()
            }
        };
        for ((job, reply), result) in batch.into_iter().zip(replies).zip(results) {
            poisoned.note(&job, &result);
            reply.send(result);
        }
    }
}

/// The current time in milliseconds since 1970, as rows record it.
fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Writes a batch in one transaction on a pooled connection; a connection
/// the transaction could not be ended on leaves the pool.
async fn write_batch(
    pool: &Pool,
    batch: &[Job],
    epochs: &[Option<i64>],
    poisoned: &Poisoned,
) -> Result<Vec<Result<Appended, String>>, StoreError> {
    let client = pool.get().await.map_err(pool_error)?;
    let written = transaction(&client, batch, epochs, poisoned).await;
    if written.is_err() && client.batch_execute("ROLLBACK").await.is_err() {
        drop(deadpool_postgres::Object::take(client));
    }
    written.map_err(database)
}

async fn transaction(
    client: &ClientWrapper,
    batch: &[Job],
    epochs: &[Option<i64>],
    poisoned: &Poisoned,
) -> Result<Vec<Result<Appended, String>>, tokio_postgres::Error> {
    let now = now_ms();
    let (_, fenced, stored) = tokio::try_join!(
        client.batch_execute("BEGIN"),
        leases::fence(client, batch, epochs),
        stored_before(client, batch),
    )?;
    let mut out = Vec::with_capacity(batch.len());
    let mut plan = Vec::new();
    let mut at = 0;
    while at < batch.len() {
        if is_append(&batch[at]) {
            // A run of appends: one insert of all their rows.
            let end = batch[at..]
                .iter()
                .position(|job| !is_append(job))
                .map_or(batch.len(), |n| at + n);
            let jobs = (at..end).map(|i| Append {
                job: &batch[i],
                epoch: epochs[i].unwrap_or(0),
                refused: fenced[i].clone().or_else(|| poisoned.refuses(&batch[i])),
            });
            plan.push(Step::Rows(Box::new(append(jobs, &stored, &mut out))));
            at = end;
        } else {
            match &fenced[at] {
                Some(refusal) => out.push(Err(refusal.clone())),
                None => {
                    plan.push(Step::Job(out.len(), &batch[at]));
                    out.push(Ok(match &batch[at] {
                        Job::Prune { .. } => Appended::Pruned {
                            events: 0,
                            archived: 0,
                        },
                        _ => Appended::Stored,
                    }));
                }
            }
            at += 1;
        }
    }
    let mut sent: Vec<Sent<'_>> = Vec::new();
    for step in &plan {
        match step {
            Step::Rows(rows) => rows.statements(client, now, &mut sent).await?,
            Step::Job(i, job) => statements(client, *i, job, now, &mut sent).await?,
        }
    }
    sent.push(Sent {
        answers: None,
        future: Box::pin(async move { client.batch_execute("COMMIT").await.map(|_| 0) }),
    });
    for (answers, count) in in_order(sent).await? {
        if let Some((i, part)) = answers {
            if let Ok(Appended::Pruned { events, archived }) = &mut out[i] {
                match part {
                    Pruned::Events => *events = count as usize,
                    Pruned::Archived => *archived = count as usize,
                }
            }
        }
    }
    Ok(out)
}

/// What the second round trip does, in the order the jobs were queued.
enum Step<'b> {
    /// A run of appends' rows.
    Rows(Box<Rows<'b>>),
    /// Any other job, answering at its place in the batch's results.
    Job(usize, &'b Job),
}

/// A statement sent, and which count of a pruning it answers (the job's
/// place in the batch's results).
struct Sent<'c> {
    answers: Option<(usize, Pruned)>,
    future: Pin<Box<dyn Future<Output = Result<u64, tokio_postgres::Error>> + Send + 'c>>,
}

#[derive(Clone, Copy)]
enum Pruned {
    Events,
    Archived,
}

/// Waits for statements sent together. Each future is first polled in the
/// order given, so the statements are sent, and run, in that order; the
/// first error is the answer.
async fn in_order(
    mut sent: Vec<Sent<'_>>,
) -> Result<Vec<(Option<(usize, Pruned)>, u64)>, tokio_postgres::Error> {
    let mut counts: Vec<Option<u64>> = vec![None; sent.len()];
    std::future::poll_fn(|cx| {
        let mut waiting = false;
        for (statement, count) in sent.iter_mut().zip(counts.iter_mut()) {
            if count.is_some() {
                continue;
            }
            match statement.future.as_mut().poll(cx) {
                Poll::Ready(Ok(n)) => *count = Some(n),
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => waiting = true,
            }
        }
        if waiting {
            Poll::Pending
        } else {
            Poll::Ready(Ok(()))
        }
    })
    .await?;
    Ok(sent
        .iter()
        .zip(counts)
        .map(|(statement, count)| (statement.answers, count.unwrap_or(0)))
        .collect())
}

/// The records a job appends, none for any other job.
fn records_of(job: &Job) -> &[Record] {
    match job {
        Job::Append(record) => std::slice::from_ref(record),
        Job::Batch(records) => records,
        _ => &[],
    }
}

fn is_append(job: &Job) -> bool {
    matches!(job, Job::Append(_) | Job::Batch(_))
}

/// An append or a batch of a run, with the epoch it is written under, or
/// why it is refused unwritten (its lease moved on, or its tenant is
/// poisoned).
struct Append<'j> {
    job: &'j Job,
    epoch: i64,
    refused: Option<String>,
}

/// What each message id of the batch's appends got when it was stored
/// before this transaction, by tenant and id.
async fn stored_before(
    client: &ClientWrapper,
    batch: &[Job],
) -> Result<HashMap<String, HashMap<String, String>>, tokio_postgres::Error> {
    let (mut tenants, mut ids) = (Vec::new(), Vec::new());
    for record in batch.iter().flat_map(records_of) {
        if let Some(id) = &record.message_id {
            tenants.push(record.tenant.as_str());
            ids.push(id.as_str());
        }
    }
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    earlier_decisions(client, &tenants, &ids).await
}

/// Answers a run's appends and batches, in order, into `out`, and returns
/// the rows they write: a message id stored before (`stored`) or earlier
/// in this run makes an append a duplicate and fails a batch unwritten.
fn append<'j>(
    jobs: impl Iterator<Item = Append<'j>>,
    stored: &HashMap<String, HashMap<String, String>>,
    out: &mut Vec<Result<Appended, String>>,
) -> Rows<'j> {
    let mut rows = Rows::default();
    for Append {
        job,
        epoch,
        refused,
    } in jobs
    {
        if let Some(refusal) = refused {
            out.push(Err(refusal));
            continue;
        }
        match job {
            Job::Append(record) => match rows.earlier(record, stored) {
                Some(decision) => out.push(Ok(Appended::Duplicate(decision.to_string()))),
                None => {
                    rows.add(record, epoch);
                    out.push(Ok(Appended::Stored));
                }
            },
            Job::Batch(records) => {
                let again = records.iter().find(|r| rows.earlier(r, stored).is_some());
                match again {
                    Some(record) => out.push(Err(format!(
                        "message id {} of tenant {} is stored already",
                        record.message_id.as_deref().unwrap_or_default(),
                        record.tenant
                    ))),
                    None => {
                        for record in records {
                            rows.add(record, epoch);
                        }
                        out.push(Ok(Appended::Stored));
                    }
                }
            }
            _ => {}
        }
    }
    rows
}

/// The rows a run of appends writes, column by column (one statement
/// takes them all, as arrays).
#[derive(Default)]
struct Rows<'r> {
    tenant: Vec<&'r str>,
    seq: Vec<i64>,
    message_id: Vec<Option<&'r str>>,
    revision: Vec<&'r str>,
    event: Vec<&'r str>,
    decision: Vec<&'r str>,
    epoch: Vec<i64>,
    /// Archived conversations, column by column; a later one of a
    /// conversation replaces an earlier, as a second insert would.
    archived: (Vec<&'r str>, Vec<&'r str>, Vec<&'r str>),
    /// Where each archived conversation is in `archived`, by tenant and id.
    archived_at: HashMap<(&'r str, &'r str), usize>,
    /// The decisions of the message ids this run stores, by tenant and id.
    decided: HashMap<(&'r str, &'r str), &'r str>,
}

impl<'r> Rows<'r> {
    /// The decision an earlier event with the record's message id got:
    /// one stored before this run, or one of the run's own.
    fn earlier<'a>(
        &'a self,
        record: &Record,
        stored: &'a HashMap<String, HashMap<String, String>>,
    ) -> Option<&'a str> {
        let id = record.message_id.as_deref()?;
        let tenant = record.tenant.as_str();
        if let Some(decision) = self.decided.get(&(tenant, id)) {
            return Some(decision);
        }
        stored.get(tenant)?.get(id).map(String::as_str)
    }

    fn add(&mut self, record: &'r Record, epoch: i64) {
        self.epoch.push(epoch);
        self.tenant.push(&record.tenant);
        self.seq.push(record.seq as i64);
        self.message_id.push(record.message_id.as_deref());
        self.revision.push(&record.revision);
        self.event.push(&record.event);
        self.decision.push(&record.decision);
        for (id, conversation) in &record.archived {
            let key = (record.tenant.as_str(), id.as_str());
            let (tenants, ids, conversations) = &mut self.archived;
            match self.archived_at.get(&key) {
                Some(&at) => conversations[at] = conversation,
                None => {
                    self.archived_at.insert(key, ids.len());
                    tenants.push(key.0);
                    ids.push(key.1);
                    conversations.push(conversation);
                }
            }
        }
        if let Some(id) = &record.message_id {
            self.decided.insert(
                (record.tenant.as_str(), id.as_str()),
                record.decision.as_str(),
            );
        }
    }

    /// Adds the run's inserts to what is sent.
    async fn statements<'c>(
        &'c self,
        client: &'c ClientWrapper,
        now: i64,
        sent: &mut Vec<Sent<'c>>,
    ) -> Result<(), tokio_postgres::Error> {
        if !self.tenant.is_empty() {
            let insert = client.prepare_cached(INSERT_EVENTS).await?;
            sent.push(Sent {
                answers: None,
                future: Box::pin(async move {
                    client
                        .execute(
                            &insert,
                            &[
                                &self.tenant,
                                &self.seq,
                                &self.message_id,
                                &self.revision,
                                &self.event,
                                &self.decision,
                                &self.epoch,
                                &now,
                            ],
                        )
                        .await
                }),
            });
        }
        if !self.archived.0.is_empty() {
            let insert = client.prepare_cached(INSERT_ARCHIVED).await?;
            let (tenants, ids, conversations) = &self.archived;
            sent.push(Sent {
                answers: None,
                future: Box::pin(async move {
                    client
                        .execute(&insert, &[tenants, ids, conversations, &now])
                        .await
                }),
            });
        }
        Ok(())
    }
}

/// Adds the statements of any job but an append (the `i`th of the batch)
/// to what is sent.
async fn statements<'c>(
    client: &'c ClientWrapper,
    i: usize,
    job: &'c Job,
    now: i64,
    sent: &mut Vec<Sent<'c>>,
) -> Result<(), tokio_postgres::Error> {
    let one = |future: Pin<Box<dyn Future<Output = _> + Send + 'c>>| Sent {
        answers: None,
        future,
    };
    match job {
        Job::Append(_) | Job::Batch(_) => {}
        Job::Snapshot { tenant, seq, state } => {
            let statement = client.prepare_cached(SNAPSHOT).await?;
            let seq = *seq as i64;
            sent.push(one(Box::pin(async move {
                client.execute(&statement, &[tenant, &seq, state]).await
            })));
        }
        Job::Revision {
            tenant,
            revision,
            files,
        } => {
            let statement = client.prepare_cached(REVISION).await?;
            let files = files.to_string();
            sent.push(one(Box::pin(async move {
                client
                    .execute(&statement, &[tenant, revision, &files])
                    .await
            })));
        }
        Job::Probe { .. } => {
            let statement = client.prepare_cached(PROBE).await?;
            sent.push(one(Box::pin(async move {
                client.execute(&statement, &[&now]).await
            })));
        }
        Job::Prune {
            tenant,
            through,
            before_ms,
        } => {
            let (events, archived) = tokio::try_join!(
                client.prepare_cached(PRUNE_EVENTS),
                client.prepare_cached(PRUNE_ARCHIVED)
            )?;
            let through = *through as i64;
            sent.push(Sent {
                answers: Some((i, Pruned::Events)),
                future: Box::pin(async move {
                    client
                        .execute(&events, &[tenant, &through, before_ms])
                        .await
                }),
            });
            sent.push(Sent {
                answers: Some((i, Pruned::Archived)),
                future: Box::pin(
                    async move { client.execute(&archived, &[tenant, before_ms]).await },
                ),
            });
        }
        Job::Serving {
            tenant,
            path,
            revision,
        } => {
            let statement = client.prepare_cached(SERVING).await?;
            sent.push(one(Box::pin(async move {
                client.execute(&statement, &[tenant, path, revision]).await
            })));
        }
    }
    Ok(())
}

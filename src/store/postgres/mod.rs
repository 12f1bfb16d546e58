//! The shared store: PostgreSQL, for several nodes in front of one
//! database (replicated by PostgreSQL's own tools).
//!
//! It keeps what the embedded store keeps, in the same shape (events and
//! decisions as the JSON text they were stored as, byte for byte), and
//! answers the same trait the same way: the conformance suite in
//! `tests/store.rs` runs against both.
//!
//! tokio-postgres, with deadpool-postgres for the pool: the service is
//! tokio already, tokio-postgres pipelines statements on one connection,
//! and it is the driver the other Rust PostgreSQL crates build on. sqlx
//! would add a second query layer, compile-time checking against a live
//! database and its own pool for a dozen fixed statements.
//!
//! The store runs its own small tokio runtime, so the trait's blocking
//! methods can be called from any thread (the deciders', the retention
//! thread, a request's blocking task) without borrowing the service's.
//! One writer task takes the queued jobs in order and writes each run of
//! appends that waited together in one transaction, with one statement
//! for all their rows (group commit, as the embedded store does). The
//! deciders' questions (what did these message ids get before?) are
//! grouped the same way: one task asks all that waited together in one
//! query, since each tenant asks before each batch it decides, and with
//! many tenants on a node a query per question was most of the database's
//! work.

mod leases;

use super::queue::{Job, Poisoned, Reply, Writer};
use super::{Appended, Pending, Record, Served, StoreError, Stored, TenantStore};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use futures_util::TryStreamExt;
use leases::Fences;
use serde_json::Value;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use tokio_postgres::{NoTls, Transaction};

/// The most jobs one transaction takes.
const BATCH: usize = 1024;
/// The pool's size: the writer's connection, and the readers'.
const POOL: usize = 8;
/// How long a request waits for a connection before it fails.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// Taken while migrating, so nodes starting together migrate one at a time
/// (the number is "sb" and "schema" in ASCII, to stay clear of others').
const MIGRATION_LOCK: i64 = 0x7362_7363_6865_6d61;

/// The schema, one step per version, applied in order at start-up; each
/// step runs once (the versions applied are kept in
/// `switchboard_migrations`).
const MIGRATIONS: &[(i32, &str)] = &[
    (
        1,
        "CREATE TABLE switchboard_meta (key TEXT PRIMARY KEY, value BIGINT NOT NULL);
     CREATE TABLE events (
         tenant TEXT NOT NULL,
         seq BIGINT NOT NULL,
         message_id TEXT,
         revision TEXT NOT NULL,
         event TEXT NOT NULL,
         decision TEXT NOT NULL,
         stored_at BIGINT NOT NULL,
         PRIMARY KEY (tenant, seq)
     );
     CREATE UNIQUE INDEX events_by_message
         ON events (tenant, message_id) WHERE message_id IS NOT NULL;
     CREATE TABLE snapshots (
         tenant TEXT PRIMARY KEY,
         seq BIGINT NOT NULL,
         state TEXT NOT NULL
     );
     CREATE TABLE revisions (
         tenant TEXT NOT NULL,
         revision TEXT NOT NULL,
         files TEXT NOT NULL,
         PRIMARY KEY (tenant, revision)
     );
     CREATE TABLE archive (
         tenant TEXT NOT NULL,
         id TEXT NOT NULL,
         conversation TEXT NOT NULL,
         stored_at BIGINT NOT NULL,
         PRIMARY KEY (tenant, id)
     );
     CREATE INDEX archive_by_age ON archive (tenant, stored_at);
     CREATE TABLE tenants (
         tenant TEXT PRIMARY KEY,
         path TEXT NOT NULL,
         revision TEXT NOT NULL
     );",
    ),
    (
        2,
        // Several nodes: who is a member, who holds each tenant's lease,
        // and the epoch every event was written under.
        "CREATE TABLE nodes (
             node TEXT PRIMARY KEY,
             instance BIGINT NOT NULL,
             address TEXT NOT NULL,
             joined_at TIMESTAMPTZ NOT NULL,
             seen_at TIMESTAMPTZ NOT NULL
         );
         CREATE TABLE leases (
             tenant TEXT PRIMARY KEY,
             node TEXT NOT NULL,
             instance BIGINT NOT NULL,
             address TEXT NOT NULL,
             epoch BIGINT NOT NULL,
             expires_at TIMESTAMPTZ NOT NULL
         );
         ALTER TABLE events ADD COLUMN epoch BIGINT NOT NULL DEFAULT 0;",
    ),
];

pub struct PostgresStore {
    /// Where it connects, without a password.
    target: String,
    pool: Pool,
    writer: Mutex<Option<mpsc::UnboundedSender<Queued>>>,
    /// Where the deciders' questions about message ids wait to be asked
    /// together.
    asker: mpsc::UnboundedSender<Question>,
    /// The leases this node holds, whose epochs its writes carry.
    fences: Arc<Fences>,
    /// Dropped last: the writer's task and the pool's connections run on it.
    runtime: Option<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

/// PostgreSQL's error in words an operator can act on: the server's own
/// message and code when it sent one, else what went wrong on the way.
fn describe(error: &tokio_postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        return format!("{} ({})", db.message(), db.code().code());
    }
    match std::error::Error::source(error) {
        Some(source) => format!("{error}: {source}"),
        None => error.to_string(),
    }
}

fn database(error: tokio_postgres::Error) -> StoreError {
    StoreError::Postgres(describe(&error))
}

fn pool_error(error: deadpool_postgres::PoolError) -> StoreError {
    match error {
        deadpool_postgres::PoolError::Backend(e) => database(e),
        other => StoreError::Postgres(other.to_string()),
    }
}

/// Host, port and database of a connection string, for messages (never
/// the password).
fn target_of(config: &tokio_postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
        #[cfg(unix)]
        Some(tokio_postgres::config::Host::Unix(path)) => path.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config.get_dbname().or(config.get_user()).unwrap_or("");
    format!("{host}:{port}/{db}")
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user@host:port/db`,
    /// libpq's URL form; `?options=-csearch_path%3Dname` keeps the tables
    /// in a schema of their own) and brings its schema up to date.
    pub fn open(url: &str) -> Result<PostgresStore, StoreError> {
        let config: tokio_postgres::Config = url.parse().map_err(|e: tokio_postgres::Error| {
            StoreError::Postgres(format!("the store's address is not a PostgreSQL URL: {e}"))
        })?;
        let target = target_of(&config);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("switchboard-postgres")
            .enable_all()
            .build()
            .map_err(|e| StoreError::Postgres(format!("starting the store's threads: {e}")))?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(CONNECT_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|e| StoreError::Postgres(e.to_string()))?;
        let migrating = pool.clone();
        runtime
            .block_on(async move { migrate(&migrating).await })
            .map_err(|e| match e {
                StoreError::Postgres(why) => StoreError::Postgres(format!("{target}: {why}")),
                other => other,
            })?;
        let (tx, rx) = mpsc::unbounded_channel();
        runtime.spawn(write_loop(pool.clone(), rx));
        let (asker, questions) = mpsc::unbounded_channel();
        runtime.spawn(ask_loop(pool.clone(), questions));
        Ok(PostgresStore {
            target,
            pool,
            writer: Mutex::new(Some(tx)),
            asker,
            fences: Arc::new(Fences::default()),
            runtime: Some(runtime),
        })
    }

    /// Where the store connects (host, port, database).
    pub fn target(&self) -> &str {
        &self.target
    }

    fn runtime(&self) -> &tokio::runtime::Runtime {
        self.runtime
            .as_ref()
            .expect("the runtime lives as long as the store")
    }

    /// Runs `work` on the store's runtime and waits for it, from any
    /// thread (a runtime's own included: the wait parks this thread, it
    /// does not enter a runtime).
    fn run<T: Send + 'static>(
        &self,
        work: impl Future<Output = Result<T, StoreError>> + Send + 'static,
    ) -> Result<T, StoreError> {
        let task = self.runtime().spawn(work);
        futures_executor::block_on(task).map_err(|_| StoreError::WriterGone)?
    }

    /// A query on a pooled connection, waited for.
    fn read<T, F, Fut>(&self, query: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(deadpool_postgres::Client) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, tokio_postgres::Error>> + Send,
    {
        let pool = self.pool.clone();
        self.run(async move {
            let client = pool.get().await.map_err(pool_error)?;
            query(client).await.map_err(database)
        })
    }
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        // Closing the channel ends the writer once it has written the rest;
        // the runtime waits for it.
        if let Ok(mut writer) = self.writer.lock() {
            writer.take();
        }
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(CONNECT_TIMEOUT);
        }
    }
}

/// Applies the migrations the database has not had, under an advisory
/// lock so that nodes starting together take turns.
async fn migrate(pool: &Pool) -> Result<(), StoreError> {
    let mut client = pool.get().await.map_err(pool_error)?;
    let tx = client.transaction().await.map_err(database)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(database)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS switchboard_migrations (
             version INTEGER PRIMARY KEY,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
         )",
    )
    .await
    .map_err(database)?;
    let applied: Option<i32> = tx
        .query_one("SELECT max(version) FROM switchboard_migrations", &[])
        .await
        .map_err(database)?
        .get(0);
    let applied = applied.unwrap_or(0);
    let latest = MIGRATIONS.last().map_or(0, |(version, _)| *version);
    if applied > latest {
        return Err(StoreError::NewerSchema(i64::from(applied)));
    }
    for (version, step) in MIGRATIONS.iter().filter(|(v, _)| *v > applied) {
        tx.batch_execute(step).await.map_err(database)?;
        tx.execute(
            "INSERT INTO switchboard_migrations (version) VALUES ($1)",
            &[version],
        )
        .await
        .map_err(database)?;
    }
    tx.commit().await.map_err(database)
}

/// A job on its way to the writer, with the epoch of the tenant's lease it
/// was queued under (`None` where leases are not enforced).
struct Queued {
    job: Job,
    epoch: Option<i64>,
    reply: Reply,
}

/// Takes jobs as they come and writes all that waited together in one
/// transaction; a tenant's failed batch poisons the tenant, as in the
/// embedded store.
async fn write_loop(pool: Pool, mut jobs: mpsc::UnboundedReceiver<Queued>) {
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

/// A decider's question: what did these message ids of this tenant get?
struct Question {
    tenant: String,
    ids: Vec<String>,
    answer: tokio::sync::oneshot::Sender<Result<HashMap<String, String>, StoreError>>,
}

/// Asks every question that waited together in one query: each tenant's
/// decider asks before each batch it decides, and with many tenants on a
/// node one query a batch would be most of the database's work.
async fn ask_loop(pool: Pool, mut questions: mpsc::UnboundedReceiver<Question>) {
    while let Some(first) = questions.recv().await {
        let mut waiting = vec![first];
        while waiting.len() < BATCH {
            match questions.try_recv() {
                Ok(next) => waiting.push(next),
                Err(_) => break,
            }
        }
        let (mut tenants, mut ids) = (Vec::new(), Vec::new());
        for question in &waiting {
            for id in &question.ids {
                tenants.push(question.tenant.as_str());
                ids.push(id.as_str());
            }
        }
        let answered = async {
            let client = pool.get().await.map_err(pool_error)?;
            earlier_decisions(&**client, &tenants, &ids)
                .await
                .map_err(database)
        }
        .await;
        // Every question waited on this query: each gets its failure.
        let answered = answered.map_err(|e| match e {
            StoreError::Postgres(why) => why,
            other => other.to_string(),
        });
        for question in waiting {
            // Its own ids only: two questions of one tenant may share a query.
            let answer = match &answered {
                Ok(found) => Ok(question
                    .ids
                    .iter()
                    .filter_map(|id| {
                        let decision = found.get(&question.tenant)?.get(id)?;
                        Some((id.clone(), decision.clone()))
                    })
                    .collect()),
                Err(why) => Err(StoreError::Postgres(why.clone())),
            };
            let _ = question.answer.send(answer);
        }
    }
}

/// The current time in milliseconds since 1970, as rows record it.
fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn records_of(job: &Job) -> Vec<&Record> {
    match job {
        Job::Append(record) => vec![record],
        Job::Batch(records) => records.iter().collect(),
        _ => Vec::new(),
    }
}

fn is_append(job: &Job) -> bool {
    matches!(job, Job::Append(_) | Job::Batch(_))
}

async fn write_batch(
    pool: &Pool,
    batch: &[Job],
    epochs: &[Option<i64>],
    poisoned: &Poisoned,
) -> Result<Vec<Result<Appended, String>>, StoreError> {
    let mut client = pool.get().await.map_err(pool_error)?;
    let tx = client.transaction().await.map_err(database)?;
    let now = now_ms();
    // The fence and what the batch's message ids got before, asked
    // together (tokio-postgres sends both before either answers).
    let (fenced, stored) =
        tokio::try_join!(leases::fence(&tx, batch, epochs), stored_before(&tx, batch))
            .map_err(database)?;
    let mut out = Vec::with_capacity(batch.len());
    let mut at = 0;
    while at < batch.len() {
        if is_append(&batch[at]) {
            // A run of appends: one look-up of their message ids, one
            // insert of all their rows.
            let end = batch[at..]
                .iter()
                .position(|job| !is_append(job))
                .map_or(batch.len(), |n| at + n);
            let jobs: Vec<Append> = (at..end)
                .map(|i| Append {
                    job: &batch[i],
                    epoch: epochs[i].unwrap_or(0),
                    refused: fenced[i].clone().or_else(|| poisoned.refuses(&batch[i])),
                })
                .collect();
            out.extend(append(&tx, &jobs, &stored, now).await.map_err(database)?);
            at = end;
        } else {
            match &fenced[at] {
                Some(refusal) => out.push(Err(refusal.clone())),
                None => out.push(run(&tx, &batch[at], now).await.map_err(database)?),
            }
            at += 1;
        }
    }
    tx.commit().await.map_err(database)?;
    Ok(out)
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
    tx: &Transaction<'_>,
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
    earlier_decisions(tx, &tenants, &ids).await
}

/// What each message id got when it was stored, by tenant and id; the
/// `i`th id is the `i`th tenant's.
async fn earlier_decisions(
    client: &impl tokio_postgres::GenericClient,
    tenants: &[&str],
    ids: &[&str],
) -> Result<HashMap<String, HashMap<String, String>>, tokio_postgres::Error> {
    let mut stored: HashMap<String, HashMap<String, String>> = HashMap::new();
    for row in client
        .query(
            "SELECT e.tenant, e.message_id, e.decision
             FROM events e JOIN unnest($1::text[], $2::text[]) AS asked (tenant, message_id)
               ON e.tenant = asked.tenant AND e.message_id = asked.message_id",
            &[&tenants, &ids],
        )
        .await?
    {
        stored
            .entry(row.get(0))
            .or_default()
            .insert(row.get(1), row.get(2));
    }
    Ok(stored)
}

/// Appends and batches, in order: a message id stored before (`stored`)
/// or earlier in this run makes an append a duplicate and fails a batch
/// unwritten.
async fn append(
    tx: &Transaction<'_>,
    jobs: &[Append<'_>],
    stored: &HashMap<String, HashMap<String, String>>,
    now: i64,
) -> Result<Vec<Result<Appended, String>>, tokio_postgres::Error> {
    let mut rows = Rows::default();
    let mut out = Vec::with_capacity(jobs.len());
    for Append {
        job,
        epoch,
        refused,
    } in jobs
    {
        if let Some(refusal) = refused {
            out.push(Err(refusal.clone()));
            continue;
        }
        match job {
            Job::Append(record) => match rows.earlier(record, stored) {
                Some(decision) => out.push(Ok(Appended::Duplicate(decision.to_string()))),
                None => {
                    rows.add(record, *epoch);
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
                            rows.add(record, *epoch);
                        }
                        out.push(Ok(Appended::Stored));
                    }
                }
            }
            _ => {}
        }
    }
    rows.write(tx, now).await?;
    Ok(out)
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
    /// Archived conversations by tenant and id; a later one replaces an
    /// earlier, as a second insert would.
    archived: HashMap<(&'r str, &'r str), &'r str>,
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
            self.archived
                .insert((record.tenant.as_str(), id.as_str()), conversation.as_str());
        }
        if let Some(id) = &record.message_id {
            self.decided.insert(
                (record.tenant.as_str(), id.as_str()),
                record.decision.as_str(),
            );
        }
    }

    async fn write(self, tx: &Transaction<'_>, now: i64) -> Result<(), tokio_postgres::Error> {
        if !self.tenant.is_empty() {
            tx.execute(
                "INSERT INTO events
                     (tenant, seq, message_id, revision, event, decision, epoch, stored_at)
                 SELECT r.*, $8::bigint
                 FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[],
                             $6::text[], $7::bigint[]) AS r",
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
            .await?;
        }
        if !self.archived.is_empty() {
            let (mut tenants, mut ids, mut conversations) = (Vec::new(), Vec::new(), Vec::new());
            for ((tenant, id), conversation) in &self.archived {
                tenants.push(*tenant);
                ids.push(*id);
                conversations.push(*conversation);
            }
            tx.execute(
                "INSERT INTO archive (tenant, id, conversation, stored_at)
                 SELECT a.*, $4::bigint FROM unnest($1::text[], $2::text[], $3::text[]) AS a
                 ON CONFLICT (tenant, id) DO UPDATE
                 SET conversation = excluded.conversation, stored_at = excluded.stored_at",
                &[&tenants, &ids, &conversations, &now],
            )
            .await?;
        }
        Ok(())
    }
}

/// Any job but an append, inside the transaction.
async fn run(
    tx: &Transaction<'_>,
    job: &Job,
    now: i64,
) -> Result<Result<Appended, String>, tokio_postgres::Error> {
    match job {
        Job::Append(_) | Job::Batch(_) => {}
        Job::Snapshot { tenant, seq, state } => {
            // Only over events that were stored, as in the embedded store.
            tx.execute(
                "INSERT INTO snapshots (tenant, seq, state)
                 SELECT $1::text, $2::bigint, $3::text
                 WHERE $2::bigint = 0
                    OR EXISTS (SELECT 1 FROM events WHERE tenant = $1::text AND seq = $2::bigint)
                 ON CONFLICT (tenant) DO UPDATE SET seq = excluded.seq, state = excluded.state
                 WHERE excluded.seq > snapshots.seq",
                &[tenant, &(*seq as i64), state],
            )
            .await?;
        }
        Job::Revision {
            tenant,
            revision,
            files,
        } => {
            tx.execute(
                "INSERT INTO revisions (tenant, revision, files) VALUES ($1, $2, $3)
                 ON CONFLICT DO NOTHING",
                &[tenant, revision, &files.to_string()],
            )
            .await?;
        }
        Job::Probe { .. } => {
            tx.execute(
                "INSERT INTO switchboard_meta (key, value) VALUES ('probed_at', $1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                &[&now],
            )
            .await?;
        }
        Job::Prune {
            tenant,
            through,
            before_ms,
        } => {
            let events = tx
                .execute(
                    "DELETE FROM events WHERE tenant = $1 AND seq <= $2 AND stored_at < $3",
                    &[tenant, &(*through as i64), before_ms],
                )
                .await?;
            let archived = tx
                .execute(
                    "DELETE FROM archive WHERE tenant = $1 AND stored_at < $2",
                    &[tenant, before_ms],
                )
                .await?;
            return Ok(Ok(Appended::Pruned {
                events: events as usize,
                archived: archived as usize,
            }));
        }
        Job::Serving {
            tenant,
            path,
            revision,
        } => {
            tx.execute(
                "INSERT INTO tenants (tenant, path, revision) VALUES ($1, $2, $3)
                 ON CONFLICT (tenant) DO UPDATE SET path = excluded.path, revision = excluded.revision",
                &[tenant, path, revision],
            )
            .await?;
        }
    }
    Ok(Ok(Appended::Stored))
}

impl Writer for PostgresStore {
    fn queue(&self, job: Job, reply: Reply) -> Result<(), StoreError> {
        let epoch = match self.fences.epoch_for(&job) {
            Ok(epoch) => epoch,
            Err(refusal) => {
                reply.send(Err(refusal));
                return Ok(());
            }
        };
        let writer = self.writer.lock().map_err(|_| StoreError::WriterGone)?;
        let sender = writer.as_ref().ok_or(StoreError::WriterGone)?;
        sender
            .send(Queued { job, epoch, reply })
            .map_err(|_| StoreError::WriterGone)
    }
}

impl TenantStore for PostgresStore {
    fn submit(&self, record: Record) -> Result<Pending, StoreError> {
        self.send(Job::Append(record))
    }

    fn decision_for(&self, tenant: &str, message_id: &str) -> Result<Option<String>, StoreError> {
        let (tenant, message_id) = (tenant.to_string(), message_id.to_string());
        self.read(move |client| async move {
            let row = client
                .query_opt(
                    "SELECT decision FROM events WHERE tenant = $1 AND message_id = $2",
                    &[&tenant, &message_id],
                )
                .await?;
            Ok(row.map(|r| r.get(0)))
        })
    }

    fn decisions_for(
        &self,
        tenant: &str,
        message_ids: &[String],
    ) -> Result<HashMap<String, String>, StoreError> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let question = Question {
            tenant: tenant.to_string(),
            ids: message_ids.to_vec(),
            answer,
        };
        self.asker
            .send(question)
            .map_err(|_| StoreError::WriterGone)?;
        futures_executor::block_on(answered).map_err(|_| StoreError::WriterGone)?
    }

    fn snapshot(&self, tenant: &str, seq: u64, state: String) -> Result<(), StoreError> {
        self.write_snapshot(tenant, seq, state)
    }

    fn submit_all(&self, records: Vec<Record>, done: super::Done) -> Result<(), StoreError> {
        self.queue_batch(records, done)
    }

    fn probe(&self, tenant: &str) -> Result<(), StoreError> {
        self.write_probe(tenant)
    }

    fn prune(
        &self,
        tenant: &str,
        through: u64,
        before: chrono::DateTime<chrono::Utc>,
    ) -> Result<(usize, usize), StoreError> {
        self.write_prune(tenant, through, before)
    }

    fn latest_snapshot(&self, tenant: &str) -> Result<Option<(u64, String)>, StoreError> {
        let tenant = tenant.to_string();
        self.read(move |client| async move {
            let row = client
                .query_opt(
                    "SELECT seq, state FROM snapshots WHERE tenant = $1",
                    &[&tenant],
                )
                .await?;
            Ok(row.map(|r| (r.get::<_, i64>(0) as u64, r.get(1))))
        })
    }

    fn replay(
        &self,
        tenant: &str,
        after: u64,
        each: &mut dyn FnMut(Stored) -> Result<(), String>,
    ) -> Result<(), StoreError> {
        // The rows come through a short channel as the server sends them,
        // so a long history is never all in memory; dropping the receiver
        // (an error from `each`) ends the query.
        let (tx, mut rx) = mpsc::channel::<Result<Stored, StoreError>>(256);
        let (pool, tenant) = (self.pool.clone(), tenant.to_string());
        self.runtime().spawn(async move {
            let stream = async {
                let client = pool.get().await.map_err(pool_error)?;
                let rows = client
                    .query_raw(
                        "SELECT seq, revision, event, decision FROM events
                         WHERE tenant = $1 AND seq > $2 ORDER BY seq",
                        [
                            &tenant as &(dyn tokio_postgres::types::ToSql + Sync),
                            &(after as i64),
                        ],
                    )
                    .await
                    .map_err(database)?;
                let mut rows = std::pin::pin!(rows);
                while let Some(row) = rows.try_next().await.map_err(database)? {
                    let stored = Stored {
                        seq: row.get::<_, i64>(0) as u64,
                        revision: row.get(1),
                        event: row.get(2),
                        decision: row.get(3),
                    };
                    if tx.send(Ok(stored)).await.is_err() {
                        break;
                    }
                }
                Ok::<(), StoreError>(())
            };
            if let Err(error) = stream.await {
                let _ = tx.send(Err(error)).await;
            }
        });
        while let Some(next) = futures_executor::block_on(rx.recv()) {
            each(next?).map_err(StoreError::Replay)?;
        }
        Ok(())
    }

    fn archived(&self, tenant: &str, id: &str) -> Result<Option<String>, StoreError> {
        let (tenant, id) = (tenant.to_string(), id.to_string());
        self.read(move |client| async move {
            let row = client
                .query_opt(
                    "SELECT conversation FROM archive WHERE tenant = $1 AND id = $2",
                    &[&tenant, &id],
                )
                .await?;
            Ok(row.map(|r| r.get(0)))
        })
    }

    fn note_serving(&self, tenant: &str, path: &str, revision: &str) -> Result<(), StoreError> {
        self.write_serving(tenant, path, revision)
    }

    fn served(&self) -> Result<Vec<Served>, StoreError> {
        self.read(move |client| async move {
            let rows = client
                .query(
                    "SELECT tenant, path, revision FROM tenants ORDER BY tenant",
                    &[],
                )
                .await?;
            Ok(rows
                .iter()
                .map(|r| Served {
                    tenant: r.get(0),
                    path: r.get(1),
                    revision: r.get(2),
                })
                .collect())
        })
    }

    fn save_revision(&self, tenant: &str, revision: &str, files: &Value) -> Result<(), StoreError> {
        self.write_revision(tenant, revision, files)
    }

    fn leases(&self) -> Option<&dyn super::Leases> {
        Some(self)
    }

    fn revision(&self, tenant: &str, revision: &str) -> Result<Option<Value>, StoreError> {
        let (tenant, revision) = (tenant.to_string(), revision.to_string());
        let files: Option<String> = self.read(move |client| async move {
            let row = client
                .query_opt(
                    "SELECT files FROM revisions WHERE tenant = $1 AND revision = $2",
                    &[&tenant, &revision],
                )
                .await?;
            Ok(row.map(|r| r.get(0)))
        })?;
        Ok(files.map(|f| serde_json::from_str(&f)).transpose()?)
    }
}

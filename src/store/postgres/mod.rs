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
//! One writer task (`write`) takes the queued jobs in order and writes
//! each run that waited together in one transaction of two round trips,
//! with one statement for all their rows (group commit, as the embedded
//! store does). The deciders' questions (what did these message ids get
//! before?) are grouped the same way: one task asks all that waited
//! together in one query, since each tenant asks before each batch it
//! decides, and with many tenants on a node a query per question was most
//! of the database's work. The statements the writer and the asker send
//! are prepared once per connection.

mod leases;
mod write;

use super::queue::{Job, Reply, Writer};
use super::{Pending, Record, Served, StoreError, Stored, TenantStore};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use futures_util::TryStreamExt;
use leases::Fences;
use serde_json::Value;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use tokio_postgres::NoTls;
use write::{write_loop, Queued};

/// The most questions one query asks.
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
        let mut config: tokio_postgres::Config =
            url.parse().map_err(|e: tokio_postgres::Error| {
                StoreError::Postgres(format!("the store's address is not a PostgreSQL URL: {e}"))
            })?;
        // The store's statements are prepared once per connection, and a
        // plan PostgreSQL caches for a prepared statement is made from the
        // table as it was then: one made while `events` was small scans it
        // whole, and goes on scanning it as it grows (at twelve tenants one
        // node fell from about 7,000 events/s to 2,700). Every statement is
        // planned for the table as it is.
        let options = match config.get_options() {
            Some(given) => format!("{given} -c plan_cache_mode=force_custom_plan"),
            None => "-c plan_cache_mode=force_custom_plan".to_string(),
        };
        config.options(&options);
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
            earlier_decisions(&client, &tenants, &ids)
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

/// What each message id got when it was stored, by tenant and id; the
/// `i`th id is the `i`th tenant's.
async fn earlier_decisions(
    client: &deadpool_postgres::ClientWrapper,
    tenants: &[&str],
    ids: &[&str],
) -> Result<HashMap<String, HashMap<String, String>>, tokio_postgres::Error> {
    let statement = client
        .prepare_cached(
            "SELECT e.tenant, e.message_id, e.decision
             FROM events e JOIN unnest($1::text[], $2::text[]) AS asked (tenant, message_id)
               ON e.tenant = asked.tenant AND e.message_id = asked.message_id",
        )
        .await?;
    let mut stored: HashMap<String, HashMap<String, String>> = HashMap::new();
    for row in client.query(&statement, &[&tenants, &ids]).await? {
        stored
            .entry(row.get(0))
            .or_default()
            .insert(row.get(1), row.get(2));
    }
    Ok(stored)
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

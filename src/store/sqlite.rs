//! The embedded store: SQLite (WAL, synchronous=FULL) with one writer
//! thread that commits appends in batches.

use super::queue::{Job, Poisoned, Reply, Writer};
use super::{Appended, Pending, Record, Served, StoreError, Stored, TenantStore};
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Mutex;

/// The schema this version writes.
const SCHEMA: i64 = 3;
/// The most appends one transaction takes.
const BATCH: usize = 1024;
/// How often the checkpointer copies the write-ahead log into the database.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(100);
/// Past this many pages of log (16 MiB) the writer checkpoints by itself
/// after a commit. The checkpointer has copied all but the last moment's
/// pages by then, so it is short; and with no other writer about, it copies
/// everything, so the next commit starts the log over (a passive checkpoint
/// on its own thread never finds the log fully copied under a steady stream
/// of commits, and the log would grow for good).
const WRITER_CHECKPOINT_PAGES: i64 = 4_096;
/// After a checkpoint, the write-ahead log file is cut back to this size,
/// so a burst of writes does not leave a large file behind for good.
const WAL_SIZE_LIMIT: i64 = 16 << 20;

pub struct SqliteStore {
    path: PathBuf,
    writer: Mutex<Option<Sender<(Job, Reply)>>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    checkpointer: Mutex<Option<(Sender<()>, std::thread::JoinHandle<()>)>>,
    reader: Mutex<Connection>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn connect(path: &Path) -> Result<Connection, StoreError> {
    let connection = Connection::open(path)?;
    connection.pragma_update(None, "journal_mode", "WAL")?;
    connection.pragma_update(None, "synchronous", "FULL")?;
    connection.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(connection)
}

impl SqliteStore {
    /// Opens (or creates) the store at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore, StoreError> {
        let path = path.as_ref().to_path_buf();
        let connection = connect(&path)?;
        connection.execute_batch(
            "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS events (
                 tenant TEXT NOT NULL,
                 seq INTEGER NOT NULL,
                 message_id TEXT,
                 revision TEXT NOT NULL DEFAULT '',
                 event TEXT NOT NULL,
                 decision TEXT NOT NULL,
                 stored_at INTEGER NOT NULL DEFAULT 0,
                 PRIMARY KEY (tenant, seq)
             ) WITHOUT ROWID;
             CREATE UNIQUE INDEX IF NOT EXISTS events_by_message
                 ON events (tenant, message_id) WHERE message_id IS NOT NULL;
             CREATE TABLE IF NOT EXISTS snapshots (
                 tenant TEXT PRIMARY KEY,
                 seq INTEGER NOT NULL,
                 state TEXT NOT NULL
             );
             CREATE TABLE IF NOT EXISTS revisions (
                 tenant TEXT NOT NULL,
                 revision TEXT NOT NULL,
                 files TEXT NOT NULL,
                 PRIMARY KEY (tenant, revision)
             ) WITHOUT ROWID;
             CREATE TABLE IF NOT EXISTS archive (
                 tenant TEXT NOT NULL,
                 id TEXT NOT NULL,
                 conversation TEXT NOT NULL,
                 stored_at INTEGER NOT NULL,
                 PRIMARY KEY (tenant, id)
             ) WITHOUT ROWID;
             CREATE INDEX IF NOT EXISTS archive_by_age ON archive (tenant, stored_at);
             CREATE TABLE IF NOT EXISTS tenants (
                 tenant TEXT PRIMARY KEY,
                 path TEXT NOT NULL,
                 revision TEXT NOT NULL
             );",
        )?;
        let schema: Option<i64> = connection
            .query_row("SELECT value FROM meta WHERE key = 'schema'", [], |r| {
                r.get(0)
            })
            .optional()?;
        match schema {
            Some(s) if s > SCHEMA => return Err(StoreError::NewerSchema(s)),
            Some(SCHEMA) => {}
            Some(_) => {
                // Schema 1 had no revisions: its events were decided by
                // a revision nobody kept, named ''. Schema 2 had no
                // storage times: its events count as stored long ago.
                let columns: Vec<String> = connection
                    .prepare("SELECT name FROM pragma_table_info('events')")?
                    .query_map([], |r| r.get(0))?
                    .collect::<Result<_, _>>()?;
                let tx = connection.unchecked_transaction()?;
                for (column, definition) in [
                    ("revision", "TEXT NOT NULL DEFAULT ''"),
                    ("stored_at", "INTEGER NOT NULL DEFAULT 0"),
                ] {
                    if !columns.iter().any(|c| c == column) {
                        tx.execute_batch(&format!(
                            "ALTER TABLE events ADD COLUMN {column} {definition};"
                        ))?;
                    }
                }
                tx.execute("UPDATE meta SET value = ?1 WHERE key = 'schema'", [SCHEMA])?;
                tx.commit()?;
            }
            None => {
                connection.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema', ?1)",
                    [SCHEMA],
                )?;
            }
        }
        // Checkpoints copy the log into the database and fsync it, which
        // can take a while; a thread of their own keeps them off the
        // writer, so commits do not wait for them.
        let writer = connect(&path)?;
        writer.pragma_update(None, "wal_autocheckpoint", WRITER_CHECKPOINT_PAGES)?;
        writer.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)?;
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("switchboard-store".into())
            .spawn(move || write_loop(writer, rx))
            .map_err(|_| StoreError::WriterGone)?;
        let checkpoints = connect(&path)?;
        checkpoints.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)?;
        let (stop, stopped) = mpsc::channel();
        let checkpointer = std::thread::Builder::new()
            .name("switchboard-checkpoint".into())
            .spawn(move || checkpoint_loop(checkpoints, stopped))
            .map_err(|_| StoreError::WriterGone)?;
        Ok(SqliteStore {
            path,
            writer: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
            checkpointer: Mutex::new(Some((stop, checkpointer))),
            reader: Mutex::new(connection),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn reader(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic elsewhere while holding the lock leaves the connection
        // usable: SQLite keeps its own consistency.
        self.reader.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        // Closing the channel ends the writer once it has written the rest.
        if let Ok(mut writer) = self.writer.lock() {
            writer.take();
        }
        if let Some(thread) = self.thread.lock().ok().and_then(|mut t| t.take()) {
            let _ = thread.join();
        }
        if let Some((stop, thread)) = self.checkpointer.lock().ok().and_then(|mut t| t.take()) {
            drop(stop);
            let _ = thread.join();
        }
    }
}

/// Copies the write-ahead log into the database every so often, without
/// blocking the writer (PASSIVE), until `stop` is dropped.
fn checkpoint_loop(connection: Connection, stop: Receiver<()>) {
    while let Err(mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(CHECKPOINT_EVERY) {
        // A failed checkpoint is tried again next time; the writer's own
        // checkpoints keep the log bounded meanwhile.
        let _ = connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
    }
}

/// Takes appends as they come and commits them in batches: whoever waits
/// while a batch is written goes in the next one.
///
/// A tenant's batch that fails poisons the tenant: its later batches, which
/// were decided on top of the failed one, are refused unwritten until a
/// probe of the tenant succeeds.
fn write_loop(mut connection: Connection, jobs: Receiver<(Job, Reply)>) {
    let mut poisoned = Poisoned::default();
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let results = write_batch(&mut connection, &batch, &poisoned);
        for ((job, reply), result) in batch.into_iter().zip(results) {
            poisoned.note(&job, &result);
            reply.send(result);
        }
    }
}

fn write_batch(
    connection: &mut Connection,
    batch: &[(Job, Reply)],
    poisoned: &Poisoned,
) -> Vec<Result<Appended, String>> {
    let mut attempt = || -> Result<Vec<Result<Appended, String>>, rusqlite::Error> {
        // IMMEDIATE: the write lock is taken (waiting as busy_timeout says)
        // before the first read, so a checkpoint holding it makes the
        // writer wait rather than fail the batch.
        let tx = connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let now = now_ms();
        let mut out = Vec::with_capacity(batch.len());
        {
            let mut writes = Writes::prepare(&tx)?;
            for (job, _) in batch {
                out.push(match poisoned.refuses(job) {
                    Some(refusal) => Err(refusal),
                    None => writes.run(job, now)?,
                });
            }
        }
        tx.commit()?;
        Ok(out)
    };
    match attempt() {
        Ok(results) => results,
        Err(error) => {
            let message = describe(&error);
            batch.iter().map(|_| Err(message.clone())).collect()
        }
    }
}

/// The current time in milliseconds since 1970, as rows record it.
fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// SQLite's error in words an operator can act on.
fn describe(error: &rusqlite::Error) -> String {
    match error.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DiskFull) => format!("the disk is full ({error})"),
        Some(rusqlite::ErrorCode::ReadOnly) => format!("the database is read-only ({error})"),
        Some(rusqlite::ErrorCode::CannotOpen) => format!("the database cannot be opened ({error})"),
        _ => error.to_string(),
    }
}

/// The writer's statements, prepared once per transaction.
struct Writes<'t> {
    find: rusqlite::CachedStatement<'t>,
    insert: rusqlite::CachedStatement<'t>,
    archive: rusqlite::CachedStatement<'t>,
    snapshot: rusqlite::CachedStatement<'t>,
    revision: rusqlite::CachedStatement<'t>,
    tx: &'t rusqlite::Transaction<'t>,
}

impl<'t> Writes<'t> {
    fn prepare(tx: &'t rusqlite::Transaction<'t>) -> Result<Writes<'t>, rusqlite::Error> {
        Ok(Writes {
            find: tx.prepare_cached(
                "SELECT decision FROM events WHERE tenant = ?1 AND message_id = ?2",
            )?,
            insert: tx.prepare_cached(
                "INSERT INTO events (tenant, seq, message_id, revision, event, decision, stored_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?,
            archive: tx.prepare_cached(
                "INSERT OR REPLACE INTO archive (tenant, id, conversation, stored_at)
                 VALUES (?1, ?2, ?3, ?4)",
            )?,
            snapshot: tx.prepare_cached(
                // Only over events that were stored: a snapshot taken after
                // a write that then failed would hold an event nobody was
                // told of.
                "INSERT INTO snapshots (tenant, seq, state)
                 SELECT ?1, ?2, ?3
                 WHERE ?2 = 0 OR EXISTS (SELECT 1 FROM events WHERE tenant = ?1 AND seq = ?2)
                 ON CONFLICT (tenant) DO UPDATE SET seq = excluded.seq, state = excluded.state
                 WHERE excluded.seq > snapshots.seq",
            )?,
            revision: tx.prepare_cached(
                "INSERT OR IGNORE INTO revisions (tenant, revision, files) VALUES (?1, ?2, ?3)",
            )?,
            tx,
        })
    }

    /// Does one job inside the transaction. An `Err` fails the whole
    /// transaction; an `Ok(Err)` fails only this job, which wrote nothing.
    fn run(&mut self, job: &Job, now: i64) -> Result<Result<Appended, String>, rusqlite::Error> {
        match job {
            Job::Append(record) => {
                if let Some(decision) = self.earlier(record)? {
                    return Ok(Ok(Appended::Duplicate(decision)));
                }
                self.store(record, now)?;
            }
            Job::Batch(records) => {
                for record in records {
                    if self.earlier(record)?.is_some() {
                        let id = record.message_id.as_deref().unwrap_or_default();
                        return Ok(Err(format!(
                            "message id {id} of tenant {} is stored already",
                            record.tenant
                        )));
                    }
                }
                for record in records {
                    self.store(record, now)?;
                }
            }
            Job::Snapshot { tenant, seq, state } => {
                self.snapshot.execute(params![tenant, *seq as i64, state])?;
            }
            Job::Revision {
                tenant,
                revision,
                files,
            } => {
                self.revision
                    .execute(params![tenant, revision, files.to_string()])?;
            }
            Job::Probe { .. } => {
                self.tx.execute(
                    "INSERT INTO meta (key, value) VALUES ('probed_at', ?1)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    [now],
                )?;
            }
            Job::Prune {
                tenant,
                through,
                before_ms,
            } => {
                let events = self.tx.execute(
                    "DELETE FROM events WHERE tenant = ?1 AND seq <= ?2 AND stored_at < ?3",
                    params![tenant, *through as i64, before_ms],
                )?;
                let archived = self.tx.execute(
                    "DELETE FROM archive WHERE tenant = ?1 AND stored_at < ?2",
                    params![tenant, before_ms],
                )?;
                return Ok(Ok(Appended::Pruned { events, archived }));
            }
            Job::Serving {
                tenant,
                path,
                revision,
            } => {
                self.tx.execute(
                    "INSERT INTO tenants (tenant, path, revision) VALUES (?1, ?2, ?3)
                     ON CONFLICT (tenant) DO UPDATE SET path = excluded.path, revision = excluded.revision",
                    params![tenant, path, revision],
                )?;
            }
        }
        Ok(Ok(Appended::Stored))
    }

    /// The decision an earlier event with the record's message id got.
    fn earlier(&mut self, record: &Record) -> Result<Option<String>, rusqlite::Error> {
        match &record.message_id {
            Some(id) => self
                .find
                .query_row(params![record.tenant, id], |r| r.get(0))
                .optional(),
            None => Ok(None),
        }
    }

    fn store(&mut self, record: &Record, now: i64) -> Result<(), rusqlite::Error> {
        self.insert.execute(params![
            record.tenant,
            record.seq as i64,
            record.message_id,
            record.revision,
            record.event,
            record.decision,
            now,
        ])?;
        for (id, conversation) in &record.archived {
            self.archive
                .execute(params![record.tenant, id, conversation, now])?;
        }
        Ok(())
    }
}

impl Writer for SqliteStore {
    fn queue(&self, job: Job, reply: Reply) -> Result<(), StoreError> {
        let writer = self.writer.lock().map_err(|_| StoreError::WriterGone)?;
        let sender = writer.as_ref().ok_or(StoreError::WriterGone)?;
        sender
            .send((job, reply))
            .map_err(|_| StoreError::WriterGone)
    }
}

impl TenantStore for SqliteStore {
    fn submit(&self, record: Record) -> Result<Pending, StoreError> {
        self.send(Job::Append(record))
    }

    fn decision_for(&self, tenant: &str, message_id: &str) -> Result<Option<String>, StoreError> {
        let decision: Option<String> = self
            .reader()
            .query_row(
                "SELECT decision FROM events WHERE tenant = ?1 AND message_id = ?2",
                params![tenant, message_id],
                |r| r.get(0),
            )
            .optional()?;
        Ok(decision)
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
        latest_snapshot(&self.reader(), tenant)
    }

    fn replay(
        &self,
        tenant: &str,
        after: u64,
        each: &mut dyn FnMut(Stored) -> Result<(), String>,
    ) -> Result<(), StoreError> {
        // A connection of its own, so a long replay holds up no look-ups.
        replay(&connect(&self.path)?, tenant, after, each)
    }

    fn archived(&self, tenant: &str, id: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .reader()
            .query_row(
                "SELECT conversation FROM archive WHERE tenant = ?1 AND id = ?2",
                params![tenant, id],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn note_serving(&self, tenant: &str, path: &str, revision: &str) -> Result<(), StoreError> {
        self.write_serving(tenant, path, revision)
    }

    fn served(&self) -> Result<Vec<Served>, StoreError> {
        let reader = self.reader();
        let mut query =
            reader.prepare("SELECT tenant, path, revision FROM tenants ORDER BY tenant")?;
        let rows = query.query_map([], |r| {
            Ok(Served {
                tenant: r.get(0)?,
                path: r.get(1)?,
                revision: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn save_revision(&self, tenant: &str, revision: &str, files: &Value) -> Result<(), StoreError> {
        self.write_revision(tenant, revision, files)
    }

    fn revision(&self, tenant: &str, revision: &str) -> Result<Option<Value>, StoreError> {
        let files: Option<String> = self
            .reader()
            .query_row(
                "SELECT files FROM revisions WHERE tenant = ?1 AND revision = ?2",
                params![tenant, revision],
                |r| r.get(0),
            )
            .optional()?;
        Ok(files.map(|f| serde_json::from_str(&f)).transpose()?)
    }
}

fn latest_snapshot(
    connection: &Connection,
    tenant: &str,
) -> Result<Option<(u64, String)>, StoreError> {
    let snapshot: Option<(i64, String)> = connection
        .query_row(
            "SELECT seq, state FROM snapshots WHERE tenant = ?1",
            [tenant],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(snapshot.map(|(seq, state)| (seq as u64, state)))
}

fn replay(
    connection: &Connection,
    tenant: &str,
    after: u64,
    each: &mut dyn FnMut(Stored) -> Result<(), String>,
) -> Result<(), StoreError> {
    let mut query = connection.prepare(
        "SELECT seq, revision, event, decision FROM events
         WHERE tenant = ?1 AND seq > ?2 ORDER BY seq",
    )?;
    let mut rows = query.query(params![tenant, after as i64])?;
    while let Some(row) = rows.next()? {
        let stored = Stored {
            seq: row.get::<_, i64>(0)? as u64,
            revision: row.get(1)?,
            event: row.get(2)?,
            decision: row.get(3)?,
        };
        each(stored).map_err(StoreError::Replay)?;
    }
    Ok(())
}

/// A service's stored log, opened read-only: tools read a running
/// service's data through it (`switchboard diff --data`) and can never
/// write, migrate or lock it against the service's writer.
pub struct LogReader {
    connection: Connection,
}

impl LogReader {
    /// Opens the database at `db`, which must exist.
    pub fn open(db: &Path) -> Result<LogReader, StoreError> {
        if !db.exists() {
            return Err(StoreError::Write(format!(
                "{} does not exist",
                db.display()
            )));
        }
        let connection =
            Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        connection.busy_timeout(std::time::Duration::from_secs(5))?;
        let schema: Option<i64> = connection
            .query_row("SELECT value FROM meta WHERE key = 'schema'", [], |r| {
                r.get(0)
            })
            .optional()?;
        match schema {
            Some(s) if s > SCHEMA => Err(StoreError::NewerSchema(s)),
            _ => Ok(LogReader { connection }),
        }
    }

    /// Every tenant with stored events, sorted.
    pub fn tenants(&self) -> Result<Vec<String>, StoreError> {
        let mut query = self
            .connection
            .prepare("SELECT DISTINCT tenant FROM events ORDER BY tenant")?;
        let rows = query.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Hands each of the tenant's events after `after` to `each`, in order.
    pub fn replay(
        &self,
        tenant: &str,
        after: u64,
        each: &mut dyn FnMut(Stored) -> Result<(), String>,
    ) -> Result<(), StoreError> {
        replay(&self.connection, tenant, after, each)
    }
}

/// Copies the database at `db` to a new file `out` with SQLite's online
/// backup API: a consistent copy as of one moment, taken while a service
/// keeps writing (it copies a batch of pages at a time and starts over if
/// a write lands meanwhile). `out` must not exist yet.
pub fn backup(db: &Path, out: &Path) -> Result<(), StoreError> {
    if out.exists() {
        return Err(StoreError::Write(format!(
            "{} exists already; a backup goes to a new file",
            out.display()
        )));
    }
    if !db.exists() {
        return Err(StoreError::Write(format!(
            "{} does not exist",
            db.display()
        )));
    }
    let source = Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    source.busy_timeout(std::time::Duration::from_secs(5))?;
    let mut target = Connection::open(out)?;
    {
        let copy = rusqlite::backup::Backup::new(&source, &mut target)?;
        copy.run_to_completion(256, std::time::Duration::from_millis(5), None)?;
    }
    // The copy is a plain database of its own, fsynced before it is
    // called done.
    target.pragma_update(None, "journal_mode", "DELETE")?;
    let check: String = target.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    if check != "ok" {
        return Err(StoreError::Write(format!(
            "the copy does not check: {check}"
        )));
    }
    drop(target);
    std::fs::File::open(out)
        .and_then(|f| f.sync_all())
        .map_err(|e| StoreError::Write(format!("{}: {e}", out.display())))?;
    Ok(())
}

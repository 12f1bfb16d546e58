//! The embedded store: SQLite (WAL, synchronous=FULL) with one writer
//! thread that commits appends in batches.

use super::{Appended, ConversationStore, History, Pending, Record, StoreError, Stored};
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Mutex;
use tokio::sync::oneshot;

/// The schema this version writes.
const SCHEMA: i64 = 2;
/// The most appends one transaction takes.
const BATCH: usize = 1024;
/// How often the checkpointer copies the write-ahead log into the database.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(500);
/// The writer checkpoints by itself only if the log grows past this many
/// pages (about 256 MiB): a backstop, should the checkpointer fall behind.
const WRITER_CHECKPOINT_PAGES: i64 = 65_536;

type Reply = oneshot::Sender<Result<Appended, String>>;

/// What the writer does, in the order it was asked.
enum Job {
    Append(Record),
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
    /// Nothing to write: done once everything before it is.
    Barrier,
}

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
             ) WITHOUT ROWID;",
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
                // a revision nobody kept, named ''.
                connection.execute_batch(&format!(
                    "ALTER TABLE events ADD COLUMN revision TEXT NOT NULL DEFAULT '';
                     UPDATE meta SET value = {SCHEMA} WHERE key = 'schema';"
                ))?;
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
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("switchboard-store".into())
            .spawn(move || write_loop(writer, rx))
            .map_err(|_| StoreError::WriterGone)?;
        let checkpoints = connect(&path)?;
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

    fn send(&self, job: Job) -> Result<Pending, StoreError> {
        let (reply, answer) = oneshot::channel();
        let writer = self.writer.lock().map_err(|_| StoreError::WriterGone)?;
        let sender = writer.as_ref().ok_or(StoreError::WriterGone)?;
        sender
            .send((job, reply))
            .map_err(|_| StoreError::WriterGone)?;
        Ok(Pending(answer))
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
        // A failed checkpoint is tried again next time; the writer's
        // backstop keeps the log bounded meanwhile.
        let _ = connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
    }
}

/// Takes appends as they come and commits them in batches: whoever waits
/// while a batch is written goes in the next one.
fn write_loop(mut connection: Connection, jobs: Receiver<(Job, Reply)>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let results = write_batch(&mut connection, &batch);
        for ((_, reply), result) in batch.into_iter().zip(results) {
            let _ = reply.send(result);
        }
    }
}

fn write_batch(
    connection: &mut Connection,
    batch: &[(Job, Reply)],
) -> Vec<Result<Appended, String>> {
    let mut attempt = || -> Result<Vec<Appended>, rusqlite::Error> {
        let tx = connection.transaction()?;
        let mut out = Vec::with_capacity(batch.len());
        {
            let mut find = tx.prepare_cached(
                "SELECT decision FROM events WHERE tenant = ?1 AND message_id = ?2",
            )?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO events (tenant, seq, message_id, revision, event, decision)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            let mut snapshot = tx.prepare_cached(
                // Only over events that were stored: a snapshot taken after
                // a write that then failed would hold an event nobody was
                // told of.
                "INSERT INTO snapshots (tenant, seq, state)
                 SELECT ?1, ?2, ?3
                 WHERE ?2 = 0 OR EXISTS (SELECT 1 FROM events WHERE tenant = ?1 AND seq = ?2)
                 ON CONFLICT (tenant) DO UPDATE SET seq = excluded.seq, state = excluded.state
                 WHERE excluded.seq > snapshots.seq",
            )?;
            let mut revision = tx.prepare_cached(
                "INSERT OR IGNORE INTO revisions (tenant, revision, files) VALUES (?1, ?2, ?3)",
            )?;
            for (job, _) in batch {
                let record = match job {
                    Job::Append(record) => record,
                    Job::Snapshot { tenant, seq, state } => {
                        snapshot.execute(params![tenant, *seq as i64, state])?;
                        out.push(Appended::Stored);
                        continue;
                    }
                    Job::Revision {
                        tenant,
                        revision: name,
                        files,
                    } => {
                        revision.execute(params![tenant, name, files.to_string()])?;
                        out.push(Appended::Stored);
                        continue;
                    }
                    Job::Barrier => {
                        out.push(Appended::Stored);
                        continue;
                    }
                };
                if let Some(id) = &record.message_id {
                    let earlier: Option<String> = find
                        .query_row(params![record.tenant, id], |r| r.get(0))
                        .optional()?;
                    if let Some(decision) = earlier {
                        out.push(Appended::Duplicate(decision));
                        continue;
                    }
                }
                insert.execute(params![
                    record.tenant,
                    record.seq as i64,
                    record.message_id,
                    record.revision,
                    record.event,
                    record.decision,
                ])?;
                out.push(Appended::Stored);
            }
        }
        tx.commit()?;
        Ok(out)
    };
    match attempt() {
        Ok(results) => results.into_iter().map(Ok).collect(),
        Err(error) => {
            let message = error.to_string();
            batch.iter().map(|_| Err(message.clone())).collect()
        }
    }
}

impl ConversationStore for SqliteStore {
    fn submit(&self, record: Record) -> Result<Pending, StoreError> {
        self.send(Job::Append(record))
    }

    fn barrier(&self) -> Result<Pending, StoreError> {
        self.send(Job::Barrier)
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
        let job = Job::Snapshot {
            tenant: tenant.to_string(),
            seq,
            state,
        };
        self.send(job)?.wait().map(|_| ())
    }

    fn history(&self, tenant: &str) -> Result<History, StoreError> {
        let reader = self.reader();
        let snapshot: Option<(i64, String)> = reader
            .query_row(
                "SELECT seq, state FROM snapshots WHERE tenant = ?1",
                [tenant],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let after = snapshot.as_ref().map_or(0, |(seq, _)| *seq);
        let mut query = reader.prepare(
            "SELECT seq, revision, event, decision FROM events
             WHERE tenant = ?1 AND seq > ?2 ORDER BY seq",
        )?;
        let rows = query.query_map(params![tenant, after], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?;
        let mut events = Vec::new();
        for row in rows {
            let (seq, revision, event, decision) = row?;
            events.push(Stored {
                seq: seq as u64,
                revision,
                event,
                decision,
            });
        }
        let snapshot = snapshot.map(|(seq, state)| (seq as u64, state));
        Ok(History { snapshot, events })
    }

    fn save_revision(&self, tenant: &str, revision: &str, files: &Value) -> Result<(), StoreError> {
        let job = Job::Revision {
            tenant: tenant.to_string(),
            revision: revision.to_string(),
            files: files.clone(),
        };
        self.send(job)?.wait().map(|_| ())
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

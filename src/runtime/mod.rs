//! The durable runtime: every tenant's decider, its revisions and reloads,
//! the clock, snapshots and retention, the decision log, and health. The
//! HTTP layer (`server`) is a face over it; so could another be.
//!
//! ```text
//! policies/<tenant>/*.policy ─revision─▶ Tenant ◀─recover─ data/switchboard.db
//!        ▲ reload: poll, check, swap    │ mailbox ▶ decider thread ─▶ store
//!        │                              │ view (published when durable)
//!   reload thread      clock thread ─▶ tick        snapshot thread ─▶ retention
//! ```
//!
//! Start-up contains faults: a tenant whose policy file no longer checks,
//! cannot be read, or is gone serves its last good stored revision, marked
//! degraded; a policy file with no stored revision and no good text is not
//! served (and said so); a tenant whose stored rows cannot be read is
//! marked failed. The other tenants start regardless.

mod clock;
pub mod cluster;
mod decider;
pub mod log;
mod mailbox;
mod recover;
pub mod reload;
mod retention;
pub mod revision;
pub mod stats;
pub mod stream;
mod tenant;

pub use cluster::Owner;
pub use mailbox::{DecideError, Decided};
pub use reload::Reloaded;
pub use stats::Stats;
pub use tenant::{CandidateError, Status, Tenant, View};

use crate::store::{PostgresStore, SqliteStore, StoreError, TenantStore};
use log::{DecisionLog, Rotation};
use retention::Retention;
use revision::{Files, Revision};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

/// How the runtime is set up.
#[derive(Clone, Debug)]
pub struct Config {
    /// A policy file, or a folder of them (a folder per tenant).
    pub policies: PathBuf,
    /// Where the database (and by default the decision log) live.
    pub data: PathBuf,
    /// A shared store's address (`postgres://...`) instead of the SQLite
    /// database in `data`.
    pub store: Option<String>,
    /// Where decision log lines go (`-` for stdout); `None` for nowhere.
    pub decision_log: Option<PathBuf>,
    /// When the decision log file is rotated, and how many old ones stay.
    pub rotation: Rotation,
    /// How often policy files are looked at; `None` turns reloading off.
    pub reload_every: Option<Duration>,
    /// How often the clock looks for due timers.
    pub tick_every: Duration,
    pub settings: Settings,
    /// How this node takes part when the store is shared.
    pub cluster: cluster::Settings,
}

/// What bounds a tenant's memory, disk and waiting work.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    /// How long events, their idempotency keys and archived conversations
    /// are kept once a snapshot covers them.
    pub retention: Duration,
    /// A snapshot after this many events...
    pub snapshot_events: u64,
    /// ...or after this long, if any event came since the last.
    pub snapshot_interval: Duration,
    /// How many events may wait for a tenant's decider before more are
    /// refused (HTTP 429).
    pub mailbox: usize,
    /// How many items a tenant's live stream holds for a listener that
    /// falls behind, before it skips ahead.
    pub stream_buffer: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            retention: Duration::from_secs(7 * 24 * 3600),
            snapshot_events: 10_000,
            snapshot_interval: Duration::from_secs(300),
            mailbox: 1024,
            stream_buffer: stream::DEFAULT_BUFFER,
        }
    }
}

impl Config {
    /// The defaults for `policies` and `data`.
    pub fn new(policies: impl Into<PathBuf>, data: impl Into<PathBuf>) -> Config {
        let data = data.into();
        Config {
            policies: policies.into(),
            decision_log: Some(data.join("decisions.jsonl")),
            rotation: Rotation::default(),
            data,
            store: None,
            reload_every: Some(Duration::from_secs(1)),
            tick_every: Duration::from_millis(100),
            settings: Settings::default(),
            cluster: cluster::Settings::default(),
        }
    }
}

/// Opens the store at a `--store` address: PostgreSQL's URL
/// (`postgres://` or `postgresql://`) is the one kind there is.
fn shared_store(address: &str) -> Result<Arc<dyn TenantStore>, StartError> {
    if !(address.starts_with("postgres://") || address.starts_with("postgresql://")) {
        return Err(StartError::SharedStore(
            "--store takes a PostgreSQL URL (postgres://user@host:port/database); \
             without it the store is SQLite in the data folder"
                .into(),
        ));
    }
    let store = PostgresStore::open(address).map_err(|e| StartError::SharedStore(e.to_string()))?;
    Ok(Arc::new(store))
}

/// What every decider shares.
pub(crate) struct Shared {
    pub store: Arc<dyn TenantStore>,
    pub stats: Arc<Stats>,
    pub decision_log: DecisionLog,
    pub settings: Settings,
    pub retention: Retention,
}

/// A policy file that is not served: no stored revision stands in for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Unserved {
    pub path: PathBuf,
    pub reason: String,
    /// The revision of the files refused, so an unchanged file is not
    /// looked at again.
    #[serde(skip)]
    pub revision: String,
}

/// Why the runtime could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    DataFolder(String),
    #[error("{0} is in use by another switchboard serve; each data folder has one service")]
    InUse(PathBuf),
    #[error("the database {path}: {why}")]
    Store { path: PathBuf, why: String },
    #[error("the store: {0}")]
    SharedStore(String),
    #[error("no tenant can be served: {0}")]
    NoTenants(String),
    #[error("cannot start a thread: {0}")]
    Thread(std::io::Error),
}

/// Everything the service runs on.
pub struct Runtime {
    tenants: RwLock<BTreeMap<String, Arc<Tenant>>>,
    unserved: Mutex<Vec<Unserved>>,
    pub config: Config,
    shared: Arc<Shared>,
    /// This node's part in a cluster, when the store is shared.
    cluster: Option<cluster::Cluster>,
    /// Held locked for as long as the runtime runs, so no second service
    /// writes to the same data folder.
    _data_lock: std::fs::File,
    /// Held while policy files are looked at, so a reload request and the
    /// reloader do not both load one revision.
    reloading: Mutex<()>,
    stop: AtomicBool,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

/// The health of every tenant, for `/healthz`, `/readyz` and metrics.
#[derive(Clone, Debug, Serialize)]
pub struct Health {
    /// Every tenant recovered and deciding (serving or degraded).
    pub ready: bool,
    pub tenants: BTreeMap<String, Status>,
    /// Policy files that are not served.
    pub unserved: Vec<Unserved>,
}

/// Words for why the data folder cannot be used.
fn data_folder_error(path: &Path, error: &std::io::Error) -> String {
    use std::io::ErrorKind;
    let why = match error.kind() {
        ErrorKind::StorageFull => "the disk is full".to_string(),
        ErrorKind::PermissionDenied => "permission denied: the service cannot write there".into(),
        ErrorKind::ReadOnlyFilesystem => "the file system is read-only".into(),
        _ => error.to_string(),
    };
    format!("the data folder {}: {why}", path.display())
}

/// Makes sure the data folder takes a write, and says why not in words.
fn check_writable(data: &Path) -> Result<(), StartError> {
    let fail = |e: std::io::Error| StartError::DataFolder(data_folder_error(data, &e));
    std::fs::create_dir_all(data).map_err(fail)?;
    let probe = data.join(".switchboard-write-check");
    let written = std::fs::write(&probe, vec![0u8; 64 * 1024])
        .and_then(|()| std::fs::File::open(&probe)?.sync_all());
    let _ = std::fs::remove_file(&probe);
    written.map_err(fail)
}

fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

impl Runtime {
    /// Opens the store in `config.data`, loads every tenant under
    /// `config.policies` (and every tenant the store served before), and
    /// starts each tenant's decider.
    pub fn start(config: Config) -> Result<Runtime, StartError> {
        let data = config.data.clone();
        check_writable(&data)?;
        let lock_path = data.join("switchboard.lock");
        let data_lock = std::fs::File::create(&lock_path)
            .map_err(|e| StartError::DataFolder(data_folder_error(&data, &e)))?;
        match data_lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Err(StartError::InUse(data)),
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(StartError::DataFolder(data_folder_error(&data, &e)))
            }
        }
        let store: Arc<dyn TenantStore> = match config.store.as_deref() {
            None => {
                let db = data.join("switchboard.db");
                Arc::new(SqliteStore::open(&db).map_err(|e| StartError::Store {
                    path: db.clone(),
                    why: e.to_string(),
                })?)
            }
            Some(address) => shared_store(address)?,
        };
        Self::start_on(config, store, data_lock)
    }

    /// As [`start`](Self::start), on a store of the caller's (tests inject
    /// faults this way); `data_lock` is the data folder's held lock.
    pub fn start_on(
        config: Config,
        store: Arc<dyn TenantStore>,
        data_lock: std::fs::File,
    ) -> Result<Runtime, StartError> {
        let stats = Arc::new(Stats::default());
        let decision_log = match &config.decision_log {
            Some(path) => DecisionLog::open(path, config.rotation).map_err(|e| {
                StartError::DataFolder(format!("the decision log {}: {e}", path.display()))
            })?,
            None => DecisionLog::off(),
        };
        let retention = Retention::start(store.clone(), stats.clone(), config.settings.retention)
            .map_err(StartError::Thread)?;
        let cluster = store.leases().map(|leases| {
            leases.enforce();
            cluster::Cluster::new(config.cluster.clone())
        });
        let shared = Arc::new(Shared {
            store,
            stats,
            decision_log,
            settings: config.settings,
            retention,
        });
        let runtime = Runtime {
            tenants: RwLock::new(BTreeMap::new()),
            unserved: Mutex::new(Vec::new()),
            config,
            shared,
            cluster,
            _data_lock: data_lock,
            reloading: Mutex::new(()),
            stop: AtomicBool::new(false),
            threads: Mutex::new(Vec::new()),
        };
        runtime.load_all()?;
        Ok(runtime)
    }

    /// Loads every policy file, then every stored tenant whose file is gone.
    fn load_all(&self) -> Result<(), StartError> {
        let files = match crate::files::policy_files(std::slice::from_ref(&self.config.policies)) {
            Ok(files) => files,
            Err(why) => {
                tracing::warn!(error = %why, "no policy files");
                Vec::new()
            }
        };
        let served = self.shared.store.served().map_err(|e| StartError::Store {
            path: self.config.data.join("switchboard.db"),
            why: e.to_string(),
        })?;
        for path in &files {
            self.load_file(path, &served);
        }
        for stored in &served {
            if self.tenant(&stored.tenant).is_some() {
                continue;
            }
            let path = PathBuf::from(&stored.path);
            let why = if path.exists() {
                format!(
                    "its policy file {} now declares another tenant",
                    path.display()
                )
            } else {
                format!(
                    "its policy file {} is gone; serving stored revision {}",
                    path.display(),
                    stored.revision
                )
            };
            self.load_degraded(&stored.tenant, &path, &stored.revision, why);
        }
        if self.tenants_now().is_empty() {
            let unserved = self.unserved();
            let why = match unserved.first() {
                Some(u) => format!("{}: {}", u.path.display(), u.reason),
                None => format!("no policies under {}", self.config.policies.display()),
            };
            return Err(StartError::NoTenants(why));
        }
        Ok(())
    }

    /// Loads the tenant of one policy file: as it is if it checks, else
    /// from the revision the store last served from that file.
    fn load_file(&self, path: &Path, served: &[crate::store::Served]) {
        let path = canonical(path);
        let stored_for_path = || {
            served
                .iter()
                .find(|s| Path::new(&s.path) == path && self.tenant(&s.tenant).is_none())
        };
        let read = Files::read(&path);
        let id = read.as_ref().map(Files::revision).unwrap_or_default();
        let compiled = read.and_then(|files| {
            let revision = files.compile()?;
            Ok((files, revision))
        });
        let (files, revision) = match compiled {
            Ok(compiled) => compiled,
            Err(why) => {
                match stored_for_path() {
                    Some(stored) => {
                        let reason = format!(
                            "its policy file {} does not load; serving stored revision {}:\n{why}",
                            path.display(),
                            stored.revision
                        );
                        self.load_degraded(&stored.tenant, &path, &stored.revision, reason);
                    }
                    None => self.not_served(&path, id, why),
                }
                return;
            }
        };
        let name = revision.engine.policy().tenant.name.to_string();
        if let Some(other) = self.tenant(&name) {
            let why = format!(
                "tenant {name} is declared by {} already",
                other.path().display()
            );
            self.not_served(&path, id, why);
            return;
        }
        let result = self
            .shared
            .store
            .save_revision(&name, &revision.id, &files.to_json())
            .and_then(|()| self.note_serving(&name, &path, &revision.id))
            .map_err(|e| e.to_string());
        match result {
            Ok(()) => self.serve(name, path, revision, None),
            Err(why) => self.open_failed(name, path, revision, why),
        }
    }

    fn note_serving(&self, tenant: &str, path: &Path, revision: &str) -> Result<(), StoreError> {
        self.shared
            .store
            .note_serving(tenant, &path.to_string_lossy(), revision)
    }

    /// Serves a stored revision in place of a file that does not load.
    fn load_degraded(&self, tenant: &str, path: &Path, revision: &str, reason: String) {
        match recover::load_stored(&*self.shared.store, tenant, revision) {
            Ok(revision) => {
                tracing::warn!(
                    tenant = %tenant,
                    revision = %revision.id,
                    reason = %reason,
                    "tenant degraded: serving its last good stored revision"
                );
                self.serve(
                    tenant.to_string(),
                    path.to_path_buf(),
                    revision,
                    Some(reason),
                );
            }
            Err(why) => self.not_served(path, String::new(), format!("{reason}; and {why}")),
        }
    }

    fn not_served(&self, path: &Path, revision: String, reason: String) {
        tracing::error!(path = %path.display(), reason = %reason, "policy file not served");
        let mut unserved = self.unserved.lock().unwrap_or_else(|e| e.into_inner());
        unserved.retain(|u| u.path != path);
        unserved.push(Unserved {
            path: path.to_path_buf(),
            reason,
            revision,
        });
    }

    /// Serves a loaded tenant: decides it here, or, in a cluster, keeps it
    /// on standby until this node takes its lease.
    fn serve(&self, name: String, path: PathBuf, revision: Revision, degraded: Option<String>) {
        if self.cluster.is_none() {
            return self.open(name, path, revision, degraded);
        }
        let store = self.shared.store.clone();
        let tenant = Tenant::standby(name, path, store, Arc::new(revision), degraded);
        self.insert(Arc::new(tenant));
    }

    /// Decides a tenant on standby here, now that this node holds its
    /// lease: recovers it from the store (snapshot and events) first.
    pub(crate) fn take_over(&self, name: &str) {
        let Some(standby) = self.tenant(name).filter(|t| t.is_standby()) else {
            return;
        };
        // A write refused under an earlier lease left the tenant's writes
        // stopped in the store's writer; under this lease they succeed.
        if let Err(e) = self.shared.store.probe(name) {
            tracing::warn!(tenant = %name, error = %e, "a write under the new lease failed");
        }
        let revision = (*standby.revision()).clone();
        let path = standby.path().to_path_buf();
        self.open(name.to_string(), path, revision, standby.degraded());
    }

    /// Stops deciding a tenant here: it goes on standby at once (so its
    /// requests are forwarded), and its decider stops after what waits in
    /// its mailbox, with a snapshot if its lease still allows one.
    pub(crate) fn give_up(&self, name: &str, why: &str) {
        let Some(owned) = self.tenant(name).filter(|t| !t.is_standby()) else {
            return;
        };
        tracing::info!(tenant = %name, reason = %why, "no longer deciding the tenant here");
        let standby = Tenant::standby(
            name.to_string(),
            owned.path().to_path_buf(),
            self.shared.store.clone(),
            owned.revision(),
            owned.degraded(),
        );
        self.insert(Arc::new(standby));
        owned.stop();
    }

    /// The service's time: in a cluster, this node's clock corrected by the
    /// shared store's, so that nodes agree on it.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        match &self.cluster {
            Some(cluster) => cluster.now(),
            None => chrono::Utc::now(),
        }
    }

    /// The node deciding a tenant this node has on standby, if one holds
    /// its lease.
    pub fn owner_of(&self, tenant: &str) -> Option<Owner> {
        self.cluster.as_ref()?.owner_of(tenant)
    }

    /// Whether this node took the tenant's lease and is recovering it.
    pub fn is_recovering(&self, tenant: &str) -> bool {
        self.cluster
            .as_ref()
            .is_some_and(|c| c.is_recovering(tenant))
    }

    /// This node's name, in a cluster.
    pub fn node(&self) -> Option<String> {
        Some(self.cluster.as_ref()?.me()?.name)
    }

    /// Takes part in the cluster, if the store is shared, now that the
    /// service listens at `listening`: keeps leases from here on.
    pub fn join(self: &Arc<Self>, listening: std::net::SocketAddr) -> Result<(), String> {
        if self.cluster.is_none() {
            return Ok(());
        }
        let thread = cluster::start(self.clone(), listening)?;
        self.threads
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(thread);
        Ok(())
    }

    /// Recovers a tenant and starts its decider; a tenant whose history
    /// cannot be read is kept as failed.
    fn open(&self, name: String, path: PathBuf, revision: Revision, degraded: Option<String>) {
        let shared = &self.shared;
        let recovered = recover::recover(&*shared.store, &name, &revision, &shared.stats);
        let recovered = match recovered {
            Ok(r) => r,
            Err(why) => {
                let why = format!("its stored history cannot be read: {why}");
                return self.open_failed(name, path, revision, why);
            }
        };
        let (mailbox, inbox) = mailbox::Mailbox::new(shared.settings.mailbox);
        let view = View {
            state: recovered.state.clone(),
            seq: recovered.seq,
        };
        let tenant = Arc::new(
            Tenant::new(
                name.clone(),
                path,
                shared.store.clone(),
                Arc::new(revision),
                view,
                Some(mailbox.clone()),
                None,
            )
            .with_stream(shared.settings.stream_buffer),
        );
        tenant.degrade(degraded);
        let decider = decider::Decider::new(
            tenant.clone(),
            shared.clone(),
            mailbox,
            recovered.state,
            recovered.seq,
        );
        let span = tracing::info_span!("tenant", tenant = %name);
        let thread = std::thread::Builder::new()
            .name(format!("switchboard-decide-{name}"))
            .spawn(move || span.in_scope(|| decider.run(inbox)));
        match thread {
            Ok(thread) => {
                *tenant.decider.lock().unwrap_or_else(|e| e.into_inner()) = Some(thread);
            }
            Err(e) => {
                let why = format!("cannot start its decider: {e}");
                let revision = (*tenant.revision()).clone();
                return self.open_failed(name, tenant.path().to_path_buf(), revision, why);
            }
        }
        if recovered.earlier_revisions {
            // From here on, recovery needs only the current revision.
            if let Err(e) = tenant.checkpoint() {
                tracing::warn!(tenant = %name, error = %e, "checkpoint after recovery failed");
            }
        }
        tracing::info!(
            tenant = %name,
            seq = recovered.seq,
            replayed = recovered.replayed,
            diverged = recovered.diverged,
            "tenant recovered"
        );
        self.insert(tenant);
    }

    fn open_failed(&self, name: String, path: PathBuf, revision: Revision, why: String) {
        tracing::error!(
            tenant = %name,
            reason = %why,
            "tenant failed; the others start regardless"
        );
        let view = View {
            state: crate::engine::State::new(),
            seq: 0,
        };
        let tenant = Tenant::new(
            name,
            path,
            self.shared.store.clone(),
            Arc::new(revision),
            view,
            None,
            Some(why),
        );
        self.insert(Arc::new(tenant));
    }

    fn insert(&self, tenant: Arc<Tenant>) {
        self.unserved
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|u| u.path != tenant.path());
        self.tenants
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(tenant.name().to_string(), tenant);
    }

    /// A tenant by name.
    pub fn tenant(&self, name: &str) -> Option<Arc<Tenant>> {
        self.tenants
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
    }

    /// Every tenant, by name.
    pub fn tenants_now(&self) -> Vec<Arc<Tenant>> {
        self.tenants
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// Policy files that are not served, and why.
    pub fn unserved(&self) -> Vec<Unserved> {
        self.unserved
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn stats(&self) -> &Stats {
        &self.shared.stats
    }

    pub fn store(&self) -> &Arc<dyn TenantStore> {
        &self.shared.store
    }

    pub fn health(&self) -> Health {
        let status = |t: &Tenant| match (t.is_standby(), self.owner_of(t.name())) {
            (true, Some(owner)) => Status::Elsewhere(format!(
                "decided by node {} at {}",
                owner.node, owner.address
            )),
            (true, None) if self.is_recovering(t.name()) => Status::Elsewhere(
                "this node took its lease and is recovering its history; retry shortly".into(),
            ),
            (true, None) => Status::Elsewhere(
                "no node holds its lease this moment (a failover or hand-off); retry shortly"
                    .into(),
            ),
            (false, _) => t.status(),
        };
        let tenants: BTreeMap<String, Status> = self
            .tenants_now()
            .iter()
            .map(|t| (t.name().to_string(), status(t)))
            .collect();
        let joined = self.cluster.as_ref().is_none_or(|c| c.joined());
        Health {
            ready: joined && tenants.values().all(Status::is_ready),
            tenants,
            unserved: self.unserved(),
        }
    }

    /// Whether the runtime is shutting down.
    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Starts the clock and, if reloading is on, the reloader.
    pub fn start_background(self: &Arc<Self>) -> Result<(), StartError> {
        let mut threads = self.threads.lock().unwrap_or_else(|e| e.into_inner());
        threads.push(clock::start(self.clone()).map_err(StartError::Thread)?);
        if let Some(every) = self.config.reload_every {
            threads.push(reload::start(self.clone(), every).map_err(StartError::Thread)?);
        }
        Ok(())
    }

    /// Stops the background threads, then every decider after what waits
    /// in its mailbox, each with a snapshot; flushes the decision log.
    pub fn shut_down(&self) {
        self.stop.store(true, Ordering::Relaxed);
        let threads = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|e| e.into_inner()));
        for thread in threads {
            let _ = thread.join();
        }
        for tenant in self.tenants_now() {
            tenant.stop();
        }
        self.leave();
        self.shared.retention.stop();
        self.shared.decision_log.close();
    }
}

impl Runtime {
    /// Hands back every lease this node holds (its tenants are stopped,
    /// with their snapshots) and ends its membership, so the other nodes
    /// take its tenants at once rather than after a lease time.
    fn leave(&self) {
        let (Some(cluster), Some(leases)) = (&self.cluster, self.shared.store.leases()) else {
            return;
        };
        let Some(me) = cluster.me() else {
            return;
        };
        for tenant in self.tenants_now() {
            if !tenant.is_standby() {
                if let Err(e) = leases.release(tenant.name(), &me) {
                    tracing::warn!(tenant = tenant.name(), error = %e, "releasing the lease failed; it lapses");
                }
            }
        }
        if let Err(e) = leases.leave(&me) {
            tracing::warn!(error = %e, "leaving the cluster failed; the membership lapses");
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if !self.stopping() {
            self.shut_down();
        }
    }
}

/// Sleeps `total` in short steps, returning early (false) if the runtime
/// is stopping.
fn sleep_unless_stopping(runtime: &Runtime, total: Duration) -> bool {
    let step = Duration::from_millis(50);
    let mut left = total;
    while !left.is_zero() {
        if runtime.stopping() {
            return false;
        }
        let now = left.min(step);
        std::thread::sleep(now);
        left -= now;
    }
    !runtime.stopping()
}

//! The decision service: each tenant's durable runtime, served over HTTP.
//!
//! ```text
//! policies/<tenant>/*.policy ─revision─▶ TenantRuntime ◀─recover─ data/switchboard.db
//!        ▲ (reload: poll, check, swap)      │ decide, store durably
//!        │                                  ▼
//!   reload thread        clock thread ─▶ tick   http: /v1/tenants/{tenant}/...
//! ```
//!
//! Two threads run beside the HTTP server: the clock, which steps a tick
//! for any tenant whose timers are due, and the reloader, which notices
//! changed policy files and swaps in the revisions that check.

mod auth;
mod clock;
mod http;
pub mod log;
mod metrics;
mod reload;
pub mod revision;
mod tenant;
pub mod twilio;

pub use auth::Tokens;
pub use http::router;
pub use metrics::Metrics;
pub use reload::Reloaded;
pub use tenant::{Begun, Decided, ServiceError, TenantRuntime};

use crate::store::{ConversationStore, SqliteStore};
use log::{DecisionLog, Level};
use revision::Files;
use serde_json::json;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How the service is set up.
#[derive(Clone, Debug)]
pub struct Config {
    /// A policy file, or a folder of them (a folder per tenant).
    pub policies: PathBuf,
    /// Where the database (and by default the decision log) live.
    pub data: PathBuf,
    pub tokens: Tokens,
    pub twilio: twilio::AuthTokens,
    /// The address Twilio is given for the webhook, e.g.
    /// `https://sms.example.com`; by default, taken from the request's Host.
    pub public_url: Option<String>,
    /// Where decision log lines go (`-` for stdout); `None` for nowhere.
    pub decision_log: Option<PathBuf>,
    /// How often policy files are looked at; `None` turns reloading off.
    pub reload_every: Option<Duration>,
    /// How often the clock looks for due timers.
    pub tick_every: Duration,
}

impl Config {
    /// The defaults for `policies` and `data`.
    pub fn new(policies: impl Into<PathBuf>, data: impl Into<PathBuf>) -> Config {
        let data = data.into();
        Config {
            policies: policies.into(),
            decision_log: Some(data.join("decisions.jsonl")),
            data,
            tokens: Tokens::default(),
            twilio: twilio::AuthTokens::default(),
            public_url: None,
            reload_every: Some(Duration::from_secs(1)),
            tick_every: Duration::from_millis(100),
        }
    }
}

/// Everything the service runs on.
pub struct Service {
    pub tenants: HashMap<String, Arc<TenantRuntime>>,
    pub config: Config,
    pub metrics: Metrics,
    pub decision_log: DecisionLog,
    /// Where revisions are compiled from their copied files.
    scratch: PathBuf,
    /// Held locked for as long as the service runs, so no second service
    /// writes to the same data folder.
    _data_lock: std::fs::File,
    /// Held while a tenant's files are looked at, so a reload request and
    /// the reloader do not both load one revision.
    reloading: std::sync::Mutex<()>,
    stop: AtomicBool,
}

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("{path} does not check:\n{rendered}")]
    Policy { path: PathBuf, rendered: String },
    #[error("{0}")]
    Unreadable(String),
    #[error("two policies declare tenant {0}")]
    DuplicateTenant(String),
    #[error("no policies under {0}")]
    NoPolicies(PathBuf),
    #[error("{0} is in use by another switchboard serve; each data folder has one service")]
    InUse(PathBuf),
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

impl Service {
    /// Loads every policy under `config.policies` and opens each tenant's
    /// state from the store in `config.data`.
    pub fn load(config: Config) -> Result<Service, StartError> {
        let data = &config.data;
        std::fs::create_dir_all(data).map_err(|e| StartError::Io(data.clone(), e))?;
        let lock_path = data.join("switchboard.lock");
        let data_lock =
            std::fs::File::create(&lock_path).map_err(|e| StartError::Io(lock_path.clone(), e))?;
        match data_lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Err(StartError::InUse(data.clone())),
            Err(std::fs::TryLockError::Error(e)) => return Err(StartError::Io(lock_path, e)),
        }
        let scratch = data.join("scratch");
        let store: Arc<dyn ConversationStore> =
            Arc::new(SqliteStore::open(data.join("switchboard.db"))?);
        let files = crate::cli::policy_files(std::slice::from_ref(&config.policies))
            .map_err(|_| StartError::NoPolicies(config.policies.clone()))?;
        let mut tenants = HashMap::new();
        for path in files {
            let files = Files::read(&path).map_err(StartError::Unreadable)?;
            let revision = files
                .compile(&scratch)
                .map_err(|rendered| StartError::Policy {
                    rendered,
                    path: path.clone(),
                })?;
            let name = revision.engine.policy().tenant.name.to_string();
            if tenants.contains_key(&name) {
                return Err(StartError::DuplicateTenant(name));
            }
            let runtime = TenantRuntime::open(&path, &files, revision, store.clone(), &scratch)?;
            tenants.insert(name, Arc::new(runtime));
        }
        let decision_log = match &config.decision_log {
            Some(path) => DecisionLog::open(path).map_err(|e| StartError::Io(path.clone(), e))?,
            None => DecisionLog::off(),
        };
        Ok(Service {
            tenants,
            config,
            metrics: Metrics::default(),
            decision_log,
            scratch,
            _data_lock: data_lock,
            reloading: std::sync::Mutex::new(()),
            stop: AtomicBool::new(false),
        })
    }

    /// Whether the service is shutting down.
    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Writes a snapshot of every tenant and flushes the decision log.
    pub fn shut_down(&self) {
        self.stop.store(true, Ordering::Relaxed);
        for tenant in self.tenants.values() {
            if let Err(e) = tenant.checkpoint() {
                log::service(
                    Level::Error,
                    "checkpoint failed",
                    json!({"tenant": tenant.name(), "error": e.to_string()}),
                );
            }
        }
        self.decision_log.close();
    }
}

/// Serves until interrupted (SIGINT or SIGTERM); writes a snapshot of every
/// tenant on the way out.
pub fn serve(service: Service, listen: &str) -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let service = Arc::new(service);
    let app = router(service.clone());
    let cannot = |e: std::io::Error| format!("cannot start a thread: {e}");
    let mut threads = vec![clock::start(service.clone()).map_err(cannot)?];
    if let Some(every) = service.config.reload_every {
        threads.push(reload::start(service.clone(), every).map_err(cannot)?);
    }
    let served = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| format!("{listen}: {e}"))?;
        let address = listener.local_addr().map_err(|e| e.to_string())?;
        // The first line on stderr is for people and scripts alike.
        eprintln!(
            "switchboard: serving {} tenants on http://{address}",
            service.tenants.len()
        );
        let mut names: Vec<&String> = service.tenants.keys().collect();
        names.sort();
        let revisions: HashMap<&String, String> = names
            .iter()
            .map(|n| (*n, service.tenants[*n].revision().id.clone()))
            .collect();
        log::service(
            Level::Info,
            "serving",
            json!({"listen": address.to_string(), "tenants": revisions}),
        );
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown_signal())
            .await
            .map_err(|e| e.to_string())
    });
    service.shut_down();
    for thread in threads {
        let _ = thread.join();
    }
    log::service(Level::Info, "stopped", json!({}));
    served
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}

/// Sleeps `total` in short steps, returning early (false) if the service
/// is stopping.
fn sleep_unless_stopping(service: &Service, total: Duration) -> bool {
    let step = Duration::from_millis(50);
    let mut left = total;
    while !left.is_zero() {
        if service.stopping() {
            return false;
        }
        let now = left.min(step);
        std::thread::sleep(now);
        left -= now;
    }
    !service.stopping()
}

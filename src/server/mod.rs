//! The decision service: each tenant's durable runtime, served over HTTP.
//!
//! ```text
//! policies/<tenant>/<x>.policy ─load─▶ Engine ─┐
//! data/switchboard.db ─────────────────────────┴─▶ TenantRuntime ─▶ /v1/tenants/{tenant}/...
//! ```

mod auth;
mod http;
mod tenant;

pub use auth::Tokens;
pub use http::router;
pub use tenant::{ServiceError, TenantRuntime};

use crate::engine::Engine;
use crate::store::{ConversationStore, SqliteStore};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

/// Everything the service runs on.
pub struct Service {
    pub tenants: HashMap<String, Arc<TenantRuntime>>,
    pub tokens: Tokens,
    pub metrics: Metrics,
}

/// Counters for /metrics.
#[derive(Default)]
pub struct Metrics {
    pub decisions: AtomicU64,
    pub rejected_requests: AtomicU64,
    /// Total decision time, in microseconds.
    pub decision_micros: AtomicU64,
}

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("{path} does not check:\n{rendered}")]
    Policy { path: PathBuf, rendered: String },
    #[error("two policies declare tenant {0}")]
    DuplicateTenant(String),
    #[error("no policies under {0}")]
    NoPolicies(PathBuf),
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

impl Service {
    /// Loads every policy under `policies` (a file, or a folder per tenant)
    /// and opens each tenant's state from the store in `data`.
    pub fn load(policies: &Path, data: &Path, tokens: Tokens) -> Result<Service, StartError> {
        std::fs::create_dir_all(data).map_err(|e| StartError::Io(data.to_path_buf(), e))?;
        let store: Arc<dyn ConversationStore> =
            Arc::new(SqliteStore::open(data.join("switchboard.db"))?);
        let files = crate::cli::policy_files(&[policies.to_path_buf()])
            .map_err(|_| StartError::NoPolicies(policies.to_path_buf()))?;
        let mut tenants = HashMap::new();
        for path in files {
            let source =
                std::fs::read_to_string(&path).map_err(|e| StartError::Io(path.clone(), e))?;
            let options = crate::CheckOptions {
                base_dir: path.parent().map(Path::to_path_buf),
            };
            let policy =
                crate::compile_with(&source, &options).map_err(|d| StartError::Policy {
                    rendered: d.render(&path.display().to_string(), &source),
                    path: path.clone(),
                })?;
            let name = policy.tenant.name.to_string();
            if tenants.contains_key(&name) {
                return Err(StartError::DuplicateTenant(name));
            }
            let runtime = TenantRuntime::open(&name, Engine::new(policy), store.clone())?;
            tenants.insert(name, Arc::new(runtime));
        }
        Ok(Service {
            tenants,
            tokens,
            metrics: Metrics::default(),
        })
    }
}

/// Serves until interrupted; writes a snapshot of every tenant on the way out.
pub fn serve(service: Service, listen: &str) -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let service = Arc::new(service);
    let app = router(service.clone());
    let count = service.tenants.len();
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| format!("{listen}: {e}"))?;
        let address = listener.local_addr().map_err(|e| e.to_string())?;
        eprintln!("switchboard: serving {count} tenants on http://{address}");
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .map_err(|e| e.to_string())
    })?;
    for tenant in service.tenants.values() {
        if let Err(e) = tenant.checkpoint() {
            eprintln!("switchboard: {}: {e}", tenant.name());
        }
    }
    Ok(())
}

//! The decision service's HTTP face: the API under /v1/tenants/{tenant}/,
//! Twilio's webhook, tokens, health and metrics, over the runtime.
//!
//! A handler never waits on a tenant: it hands the event to the tenant's
//! mailbox and awaits the answer, reads come from the tenant's published
//! view, and what must touch the store runs on the blocking pool.

mod auth;
mod console;
pub mod forward;
mod http;
mod metrics;
mod stream;
pub mod twilio;

pub use auth::Tokens;
pub use http::{router, MAX_BODY};
pub use metrics::Counters;

use crate::runtime::log;
use crate::runtime::Runtime;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;

/// How the HTTP face is set up.
#[derive(Clone, Debug, Default)]
pub struct Config {
    pub tokens: Tokens,
    pub twilio: twilio::AuthTokens,
    /// The address Twilio is given for the webhook, e.g.
    /// `https://sms.example.com`; by default, taken from the request's Host.
    pub public_url: Option<String>,
    /// Where `/metrics` is served instead of the main address, if set.
    pub metrics_listen: Option<String>,
}

/// What the handlers share.
pub struct Server {
    pub runtime: Arc<Runtime>,
    pub config: Config,
    pub counters: Counters,
    /// Connections to the other nodes of a cluster, for forwarding.
    pub forwarder: forward::Forwarder,
    /// Set once the service is shutting down: open streams end then, so
    /// the graceful shutdown, which waits for every connection, does not
    /// wait on them.
    pub closing: tokio::sync::watch::Sender<bool>,
}

/// Serves until interrupted (SIGINT or SIGTERM); then stops every tenant
/// with a snapshot.
pub fn serve(runtime: Runtime, config: Config, listen: &str) -> Result<(), String> {
    let tokio = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let runtime = Arc::new(runtime);
    runtime.start_background().map_err(|e| e.to_string())?;
    let metrics_listen = config.metrics_listen.clone();
    let server = Arc::new(Server {
        runtime: runtime.clone(),
        config,
        counters: Counters::default(),
        forwarder: forward::Forwarder::default(),
        closing: tokio::sync::watch::Sender::new(false),
    });
    let served = tokio.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| format!("{listen}: {e}"))?;
        let address = listener.local_addr().map_err(|e| e.to_string())?;
        // The first lease round takes this node's tenants (recovering
        // them from the store) before it says it serves.
        tokio::task::block_in_place(|| runtime.join(address))?;
        let metrics_address = match &metrics_listen {
            Some(at) => {
                let listener = tokio::net::TcpListener::bind(at)
                    .await
                    .map_err(|e| format!("{at}: {e}"))?;
                let address = listener.local_addr().map_err(|e| e.to_string())?;
                let app = http::metrics_router(server.clone());
                tokio::spawn(async move {
                    let _ = axum::serve(listener, app).await;
                });
                Some(address.to_string())
            }
            None => None,
        };
        let tenants = runtime.tenants_now();
        // The first line on stderr is for people and scripts alike.
        eprintln!(
            "switchboard: serving {} tenants on http://{address}",
            tenants.len()
        );
        if let Some(at) = &metrics_address {
            eprintln!("switchboard: metrics on http://{at}/metrics");
        }
        log::release();
        let revisions: BTreeMap<&str, String> = tenants
            .iter()
            .map(|t| (t.name(), t.revision().id.clone()))
            .collect();
        tracing::info!(
            listen = %address,
            metrics = ?metrics_address,
            tenants = %json!(revisions),
            "serving"
        );
        axum::serve(listener, http::router(server.clone()))
            .with_graceful_shutdown(async move {
                shutdown_signal().await;
                server.closing.send_replace(true);
            })
            .await
            .map_err(|e| e.to_string())
    });
    runtime.shut_down();
    tracing::info!("stopped");
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

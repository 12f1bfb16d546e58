//! Hot reload: a changed policy is checked and, if it compiles, swapped in
//! between two events. One that fails keeps the last good revision
//! serving; its diagnostics are logged and shown by `GET .../policy`.
//!
//! The reloader polls each tenant's files (the policy and what it names);
//! `POST .../policy/reload` does the same at once. A revision already
//! refused is not checked again until the files change once more.

use super::log::{self, Level};
use super::revision::{Files, Refusal};
use super::{Metrics, Service, TenantRuntime};
use chrono::Utc;
use serde::Serialize;
use serde_json::json;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// What looking at a tenant's files found.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Reloaded {
    /// The files are the revision serving, or the one last refused:
    /// nothing to do. `revision` is the one serving.
    Unchanged { revision: String },
    /// A new revision checked and is serving.
    Loaded { revision: String, previous: String },
    /// A new revision failed; the previous one keeps serving.
    Refused {
        revision: String,
        serving: String,
        diagnostics: String,
    },
}

pub fn start(service: Arc<Service>, every: Duration) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("switchboard-reload".into())
        .spawn(move || {
            while super::sleep_unless_stopping(&service, every) {
                for tenant in service.tenants.values() {
                    reload(&service, tenant);
                }
            }
        })
}

/// Looks at a tenant's files and loads a new revision if they changed.
pub fn reload(service: &Service, tenant: &TenantRuntime) -> Reloaded {
    let _one_at_a_time = service.reloading.lock().unwrap_or_else(|e| e.into_inner());
    let serving = tenant.revision().id.clone();
    let files = match Files::read(tenant.path()) {
        Ok(files) => files,
        Err(why) => return refuse(service, tenant, "unreadable".into(), serving, why),
    };
    let revision = files.revision();
    let refused_before = tenant.refused().is_some_and(|r| r.revision == revision);
    if revision == serving || refused_before {
        return Reloaded::Unchanged { revision: serving };
    }
    let compiled = match files.compile(&service.scratch) {
        Ok(compiled) => compiled,
        Err(diagnostics) => return refuse(service, tenant, revision, serving, diagnostics),
    };
    let named = compiled.engine.policy().tenant.name.clone();
    if named != tenant.name() {
        let why = format!(
            "the policy now declares tenant `{named}`; a serving tenant keeps its name (restart the service to rename it)"
        );
        return refuse(service, tenant, revision, serving, why);
    }
    if let Err(e) = tenant.reload(&files, compiled) {
        return refuse(service, tenant, revision, serving, e.to_string());
    }
    Metrics::count(&service.metrics.reloads);
    log::service(
        Level::Info,
        "policy reloaded",
        json!({"tenant": tenant.name(), "revision": revision, "previous": serving}),
    );
    Reloaded::Loaded {
        revision,
        previous: serving,
    }
}

fn refuse(
    service: &Service,
    tenant: &TenantRuntime,
    revision: String,
    serving: String,
    diagnostics: String,
) -> Reloaded {
    if tenant.refused().is_some_and(|r| r.revision == revision) {
        return Reloaded::Unchanged { revision: serving };
    }
    Metrics::count(&service.metrics.reloads_refused);
    log::service(
        Level::Warn,
        "policy refused; the previous revision keeps serving",
        json!({
            "tenant": tenant.name(),
            "revision": revision,
            "serving": serving,
            "diagnostics": diagnostics,
        }),
    );
    tenant.refuse(Refusal {
        revision: revision.clone(),
        at: Utc::now(),
        diagnostics: diagnostics.clone(),
    });
    Reloaded::Refused {
        revision,
        serving,
        diagnostics,
    }
}

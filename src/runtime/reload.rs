//! Hot reload: a changed policy is checked and, if it compiles, swapped in
//! between two events. One that fails keeps the last good revision
//! serving; its diagnostics are logged and shown by `GET .../policy`.
//!
//! The reloader polls each tenant's files (the policy and what it names);
//! `POST .../policy/reload` does the same at once. A revision already
//! refused is not checked again until the files change once more. Each
//! pass also loads policy files added to the folder since the start; a
//! tenant whose file was removed keeps serving its last revision until
//! restart (and after it, degraded), and its status says so.

use super::revision::{Files, Refusal, Revision};
use super::{canonical, Runtime, Stats, Status, Tenant};
use chrono::Utc;
use serde::Serialize;
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

pub fn start(runtime: Arc<Runtime>, every: Duration) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("switchboard-reload".into())
        .spawn(move || {
            while super::sleep_unless_stopping(&runtime, every) {
                for tenant in runtime.tenants_now() {
                    reload(&runtime, &tenant);
                }
                discover(&runtime);
            }
        })
}

/// Loads the policy files that no tenant is loaded from, unless they were
/// refused as they are.
pub fn discover(runtime: &Runtime) {
    let Ok(files) = crate::files::policy_files(std::slice::from_ref(&runtime.config.policies))
    else {
        return;
    };
    let _one_at_a_time = runtime.reloading.lock().unwrap_or_else(|e| e.into_inner());
    let known: Vec<_> = runtime
        .tenants_now()
        .iter()
        .map(|t| t.path().to_path_buf())
        .collect();
    for path in files {
        let path = canonical(&path);
        if known.contains(&path) {
            continue;
        }
        let revision = Files::read(&path).map(|f| f.revision()).unwrap_or_default();
        let refused_before = runtime
            .unserved()
            .iter()
            .any(|u| u.path == path && u.revision == revision);
        if refused_before {
            continue;
        }
        runtime.load_file(&path, &[]);
        if let Some(tenant) = runtime.tenants_now().iter().find(|t| t.path() == path) {
            tracing::info!(
                tenant = tenant.name(),
                revision = %tenant.revision().id,
                "tenant added"
            );
        }
    }
}

/// Looks at a tenant's files and loads a new revision if they changed.
pub fn reload(runtime: &Runtime, tenant: &Tenant) -> Reloaded {
    let _one_at_a_time = runtime.reloading.lock().unwrap_or_else(|e| e.into_inner());
    let serving = tenant.revision().id.clone();
    if matches!(tenant.status(), Status::Failed(_)) {
        return Reloaded::Unchanged { revision: serving };
    }
    let files = match Files::read(tenant.path()) {
        Ok(files) => files,
        Err(why) => {
            if !tenant.path().exists() && !matches!(tenant.status(), Status::Degraded(_)) {
                tenant.degrade(Some(format!(
                    "its policy file {} is gone; serving revision {serving}",
                    tenant.path().display()
                )));
            }
            return refuse(runtime, tenant, "unreadable".into(), serving, why);
        }
    };
    let revision = files.revision();
    if revision == serving {
        // The file is back as the revision serving: nothing is degraded.
        tenant.degrade(None);
        return Reloaded::Unchanged { revision: serving };
    }
    if tenant.refused().is_some_and(|r| r.revision == revision) {
        return Reloaded::Unchanged { revision: serving };
    }
    let compiled = match files.compile() {
        Ok(compiled) => compiled,
        Err(diagnostics) => return refuse(runtime, tenant, revision, serving, diagnostics),
    };
    let named = compiled.engine.policy().tenant.name.clone();
    if named != tenant.name() {
        let why = format!(
            "the policy now declares tenant `{named}`; a serving tenant keeps its name (restart the service to rename it)"
        );
        return refuse(runtime, tenant, revision, serving, why);
    }
    if let Err(e) = swap(runtime, tenant, &files, compiled) {
        return refuse(runtime, tenant, revision, serving, e);
    }
    Stats::count(&runtime.stats().reloads);
    tracing::info!(
        tenant = tenant.name(),
        revision = %revision,
        previous = %serving,
        "policy reloaded"
    );
    Reloaded::Loaded {
        revision,
        previous: serving,
    }
}

/// Stores a revision's files, so a restart can step the events it decides,
/// then serves it from the next event on.
fn swap(
    runtime: &Runtime,
    tenant: &Tenant,
    files: &Files,
    revision: Revision,
) -> Result<(), String> {
    let store = runtime.store();
    store
        .save_revision(tenant.name(), &revision.id, &files.to_json())
        .and_then(|()| runtime.note_serving(tenant.name(), tenant.path(), &revision.id))
        .map_err(|e| e.to_string())?;
    tenant.swap_revision(revision);
    Ok(())
}

fn refuse(
    runtime: &Runtime,
    tenant: &Tenant,
    revision: String,
    serving: String,
    diagnostics: String,
) -> Reloaded {
    if tenant.refused().is_some_and(|r| r.revision == revision) {
        return Reloaded::Unchanged { revision: serving };
    }
    Stats::count(&runtime.stats().reloads_refused);
    tracing::warn!(
        tenant = tenant.name(),
        revision = %revision,
        serving = %serving,
        diagnostics = %diagnostics,
        "policy refused; the previous revision keeps serving"
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

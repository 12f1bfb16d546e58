//! Recovery: a tenant's state rebuilt from the store, its latest snapshot
//! and then each later event stepped again, one at a time as the store
//! hands them over (never all in memory), each with the revision that
//! decided it.
//!
//! The engine is deterministic, so each replayed decision should be the
//! stored one to the byte. One that is not is a divergence: the state
//! rebuilt may differ from the one that answered. It is counted
//! (`switchboard_replay_divergences_total`) and logged with the event's
//! sequence number, never ignored.

use super::revision::{Files, Revision, Stamped};
use super::stats::Stats;
use crate::engine::{Engine, Event, State};
use crate::store::TenantStore;
use std::collections::HashMap;

/// How many divergences of one recovery are logged one by one.
const LOGGED_DIVERGENCES: u64 = 5;

/// A tenant's state as the store has it.
pub(crate) struct Recovered {
    pub state: State,
    /// The sequence number of the latest event.
    pub seq: u64,
    pub replayed: u64,
    pub diverged: u64,
    /// Some events were decided by another revision than `revision`: a
    /// snapshot now spares the next recovery compiling it.
    pub earlier_revisions: bool,
}

/// Rebuilds a tenant's state; the error says what could not be read.
pub(crate) fn recover(
    store: &dyn TenantStore,
    tenant: &str,
    revision: &Revision,
    stats: &Stats,
) -> Result<Recovered, String> {
    let (seq, state) = match store.latest_snapshot(tenant).map_err(|e| e.to_string())? {
        Some((seq, text)) => (
            seq,
            serde_json::from_str(&text).map_err(|e| format!("the snapshot at event {seq}: {e}"))?,
        ),
        None => (0, State::new()),
    };
    let mut recovered = Recovered {
        state,
        seq,
        replayed: 0,
        diverged: 0,
        earlier_revisions: false,
    };
    let mut earlier: HashMap<String, Engine> = HashMap::new();
    store
        .replay(tenant, seq, &mut |stored| {
            let event: Event = serde_json::from_str(&stored.event)
                .map_err(|e| format!("event {}: {e}", stored.seq))?;
            // Events stored before revisions were recorded ('') step with
            // the current one.
            let engine = if stored.revision == revision.id || stored.revision.is_empty() {
                &revision.engine
            } else {
                recovered.earlier_revisions = true;
                if !earlier.contains_key(&stored.revision) {
                    let engine = compile_stored(store, tenant, &stored.revision)?;
                    earlier.insert(stored.revision.clone(), engine);
                }
                &earlier[&stored.revision]
            };
            let decision = engine.step(&mut recovered.state, &event);
            recovered.state.evict_archived();
            let again = serde_json::to_string(&Stamped {
                decision: &decision,
                revision: &stored.revision,
            })
            .map_err(|e| e.to_string())?;
            if again != stored.decision {
                recovered.diverged += 1;
                if recovered.diverged <= LOGGED_DIVERGENCES {
                    tracing::error!(
                        tenant = %tenant,
                        seq = stored.seq,
                        stored = %stored.decision,
                        replayed = %again,
                        "a replayed event decided otherwise than it did live"
                    );
                }
            }
            recovered.seq = stored.seq;
            recovered.replayed += 1;
            Ok(())
        })
        .map_err(|e| e.to_string())?;
    if recovered.diverged > 0 {
        Stats::add(&stats.divergences, recovered.diverged);
        tracing::error!(
            tenant = %tenant,
            diverged = recovered.diverged,
            replayed = recovered.replayed,
            "recovery replayed events that decided otherwise than they did live"
        );
    }
    Ok(recovered)
}

/// Compiles a revision kept in the store.
pub(crate) fn compile_stored(
    store: &dyn TenantStore,
    tenant: &str,
    revision: &str,
) -> Result<Engine, String> {
    load_stored(store, tenant, revision).map(|r| r.engine)
}

/// A revision kept in the store, compiled.
pub(crate) fn load_stored(
    store: &dyn TenantStore,
    tenant: &str,
    revision: &str,
) -> Result<Revision, String> {
    let files = store
        .revision(tenant, revision)
        .map_err(|e| e.to_string())?
        .and_then(|v| Files::from_json(&v))
        .ok_or_else(|| format!("policy revision {revision} is not in the store"))?;
    files
        .compile()
        .map_err(|d| format!("policy revision {revision} no longer compiles:\n{d}"))
}

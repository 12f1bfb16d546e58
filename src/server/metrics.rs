//! Prometheus' `/metrics`: the runtime's counts, each tenant's status and
//! hook failures, and what the HTTP layer refused.

use super::Server;
use crate::runtime::stats::{Stats, BUCKETS};
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// What the HTTP layer counts itself.
#[derive(Default)]
pub struct Counters {
    /// Requests refused for their token or tenant.
    pub rejected_requests: AtomicU64,
}

impl Counters {
    pub fn count(counter: &AtomicU64) {
        Stats::count(counter);
    }
}

/// Every status a tenant can have, so each series is present (as 0 or 1).
const STATUSES: [&str; 4] = ["serving", "degraded", "stopped", "failed"];

/// The text exposition of every metric.
pub fn render(server: &Server) -> String {
    let m = server.runtime.stats();
    let mut out = String::new();
    let counters = [
        (
            "switchboard_decisions_total",
            "Events decided and stored.",
            &m.decisions,
        ),
        (
            "switchboard_redeliveries_total",
            "Events answered from an earlier delivery of their idempotency key.",
            &m.redeliveries,
        ),
        (
            "switchboard_ticks_total",
            "Timer ticks the service clock stepped.",
            &m.ticks,
        ),
        (
            "switchboard_rejected_requests_total",
            "Requests refused for their token or tenant.",
            &server.counters.rejected_requests,
        ),
        (
            "switchboard_busy_total",
            "Events refused because their tenant's mailbox was full (429).",
            &m.busy,
        ),
        (
            "switchboard_reloads_total",
            "Policy revisions loaded while serving.",
            &m.reloads,
        ),
        (
            "switchboard_reloads_refused_total",
            "Policy revisions that failed to check and were not loaded.",
            &m.reloads_refused,
        ),
        (
            "switchboard_failed_writes_total",
            "Batches of events whose write failed; they were undone and answered 503.",
            &m.failed_writes,
        ),
        (
            "switchboard_replay_divergences_total",
            "Replayed events whose decision differed from the stored one.",
            &m.divergences,
        ),
        (
            "switchboard_snapshots_total",
            "Snapshots stored.",
            &m.snapshots,
        ),
        (
            "switchboard_pruned_events_total",
            "Events removed by retention.",
            &m.pruned_events,
        ),
        (
            "switchboard_pruned_conversations_total",
            "Archived conversations removed by retention.",
            &m.pruned_conversations,
        ),
    ];
    for (name, help, value) in counters {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
        let _ = writeln!(out, "{name} {}", value.load(Ordering::Relaxed));
    }
    let name = "switchboard_decision_seconds";
    let _ = writeln!(
        out,
        "# HELP {name} Time from an event's arrival to its decision being durable.\n# TYPE {name} histogram"
    );
    let mut cumulative = 0;
    for (bound, count) in BUCKETS.iter().zip(&m.latency_buckets) {
        cumulative += count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
    }
    let total = m.latency_count.load(Ordering::Relaxed);
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {total}");
    let _ = writeln!(
        out,
        "{name}_sum {}",
        m.latency_micros.load(Ordering::Relaxed) as f64 / 1e6
    );
    let _ = writeln!(out, "{name}_count {total}");
    let tenants = server.runtime.tenants_now();
    let name = "switchboard_tenant_status";
    let _ = writeln!(
        out,
        "# HELP {name} Each tenant's status: 1 for the one it has.\n# TYPE {name} gauge"
    );
    for tenant in &tenants {
        let status = tenant.status();
        for s in STATUSES {
            let on = u8::from(status.as_str() == s);
            let _ = writeln!(
                out,
                "{name}{{tenant=\"{}\",status=\"{s}\"}} {on}",
                tenant.name()
            );
        }
    }
    let name = "switchboard_unserved_policies";
    let _ = writeln!(
        out,
        "# HELP {name} Policy files that are not served.\n# TYPE {name} gauge\n{name} {}",
        server.runtime.unserved().len()
    );
    let name = "switchboard_open_conversations";
    let _ = writeln!(
        out,
        "# HELP {name} Open conversations in each tenant's memory.\n# TYPE {name} gauge"
    );
    for tenant in &tenants {
        let open = tenant.view().state.open_count();
        let _ = writeln!(out, "{name}{{tenant=\"{}\"}} {open}", tenant.name());
    }
    let name = "switchboard_hook_failures_total";
    let _ = writeln!(
        out,
        "# HELP {name} Hook calls that failed and fell back to the policy.\n# TYPE {name} counter"
    );
    for tenant in &tenants {
        let failures = tenant
            .revision()
            .engine
            .policy()
            .hooks
            .as_ref()
            .map_or(0, |h| h.failures());
        let _ = writeln!(out, "{name}{{tenant=\"{}\"}} {failures}", tenant.name());
    }
    out
}

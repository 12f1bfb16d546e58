//! Counters for Prometheus' `/metrics`.

use super::Service;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the decision latency histogram, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Default)]
pub struct Metrics {
    pub decisions: AtomicU64,
    pub redeliveries: AtomicU64,
    pub ticks: AtomicU64,
    pub rejected_requests: AtomicU64,
    pub reloads: AtomicU64,
    pub reloads_refused: AtomicU64,
    /// Decisions whose latency was at most each bucket's bound.
    latency_buckets: [AtomicU64; BUCKETS.len()],
    latency_micros: AtomicU64,
    latency_count: AtomicU64,
}

impl Metrics {
    /// Counts a decision and how long it took, durability included.
    pub fn decided(&self, took: Duration) {
        self.decisions.fetch_add(1, Ordering::Relaxed);
        let seconds = took.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|b| seconds <= *b) {
            self.latency_buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.latency_micros
            .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
        self.latency_count.fetch_add(1, Ordering::Relaxed);
    }

    pub fn count(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// The text exposition of every metric.
pub fn render(service: &Service) -> String {
    let m = &service.metrics;
    let mut out = String::new();
    let counters = [
        (
            "switchboard_decisions_total",
            "Events decided and stored.",
            &m.decisions,
        ),
        (
            "switchboard_redeliveries_total",
            "Events answered from an earlier delivery of their message id.",
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
            &m.rejected_requests,
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
    ];
    for (name, help, value) in counters {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
        let _ = writeln!(out, "{name} {}", value.load(Ordering::Relaxed));
    }
    let name = "switchboard_decision_seconds";
    let _ = writeln!(
        out,
        "# HELP {name} Time to decide an event and store it durably.\n# TYPE {name} histogram"
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
    let name = "switchboard_hook_failures_total";
    let _ = writeln!(
        out,
        "# HELP {name} Hook calls that failed and fell back to the policy.\n# TYPE {name} counter"
    );
    let mut tenants: Vec<_> = service.tenants.values().collect();
    tenants.sort_by(|a, b| a.name().cmp(b.name()));
    for tenant in tenants {
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

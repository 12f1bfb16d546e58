//! The service's clock: steps a tick for every tenant whose timers (lock,
//! alert and invite expiry, escalation) are due, at the service's time.
//!
//! Ticks are events like any other, stored and replayed, so a timer that
//! came due while the service was down fires on the first pass after it
//! starts.

use super::log::{self, Level, Summary};
use super::{Metrics, Service};
use crate::engine::event::Tick;
use crate::engine::Event;
use chrono::Utc;
use serde_json::json;
use std::collections::HashSet;
use std::sync::Arc;
use std::thread::JoinHandle;

pub fn start(service: Arc<Service>) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("switchboard-clock".into())
        .spawn(move || run(&service))
}

fn run(service: &Service) {
    // Tenants whose tick failed, so a stopped tenant is logged once.
    let mut failing: HashSet<String> = HashSet::new();
    loop {
        for tenant in service.tenants.values() {
            let started = std::time::Instant::now();
            let now = Utc::now();
            match tenant.tick_if_due(now) {
                Ok(None) => {}
                Ok(Some(decision)) => {
                    Metrics::count(&service.metrics.ticks);
                    let micros = started.elapsed().as_micros() as u64;
                    let event = Event::Tick(Tick { at: now });
                    let summary = Summary::of_json(&decision);
                    service
                        .decision_log
                        .record(tenant.name(), &event, &summary, micros, false);
                    failing.remove(tenant.name());
                }
                Err(e) => {
                    if failing.insert(tenant.name().to_string()) {
                        log::service(
                            Level::Error,
                            "tick failed",
                            json!({"tenant": tenant.name(), "error": e.to_string()}),
                        );
                    }
                }
            }
        }
        if !super::sleep_unless_stopping(service, service.config.tick_every) {
            return;
        }
    }
}

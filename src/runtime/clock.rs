//! The service's clock: asks every tenant whose timers (lock, alert and
//! invite expiry, escalation) are due to tick, at the service's time.
//!
//! Ticks are events like any other, stored and replayed, so a timer that
//! came due while the service was down fires on the first pass after it
//! starts. The clock reads each tenant's published view and only posts to
//! its mailbox, so a busy tenant holds up no other's timers; a full mailbox
//! is asked again on the next pass.

use super::Runtime;
use std::sync::Arc;
use std::thread::JoinHandle;

pub fn start(runtime: Arc<Runtime>) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("switchboard-clock".into())
        .spawn(move || run(&runtime))
}

fn run(runtime: &Runtime) {
    loop {
        let now = runtime.now();
        for tenant in runtime.tenants_now() {
            let due = tenant
                .view()
                .state
                .next_deadline()
                .is_some_and(|d| d <= now);
            if due {
                tenant.tick(now);
            }
        }
        if !super::sleep_unless_stopping(runtime, runtime.config.tick_every) {
            return;
        }
    }
}

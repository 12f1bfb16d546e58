//! Tenant isolation in the real service: the latency of a hook-free tenant
//! alone, then while a hostile tenant's hooks run to their limits under 16
//! concurrent clients, on the same process and the same two cores.
//!
//! ```text
//! cargo bench --bench isolation
//! ISOLATION_SECONDS=20 ISOLATION_RATE=1000 cargo bench --bench isolation
//! ```
//!
//! The service serves two tenants: `brightside` (policies/team-sms, no
//! hooks) and `lakeshore_plumbing` (policies/hostile-hooks, a hook per way a
//! hook can misbehave, here at the default operation budget of 100,000, ten
//! times the example's). Each run measures brightside for `ISOLATION_SECONDS`
//! (default 10) after a 2 s warm-up: new inbound texts at `ISOLATION_RATE`
//! events per second (default 1000) over 8 keep-alive connections, each
//! request sent on schedule (open loop), its latency from sending to the
//! whole answer. Every brightside answer must be 200.
//!
//! The first run has no other traffic. In the second, 16 connections send
//! lakeshore_plumbing new conversations to the lines whose hooks loop,
//! recurse and crawl until their budget stops them, one request in flight
//! on each, as fast as it answers; a 429 (its mailbox is full) is counted
//! and the connection waits 50 ms before the next. The table gives
//! brightside's latency in both runs and how many hostile events were
//! decided or refused.

mod service;

use chrono::{DateTime, Duration as Span, SecondsFormat, Utc};
use hyper::body::Bytes;
use hyper::StatusCode;
use service::{connect, cpu_time, ms, percentile, post, repository, scratch, Server};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TOKENS: &str = "brightside=sms-secret, lakeshore_plumbing=hostile-secret";
const WARM_UP: Duration = Duration::from_secs(2);
const MEASURED_CONNECTIONS: usize = 8;
const HOSTILE_CONNECTIONS: usize = 16;
/// The hostile lines: an endless loop, endless recursion, slow operations.
const HOSTILE_LINES: [&str; 3] = ["+13125550101", "+13125550102", "+13125550109"];

fn main() {
    let seconds = env_number("ISOLATION_SECONDS", 10);
    let rate = env_number("ISOLATION_RATE", 1000);
    let policies = match policies() {
        Ok(p) => p,
        Err(e) => fail(&e),
    };
    println!(
        "brightside at {rate} events/s over {MEASURED_CONNECTIONS} connections; {} s warm-up, {seconds} s measured",
        WARM_UP.as_secs()
    );
    println!(
        "{:<22} {:>8} {:>7} {:>7} {:>7} {:>7} {:>9} {:>9} {:>10}",
        "run", "events", "errors", "p50 ms", "p99 ms", "max ms", "hostile", "hostile", "server cpu"
    );
    println!(
        "{:<22} {:>8} {:>7} {:>7} {:>7} {:>7} {:>9} {:>9} {:>10}",
        "", "", "", "", "", "", "200", "429", ""
    );
    let mut failed = false;
    for hostile in [false, true] {
        match run(&policies, seconds, rate, hostile) {
            Ok(report) => {
                report.print();
                failed |= report.errors > 0;
                for line in &report.log {
                    eprintln!("  service: {line}");
                }
            }
            Err(e) => fail(&e),
        }
    }
    println!("reproduce: ISOLATION_SECONDS={seconds} ISOLATION_RATE={rate} cargo bench --bench isolation");
    if failed {
        eprintln!("isolation: brightside had answers other than 200");
        std::process::exit(1);
    }
}

fn fail(message: &str) -> ! {
    eprintln!("isolation: {message}");
    std::process::exit(1);
}

fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .unwrap_or_else(|| fail(&format!("{name}={v}: not a positive number"))),
        Err(_) => default,
    }
}

/// A policies folder with the two tenants, the hostile one at the default
/// operation budget.
fn policies() -> Result<PathBuf, String> {
    let root = scratch("isolation-policies");
    for example in ["team-sms", "hostile-hooks"] {
        let folder = root.join(example);
        std::fs::create_dir_all(&folder).map_err(|e| e.to_string())?;
        let from = repository("policies").join(example);
        for entry in std::fs::read_dir(&from).map_err(|e| e.to_string())? {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.is_file() && !path.to_string_lossy().ends_with(".scenario.yaml") {
                copy(&path, &folder)?;
            }
        }
    }
    let hostile = root.join("hostile-hooks/hostile-hooks.policy");
    let text = std::fs::read_to_string(&hostile).map_err(|e| e.to_string())?;
    let text = text.replace("  max_operations 10000\n", "");
    std::fs::write(&hostile, text).map_err(|e| e.to_string())?;
    Ok(root)
}

fn copy(path: &Path, into: &Path) -> Result<(), String> {
    let name = path.file_name().ok_or("a file without a name")?;
    std::fs::copy(path, into.join(name))
        .map(|_| ())
        .map_err(|e| format!("{}: {e}", path.display()))
}

struct Report {
    hostile: bool,
    latencies: Vec<u32>,
    errors: u64,
    hostile_decided: u64,
    hostile_busy: u64,
    server_cores: Option<f64>,
    log: Vec<String>,
}

impl Report {
    fn print(&self) {
        let mut sorted = self.latencies.clone();
        sorted.sort_unstable();
        let cores = self.server_cores.map_or("-".into(), |c| format!("{c:.2}"));
        let name = if self.hostile {
            "with hostile traffic"
        } else {
            "alone"
        };
        println!(
            "{:<22} {:>8} {:>7} {:>7} {:>7} {:>7} {:>9} {:>9} {:>10}",
            name,
            sorted.len(),
            self.errors,
            ms(percentile(&sorted, 0.50)),
            ms(percentile(&sorted, 0.99)),
            ms(sorted.last()),
            self.hostile_decided,
            self.hostile_busy,
            cores,
        );
    }
}

/// What the measured tenant's connections saw.
#[derive(Default)]
struct Seen {
    latencies: Vec<u32>,
    errors: u64,
    first_error: Option<String>,
}

fn run(policies: &Path, seconds: u64, rate: u64, hostile: bool) -> Result<Report, String> {
    let name = if hostile {
        "isolation-hostile"
    } else {
        "isolation-alone"
    };
    let server = Server::start(policies, &scratch(name), TOKENS, &["--decision-log", "off"])?;
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let start = Instant::now();
    let measure_from = start + WARM_UP;
    let end = measure_from + Duration::from_secs(seconds);
    let seen = Arc::new(Mutex::new(Seen::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let decided = Arc::new(AtomicU64::new(0));
    let busy = Arc::new(AtomicU64::new(0));
    let first_at: DateTime<Utc> = "2030-03-04T17:00:00Z".parse().map_err(|_| "a bad time")?;
    let cpu_before = Arc::new(Mutex::new(None));
    tokio.block_on(async {
        let mut tasks = Vec::new();
        if hostile {
            for c in 0..HOSTILE_CONNECTIONS {
                let (address, stop) = (server.address.clone(), stop.clone());
                let (decided, busy) = (decided.clone(), busy.clone());
                tasks.push(tokio::spawn(async move {
                    hostile_load(c, &address, &stop, &decided, &busy).await
                }));
            }
        }
        let per_connection = Duration::from_secs_f64(MEASURED_CONNECTIONS as f64 / rate as f64);
        let mut measured = Vec::new();
        for c in 0..MEASURED_CONNECTIONS {
            let address = server.address.clone();
            let seen = seen.clone();
            measured.push(tokio::spawn(async move {
                measured_load(
                    c,
                    &address,
                    per_connection,
                    first_at,
                    measure_from,
                    end,
                    &seen,
                )
                .await
            }));
        }
        let pid = server.child.id();
        let before = cpu_before.clone();
        tokio::spawn(async move {
            tokio::time::sleep(measure_from.saturating_duration_since(Instant::now())).await;
            *before.lock().unwrap_or_else(|e| e.into_inner()) =
                cpu_time(&format!("/proc/{pid}/stat"));
        });
        for task in measured {
            let _ = task.await;
        }
        stop.store(true, Ordering::Relaxed);
        for task in tasks {
            let _ = task.await;
        }
    });
    let after = server.cpu();
    let before = *cpu_before.lock().unwrap_or_else(|e| e.into_inner());
    let server_cores = match (before, after) {
        (Some(b), Some(a)) => Some((a - b).as_secs_f64() / (end - measure_from).as_secs_f64()),
        _ => None,
    };
    let log = server.kill();
    let seen = std::mem::take(&mut *seen.lock().unwrap_or_else(|e| e.into_inner()));
    if let Some(first) = &seen.first_error {
        eprintln!(
            "isolation: {} brightside errors, the first: {first}",
            seen.errors
        );
    }
    Ok(Report {
        hostile,
        latencies: seen.latencies,
        errors: seen.errors,
        hostile_decided: decided.load(Ordering::Relaxed),
        hostile_busy: busy.load(Ordering::Relaxed),
        server_cores,
        log,
    })
}

/// One measured connection: a new conversation every `every`, on schedule.
async fn measured_load(
    connection: usize,
    address: &str,
    every: Duration,
    first_at: DateTime<Utc>,
    measure_from: Instant,
    end: Instant,
    seen: &Mutex<Seen>,
) {
    let mut sender = match connect(address).await {
        Ok(s) => s,
        Err(e) => return note_error(seen, e),
    };
    let offset = every.mul_f64(connection as f64 / MEASURED_CONNECTIONS as f64);
    let mut next = Instant::now() + offset;
    let mut n: u64 = 0;
    while next < end {
        tokio::time::sleep_until(next.into()).await;
        let id = n * MEASURED_CONNECTIONS as u64 + connection as u64;
        n += 1;
        next += every;
        let at =
            (first_at + Span::milliseconds(id as i64)).to_rfc3339_opts(SecondsFormat::Millis, true);
        let body = Bytes::from(format!(
            r#"{{"type":"inbound","at":"{at}","from":"+1415{:07}","to":"+14155550100","body":"Is my order ready?","message_id":"iso-{id}"}}"#,
            id % 10_000_000
        ));
        let answer = post(
            &mut sender,
            address,
            "/v1/tenants/brightside/events",
            "sms-secret",
            body,
        )
        .await;
        let done = Instant::now();
        match answer {
            Ok(a) if a.status == StatusCode::OK => {
                if done >= measure_from && done < end {
                    let micros = a.took.as_micros().try_into().unwrap_or(u32::MAX);
                    seen.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .latencies
                        .push(micros);
                }
            }
            Ok(a) => note_error(
                seen,
                format!("{}: {}", a.status, String::from_utf8_lossy(&a.body)),
            ),
            Err(e) => {
                note_error(seen, e);
                match connect(address).await {
                    Ok(s) => sender = s,
                    Err(e) => return note_error(seen, e),
                }
            }
        }
    }
}

fn note_error(seen: &Mutex<Seen>, message: String) {
    let mut seen = seen.lock().unwrap_or_else(|e| e.into_inner());
    seen.errors += 1;
    seen.first_error.get_or_insert(message);
}

/// One hostile connection: new conversations as fast as they are answered.
async fn hostile_load(
    connection: usize,
    address: &str,
    stop: &AtomicBool,
    decided: &AtomicU64,
    busy: &AtomicU64,
) {
    let Ok(mut sender) = connect(address).await else {
        return;
    };
    let mut n: u64 = 0;
    while !stop.load(Ordering::Relaxed) {
        let id = n * HOSTILE_CONNECTIONS as u64 + connection as u64;
        n += 1;
        let line = HOSTILE_LINES[(id % HOSTILE_LINES.len() as u64) as usize];
        let body = Bytes::from(format!(
            r#"{{"type":"inbound","at":"2030-03-04T17:00:00Z","from":"+1312{:07}","to":"{line}","body":"The basement is flooding"}}"#,
            id % 10_000_000
        ));
        match post(
            &mut sender,
            address,
            "/v1/tenants/lakeshore_plumbing/events",
            "hostile-secret",
            body,
        )
        .await
        {
            Ok(a) if a.status == StatusCode::TOO_MANY_REQUESTS => {
                busy.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Ok(_) => {
                decided.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => match connect(address).await {
                Ok(s) => sender = s,
                Err(_) => return,
            },
        }
    }
}

//! Sustained durable throughput of the HTTP decision service: how many
//! inbound events per second `POST /v1/tenants/brightside/events` answers
//! with 200, each one on disk (SQLite, fsync, group commit) before its
//! answer, and the latency of each request.
//!
//! ```text
//! cargo bench --bench load
//! LOAD_CONNECTIONS=64 LOAD_SECONDS=10 cargo bench --bench load
//! ```
//!
//! For each connection count (16, 64 and 128 unless `LOAD_CONNECTIONS`
//! names one, or several separated by commas) the bench starts the real
//! `switchboard serve` on a loopback port with the repository's `policies/`
//! and a fresh data folder, then keeps that many keep-alive HTTP/1.1
//! connections busy, one request in flight on each, for a 2 s warm-up and
//! then `LOAD_SECONDS` (default 10) measured seconds. A request counts
//! when its full response arrives inside the measured window; its latency
//! runs from sending the request to having read the whole body.
//!
//! Every event is a new inbound text to Brightside's main line (a shared
//! inbox) with its own message id, from one of 20,000 customers, at a
//! Monday-morning time: a customer's first text opens a conversation and
//! later ones append to it. Any answer but 200, and any transport error,
//! is an error: errors are reported, grouped by message, with whatever the
//! service logged above info level, and make the bench exit with status 1.
//!
//! The client is hyper's low-level HTTP/1 client on one tokio thread, so
//! most of the machine is left to the service; the table shows how many
//! cores each side kept busy, which tells whether the client kept up.

mod service;

use chrono::{DateTime, Duration as Span, SecondsFormat, Utc};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::StatusCode;
use service::{connect, cpu_time, ms, percentile, post, repository, scratch, Server};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TENANT: &str = "brightside";
const TOKEN: &str = "sms-secret";
/// Brightside's main line, a number of its shared inbox.
const MAIN_LINE: &str = "+14155550100";
/// How many different customers text in.
const CUSTOMERS: u64 = 20_000;
/// The first event's time: 09:00 in Los Angeles on a Monday, inside the
/// inbox's hours; each later event is a millisecond after the one before.
const FIRST_AT: &str = "2026-03-02T17:00:00Z";
const WARM_UP: Duration = Duration::from_secs(2);
const DEFAULT_CONNECTIONS: &[usize] = &[16, 64, 128];
const DEFAULT_SECONDS: u64 = 10;
/// How many different error messages are kept apart; the rest are counted
/// together.
const ERROR_KINDS: usize = 20;

fn main() {
    // `cargo bench` passes flags such as --bench; this measurement takes none.
    let (counts, seconds) = match settings() {
        Ok(settings) => settings,
        Err(message) => {
            eprintln!("load: {message}");
            std::process::exit(2);
        }
    };
    println!(
        "POST /v1/tenants/{TENANT}/events, durable; {} s warm-up, {seconds} s measured, {CUSTOMERS} customers",
        WARM_UP.as_secs()
    );
    println!(
        "{:>11} {:>9} {:>7} {:>10} {:>7} {:>7} {:>7} {:>10} {:>10} {:>6}",
        "connections",
        "events",
        "seconds",
        "events/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "server cpu",
        "client cpu",
        "errors"
    );
    let mut troubled = Vec::new();
    for &connections in &counts {
        let report = match measure(connections, Duration::from_secs(seconds)) {
            Ok(report) => report,
            Err(message) => {
                eprintln!("load: {message}");
                std::process::exit(1);
            }
        };
        report.print();
        if report.tally.errors() > 0 || !report.server_log.is_empty() {
            troubled.push(report);
        }
    }
    println!(
        "reproduce: LOAD_CONNECTIONS={} LOAD_SECONDS={seconds} cargo bench --bench load",
        counts
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(",")
    );
    for report in &troubled {
        report.print_problems();
    }
    if troubled.iter().any(|r| r.tally.errors() > 0) {
        std::process::exit(1);
    }
}

/// The connection counts to run and the measured seconds of each run, from
/// `LOAD_CONNECTIONS` and `LOAD_SECONDS`.
fn settings() -> Result<(Vec<usize>, u64), String> {
    let counts = match std::env::var("LOAD_CONNECTIONS") {
        Ok(value) => value
            .split(',')
            .map(|c| match c.trim().parse::<usize>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(format!("LOAD_CONNECTIONS={value}: not a positive number")),
            })
            .collect::<Result<Vec<_>, _>>()?,
        Err(_) => DEFAULT_CONNECTIONS.to_vec(),
    };
    let seconds = match std::env::var("LOAD_SECONDS") {
        Ok(value) => match value.trim().parse::<u64>() {
            Ok(n) if n > 0 => n,
            _ => return Err(format!("LOAD_SECONDS={value}: not a positive number")),
        },
        Err(_) => DEFAULT_SECONDS,
    };
    Ok((counts, seconds))
}

/// What one run does: where to send, and when to count.
struct Plan {
    address: String,
    path: String,
    /// Responses that arrive from here on are counted...
    measure_from: Instant,
    /// ...until here, when connections stop sending.
    end: Instant,
    /// The next event's number, shared by every connection.
    next: AtomicU64,
    first_at: DateTime<Utc>,
}

impl Plan {
    /// The next event: a new message id, one of the customers, a time a
    /// millisecond after the event before.
    fn event(&self) -> Bytes {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        // 7,919 is prime, so consecutive events spread over every customer.
        let customer = 4_156_000_000 + (n * 7_919) % CUSTOMERS;
        let at = (self.first_at + Span::milliseconds(n as i64))
            .to_rfc3339_opts(SecondsFormat::Millis, true);
        Bytes::from(format!(
            r#"{{"type":"inbound","at":"{at}","from":"+1{customer}","to":"{MAIN_LINE}","body":"Hi, is the order ready?","message_id":"load-{n}"}}"#
        ))
    }
}

/// What one connection, or all of them, saw.
#[derive(Default)]
struct Tally {
    /// Latency of each 200 inside the measured window, in microseconds.
    latencies: Vec<u32>,
    /// How many times each error happened, by its message.
    errors: HashMap<String, u64>,
}

impl Tally {
    fn error(&mut self, message: String) {
        self.errors_of(message, 1);
    }

    fn errors_of(&mut self, message: String, count: u64) {
        let key = if self.errors.len() < ERROR_KINDS || self.errors.contains_key(&message) {
            message
        } else {
            "(other errors)".to_string()
        };
        *self.errors.entry(key).or_default() += count;
    }

    fn errors(&self) -> u64 {
        self.errors.values().sum()
    }

    fn merge(&mut self, other: Tally) {
        self.latencies.extend(other.latencies);
        for (message, count) in other.errors {
            self.errors_of(message, count);
        }
    }
}

/// One run's figures.
struct Report {
    connections: usize,
    window: Duration,
    tally: Tally,
    /// Cores kept busy during the run, by the service and by this client.
    server_cores: Option<f64>,
    client_cores: Option<f64>,
    /// What the service logged above info level.
    server_log: Vec<String>,
}

/// Starts a service and measures it with `connections` connections.
fn measure(connections: usize, seconds: Duration) -> Result<Report, String> {
    let server = Server::start(
        &repository("policies"),
        &scratch(&format!("load-{connections}")),
        &format!("{TENANT}={TOKEN}"),
        &[],
    )?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot build the client runtime: {e}"))?;
    let start = Instant::now();
    let plan = Arc::new(Plan {
        address: server.address.clone(),
        path: format!("/v1/tenants/{TENANT}/events"),
        measure_from: start + WARM_UP,
        end: start + WARM_UP + seconds,
        next: AtomicU64::new(0),
        first_at: FIRST_AT.parse().expect("FIRST_AT is RFC 3339"),
    });
    let (tally, (server_cores, client_cores)) = std::thread::scope(|scope| {
        let cpu = scope.spawn(|| cpu_window(&server, &plan));
        let tally = runtime.block_on(run(connections, &plan));
        (tally, cpu.join().unwrap_or_default())
    });
    Ok(Report {
        connections,
        window: seconds,
        tally,
        server_cores,
        client_cores,
        server_log: server.kill(),
    })
}

/// Every connection at once; what they saw, together.
async fn run(connections: usize, plan: &Arc<Plan>) -> Tally {
    let tasks: Vec<_> = (0..connections)
        .map(|_| tokio::spawn(drive(plan.clone())))
        .collect();
    let mut tally = Tally::default();
    for task in tasks {
        match task.await {
            Ok(one) => tally.merge(one),
            Err(e) => tally.error(format!("a connection task failed: {e}")),
        }
    }
    tally
}

/// Cores the service and this process kept busy over the measured window,
/// sampled at its start and end.
fn cpu_window(server: &Server, plan: &Plan) -> (Option<f64>, Option<f64>) {
    let client = || cpu_time("/proc/self/stat");
    std::thread::sleep(plan.measure_from.saturating_duration_since(Instant::now()));
    let before = (server.cpu(), client());
    std::thread::sleep(plan.end.saturating_duration_since(Instant::now()));
    let after = (server.cpu(), client());
    let window = (plan.end - plan.measure_from).as_secs_f64();
    let cores = |b: Option<Duration>, a: Option<Duration>| Some((a? - b?).as_secs_f64() / window);
    (cores(before.0, after.0), cores(before.1, after.1))
}

/// One keep-alive connection, one request in flight, until the plan's end.
/// A transport error is counted and the connection opened again; if it
/// cannot be opened, this connection stops.
async fn drive(plan: Arc<Plan>) -> Tally {
    let mut tally = Tally::default();
    let mut sender = None;
    while Instant::now() < plan.end {
        let open = match sender.take() {
            Some(open) => open,
            None => match connect(&plan.address).await {
                Ok(open) => open,
                Err(e) => {
                    tally.error(format!("connecting to {}: {e}", plan.address));
                    break;
                }
            },
        };
        sender = exchange(&plan, open, &mut tally).await;
    }
    tally
}

/// Sends one event and reads the whole answer, counting it in `tally`.
/// Gives the connection back unless it failed.
async fn exchange(
    plan: &Plan,
    mut sender: SendRequest<Full<Bytes>>,
    tally: &mut Tally,
) -> Option<SendRequest<Full<Bytes>>> {
    let answer = post(&mut sender, &plan.address, &plan.path, TOKEN, plan.event()).await;
    let done = Instant::now();
    match answer {
        Ok(answer) if answer.status == StatusCode::OK => {
            if done >= plan.measure_from && done < plan.end {
                let micros = answer.took.as_micros();
                tally.latencies.push(micros.try_into().unwrap_or(u32::MAX));
            }
            Some(sender)
        }
        Ok(answer) => {
            let body = String::from_utf8_lossy(&answer.body);
            tally.error(format!("{}: {body}", answer.status));
            Some(sender)
        }
        Err(message) => {
            tally.error(message);
            None
        }
    }
}

impl Report {
    fn print(&self) {
        let mut latencies = self.tally.latencies.clone();
        latencies.sort_unstable();
        let events = latencies.len();
        let seconds = self.window.as_secs_f64();
        let cores = |c: Option<f64>| c.map_or("-".to_string(), |c| format!("{c:.2}"));
        println!(
            "{:>11} {:>9} {:>7.2} {:>10.0} {:>7} {:>7} {:>7} {:>10} {:>10} {:>6}",
            self.connections,
            events,
            seconds,
            events as f64 / seconds,
            ms(percentile(&latencies, 0.50)),
            ms(percentile(&latencies, 0.99)),
            ms(latencies.last()),
            cores(self.server_cores),
            cores(self.client_cores),
            self.tally.errors(),
        );
    }

    /// Each kind of failed request, the most frequent first, and what the
    /// service logged above info level.
    fn print_problems(&self) {
        let connections = self.connections;
        if self.tally.errors() > 0 {
            eprintln!(
                "load: {} requests failed with {connections} connections:",
                self.tally.errors()
            );
        }
        let mut kinds: Vec<_> = self.tally.errors.iter().collect();
        kinds.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        for (message, count) in kinds {
            eprintln!("  {count:>8} × {message}");
        }
        if !self.server_log.is_empty() {
            eprintln!("load: the service logged, with {connections} connections:");
            for line in &self.server_log {
                eprintln!("  {line}");
            }
        }
    }
}

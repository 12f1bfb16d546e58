//! Sustained durable throughput of the HTTP decision service: how many
//! inbound events per second `POST /v1/tenants/{tenant}/events` answers
//! with 200, each one durable in the store before its answer, and the
//! latency of each request.
//!
//! ```text
//! cargo bench --bench load
//! LOAD_CONNECTIONS=64 LOAD_SECONDS=10 cargo bench --bench load
//! LOAD_TENANTS=12 LOAD_NODES=3 LOAD_POSTGRES=postgres://root@127.0.0.1:5432/test \
//!   LOAD_CONNECTIONS=64 cargo bench --bench load
//! ```
//!
//! For each connection count (16, 64 and 128 unless `LOAD_CONNECTIONS`
//! names one, or several separated by commas) the bench starts the real
//! `switchboard serve` on a loopback port with a fresh data folder, then
//! keeps that many keep-alive HTTP/1.1 connections busy, one request in
//! flight on each, for a 2 s warm-up and then `LOAD_SECONDS` (default 10)
//! measured seconds. A request counts when its full response arrives inside
//! the measured window; its latency runs from sending the request to having
//! read the whole body.
//!
//! The store is SQLite (fsync, group commit) unless `LOAD_POSTGRES` names a
//! PostgreSQL server: then each run gets a schema of its own there, dropped
//! after it. `LOAD_NODES` (default 1; more than one needs `LOAD_POSTGRES`)
//! starts that many nodes on the one store, with `--lease-time 2s`, waits
//! until every tenant's lease has stayed put for two lease times, and
//! spreads the connections over the nodes in turn, as a load balancer
//! would: a request that reaches a node which does not decide its tenant is
//! forwarded to the one that does.
//!
//! With `LOAD_TENANTS` unset the load is Brightside's, on the repository's
//! `policies/`. `LOAD_TENANTS=N` serves N copies of Brightside's policy
//! (tenants `shop1`…`shopN`, each with a token of its own) and sends the
//! events to them in turn. Every event is a new inbound text to the
//! tenant's shared main line with its own message id, from one of 20,000
//! customers, at a Monday-morning time: a customer's first text opens a
//! conversation and later ones append to it. Any answer but 200, and any
//! transport error, is an error: errors are reported, grouped by message,
//! with whatever the service logged above info level, and make the bench
//! exit with status 1.
//!
//! The client is hyper's low-level HTTP/1 client on one tokio thread, so
//! most of the machine is left to the service; the table shows how many
//! cores the nodes (together) and the client kept busy, which tells whether
//! the client kept up. PostgreSQL's own CPU is not in it.

mod service;

use chrono::{DateTime, Duration as Span, SecondsFormat, Utc};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::StatusCode;
use service::{
    brightside_copies, connect, cpu_time, ms, percentile, post, repository, scratch, Schema, Server,
};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The tenant loaded with `LOAD_TENANTS` unset, and its token.
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
/// The lease time of nodes on a shared store.
const LEASE: Duration = Duration::from_secs(2);
const DEFAULT_CONNECTIONS: &[usize] = &[16, 64, 128];
const DEFAULT_SECONDS: u64 = 10;
/// How many different error messages are kept apart; the rest are counted
/// together.
const ERROR_KINDS: usize = 20;

fn main() {
    // `cargo bench` passes flags such as --bench; this measurement takes none.
    let settings = match Settings::read() {
        Ok(settings) => settings,
        Err(message) => {
            eprintln!("load: {message}");
            std::process::exit(2);
        }
    };
    let load = match Load::prepare(settings.tenants) {
        Ok(load) => load,
        Err(message) => {
            eprintln!("load: {message}");
            std::process::exit(2);
        }
    };
    println!(
        "POST /v1/tenants/{{tenant}}/events, durable on {}, {} node{}, {} tenant{}; {} s warm-up, {} s measured, {CUSTOMERS} customers",
        if settings.postgres.is_some() { "PostgreSQL" } else { "SQLite" },
        settings.nodes,
        if settings.nodes == 1 { "" } else { "s" },
        load.tenants.len(),
        if load.tenants.len() == 1 { "" } else { "s" },
        WARM_UP.as_secs(),
        settings.seconds,
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
    for &connections in &settings.counts {
        let report = match measure(&settings, &load, connections) {
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
    println!("reproduce: {}", settings.command());
    for report in &troubled {
        report.print_problems();
    }
    if troubled.iter().any(|r| r.tally.errors() > 0) {
        std::process::exit(1);
    }
}

/// What the environment asks for.
struct Settings {
    /// The connection counts to run, one run each.
    counts: Vec<usize>,
    /// The measured seconds of each run.
    seconds: u64,
    /// How many nodes serve.
    nodes: usize,
    /// How many copies of Brightside's policy; `None` for the repository's
    /// policies, loaded on Brightside.
    tenants: Option<usize>,
    /// The PostgreSQL server each run gets a schema on, if not SQLite.
    postgres: Option<String>,
    /// Each node is sent only the tenants it decides.
    direct: bool,
}

impl Settings {
    fn read() -> Result<Settings, String> {
        let positive = |name: &str| -> Result<Option<usize>, String> {
            match std::env::var(name) {
                Ok(value) => match value.trim().parse::<usize>() {
                    Ok(n) if n > 0 => Ok(Some(n)),
                    _ => Err(format!("{name}={value}: not a positive number")),
                },
                Err(_) => Ok(None),
            }
        };
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
        let seconds = positive("LOAD_SECONDS")?.unwrap_or(DEFAULT_SECONDS as usize) as u64;
        let nodes = positive("LOAD_NODES")?.unwrap_or(1);
        let postgres = std::env::var("LOAD_POSTGRES")
            .ok()
            .filter(|v| !v.is_empty());
        if nodes > 1 && postgres.is_none() {
            return Err(format!(
                "LOAD_NODES={nodes} needs a shared store: set LOAD_POSTGRES=postgres://..."
            ));
        }
        if std::env::var_os("SWITCHBOARD_STORE").is_some() {
            return Err(
                "SWITCHBOARD_STORE is set: the bench picks each run's store itself \
                 (LOAD_POSTGRES names a PostgreSQL server); unset it"
                    .into(),
            );
        }
        Ok(Settings {
            counts,
            seconds,
            nodes,
            tenants: positive("LOAD_TENANTS")?,
            postgres,
            direct: std::env::var("LOAD_DIRECT").is_ok_and(|v| v == "1"),
        })
    }

    /// The command that repeats these runs.
    fn command(&self) -> String {
        let mut command = String::new();
        if let Some(tenants) = self.tenants {
            command += &format!("LOAD_TENANTS={tenants} ");
        }
        if self.nodes > 1 {
            command += &format!("LOAD_NODES={} ", self.nodes);
        }
        if self.direct {
            command += "LOAD_DIRECT=1 ";
        }
        if let Some(postgres) = &self.postgres {
            command += &format!("LOAD_POSTGRES={postgres} ");
        }
        let counts: Vec<String> = self.counts.iter().map(usize::to_string).collect();
        command
            + &format!(
                "LOAD_CONNECTIONS={} LOAD_SECONDS={} cargo bench --bench load",
                counts.join(","),
                self.seconds
            )
    }
}

/// The policies served and the tenants loaded, with their tokens.
struct Load {
    policies: PathBuf,
    tenants: Vec<(String, String)>,
}

impl Load {
    fn prepare(copies: Option<usize>) -> Result<Load, String> {
        let Some(copies) = copies else {
            return Ok(Load {
                policies: repository("policies"),
                tenants: vec![(TENANT.to_string(), TOKEN.to_string())],
            });
        };
        let policies = brightside_copies(copies, "load-policies")?;
        let tenants = (1..=copies)
            .map(|n| (format!("shop{n}"), format!("token-{n}")))
            .collect();
        Ok(Load { policies, tenants })
    }

    fn tokens(&self) -> String {
        self.tenants
            .iter()
            .map(|(tenant, token)| format!("{tenant}={token}"))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// What one run does: where to send, and when to count.
struct Plan {
    /// Each node's `host:port`; connection i sends to node i mod n.
    addresses: Vec<String>,
    /// Each tenant's events path and token.
    tenants: Vec<(String, String)>,
    /// The tenants each node is sent, in turn.
    routes: Vec<Vec<usize>>,
    /// Responses that arrive from here on are counted...
    measure_from: Instant,
    /// ...until here, when connections stop sending.
    end: Instant,
    /// The next event's number, shared by every connection.
    next: AtomicU64,
    first_at: DateTime<Utc>,
}

impl Plan {
    /// The next event: its tenant's path and token, and the event (a new
    /// message id, one of the customers, a time a millisecond after the
    /// event before).
    fn event(&self, node: usize) -> (&str, &str, Bytes) {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        // 7,919 is prime, so consecutive events spread over every customer.
        let customer = 4_156_000_000 + (n * 7_919) % CUSTOMERS;
        let at = (self.first_at + Span::milliseconds(n as i64))
            .to_rfc3339_opts(SecondsFormat::Millis, true);
        let route = &self.routes[node];
        let (path, token) = &self.tenants[route[n as usize % route.len()]];
        let event = Bytes::from(format!(
            r#"{{"type":"inbound","at":"{at}","from":"+1{customer}","to":"{MAIN_LINE}","body":"Hi, is the order ready?","message_id":"load-{n}"}}"#
        ));
        (path, token, event)
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

/// Starts the nodes and measures them with `connections` connections.
fn measure(settings: &Settings, load: &Load, connections: usize) -> Result<Report, String> {
    let schema = match &settings.postgres {
        Some(server) => Some(Schema::create(server, &format!("load_{connections}"))?),
        None => None,
    };
    let lease = format!("{}s", LEASE.as_secs());
    let mut nodes = Vec::new();
    for n in 1..=settings.nodes {
        let name = format!("n{n}");
        let mut args = Vec::new();
        if let Some(schema) = &schema {
            args = vec!["--store", schema.url.as_str(), "--node", name.as_str()];
            args.extend(["--lease-time", lease.as_str()]);
        }
        nodes.push(Server::start(
            &load.policies,
            &scratch(&format!("load-{connections}-{name}")),
            &load.tokens(),
            &args,
        )?);
    }
    // Which tenants each node's connections send: all of them, or with
    // LOAD_DIRECT each node's own (a client that knows the owners).
    let all: Vec<usize> = (0..load.tenants.len()).collect();
    let mut routes = vec![all.clone(); nodes.len()];
    if let Some(schema) = &schema {
        let owners = schema.settled(load.tenants.len(), LEASE)?;
        if settings.direct {
            for (n, route) in routes.iter_mut().enumerate() {
                let node = format!("n{}", n + 1);
                let own: Vec<usize> = (0..load.tenants.len())
                    .filter(|&t| {
                        owners
                            .iter()
                            .any(|(tenant, owner)| *tenant == load.tenants[t].0 && *owner == node)
                    })
                    .collect();
                if !own.is_empty() {
                    *route = own;
                }
            }
        }
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot build the client runtime: {e}"))?;
    let start = Instant::now();
    let plan = Arc::new(Plan {
        addresses: nodes.iter().map(|n| n.address.clone()).collect(),
        routes,
        tenants: load
            .tenants
            .iter()
            .map(|(tenant, token)| (format!("/v1/tenants/{tenant}/events"), token.clone()))
            .collect(),
        measure_from: start + WARM_UP,
        end: start + WARM_UP + Duration::from_secs(settings.seconds),
        next: AtomicU64::new(0),
        first_at: FIRST_AT.parse().expect("FIRST_AT is RFC 3339"),
    });
    let (tally, (server_cores, client_cores)) = std::thread::scope(|scope| {
        let cpu = scope.spawn(|| cpu_window(&nodes, &plan));
        let tally = runtime.block_on(run(connections, &plan));
        (tally, cpu.join().unwrap_or_default())
    });
    let server_log = nodes.into_iter().flat_map(Server::kill).collect();
    if let Some(schema) = schema {
        schema.drop()?;
    }
    Ok(Report {
        connections,
        window: Duration::from_secs(settings.seconds),
        tally,
        server_cores,
        client_cores,
        server_log,
    })
}

/// Every connection at once; what they saw, together.
async fn run(connections: usize, plan: &Arc<Plan>) -> Tally {
    let tasks: Vec<_> = (0..connections)
        .map(|i| tokio::spawn(drive(plan.clone(), i % plan.addresses.len())))
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

/// Cores the nodes (together) and this process kept busy over the measured
/// window, sampled at its start and end.
fn cpu_window(nodes: &[Server], plan: &Plan) -> (Option<f64>, Option<f64>) {
    let client = || cpu_time("/proc/self/stat");
    let servers = || nodes.iter().map(Server::cpu).sum::<Option<Duration>>();
    std::thread::sleep(plan.measure_from.saturating_duration_since(Instant::now()));
    let before = (servers(), client());
    std::thread::sleep(plan.end.saturating_duration_since(Instant::now()));
    let after = (servers(), client());
    let window = (plan.end - plan.measure_from).as_secs_f64();
    let cores = |b: Option<Duration>, a: Option<Duration>| Some((a? - b?).as_secs_f64() / window);
    (cores(before.0, after.0), cores(before.1, after.1))
}

/// One keep-alive connection, one request in flight, until the plan's end.
/// A transport error is counted and the connection opened again; if it
/// cannot be opened, this connection stops.
async fn drive(plan: Arc<Plan>, node: usize) -> Tally {
    let mut tally = Tally::default();
    let mut sender = None;
    let address = &plan.addresses[node];
    while Instant::now() < plan.end {
        let open = match sender.take() {
            Some(open) => open,
            None => match connect(address).await {
                Ok(open) => open,
                Err(e) => {
                    tally.error(format!("connecting to {address}: {e}"));
                    break;
                }
            },
        };
        sender = exchange(&plan, node, open, &mut tally).await;
    }
    tally
}

/// Sends one event and reads the whole answer, counting it in `tally`.
/// Gives the connection back unless it failed.
async fn exchange(
    plan: &Plan,
    node: usize,
    mut sender: SendRequest<Full<Bytes>>,
    tally: &mut Tally,
) -> Option<SendRequest<Full<Bytes>>> {
    let (path, token, event) = plan.event(node);
    let answer = post(&mut sender, &plan.addresses[node], path, token, event).await;
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

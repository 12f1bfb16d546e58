//! How long a tenant goes unanswered when the node deciding it dies, or
//! stops: three real `switchboard serve` nodes on one PostgreSQL schema,
//! and the owner of one tenant killed (SIGKILL) or stopped (SIGTERM, as for
//! an upgrade) again and again, in turn.
//!
//! ```text
//! cargo bench --bench failover
//! FAILOVER_LEASE=2s FAILOVER_KILLS=5 cargo bench --bench failover
//! ```
//!
//! `LOAD_POSTGRES` names the server (default
//! `postgres://root@127.0.0.1:5432/test`); the bench makes a schema of its
//! own there and drops it after. The nodes serve six copies of
//! Brightside's policy with `--lease-time FAILOVER_LEASE` (default 5s, the
//! service's default). There are `FAILOVER_KILLS` rounds (default 5) of
//! each signal. Each round waits until the leases have stayed put for two
//! lease times, signals the node holding the watched tenant's lease, and
//! measures from the signal:
//!
//! - **lease moved**: until another node holds the lease (read from the
//!   `leases` table every 20 ms);
//! - **answered again**: until the first event for the tenant sent after
//!   the signal is acknowledged, through any live node (a client retries a
//!   refused connection or a 503 after 20 ms, as one honouring
//!   `Retry-After` but faster).
//!
//! The node is started again before the next round, so every round starts
//! with three nodes.

mod service;

use serde_json::json;
use service::{brightside_copies, scratch, Schema, Server};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TENANTS: usize = 6;
const WATCHED: &str = "shop1";

fn main() {
    if let Err(message) = run() {
        eprintln!("failover: {message}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let lease = std::env::var("FAILOVER_LEASE").unwrap_or_else(|_| "5s".into());
    let lease_time = parse_seconds(&lease)?;
    let kills: usize = match std::env::var("FAILOVER_KILLS") {
        Ok(v) => v
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .ok_or(format!("FAILOVER_KILLS={v}: not a positive number"))?,
        Err(_) => 5,
    };
    let server = std::env::var("LOAD_POSTGRES")
        .unwrap_or_else(|_| "postgres://root@127.0.0.1:5432/test".into());
    let policies = brightside_copies(TENANTS, "failover-policies")?;
    let tokens: String = (1..=TENANTS)
        .map(|n| format!("shop{n}=token-{n}"))
        .collect::<Vec<_>>()
        .join(",");
    let schema = Schema::create(&server, "failover")?;
    let start = |n: usize| {
        let name = format!("n{n}");
        let args = [
            "--store",
            schema.url.as_str(),
            "--node",
            name.as_str(),
            "--lease-time",
            lease.as_str(),
        ];
        Server::start(
            &policies,
            &scratch(&format!("failover-{name}")),
            &tokens,
            &args,
        )
    };
    let mut nodes: Vec<Option<Server>> = Vec::new();
    for n in 1..=3 {
        nodes.push(Some(start(n)?));
    }
    let addresses: Arc<Mutex<Vec<Option<String>>>> = Arc::new(Mutex::new(
        nodes
            .iter()
            .map(|n| n.as_ref().map(|n| n.address.clone()))
            .collect(),
    ));

    println!(
        "three nodes, {TENANTS} tenants, --lease-time {lease}; the owner of {WATCHED} \
         killed {kills} times and stopped {kills} times, in turn"
    );
    println!(
        "{:>5} {:>8} {:>6} {:>14} {:>16}",
        "round", "signal", "node", "lease moved", "answered again"
    );
    let mut moved: [Vec<Duration>; 2] = Default::default();
    let mut answered: [Vec<Duration>; 2] = Default::default();
    for round in 1..=2 * kills {
        // Odd rounds kill, even ones stop cleanly.
        let stop = round % 2 == 0;
        schema.settled(TENANTS, lease_time)?;
        let owner = owner_of(&schema)?.ok_or("no node holds the watched tenant")?;
        let victim: usize = owner
            .0
            .trim_start_matches('n')
            .parse::<usize>()
            .map_err(|e| format!("node {}: {e}", owner.0))?
            - 1;
        addresses.lock().unwrap()[victim] = None;
        let killed = Instant::now();
        // A clean stop takes a moment (snapshots, releasing the leases),
        // which is part of what is measured.
        let stopping = nodes[victim].take().map(|server| {
            std::thread::spawn(move || if stop { server.stop() } else { server.kill() })
        });
        // The client: an event for the watched tenant, sent after the
        // signal, until a node acknowledges it.
        let done = Arc::new(AtomicBool::new(false));
        let client = {
            let (addresses, done) = (addresses.clone(), done.clone());
            std::thread::spawn(move || acknowledged(&addresses, round, &done))
        };
        let lease_moved = loop {
            if let Some((node, epoch)) = owner_of(&schema)? {
                if node != owner.0 && epoch > owner.1 {
                    break killed.elapsed();
                }
            }
            if killed.elapsed() > Duration::from_secs(60) {
                done.store(true, Ordering::Relaxed);
                return Err("the lease did not move in 60 s".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let answer = client.join().map_err(|_| "the client panicked")??;
        let answered_again = answer.duration_since(killed);
        println!(
            "{round:>5} {:>8} {:>6} {:>12.2} s {:>14.2} s",
            if stop { "SIGTERM" } else { "SIGKILL" },
            owner.0,
            lease_moved.as_secs_f64(),
            answered_again.as_secs_f64()
        );
        moved[usize::from(stop)].push(lease_moved);
        answered[usize::from(stop)].push(answered_again);
        // Gone before its data folder is used again.
        if let Some(stopping) = stopping {
            let _ = stopping.join();
        }
        let server = start(victim + 1)?;
        addresses.lock().unwrap()[victim] = Some(server.address.clone());
        nodes[victim] = Some(server);
    }
    let summary = |name: &str, mut spans: Vec<Duration>| {
        spans.sort();
        println!(
            "{name}: min {:.2} s, median {:.2} s, max {:.2} s",
            spans[0].as_secs_f64(),
            spans[spans.len() / 2].as_secs_f64(),
            spans[spans.len() - 1].as_secs_f64()
        );
    };
    let [killed_moved, stopped_moved] = moved;
    let [killed_answered, stopped_answered] = answered;
    summary("SIGKILL, lease moved", killed_moved);
    summary("SIGKILL, answered again", killed_answered);
    summary("SIGTERM, lease moved", stopped_moved);
    summary("SIGTERM, answered again", stopped_answered);
    println!(
        "reproduce: FAILOVER_LEASE={lease} FAILOVER_KILLS={kills} cargo bench --bench failover"
    );
    drop(nodes);
    schema.drop()
}

/// Sends one event for the watched tenant through the live nodes in turn
/// until one acknowledges it; when it was acknowledged.
fn acknowledged(
    addresses: &Mutex<Vec<Option<String>>>,
    round: usize,
    done: &AtomicBool,
) -> Result<Instant, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let body = json!({
        "type": "inbound", "at": "2026-03-02T17:00:00Z", "from": "+14155551234",
        "to": "+14155550100", "body": "Anyone there?", "message_id": format!("failover-{round}"),
    })
    .to_string();
    for attempt in 0.. {
        if done.load(Ordering::Relaxed) {
            return Err("given up".into());
        }
        let address = {
            let addresses = addresses.lock().unwrap();
            addresses[attempt % addresses.len()].clone()
        };
        if let Some(address) = address {
            let url = format!("http://{address}/v1/tenants/{WATCHED}/events");
            let answer = agent
                .post(&url)
                .header("authorization", "Bearer token-1")
                .header("content-type", "application/json")
                .send(body.as_str());
            match answer {
                Ok(response) if response.status() == 200 => return Ok(Instant::now()),
                Ok(response) if response.status() == 503 => {}
                Ok(response) => return Err(format!("{url}: {}", response.status())),
                Err(_) => {}
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    unreachable!()
}

/// The node holding the watched tenant's live lease, and its epoch.
fn owner_of(schema: &Schema) -> Result<Option<(String, i64)>, String> {
    let rows = schema.rows(&format!(
        "SELECT node, epoch FROM leases WHERE tenant = '{WATCHED}' AND expires_at > now()"
    ))?;
    Ok(rows
        .into_iter()
        .next()
        .map(|row| (row[0].clone(), row[1].parse().unwrap_or(0))))
}

fn parse_seconds(span: &str) -> Result<Duration, String> {
    span.strip_suffix('s')
        .and_then(|n| n.parse::<u64>().ok())
        .filter(|n| *n > 0)
        .map(Duration::from_secs)
        .ok_or(format!("FAILOVER_LEASE={span}: whole seconds, such as 5s"))
}

//! A soak of the real service: a million conversations opened and closed,
//! with the service's memory, its data folder and its recovery time
//! watched, and a SIGKILL after the first 100,000 events and at the end.
//!
//! ```text
//! cargo bench --bench soak
//! SOAK_CONVERSATIONS=200000 cargo bench --bench soak
//! ```
//!
//! The service serves `brightside` (policies/team-sms) with
//! `--retention 0s --snapshot-every 10000 --decision-log-mib 16
//! --decision-log-keep 2`: events, idempotency keys and archived
//! conversations are kept only until a snapshot covers them. 32 keep-alive
//! connections each text in from a new customer (which opens a
//! conversation) and then close it as agent `ana`, two durable events per
//! conversation, `SOAK_CONVERSATIONS` (default 1,000,000) in all.
//!
//! After the first 100,000 events the service is killed (SIGKILL) and
//! started again on the same data: the time to its first line is its
//! recovery. At 100,000 conversations and at every further 100,000 the
//! bench prints the service's resident memory and its data folder's size;
//! at the end it kills and restarts it once more. Every answer must be
//! 200; anything else makes the bench exit 1.

mod service;

use chrono::{DateTime, Duration as Span, SecondsFormat, Utc};
use hyper::body::Bytes;
use hyper::StatusCode;
use service::{connect, folder_size, post, repository, scratch, Server};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

const TOKEN: &str = "sms-secret";
const CONNECTIONS: u64 = 32;
const ARGS: [&str; 10] = [
    "--retention",
    "0s",
    "--snapshot-every",
    "10000",
    "--decision-log-mib",
    "16",
    "--decision-log-keep",
    "2",
    "--reload-every",
    "off",
];
const REPORT_EVERY: u64 = 100_000;

fn main() {
    let total = match std::env::var("SOAK_CONVERSATIONS") {
        Ok(v) => v
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|n| *n >= 2 * REPORT_EVERY),
        Err(_) => Some(1_000_000),
    };
    let Some(total) = total else {
        fail("SOAK_CONVERSATIONS is a number of at least 200000");
    };
    if let Err(e) = soak(total) {
        fail(&e);
    }
}

fn fail(message: &str) -> ! {
    eprintln!("soak: {message}");
    std::process::exit(1);
}

fn start(data: &Path) -> Result<Server, String> {
    let server = Server::start(
        &repository("policies/team-sms"),
        data,
        &format!("brightside={TOKEN}"),
        &ARGS,
    )?;
    Ok(server.keep_data())
}

fn mib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / (1 << 20) as f64)
}

fn soak(total: u64) -> Result<(), String> {
    let data: PathBuf = scratch("soak");
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    println!("{total} conversations opened and closed; each is two durable events");
    println!(
        "{:>13} {:>9} {:>10} {:>12} {:>10}",
        "conversations", "events", "rss MiB", "data MiB", "events/s"
    );

    // The first 100,000 events, then a kill and a restart.
    let mut server = start(&data)?;
    let first_start = server.started_in;
    drive(&tokio, &server, &next, REPORT_EVERY / 2)?;
    server.kill();
    let server_again = start(&data)?;
    let recovery_early = server_again.started_in;
    server = server_again;

    let mut rss_at_first = None;
    let mut largest_data = 0;
    let mut done = REPORT_EVERY / 2;
    let mut lap = Instant::now();
    let mut lap_from = done;
    while done < total {
        let to = (done + REPORT_EVERY / 2).min(total);
        drive(&tokio, &server, &next, to)?;
        done = to;
        largest_data = largest_data.max(folder_size(&data));
        if done.is_multiple_of(REPORT_EVERY) || done == total {
            let rss = server.resident().unwrap_or(0);
            if done == REPORT_EVERY {
                rss_at_first = Some(rss);
            }
            let rate = 2.0 * (done - lap_from) as f64 / lap.elapsed().as_secs_f64();
            println!(
                "{:>13} {:>9} {:>10} {:>12} {:>10.0}",
                done,
                2 * done,
                mib(rss),
                mib(folder_size(&data)),
                rate
            );
            lap = Instant::now();
            lap_from = done;
        }
    }
    let rss_at_end = server.resident().unwrap_or(0);
    let log = server.kill();
    let server = start(&data)?;
    let recovery_end = server.started_in;
    let open = open_conversations(&tokio, &server)?;
    let log_after = server.kill();
    let _ = std::fs::remove_dir_all(&data);

    let rss_at_first = rss_at_first.unwrap_or(0);
    println!(
        "resident memory: {} MiB at {REPORT_EVERY} conversations, {} MiB at {total}: {:+.1} MiB",
        mib(rss_at_first),
        mib(rss_at_end),
        (rss_at_end as f64 - rss_at_first as f64) / (1 << 20) as f64
    );
    println!("largest data folder: {} MiB", mib(largest_data));
    println!(
        "start on a fresh folder: {:.0} ms; after a SIGKILL at {} events: {:.0} ms; at {} events: {:.0} ms",
        first_start.as_secs_f64() * 1000.0,
        REPORT_EVERY,
        recovery_early.as_secs_f64() * 1000.0,
        2 * total,
        recovery_end.as_secs_f64() * 1000.0
    );
    println!("open conversations after the last restart: {open} (every one was closed)");
    println!(
        "took {:.0} s; reproduce: SOAK_CONVERSATIONS={total} cargo bench --bench soak",
        started.elapsed().as_secs_f64()
    );
    for line in log.iter().chain(&log_after) {
        eprintln!("  service: {line}");
    }
    if open != 0 {
        return Err(format!("{open} conversations are open after the soak"));
    }
    Ok(())
}

/// Opens and closes conversations until `next` reaches `to`.
fn drive(
    tokio: &tokio::runtime::Runtime,
    server: &Server,
    next: &Arc<AtomicU64>,
    to: u64,
) -> Result<(), String> {
    let first_at: DateTime<Utc> = "2030-03-04T17:00:00Z".parse().map_err(|_| "a bad time")?;
    tokio.block_on(async {
        let tasks: Vec<_> = (0..CONNECTIONS)
            .map(|_| {
                let (address, next) = (server.address.clone(), next.clone());
                tokio::spawn(async move { converse(&address, &next, to, first_at).await })
            })
            .collect();
        for task in tasks {
            task.await.map_err(|e| e.to_string())??;
        }
        Ok(())
    })
}

/// One connection: a customer texts, agent ana closes the conversation.
async fn converse(
    address: &str,
    next: &AtomicU64,
    to: u64,
    first_at: DateTime<Utc>,
) -> Result<(), String> {
    let mut sender = connect(address).await?;
    let path = "/v1/tenants/brightside/events";
    loop {
        let n = next.fetch_add(1, Ordering::Relaxed);
        if n >= to {
            // Give the number back for the next lap.
            next.fetch_sub(1, Ordering::Relaxed);
            return Ok(());
        }
        let at = |ms: u64| {
            (first_at + Span::milliseconds(ms as i64)).to_rfc3339_opts(SecondsFormat::Millis, true)
        };
        let inbound = Bytes::from(format!(
            r#"{{"type":"inbound","at":"{}","from":"+1{}","to":"+14155550100","body":"Where is my order?","message_id":"soak-{n}"}}"#,
            at(2 * n),
            4_150_000_000 + n
        ));
        let answer = post(&mut sender, address, path, TOKEN, inbound).await?;
        let decision = ok(&answer.status, &answer.body)?;
        let conversation = decision["conversation"]
            .as_str()
            .ok_or("an inbound decision without a conversation")?
            .to_string();
        let close = Bytes::from(format!(
            r#"{{"type":"close","at":"{}","agent":"ana","conversation":"{conversation}","action_id":"soak-close-{n}"}}"#,
            at(2 * n + 1)
        ));
        let answer = post(&mut sender, address, path, TOKEN, close).await?;
        let decision = ok(&answer.status, &answer.body)?;
        if decision["outcome"] != "allowed" {
            return Err(format!("closing {conversation}: {decision}"));
        }
    }
}

fn ok(status: &StatusCode, body: &Bytes) -> Result<serde_json::Value, String> {
    if *status != StatusCode::OK {
        return Err(format!("{status}: {}", String::from_utf8_lossy(body)));
    }
    serde_json::from_slice(body).map_err(|e| e.to_string())
}

/// How many conversations the tenant has open, from /metrics.
fn open_conversations(tokio: &tokio::runtime::Runtime, server: &Server) -> Result<u64, String> {
    tokio.block_on(async {
        let stream = tokio::net::TcpStream::connect(&server.address)
            .await
            .map_err(|e| e.to_string())?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|e| e.to_string())?;
        tokio::spawn(connection);
        let request = hyper::Request::get("/metrics")
            .header(hyper::header::HOST, server.address.as_str())
            .body(http_body_util::Full::new(Bytes::new()))
            .map_err(|e| e.to_string())?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?;
        use http_body_util::BodyExt;
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        let text = String::from_utf8_lossy(&body);
        text.lines()
            .find(|l| l.starts_with("switchboard_open_conversations{tenant=\"brightside\"}"))
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
            .ok_or_else(|| "no switchboard_open_conversations in /metrics".to_string())
    })
}

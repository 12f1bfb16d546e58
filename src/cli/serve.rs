//! `switchboard serve`: the decision service.

use super::exit;
use std::path::PathBuf;
use std::time::Duration;
use switchboard::runtime::log::Rotation;
use switchboard::runtime::{self, Runtime};
use switchboard::server::twilio::AuthTokens;
use switchboard::server::{self as http, Tokens};

#[derive(clap::Args)]
pub struct Args {
    /// A policy file, or a folder of them (a folder per tenant).
    #[arg(long, default_value = "policies")]
    policies: PathBuf,
    /// Where the database and the decision log are kept.
    #[arg(long, default_value = "data")]
    data: PathBuf,
    /// Keep state in PostgreSQL instead of SQLite in the data folder:
    /// `postgres://user@host:port/database` [env: SWITCHBOARD_STORE]
    #[arg(long)]
    store: Option<String>,
    /// With a shared store: this node's name among the nodes, one per
    /// process [default: the advertised host:port]
    #[arg(long)]
    node: Option<String>,
    /// With a shared store: where the other nodes reach this one
    /// (`http://10.0.0.5:8080`) [default: http://LISTEN]
    #[arg(long)]
    advertise: Option<String>,
    /// With a shared store: how long a tenant's lease runs unrenewed; a
    /// node that dies loses its tenants to the others after this long.
    #[arg(long, default_value = "5s", value_parser = span)]
    lease_time: Duration,
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// A file of `TENANT SHA256-HEX` API token hashes.
    #[arg(long)]
    tokens: Option<PathBuf>,
    /// A file of `TENANT AUTH_TOKEN` Twilio auth tokens.
    #[arg(long)]
    twilio_tokens: Option<PathBuf>,
    /// The address Twilio is given for the webhook (`https://sms.example.com`),
    /// when the service is behind a proxy; by default the request's Host.
    #[arg(long)]
    public_url: Option<String>,
    /// Where decision log lines go: a file, `-` for stdout, or `off`
    /// [default: DATA/decisions.jsonl]
    #[arg(long)]
    decision_log: Option<PathBuf>,
    /// How often policy files are looked at for changes (`500ms`, `2s`),
    /// or `off`.
    #[arg(long, default_value = "1s", value_parser = interval)]
    reload_every: Interval,
    /// Serve `/metrics` on this address instead of the main one (it names
    /// every tenant and takes no token), e.g. `127.0.0.1:9090`.
    #[arg(long)]
    metrics_listen: Option<String>,
    /// How long events, their idempotency keys and archived conversations
    /// are kept once a snapshot covers them (`30m`, `7d`).
    #[arg(long, default_value = "7d", value_parser = span)]
    retention: Duration,
    /// A snapshot after this many events...
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    snapshot_every: u64,
    /// ...or after this long, if any event came since the last.
    #[arg(long, default_value = "5m", value_parser = span)]
    snapshot_interval: Duration,
    /// How many events may wait for one tenant before more are answered 429.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    mailbox: u64,
    /// How many decisions a tenant's live stream (`GET .../stream`) holds
    /// for a listener that falls behind; one further behind skips ahead
    /// and is told how many it missed.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    stream_buffer: u64,
    /// A decision log file past this many MiB is rotated.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..))]
    decision_log_mib: u64,
    /// How many rotated decision log files are kept.
    #[arg(long, default_value_t = 4)]
    decision_log_keep: usize,
}

/// A span of time such as `30s`, `15m`, `7d` (`0s` for no retention).
fn span(text: &str) -> Result<Duration, String> {
    switchboard::vocab::parse_duration(text)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("`{text}` is not a time like `30s`, `15m` or `7d`"))
}

#[derive(Clone, Copy)]
struct Interval(Option<Duration>);

fn interval(text: &str) -> Result<Interval, String> {
    if text == "off" {
        return Ok(Interval(None));
    }
    let (number, unit) = match text.strip_suffix("ms") {
        Some(n) => (n, 1),
        None => (
            text.strip_suffix('s')
                .ok_or("give a time like `500ms` or `2s`, or `off`")?,
            1000,
        ),
    };
    let millis: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a time like `500ms` or `2s`"))?;
    match millis * unit {
        0 => Err("the interval must be more than zero; `off` turns reloading off".into()),
        ms => Ok(Interval(Some(Duration::from_millis(ms)))),
    }
}

fn read<T>(path: &PathBuf, parse: impl Fn(&str) -> Result<T, String>) -> Result<T, String> {
    std::fs::read_to_string(path)
        .map_err(|e| e.to_string())
        .and_then(|text| parse(&text))
        .map_err(|e| format!("{}: {e}", path.display()))
}

fn config(args: Args) -> Result<(runtime::Config, http::Config), String> {
    let mut served = http::Config {
        tokens: match &args.tokens {
            Some(path) => read(path, Tokens::parse_file)?,
            None => Tokens::default(),
        },
        ..http::Config::default()
    };
    if let Ok(pairs) = std::env::var("SWITCHBOARD_TOKENS") {
        served
            .tokens
            .add_pairs(&pairs)
            .map_err(|e| format!("SWITCHBOARD_TOKENS: {e}"))?;
    }
    served.twilio = match &args.twilio_tokens {
        Some(path) => read(path, AuthTokens::parse_file)?,
        None => AuthTokens::default(),
    };
    if let Ok(pairs) = std::env::var("SWITCHBOARD_TWILIO_TOKENS") {
        served
            .twilio
            .add_pairs(&pairs)
            .map_err(|e| format!("SWITCHBOARD_TWILIO_TOKENS: {e}"))?;
    }
    served.public_url = args.public_url;
    served.metrics_listen = args.metrics_listen;
    let mut config = runtime::Config::new(&args.policies, &args.data);
    config.store = args
        .store
        .or_else(|| std::env::var("SWITCHBOARD_STORE").ok())
        .filter(|s| !s.is_empty());
    match args.decision_log {
        Some(path) if path.as_os_str() == "off" => config.decision_log = None,
        Some(path) => config.decision_log = Some(path),
        None => {}
    }
    config.rotation = Rotation {
        max_bytes: args.decision_log_mib << 20,
        keep: args.decision_log_keep,
    };
    config.reload_every = args.reload_every.0;
    if args.lease_time < Duration::from_secs(1) {
        return Err("--lease-time must be at least 1s".into());
    }
    if let Some(address) = &args.advertise {
        if !(address.starts_with("http://") && address.len() > "http://".len()) {
            return Err(format!(
                "--advertise {address}: give the address as http://HOST:PORT"
            ));
        }
    }
    config.cluster = runtime::cluster::Settings {
        node: args.node,
        advertise: args.advertise,
        lease: args.lease_time,
    };
    config.settings = runtime::Settings {
        retention: args.retention,
        snapshot_events: args.snapshot_every,
        snapshot_interval: args.snapshot_interval.max(Duration::from_secs(1)),
        mailbox: args.mailbox as usize,
        stream_buffer: args.stream_buffer as usize,
    };
    Ok((config, served))
}

pub fn run(args: Args) -> i32 {
    let listen = args.listen.clone();
    let (config, served) = match config(args) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    switchboard::runtime::log::service_log();
    // Start-up's log lines follow the line that says where it serves.
    switchboard::runtime::log::hold();
    let runtime = match Runtime::start(config) {
        Ok(r) => r,
        Err(e) => {
            switchboard::runtime::log::release();
            eprintln!("error: {e}");
            return exit::FAILED;
        }
    };
    let served = http::serve(runtime, served, &listen);
    switchboard::runtime::log::release();
    match served {
        Ok(()) => exit::OK,
        Err(e) => {
            eprintln!("error: {e}");
            exit::FAILED
        }
    }
}

//! `switchboard serve`: the decision service.

use super::exit;
use crate::server::twilio::AuthTokens;
use crate::server::{Config, Service, Tokens};
use std::path::PathBuf;
use std::time::Duration;

#[derive(clap::Args)]
pub struct Args {
    /// A policy file, or a folder of them (a folder per tenant).
    #[arg(long, default_value = "policies")]
    policies: PathBuf,
    /// Where the database and the decision log are kept.
    #[arg(long, default_value = "data")]
    data: PathBuf,
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

fn config(args: Args) -> Result<Config, String> {
    let mut config = Config::new(&args.policies, &args.data);
    config.tokens = match &args.tokens {
        Some(path) => read(path, Tokens::parse_file)?,
        None => Tokens::default(),
    };
    if let Ok(pairs) = std::env::var("SWITCHBOARD_TOKENS") {
        config
            .tokens
            .add_pairs(&pairs)
            .map_err(|e| format!("SWITCHBOARD_TOKENS: {e}"))?;
    }
    config.twilio = match &args.twilio_tokens {
        Some(path) => read(path, AuthTokens::parse_file)?,
        None => AuthTokens::default(),
    };
    if let Ok(pairs) = std::env::var("SWITCHBOARD_TWILIO_TOKENS") {
        config
            .twilio
            .add_pairs(&pairs)
            .map_err(|e| format!("SWITCHBOARD_TWILIO_TOKENS: {e}"))?;
    }
    config.public_url = args.public_url;
    match args.decision_log {
        Some(path) if path.as_os_str() == "off" => config.decision_log = None,
        Some(path) => config.decision_log = Some(path),
        None => {}
    }
    config.reload_every = args.reload_every.0;
    Ok(config)
}

pub fn run(args: Args) -> i32 {
    let listen = args.listen.clone();
    let config = match config(args) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    let service = match Service::load(config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::FAILED;
        }
    };
    match crate::server::serve(service, &listen) {
        Ok(()) => exit::OK,
        Err(e) => {
            eprintln!("error: {e}");
            exit::FAILED
        }
    }
}

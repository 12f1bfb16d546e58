//! `switchboard diff`: what a policy change would have decided otherwise,
//! over recorded traffic.

use super::exit;
use chrono::{DateTime, Utc};
use std::path::{Path, PathBuf};
use switchboard::diff::{self, Diff, Options, Replay};
use switchboard::engine::{Engine, State};
use switchboard::store::LogReader;

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("traffic").required(true).args(["events", "data"]).multiple(false)))]
pub struct Args {
    /// The policy as it is: a file, or a tenant's folder holding one.
    old: PathBuf,
    /// The policy as it would be.
    new: PathBuf,
    /// Recorded events: a file of one JSON event per line (`-`: standard
    /// input), or a scenario file (its event steps, from its starting
    /// statuses). Repeat it for several; each starts from an empty state.
    #[arg(long, value_name = "FILE", num_args = 1..)]
    events: Vec<PathBuf>,
    /// A service's data folder: replay its stored event log.
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// The tenant whose log to replay (default: the only one in DATA).
    #[arg(long, requires = "data")]
    tenant: Option<String>,
    /// Compare from this time (RFC 3339) on; events before it are stepped
    /// by OLD alone, to build the state the change would have met.
    #[arg(long, value_name = "TIME")]
    since: Option<DateTime<Utc>>,
    /// Examples shown for each kind of change.
    #[arg(long, default_value_t = 3, value_name = "N")]
    examples: usize,
    #[arg(long, value_enum, default_value_t = super::Format::Human)]
    format: super::Format,
}

pub fn run(args: Args) -> i32 {
    let (old, new) = match (
        super::compile_policy(&args.old),
        super::compile_policy(&args.new),
    ) {
        (Ok(old), Ok(new)) => (Engine::new(old), Engine::new(new)),
        (Err(code), _) | (_, Err(code)) => return code,
    };
    let options = Options {
        since: args.since,
        examples_per_kind: args.examples,
        evict: false,
    };
    let found = match &args.data {
        Some(data) => from_log(data, args.tenant.as_deref(), old, new, options),
        None => from_files(&args.events, old, new, options),
    };
    let diff = match found {
        Ok(diff) => diff,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    match args.format {
        super::Format::Human => print!("{}", diff.text()),
        super::Format::Json => match serde_json::to_string_pretty(&diff) {
            Ok(json) => println!("{json}"),
            Err(e) => {
                eprintln!("error: {e}");
                return exit::FAILED;
            }
        },
    }
    if diff.is_empty() {
        exit::OK
    } else {
        exit::FAILED
    }
}

fn from_files(
    paths: &[PathBuf],
    old: Engine,
    new: Engine,
    options: Options,
) -> Result<Diff, String> {
    let mut replay = Replay::new(old, new, State::new(), options);
    for path in paths {
        let name = path.display().to_string();
        if path == Path::new("-") {
            diff::events(&mut replay, std::io::stdin().lock())?;
            continue;
        }
        if path.is_dir() {
            return Err(format!(
                "{name} is a folder; --events takes a file of JSON lines or a scenario file"
            ));
        }
        if name.ends_with(super::test::SUFFIX) {
            scenario(&mut replay, path, &name)?;
            continue;
        }
        let file = std::fs::File::open(path).map_err(|e| format!("{name}: {e}"))?;
        diff::events(&mut replay, std::io::BufReader::new(file))
            .map_err(|e| format!("{name}: {e}"))?;
    }
    Ok(replay.finish())
}

/// A scenario's event steps, from its starting statuses.
fn scenario(replay: &mut Replay, path: &Path, name: &str) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{name}: {e}"))?;
    let scenario = switchboard::scenario::parse(&text, name)?;
    let state = scenario
        .starting_state(replay.old_policy())
        .map_err(|e| format!("{name}: {e}"))?;
    replay.start_over(state);
    let file = path.file_name().unwrap_or_default().to_string_lossy();
    for (step, event) in scenario.events().map_err(|e| format!("{name}: {e}"))? {
        replay.step(|| format!("{file} step {step}"), &event);
    }
    Ok(())
}

fn from_log(
    data: &Path,
    tenant: Option<&str>,
    old: Engine,
    new: Engine,
    options: Options,
) -> Result<Diff, String> {
    let log = LogReader::open(&data.join("switchboard.db"))
        .map_err(|e| format!("{}: {e}", data.display()))?;
    let tenants = log.tenants().map_err(|e| e.to_string())?;
    let tenant = match tenant {
        Some(t) if tenants.iter().any(|x| x == t) => t.to_string(),
        Some(t) => {
            return Err(format!(
                "{} has no events of tenant {t}; it has: {}",
                data.display(),
                list(&tenants)
            ))
        }
        None => match tenants.as_slice() {
            [only] => only.clone(),
            [] => return Err(format!("{} has no stored events", data.display())),
            _ => {
                return Err(format!(
                    "{} holds several tenants ({}); name one with --tenant",
                    data.display(),
                    list(&tenants)
                ))
            }
        },
    };
    diff::stored(|each| log.replay(&tenant, 0, each), old, new, options)
}

fn list(names: &[String]) -> String {
    match names.is_empty() {
        true => "none".into(),
        false => names.join(", "),
    }
}

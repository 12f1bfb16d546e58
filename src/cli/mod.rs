//! The `switchboard` command line: check, fmt, simulate, test, serve.

mod check;
mod files;
mod fmt;
mod simulate;
mod test;

pub(crate) use files::policy_files;

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// switchboard: a policy engine for business SMS.
#[derive(Parser)]
#[command(name = "switchboard", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check policy files like a compiler: every error, with its place and a hint.
    ///
    /// Exits 0 when there are no errors (warnings allowed), 1 when any file has
    /// an error, 2 on a usage error.
    Check {
        /// Policy files, or folders to search for `*.policy` files.
        #[arg(default_value = "policies")]
        paths: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Rewrite policy files in canonical form.
    ///
    /// With --check, change nothing: list the files that would change and
    /// exit 1 if there are any.
    Fmt {
        #[arg(default_value = "policies")]
        paths: Vec<PathBuf>,
        /// Only report files that are not formatted.
        #[arg(long)]
        check: bool,
    },
    /// Decide a stream of events: one JSON decision per line of JSON events.
    ///
    /// State is carried from one event to the next. EVENTS may be `-` for
    /// standard input.
    Simulate {
        policy: PathBuf,
        events: PathBuf,
        /// Add human-readable reasons to each decision.
        #[arg(long)]
        explain: bool,
    },
    /// Serve decisions over HTTP, with state kept in DATA.
    ///
    /// Tokens: a file of `TENANT SHA256-HEX` lines (--tokens), and/or
    /// `tenant=token` pairs in the SWITCHBOARD_TOKENS environment variable.
    Serve {
        #[arg(long, default_value = "policies")]
        policies: PathBuf,
        #[arg(long, default_value = "data")]
        data: PathBuf,
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        #[arg(long)]
        tokens: Option<PathBuf>,
    },
    /// Run scenario files (*.scenario.yaml) against their policies.
    ///
    /// Prints each failure as a diff and ends with `N passed, N failed`;
    /// exits 1 if any failed.
    Test {
        #[arg(default_value = "policies")]
        paths: Vec<PathBuf>,
        /// Rewrite the expectations from what the engine decides.
        #[arg(long)]
        update: bool,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
}

/// Exit codes shared by every command.
pub mod exit {
    pub const OK: i32 = 0;
    pub const FAILED: i32 = 1;
    pub const USAGE: i32 = 2;
}

/// Runs the command line; returns the process exit code.
pub fn run() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
        }
    };
    match cli.command {
        Command::Check { paths, format } => check::run(&paths, format),
        Command::Fmt { paths, check } => fmt::run(&paths, check),
        Command::Simulate {
            policy,
            events,
            explain,
        } => simulate::run(&policy, &events, explain),
        Command::Test { paths, update } => test::run(&paths, update),
        Command::Serve {
            policies,
            data,
            listen,
            tokens,
        } => serve(&policies, &data, &listen, tokens.as_deref()),
    }
}

fn serve(
    policies: &std::path::Path,
    data: &std::path::Path,
    listen: &str,
    tokens: Option<&std::path::Path>,
) -> i32 {
    let mut all = match tokens {
        Some(path) => match std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|text| crate::server::Tokens::parse_file(&text))
        {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: {}: {e}", path.display());
                return exit::USAGE;
            }
        },
        None => crate::server::Tokens::default(),
    };
    if let Ok(pairs) = std::env::var("SWITCHBOARD_TOKENS") {
        if let Err(e) = all.add_pairs(&pairs) {
            eprintln!("error: SWITCHBOARD_TOKENS: {e}");
            return exit::USAGE;
        }
    }
    let service = match crate::server::Service::load(policies, data, all) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::FAILED;
        }
    };
    match crate::server::serve(service, listen) {
        Ok(()) => exit::OK,
        Err(e) => {
            eprintln!("error: {e}");
            exit::FAILED
        }
    }
}

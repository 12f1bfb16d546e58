//! The `switchboard` command line: check, fmt, show, simulate, test, serve,
//! backup, completions, lsp.

mod backup;
mod check;
mod diff;
mod fmt;
mod paint;
mod serve;
mod show;
mod simulate;
mod test;
mod watch;

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// switchboard: a policy engine for business SMS.
#[derive(Parser)]
#[command(name = "switchboard", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Colour: on a terminal (`auto`, unless NO_COLOR is set), `always`
    /// or `never`.
    #[arg(long, global = true, value_enum, default_value_t = paint::Color::Auto)]
    color: paint::Color,
}

#[derive(Subcommand)]
enum Command {
    /// Check policy files like a compiler: every error, with its place and a hint.
    ///
    /// Exits 0 when there are no errors (warnings allowed), 1 when any file has
    /// an error, 2 on a usage error.
    Check {
        /// Policy files, or folders to search for `*.policy` files; `-`
        /// reads one policy from standard input (hook scripts and tables
        /// then resolve from the current folder).
        #[arg(default_value = "policies")]
        paths: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        /// Check again each time a policy, hook script or table changes.
        #[arg(long)]
        watch: bool,
    },
    /// Rewrite policy files in canonical form.
    ///
    /// With --check, change nothing: list the files that would change and
    /// exit 1 if there are any. With --diff, change nothing: print what
    /// would change as a unified diff (exit 1 if anything would). `-` reads
    /// a policy from standard input and writes it formatted to standard
    /// output.
    Fmt {
        #[arg(default_value = "policies")]
        paths: Vec<PathBuf>,
        /// Only report files that are not formatted.
        #[arg(long, conflicts_with = "diff")]
        check: bool,
        /// Print the changes as a unified diff instead of making them.
        #[arg(long)]
        diff: bool,
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
    /// Show a tenant: its routing map, a week of hours, and every message.
    ///
    /// Numbers → inboxes → teams → agents, each direct number's effective
    /// deflection and the level it comes from, keyword queues with their
    /// words and session capacities, hook points; each schedule for one
    /// week in its local time, holidays and clock changes marked; every
    /// message with sample placeholders filled. `mermaid` draws the routing
    /// map as a flowchart.
    Show {
        /// A policy file, or a tenant's folder holding one.
        policy: PathBuf,
        /// Any day of the week to show hours for (default: this week, in
        /// the tenant's zone).
        #[arg(long, value_name = "DATE", value_parser = date)]
        week: Option<chrono::NaiveDate>,
        #[arg(long, value_enum, default_value_t = show::Format::Text)]
        format: show::Format,
    },
    /// Replay recorded traffic through two policies and report every
    /// decision that changes.
    ///
    /// The traffic is an events file (one JSON event per line) or a
    /// service's stored event log. Changes are counted by kind (outcome or
    /// denial code, inbox, who sees it, messages, other changes), then shown
    /// with both decisions explained. Exits 0 when nothing changes, 1 when
    /// something does (a CI gate), 2 on a usage error.
    Diff(Box<diff::Args>),
    /// Serve decisions over HTTP, with state kept in DATA.
    ///
    /// API tokens: a file of `TENANT SHA256-HEX` lines (--tokens), and/or
    /// `tenant=token` pairs in the SWITCHBOARD_TOKENS environment variable.
    /// Twilio auth tokens, for the webhook: a file of `TENANT AUTH_TOKEN`
    /// lines (--twilio-tokens), and/or `tenant=auth_token` pairs in
    /// SWITCHBOARD_TWILIO_TOKENS. SIGINT or SIGTERM stop it cleanly.
    Serve(Box<serve::Args>),
    /// Copy a service's database to OUT, consistently, while it runs.
    ///
    /// Uses SQLite's online backup API: the copy is the database as of one
    /// moment, checked for integrity. docs/OPERATIONS.md says how to restore it.
    Backup {
        /// The service's data folder.
        #[arg(long, default_value = "data")]
        data: PathBuf,
        /// The file to write; it must not exist yet.
        out: PathBuf,
    },
    /// Run scenario files (*.scenario.yaml) against their policies.
    ///
    /// Prints each failure as a diff and ends with `N passed, N failed`;
    /// exits 1 if any failed. `--format json` or `junit` write one report
    /// for CI systems instead; `--coverage` adds which branches of each
    /// policy the scenarios exercise.
    Test {
        #[arg(default_value = "policies")]
        paths: Vec<PathBuf>,
        /// Rewrite the expectations from what the engine decides.
        #[arg(long)]
        update: bool,
        /// Run only the scenarios whose file name or description contains
        /// this text (case ignored).
        #[arg(long, value_name = "TEXT")]
        filter: Option<String>,
        /// Report which of each policy's branches the scenarios exercise
        /// (and the lines none does).
        #[arg(long)]
        coverage: bool,
        #[arg(long, value_enum, default_value_t = test::Format::Human)]
        format: test::Format,
        /// Run again each time a policy, scenario, hook script or table
        /// changes.
        #[arg(long, conflicts_with = "update")]
        watch: bool,
    },
    /// Print a completion script for a shell.
    ///
    /// bash: `switchboard completions bash > ~/.local/share/bash-completion/completions/switchboard`;
    /// zsh: `switchboard completions zsh > ~/.zfunc/_switchboard`;
    /// fish: `switchboard completions fish > ~/.config/fish/completions/switchboard.fish`.
    Completions { shell: clap_complete::Shell },
    /// The language server, over standard input and output, for editors.
    ///
    /// Diagnostics as you type, hover, go to definition, references,
    /// rename, completion, formatting and an outline. Editors start it
    /// themselves; docs/EDITORS.md says how for VS Code, Neovim, Helix
    /// and Emacs.
    Lsp,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
}

/// A calendar date as `YYYY-MM-DD`.
fn date(text: &str) -> Result<chrono::NaiveDate, String> {
    text.parse()
        .map_err(|_| format!("`{text}` is not a date; write it as 2026-12-07"))
}

/// Exit codes shared by every command.
pub mod exit {
    pub const OK: i32 = 0;
    pub const FAILED: i32 = 1;
    pub const USAGE: i32 = 2;
}

/// Compiles the policy at `path` (a file, or a tenant's folder holding one
/// `.policy` file), printing its diagnostics if it does not check; the
/// error is the exit code to end with.
fn compile_policy(path: &std::path::Path) -> Result<switchboard::Policy, i32> {
    let path = match path.is_dir() {
        true => switchboard::files::only_policy_in(path).map_err(|e| {
            eprintln!("error: {e}; name the policy file");
            exit::USAGE
        })?,
        false => path.to_path_buf(),
    };
    let source = std::fs::read_to_string(&path).map_err(|e| {
        eprintln!("error: {}: {e}", path.display());
        exit::USAGE
    })?;
    let folder = switchboard::sources::Folder::of(&path);
    switchboard::compile_sources(&source, &folder).map_err(|d| {
        let rendered = d.render(&path.display().to_string(), &source);
        anstream::eprint!("{}", paint::diagnostics(&rendered));
        eprintln!("error: the policy does not check");
        exit::FAILED
    })
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
    paint::choose(cli.color);
    match cli.command {
        Command::Check {
            paths,
            format,
            watch,
        } => match watch {
            true if paths == [PathBuf::from("-")] => {
                eprintln!("error: --watch watches files; standard input has none");
                exit::USAGE
            }
            true => watch::watch(&paths, || check::run(&paths, format)),
            false => check::run(&paths, format),
        },
        Command::Fmt { paths, check, diff } => fmt::run(&paths, fmt::Mode::of(check, diff)),
        Command::Simulate {
            policy,
            events,
            explain,
        } => simulate::run(&policy, &events, explain),
        Command::Test {
            paths,
            update,
            filter,
            coverage,
            format,
            watch,
        } => {
            let options = test::Options {
                update,
                filter: filter.as_deref(),
                format,
                coverage,
            };
            match watch {
                true => watch::watch(&paths, || test::run(&paths, &options)),
                false => test::run(&paths, &options),
            }
        }
        Command::Lsp => match switchboard::lsp::serve_stdio() {
            Ok(()) => exit::OK,
            Err(message) => {
                eprintln!("error: {message}");
                exit::FAILED
            }
        },
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "switchboard",
                &mut std::io::stdout(),
            );
            exit::OK
        }
        Command::Show {
            policy,
            week,
            format,
        } => show::run(&policy, week, format),
        Command::Diff(args) => diff::run(*args),
        Command::Serve(args) => serve::run(*args),
        Command::Backup { data, out } => backup::run(&data, &out),
    }
}

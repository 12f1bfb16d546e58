//! `switchboard show`: a tenant at a glance.

use super::exit;
use chrono::NaiveDate;
use std::path::Path;
use switchboard::overview::Overview;

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    /// The routing map as a Mermaid flowchart.
    Mermaid,
}

pub fn run(path: &Path, week: Option<NaiveDate>, format: Format) -> i32 {
    let policy = match super::compile_policy(path) {
        Ok(policy) => policy,
        Err(code) => return code,
    };
    let day = week.unwrap_or_else(|| Overview::today(&policy, chrono::Utc::now()));
    let overview = Overview::of(&policy, day);
    match format {
        Format::Text => print!("{}", overview.text()),
        Format::Mermaid => print!("{}", overview.mermaid()),
        Format::Json => match serde_json::to_string_pretty(&overview) {
            Ok(json) => println!("{json}"),
            Err(e) => {
                eprintln!("error: {e}");
                return exit::FAILED;
            }
        },
    }
    exit::OK
}

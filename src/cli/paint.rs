//! Colour on a terminal, and not otherwise: `--color auto|always|never`,
//! with `auto` honouring `NO_COLOR` and `CLICOLOR_FORCE` and checking that
//! standard output is a terminal. `anstream` (clap's own) strips the
//! styles where colour is off, so commands write styled text and
//! `anstream::print!` decides.

use anstyle::{AnsiColor, Style};

/// `--color`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

/// Sets the choice for every stream of this process.
pub fn choose(color: Color) {
    let choice = match color {
        Color::Auto => anstream::ColorChoice::Auto,
        Color::Always => anstream::ColorChoice::Always,
        Color::Never => anstream::ColorChoice::Never,
    };
    choice.write_global();
}

const ERROR: Style = AnsiColor::Red.on_default().bold();
const WARNING: Style = AnsiColor::Yellow.on_default().bold();
const HINT: Style = AnsiColor::Cyan.on_default();
const GUTTER: Style = AnsiColor::Blue.on_default().bold();
const GOOD: Style = AnsiColor::Green.on_default().bold();
const ADDED: Style = AnsiColor::Green.on_default();
const REMOVED: Style = AnsiColor::Red.on_default();

fn styled(style: Style, text: &str) -> String {
    format!("{style}{text}{style:#}")
}

/// Rendered diagnostics (`file:line:col: error[E0101]: ...`, the snippet,
/// the caret, `= hint: ...`), styled.
pub fn diagnostics(rendered: &str) -> String {
    let mut out = String::with_capacity(rendered.len() * 2);
    for line in rendered.split_inclusive('\n') {
        let body = line.trim_end_matches('\n');
        let end = &line[body.len()..];
        let styled_line = if let Some(at) = severity_at(body) {
            let (place, rest) = body.split_at(at);
            let (word, rest) = rest.split_at(rest.find(':').unwrap_or(rest.len()));
            let style = if word.starts_with("error") {
                ERROR
            } else {
                WARNING
            };
            format!("{place}{}{}", styled(style, word), rest)
        } else if let Some((gutter, rest)) = body.split_once(" | ").filter(|(g, _)| is_gutter(g)) {
            let caret = rest.trim_start().starts_with('^');
            let rest = if caret {
                styled(ERROR, rest)
            } else {
                rest.to_string()
            };
            format!("{} {rest}", styled(GUTTER, &format!("{gutter} |")))
        } else if let Some(hint) = body.trim_start().strip_prefix("= ") {
            let indent = &body[..body.len() - body.trim_start().len()];
            format!("{indent}{}", styled(HINT, &format!("= {hint}")))
        } else if is_gutter(body.trim_end_matches('|').trim_end()) && body.ends_with('|') {
            styled(GUTTER, body)
        } else {
            body.to_string()
        };
        out.push_str(&styled_line);
        out.push_str(end);
    }
    out
}

/// Where `error[` or `warning[` starts in a diagnostic's first line.
fn severity_at(line: &str) -> Option<usize> {
    ["error[", "warning["]
        .iter()
        .filter_map(|w| line.find(&format!(": {w}")).map(|i| i + 2))
        .min()
}

/// A snippet's gutter: spaces and a line number.
fn is_gutter(text: &str) -> bool {
    text.chars().all(|c| c == ' ' || c.is_ascii_digit())
}

/// A unified diff, its added and removed lines coloured.
pub fn diff(unified: &str) -> String {
    let mut out = String::with_capacity(unified.len() * 2);
    for line in unified.split_inclusive('\n') {
        let body = line.trim_end_matches('\n');
        let end = &line[body.len()..];
        let style = match body.as_bytes().first() {
            _ if body.starts_with("+++") || body.starts_with("---") => Some(GUTTER),
            Some(b'+') => Some(ADDED),
            Some(b'-') => Some(REMOVED),
            Some(b'@') => Some(HINT),
            _ => None,
        };
        match style {
            Some(style) => out.push_str(&styled(style, body)),
            None => out.push_str(body),
        }
        out.push_str(end);
    }
    out
}

/// A passing result's word (`ok`).
pub fn good(text: &str) -> String {
    styled(GOOD, text)
}

/// A failing result's word (`FAIL`, `ERROR`).
pub fn bad(text: &str) -> String {
    styled(ERROR, text)
}

/// What was expected, and what came instead.
pub fn expected(text: &str) -> String {
    styled(ADDED, text)
}

pub fn actual(text: &str) -> String {
    styled(REMOVED, text)
}

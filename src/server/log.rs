//! The service's logs, as JSON lines.
//!
//! - The service log goes to stderr: one object per line with `ts`,
//!   `level`, `msg` and the fields of what happened (start, reloads,
//!   refusals, failed writes).
//! - The decision log has a line per decided event: tenant, revision,
//!   event type and time, conversation, inbox, outcome, and the customer's
//!   number masked to its last four digits. It never holds message text.
//!   A writer thread batches lines, so deciding never waits on it.

use serde_json::{json, Value};
use std::io::Write;
use std::path::Path;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Mutex;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

/// Writes a service log line to stderr.
pub fn service(level: Level, msg: &str, fields: Value) {
    let mut line = json!({
        "ts": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "level": level.as_str(),
        "msg": msg,
    });
    if let (Some(line), Value::Object(fields)) = (line.as_object_mut(), fields) {
        line.extend(fields);
    }
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}");
}

/// Where decision log lines go.
pub struct DecisionLog {
    lines: Mutex<Option<Sender<String>>>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl DecisionLog {
    /// No decision log.
    pub fn off() -> DecisionLog {
        DecisionLog {
            lines: Mutex::new(None),
            writer: Mutex::new(None),
        }
    }

    /// Appends to `path`, or writes to stdout if `path` is `-`.
    pub fn open(path: &Path) -> std::io::Result<DecisionLog> {
        let out: Box<dyn Write + Send> = if path == Path::new("-") {
            Box::new(std::io::stdout())
        } else {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            Box::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)?,
            )
        };
        let (tx, rx) = mpsc::channel();
        let writer = std::thread::Builder::new()
            .name("switchboard-decision-log".into())
            .spawn(move || write_lines(out, rx))?;
        Ok(DecisionLog {
            lines: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(writer)),
        })
    }

    /// Logs one decided event.
    pub fn record(&self, tenant: &str, event: &Value, decision: &Value, micros: u64, again: bool) {
        let lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        let Some(lines) = lines.as_ref() else {
            return;
        };
        let customer = event
            .get("from")
            .or_else(|| event.get("customer").filter(|c| c.is_string()))
            .and_then(Value::as_str)
            .or_else(|| decision.pointer("/customer/number").and_then(Value::as_str));
        let line = json!({
            "ts": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "tenant": tenant,
            "revision": decision["revision"],
            "event": decision["event"],
            "at": decision["at"],
            "message_id": event.get("message_id"),
            "agent": event.get("agent"),
            "customer": customer.map(mask),
            "conversation": decision["conversation"],
            "inbox": decision["inbox"],
            "outcome": decision["outcome"],
            "denial": decision.pointer("/denial/code"),
            "messages": decision["messages"].as_array().map_or(0, Vec::len),
            "redelivered": again,
            "micros": micros,
        });
        let _ = lines.send(line.to_string());
    }

    /// Writes what is queued and stops the writer.
    pub fn close(&self) {
        self.lines.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(writer) = self.writer.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = writer.join();
        }
    }
}

fn write_lines(out: Box<dyn Write + Send>, lines: Receiver<String>) {
    let mut out = std::io::BufWriter::new(out);
    while let Ok(line) = lines.recv() {
        let _ = writeln!(out, "{line}");
        while let Ok(line) = lines.try_recv() {
            let _ = writeln!(out, "{line}");
        }
        let _ = out.flush();
    }
}

/// A phone number with all but its last four digits starred:
/// `+14155551234` → `+*******1234`.
pub fn mask(number: &str) -> String {
    let count = number.chars().count();
    number
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if i + 4 >= count || !c.is_ascii_alphanumeric() {
                c
            } else {
                '*'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::mask;

    #[test]
    fn masks_all_but_the_last_four_digits() {
        assert_eq!(mask("+14155551234"), "+*******1234");
        assert_eq!(mask("123"), "123");
        assert_eq!(mask("ab+é"), "ab+é");
    }
}

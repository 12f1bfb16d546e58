//! The service's logs, as JSON lines.
//!
//! - The service log is `tracing` events (start, reloads, refusals,
//!   failed writes), each with the fields of what happened; the runtime
//!   emits them and the program that runs it subscribes. The `switchboard`
//!   command writes them to stderr as JSON lines through
//!   `tracing-subscriber` ([`service_log`]), filtered by `SWITCHBOARD_LOG`
//!   (`RUST_LOG` syntax); another program can send them anywhere a
//!   `tracing` subscriber can, OpenTelemetry included.
//! - The decision log has a line per decided event: tenant, revision,
//!   event type and time, conversation, inbox, outcome, and the customer's
//!   number masked to its last four digits. It never holds message text.
//!   Lines are written every 50 ms, so deciding never waits on the log.
//!   A decision log file is rotated by size: past `max_bytes` it becomes
//!   `NAME.1` (the older ones `NAME.2`, ...), and only `keep` old files
//!   stay. Or it goes to stdout, for a log shipper.

use crate::engine::{Decision, Event};
use serde_json::{json, Value};
use smol_str::SmolStr;
use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Service log lines held back while the service starts, so that the
/// first line on stderr is the one that says where it serves.
static HELD: Mutex<Option<Vec<u8>>> = Mutex::new(None);

/// Holds service log lines back until [`release`].
pub fn hold() {
    let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
    held.get_or_insert_with(Vec::new);
}

/// Writes the lines held back, and every later line at once.
pub fn release() {
    let held = HELD.lock().unwrap_or_else(|e| e.into_inner()).take();
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(&held.unwrap_or_default());
}

/// Stderr, or the lines held back while the service starts.
pub struct Stderr;

impl Write for Stderr {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if let Some(held) = HELD.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
            held.extend_from_slice(bytes);
            return Ok(bytes.len());
        }
        std::io::stderr().lock().write(bytes)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().lock().flush()
    }
}

/// The variable that filters the service log, in `RUST_LOG` syntax
/// (`warn`, `switchboard=debug`); `info` when unset or unreadable.
pub const FILTER: &str = "SWITCHBOARD_LOG";

/// Installs the service log: `tracing` events as JSON lines on stderr,
/// one object per line with `timestamp`, `level`, `message`, the event's
/// fields, and the spans it happened in (`spans`: the tenant's, the
/// request's). Returns false if the program already has a subscriber.
pub fn service_log() -> bool {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env(FILTER).unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(true)
        .with_target(false)
        .with_env_filter(filter)
        .with_writer(|| Stderr)
        .try_init()
        .is_ok()
}

/// What the decision log and the HTTP layer need to know of a decision,
/// without reading its JSON again.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    pub revision: SmolStr,
    pub conversation: Option<SmolStr>,
    pub inbox: Option<SmolStr>,
    /// The outcome, as JSON names it (`routed`, `rejected`, ...).
    pub outcome: SmolStr,
    /// The denial's code, if any.
    pub denial: Option<SmolStr>,
    /// How many messages it sends.
    pub messages: usize,
}

impl Summary {
    pub fn of(decision: &Decision, revision: &str) -> Summary {
        Summary {
            revision: revision.into(),
            conversation: decision.conversation.clone(),
            inbox: decision.inbox.clone(),
            outcome: SmolStr::new_static(decision.outcome.as_str()),
            denial: decision
                .denial
                .as_ref()
                .map(|d| SmolStr::new_static(d.code())),
            messages: decision.messages.len(),
        }
    }

    /// The summary of a decision stored as JSON.
    pub fn of_json(decision: &Value) -> Summary {
        let text = |v: &Value| v.as_str().map(SmolStr::from);
        Summary {
            revision: text(&decision["revision"]).unwrap_or_default(),
            conversation: text(&decision["conversation"]),
            inbox: text(&decision["inbox"]),
            outcome: text(&decision["outcome"]).unwrap_or_default(),
            denial: text(&decision["denial"]["code"]),
            messages: decision["messages"].as_array().map_or(0, Vec::len),
        }
    }
}

/// Where decision log lines go. Lines gather in memory and a writer
/// thread writes them every 50 ms, so deciding never waits on the log and
/// wakes no thread; a crash may lose the last 50 ms of lines.
pub struct DecisionLog {
    shared: Option<Arc<Shared>>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
}

struct Shared {
    lines: Mutex<String>,
    out: Mutex<Box<dyn Write + Send>>,
    stop: AtomicBool,
}

/// How often gathered lines are written.
const FLUSH_EVERY: Duration = Duration::from_millis(50);
/// Gathered lines past this size are written by whoever adds one.
const MOST_GATHERED: usize = 4 << 20;

impl Shared {
    fn write_gathered(&self) {
        let text = std::mem::take(&mut *self.lines.lock().unwrap_or_else(|e| e.into_inner()));
        if !text.is_empty() {
            let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
        }
    }
}

impl DecisionLog {
    /// No decision log.
    pub fn off() -> DecisionLog {
        DecisionLog {
            shared: None,
            writer: Mutex::new(None),
        }
    }

    /// Appends to `path` (rotated as `rotation` says), or writes to stdout
    /// if `path` is `-`.
    pub fn open(path: &Path, rotation: Rotation) -> std::io::Result<DecisionLog> {
        let out: Box<dyn Write + Send> = if path == Path::new("-") {
            Box::new(std::io::stdout())
        } else {
            Box::new(Rotating::open(path, rotation)?)
        };
        let shared = Arc::new(Shared {
            lines: Mutex::new(String::new()),
            out: Mutex::new(out),
            stop: AtomicBool::new(false),
        });
        let writing = shared.clone();
        let writer = std::thread::Builder::new()
            .name("switchboard-decision-log".into())
            .spawn(move || {
                while !writing.stop.load(Ordering::Acquire) {
                    std::thread::sleep(FLUSH_EVERY);
                    writing.write_gathered();
                }
            })?;
        Ok(DecisionLog {
            shared: Some(shared),
            writer: Mutex::new(Some(writer)),
        })
    }

    /// Logs one decided event.
    pub fn record(&self, tenant: &str, event: &Event, summary: &Summary, micros: u64, again: bool) {
        let Some(shared) = &self.shared else {
            return;
        };
        // An action's id stands where an inbound message's id would.
        let (customer, agent, message_id) = match (event, event.action()) {
            (_, Some(a)) => (a.customer.as_ref(), Some(&a.agent), a.action_id.as_ref()),
            (Event::Inbound(e), _) => (Some(&e.from), None, e.message_id.as_ref()),
            (Event::Status(s), _) => (None, Some(&s.agent), None),
            _ => (None, None, None),
        };
        let line = json!({
            "ts": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "tenant": tenant,
            "revision": summary.revision,
            "event": event.kind(),
            "at": event.at(),
            "message_id": message_id,
            "agent": agent,
            "customer": customer.map(|c| mask(c)),
            "conversation": summary.conversation,
            "inbox": summary.inbox,
            "outcome": summary.outcome,
            "denial": summary.denial,
            "messages": summary.messages,
            "redelivered": again,
            "micros": micros,
        });
        let full = {
            let mut lines = shared.lines.lock().unwrap_or_else(|e| e.into_inner());
            let _ = writeln!(lines, "{line}");
            lines.len() > MOST_GATHERED
        };
        if full {
            shared.write_gathered();
        }
    }

    /// Writes what is gathered now.
    pub fn flush_now(&self) {
        if let Some(shared) = &self.shared {
            shared.write_gathered();
        }
    }

    /// Writes what is gathered and stops the writer.
    pub fn close(&self) {
        if let Some(shared) = &self.shared {
            shared.stop.store(true, Ordering::Release);
            if let Some(writer) = self.writer.lock().unwrap_or_else(|e| e.into_inner()).take() {
                let _ = writer.join();
            }
            shared.write_gathered();
        }
    }
}

/// When a decision log file is rotated, and how many old files stay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rotation {
    /// A file past this size is rotated.
    pub max_bytes: u64,
    /// How many rotated files are kept (`NAME.1` the newest).
    pub keep: usize,
}

impl Default for Rotation {
    fn default() -> Self {
        Rotation {
            max_bytes: 64 << 20,
            keep: 4,
        }
    }
}

/// A log file that moves itself aside when it grows past its size.
struct Rotating {
    path: PathBuf,
    rotation: Rotation,
    file: std::fs::File,
    size: u64,
}

impl Rotating {
    fn open(path: &Path, rotation: Rotation) -> std::io::Result<Rotating> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let file = Self::append(path)?;
        let size = file.metadata()?.len();
        Ok(Rotating {
            path: path.to_path_buf(),
            rotation,
            file,
            size,
        })
    }

    fn append(path: &Path) -> std::io::Result<std::fs::File> {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
    }

    fn aside(&self, n: usize) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        if self.rotation.keep == 0 {
            std::fs::remove_file(&self.path)?;
        } else {
            let _ = std::fs::remove_file(self.aside(self.rotation.keep));
            for n in (1..self.rotation.keep).rev() {
                let _ = std::fs::rename(self.aside(n), self.aside(n + 1));
            }
            std::fs::rename(&self.path, self.aside(1))?;
        }
        self.file = Self::append(&self.path)?;
        self.size = 0;
        Ok(())
    }
}

impl Write for Rotating {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if self.size > 0 && self.size + bytes.len() as u64 > self.rotation.max_bytes {
            self.rotate()?;
        }
        let n = self.file.write(bytes)?;
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
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
    use super::{mask, DecisionLog, Rotation};
    use crate::engine::Event;

    #[test]
    fn masks_all_but_the_last_four_digits() {
        assert_eq!(mask("+14155551234"), "+*******1234");
        assert_eq!(mask("123"), "123");
        assert_eq!(mask("ab+é"), "ab+é");
    }

    #[test]
    fn the_decision_log_rotates_by_size_and_keeps_so_many_files() {
        let dir = std::env::temp_dir().join(format!("switchboard-log-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("decisions.jsonl");
        let rotation = Rotation {
            max_bytes: 2_000,
            keep: 2,
        };
        let log = DecisionLog::open(&path, rotation).unwrap();
        let event: Event =
            serde_json::from_str(r#"{"type":"tick","at":"2026-03-02T17:00:00Z"}"#).unwrap();
        for _ in 0..200 {
            log.record("acme", &event, &Default::default(), 1, false);
            // Written by whoever passes the gathered limit, or the writer.
            log.flush_now();
        }
        log.close();
        let names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 3, "{names:?}");
        for name in ["decisions.jsonl", "decisions.jsonl.1", "decisions.jsonl.2"] {
            let size = std::fs::metadata(dir.join(name)).unwrap().len();
            assert!(size <= 2_000, "{name} has {size} bytes");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

//! What the benches that drive the real `switchboard serve` share: starting
//! it on a loopback port, reading its log, its CPU and memory from /proc,
//! HTTP/1.1 keep-alive connections, and percentiles.

#![allow(dead_code)]

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How many of the service's warnings and errors are kept to show.
const LOG_LINES: usize = 20;

/// The service, killed when dropped.
pub struct Server {
    pub child: Child,
    /// `host:port` it listens on.
    pub address: String,
    pub data: PathBuf,
    /// How long it took from starting the process to its first line: start
    /// and recovery.
    pub started_in: Duration,
    /// Reads the rest of stderr; gives back the warnings and errors.
    log: Option<std::thread::JoinHandle<Vec<String>>>,
    /// Removes the data folder when dropped.
    keep_data: bool,
}

/// A fresh folder under the bench's scratch space.
pub fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

pub fn repository(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)
}

impl Server {
    /// Starts `switchboard serve` on a free loopback port, on `data`, and
    /// waits for the line that names its address.
    pub fn start(
        policies: &Path,
        data: &Path,
        tokens: &str,
        args: &[&str],
    ) -> Result<Server, String> {
        let started = Instant::now();
        let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .arg("--policies")
            .arg(policies)
            .args(args)
            .env("SWITCHBOARD_TOKENS", tokens)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start switchboard: {e}"))?;
        let stderr = child.stderr.take().expect("stderr is piped");
        let server = Server {
            child,
            address: String::new(),
            data: data.to_path_buf(),
            started_in: Duration::ZERO,
            log: None,
            keep_data: false,
        };
        server.listening(BufReader::new(stderr), started)
    }

    /// Reads the first line on stderr for the address, then keeps reading
    /// stderr on a thread so the service never blocks on a full pipe.
    fn listening(
        mut self,
        mut stderr: BufReader<impl Read + Send + 'static>,
        started: Instant,
    ) -> Result<Self, String> {
        let mut line = String::new();
        stderr
            .read_line(&mut line)
            .map_err(|e| format!("reading the service's stderr: {e}"))?;
        self.started_in = started.elapsed();
        let url = line.trim().rsplit(' ').next().unwrap_or_default();
        let Some(address) = url.strip_prefix("http://") else {
            return Err(format!("the service did not start: {}", line.trim()));
        };
        self.address = address.to_string();
        self.log = Some(std::thread::spawn(move || problems(stderr)));
        Ok(self)
    }

    /// Keeps the data folder when this server is dropped, for another start.
    pub fn keep_data(mut self) -> Self {
        self.keep_data = true;
        self
    }

    /// SIGKILL; gives back the warnings and errors it logged.
    pub fn kill(mut self) -> Vec<String> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let log = self.log.take().map(std::thread::JoinHandle::join);
        log.and_then(Result::ok).unwrap_or_default()
    }

    /// SIGTERM, and waits for the clean stop; gives back the warnings and
    /// errors it logged.
    pub fn stop(mut self) -> Vec<String> {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let _ = self.child.wait();
        let log = self.log.take().map(std::thread::JoinHandle::join);
        log.and_then(Result::ok).unwrap_or_default()
    }

    /// CPU time the service has used so far.
    pub fn cpu(&self) -> Option<Duration> {
        cpu_time(&format!("/proc/{}/stat", self.child.id()))
    }

    /// Resident memory now, in bytes.
    pub fn resident(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !self.keep_data {
            let _ = std::fs::remove_dir_all(&self.data);
        }
    }
}

/// The bytes of every file under `dir`.
pub fn folder_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => folder_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// Reads the service's log lines (JSON, one a line) to the end and keeps
/// the first few that are not `"level": "info"`.
fn problems(mut stderr: impl BufRead) -> Vec<String> {
    let mut kept = Vec::new();
    let mut line = Vec::new();
    while matches!(stderr.read_until(b'\n', &mut line), Ok(n) if n > 0) {
        let level = serde_json::from_slice::<serde_json::Value>(&line)
            .ok()
            .and_then(|v| v["level"].as_str().map(str::to_string));
        if !level.is_some_and(|l| l.eq_ignore_ascii_case("info")) && kept.len() < LOG_LINES {
            kept.push(String::from_utf8_lossy(&line).trim_end().to_string());
        }
        line.clear();
    }
    kept
}

/// User plus system CPU time of a process, from its `/proc/PID/stat`
/// (Linux, where clock ticks are 1/100 s).
pub fn cpu_time(stat: &str) -> Option<Duration> {
    let text = std::fs::read_to_string(stat).ok()?;
    // The command name in parentheses may hold spaces; fields after it are
    // plain. utime and stime are fields 14 and 15, so 12 and 13 after it.
    let mut fields = text.rsplit_once(')')?.1.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis((user + system) * 10))
}

/// Opens an HTTP/1.1 connection; its I/O runs on a task of its own.
pub async fn connect(address: &str) -> Result<SendRequest<Full<Bytes>>, String> {
    let stream = tokio::net::TcpStream::connect(address)
        .await
        .map_err(|e| e.to_string())?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let (sender, connection) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    Ok(sender)
}

/// What one request got.
pub struct Answer {
    pub status: StatusCode,
    pub body: Bytes,
    /// The `Retry-After` header, if any.
    pub retry_after: Option<String>,
    /// From sending the request to having read the whole body.
    pub took: Duration,
}

/// POSTs a JSON body with a bearer token and reads the whole answer.
pub async fn post(
    sender: &mut SendRequest<Full<Bytes>>,
    address: &str,
    path: &str,
    token: &str,
    body: Bytes,
) -> Result<Answer, String> {
    sender
        .ready()
        .await
        .map_err(|e| format!("connection closed: {e}"))?;
    let request = Request::post(path)
        .header(HOST, address)
        .header(CONTENT_TYPE, "application/json")
        .header(AUTHORIZATION, format!("Bearer {token}"))
        .body(Full::new(body))
        .map_err(|e| e.to_string())?;
    let sent = Instant::now();
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("sending an event: {e}"))?;
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("reading an answer: {e}"))?
        .to_bytes();
    Ok(Answer {
        status,
        body,
        retry_after,
        took: sent.elapsed(),
    })
}

/// The nearest-rank percentile of sorted values.
pub fn percentile<T>(sorted: &[T], p: f64) -> Option<&T> {
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.saturating_sub(1))
}

/// Milliseconds, two decimals, of microseconds.
pub fn ms(micros: Option<&u32>) -> String {
    match micros {
        Some(&m) => format!("{:.2}", f64::from(m) / 1000.0),
        None => "-".to_string(),
    }
}

/// `copies` tenants `shop1`…`shopN` under a fresh folder `name`, each a
/// copy of Brightside's policy (policies/team-sms) under its own name.
pub fn brightside_copies(copies: usize, name: &str) -> Result<PathBuf, String> {
    let policies = scratch(name);
    let source = std::fs::read_to_string(repository("policies/team-sms/team-sms.policy"))
        .map_err(|e| format!("reading Brightside's policy: {e}"))?;
    if !source.contains("tenant brightside {") {
        return Err("policies/team-sms/team-sms.policy no longer declares brightside".into());
    }
    for n in 1..=copies {
        let tenant = format!("shop{n}");
        let folder = policies.join(&tenant);
        std::fs::create_dir_all(&folder)
            .and_then(|()| {
                std::fs::write(
                    folder.join(format!("{tenant}.policy")),
                    source.replace("tenant brightside {", &format!("tenant {tenant} {{")),
                )
            })
            .map_err(|e| format!("writing {}: {e}", folder.display()))?;
    }
    Ok(policies)
}

/// A run's own schema on the PostgreSQL server, and a connection to it.
pub struct Schema {
    pub name: String,
    pub url: String,
    client: tokio_postgres::Client,
    runtime: tokio::runtime::Runtime,
}

impl Schema {
    /// A fresh schema `sb_<what>_<pid>` on `server`; `url` connects to it.
    pub fn create(server: &str, what: &str) -> Result<Schema, String> {
        let name = format!("sb_{what}_{}", std::process::id());
        let glue = if server.contains('?') { '&' } else { '?' };
        let url = format!("{server}{glue}options=-csearch_path%3D{name}");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot build a runtime: {e}"))?;
        let client = runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(server, tokio_postgres::NoTls)
                .await
                .map_err(|e| format!("LOAD_POSTGRES={server}: {e}"))?;
            tokio::spawn(connection);
            client
                .batch_execute(&format!(
                    "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}; SET search_path = {name}"
                ))
                .await
                .map_err(|e| format!("creating schema {name}: {e}"))?;
            Ok::<_, String>(client)
        })?;
        Ok(Schema {
            name,
            url,
            client,
            runtime,
        })
    }

    /// Waits until each of the `tenants` has a live lease, and no lease
    /// has moved for two lease times: the nodes have spread the tenants.
    pub fn settled(
        &self,
        tenants: usize,
        lease: Duration,
    ) -> Result<Vec<(String, String)>, String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut last = Vec::new();
        let mut since = Instant::now();
        loop {
            let now: Vec<(String, String)> = self
                .rows("SELECT tenant, node FROM leases WHERE expires_at > now() ORDER BY tenant")?
                .into_iter()
                .map(|mut row| (row.remove(0), row.remove(0)))
                .collect();
            if now != last {
                last = now;
                since = Instant::now();
            } else if last.len() >= tenants && since.elapsed() >= 2 * lease {
                return Ok(last);
            }
            if Instant::now() > deadline {
                return Err(format!("the nodes did not settle in 60 s: {last:?}"));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The rows a query of this schema's tables answers, as text.
    pub fn rows(&self, sql: &str) -> Result<Vec<Vec<String>>, String> {
        self.runtime.block_on(async {
            let messages = self
                .client
                .simple_query(sql)
                .await
                .map_err(|e| format!("{sql}: {e}"))?;
            Ok(messages
                .into_iter()
                .filter_map(|m| match m {
                    tokio_postgres::SimpleQueryMessage::Row(row) => Some(
                        (0..row.len())
                            .map(|i| row.get(i).unwrap_or_default().to_string())
                            .collect(),
                    ),
                    _ => None,
                })
                .collect())
        })
    }

    pub fn drop(self) -> Result<(), String> {
        let Schema {
            name,
            client,
            runtime,
            ..
        } = self;
        runtime.block_on(async {
            client
                .batch_execute(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
                .await
                .map_err(|e| format!("dropping schema {name}: {e}"))
        })
    }
}

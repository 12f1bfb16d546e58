//! The real `switchboard serve` for the tests that drive it over HTTP: a
//! process on a loopback port, its log, and requests with their answers.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `switchboard serve` on a loopback port, killed when dropped.
pub struct Server {
    pub child: Child,
    pub base: String,
    /// Where `/metrics` is served when it has an address of its own.
    pub metrics_base: Option<String>,
    /// Every line the service wrote to stderr after its address lines.
    pub log: Arc<Mutex<Vec<String>>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts the service on `data` and `policies` with `args` and the
    /// environment `env`, and reads where it serves from its first line
    /// (and where metrics are from its second, with `--metrics-listen`).
    pub fn serve(data: &Path, policies: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .arg("--policies")
            .arg(policies)
            .args(args)
            .envs(env.iter().copied())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let mut address = |what: &str| {
            let line = lines.next().unwrap().unwrap();
            let base = line.trim().rsplit(' ').next().unwrap().to_string();
            assert!(base.starts_with("http://127.0.0.1:"), "{what}: {line}");
            (line, base)
        };
        let (_, base) = address("the first line says where it serves");
        let metrics_base = args.contains(&"--metrics-listen").then(|| {
            let (line, url) = address("the second line says where metrics are");
            assert!(
                line.starts_with("switchboard: metrics on http://"),
                "{line}"
            );
            url.trim_end_matches("/metrics").to_string()
        });
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Server {
            child,
            base,
            metrics_base,
            log,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// SIGKILL: no graceful shutdown, no checkpoint.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM: a clean shutdown, which snapshots every tenant.
    pub fn stop(mut self) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success());
        let status = self.child.wait().unwrap();
        assert!(status.success(), "a clean shutdown exits 0: {status}");
        eventually("the service logs that it stopped", || {
            self.logged("\"stopped\"")
        });
    }

    pub fn logged(&self, text: &str) -> bool {
        self.log_line(text).is_some()
    }

    /// The first service log line (after the lines that say where it
    /// serves) that contains `text`, waiting up to 5 s for it.
    pub fn log_line(&self, text: &str) -> Option<String> {
        let until = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let found = self
                .log
                .lock()
                .unwrap()
                .iter()
                .find(|l| l.contains(text))
                .cloned();
            if found.is_some() || std::time::Instant::now() > until {
                return found;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

/// A response: its status, its JSON body (or its text, as a string), and
/// its Retry-After header.
pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub retry_after: Option<String>,
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// A GET or a POST of a JSON body, with a bearer token; panics if the
/// service cannot be reached.
pub fn request(method: &str, url: &str, token: Option<&str>, body: Option<&str>) -> Reply {
    try_request(method, url, token, body).unwrap_or_else(|e| panic!("{method} {url}: {e}"))
}

pub fn try_request(
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> Result<Reply, ureq::Error> {
    let agent = agent();
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut response = match method {
        "GET" => {
            let mut r = agent.get(url);
            if let Some(auth) = &auth {
                r = r.header("authorization", auth);
            }
            r.call()?
        }
        _ => {
            let mut r = agent.post(url).header("content-type", "application/json");
            if let Some(auth) = &auth {
                r = r.header("authorization", auth);
            }
            r.send(body.unwrap_or(""))?
        }
    };
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let text = response.body_mut().read_to_string().unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Ok(Reply {
        status,
        body,
        retry_after,
    })
}

pub fn repository(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// A copy of one example tenant's folder under `into`, to change.
pub fn copy_tenant(example: &str, into: &Path) -> PathBuf {
    let folder = into.join(example);
    std::fs::create_dir_all(&folder).unwrap();
    for entry in std::fs::read_dir(repository("policies").join(example)).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::copy(&path, folder.join(path.file_name().unwrap())).unwrap();
        }
    }
    folder
}

/// A copy of the team-sms example (Brightside) under `into` whose service
/// line, open around the clock, locks a conversation for `lock` (`2s`)
/// after a reply: a timer that comes due while a test watches.
pub fn team_sms_locking_for(lock: &str, into: &Path) {
    let policy = copy_tenant("team-sms", into).join("team-sms.policy");
    let text = std::fs::read_to_string(&policy).unwrap();
    let line = "inbox service_team_sms shared {";
    assert!(text.contains(line), "{} declares {line}", policy.display());
    let text = text.replace(line, &format!("{line}\n  lock {lock}"));
    std::fs::write(&policy, text).unwrap();
}

/// A Twilio webhook request signed with `auth_token`, as Twilio signs it.
pub fn twilio_signed_post(
    url: &str,
    auth_token: &str,
    params: &[(&str, &str)],
) -> (u16, String, String) {
    let owned: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let signature = switchboard::server::twilio::signature(auth_token, url, &owned);
    twilio_post(url, Some(&signature), params)
}

/// A Twilio webhook request: (status, content type, body).
pub fn twilio_post(
    url: &str,
    signature: Option<&str>,
    params: &[(&str, &str)],
) -> (u16, String, String) {
    let body = params
        .iter()
        .map(|(k, v)| format!("{k}={}", v.replace('+', "%2B").replace(' ', "+")))
        .collect::<Vec<_>>()
        .join("&");
    let mut request = agent()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded");
    if let Some(signature) = signature {
        request = request.header("x-twilio-signature", signature);
    }
    let mut response = request.send(&body).unwrap();
    let kind = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    (response.status().as_u16(), kind, text)
}

/// A customer's text, as the events endpoint takes it.
pub fn inbound(at: &str, from: &str, to: &str, body: &str, message_id: &str) -> String {
    json!({"type": "inbound", "at": at, "from": from, "to": to, "body": body, "message_id": message_id})
        .to_string()
}

/// Waits until `what` holds; fails, saying what was awaited, after 20 s.
pub fn eventually(awaited: &str, what: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !what() {
        assert!(Instant::now() < deadline, "timed out waiting: {awaited}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

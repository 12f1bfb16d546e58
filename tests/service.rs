//! The real service on a loopback port, driven over HTTP: tokens and
//! tenant isolation, events and redelivery, the read endpoints, bad
//! requests, and state that survives the process being killed.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(data: &PathBuf) -> Server {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .arg("--policies")
        .arg(root.join("policies"))
        .env(
            "SWITCHBOARD_TOKENS",
            "brightside=sms-secret, cascade_outfitters=other-secret",
        )
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line.trim().rsplit(' ').next().unwrap().to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "{line}");
    Server { child, base }
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("service-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// (status, JSON body) of a request.
fn call(method: &str, url: &str, token: Option<&str>, body: Option<&str>) -> (u16, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut response = match (method, body) {
        ("GET", _) => {
            let mut r = agent.get(url);
            if let Some(t) = token {
                r = r.header("authorization", &format!("Bearer {t}"));
            }
            r.call().unwrap()
        }
        (_, body) => {
            let mut r = agent.post(url).header("content-type", "application/json");
            if let Some(t) = token {
                r = r.header("authorization", &format!("Bearer {t}"));
            }
            r.send(body.unwrap_or("")).unwrap()
        }
    };
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

const INBOUND: &str = r#"{"type":"inbound","at":"2026-03-02T17:00:00Z","from":"+14155551234","to":"+14155550100","body":"Is the sale on?","message_id":"SM1"}"#;

#[test]
fn the_service_end_to_end() {
    let data = scratch("e2e");
    let server = start(&data);
    let b = &server.base;
    let events = format!("{b}/v1/tenants/brightside/events");

    assert_eq!(
        call("GET", &format!("{b}/healthz"), None, None),
        (200, json!({"status": "ok"}))
    );

    // Tokens: none, wrong, and another tenant's.
    let (status, body) = call("POST", &events, None, Some(INBOUND));
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "unauthorized");
    assert_eq!(call("POST", &events, Some("guess"), Some(INBOUND)).0, 401);
    let (status, body) = call("POST", &events, Some("other-secret"), Some(INBOUND));
    assert_eq!(status, 404, "{body}");
    assert_eq!(
        call(
            "GET",
            &format!("{b}/v1/tenants/nosuch/policy"),
            Some("sms-secret"),
            None
        )
        .0,
        404
    );

    // An event, and its redelivery.
    let (status, first) = call("POST", &events, Some("sms-secret"), Some(INBOUND));
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["outcome"], "routed");
    assert_eq!(first["conversation"], "c1");
    let (_, again) = call("POST", &events, Some("sms-secret"), Some(INBOUND));
    assert_eq!(again, first);

    // Dry run changes nothing.
    let reply = r#"{"type":"reply","at":"2026-03-02T17:05:00Z","agent":"ana","conversation":"c1","body":"Yes!"}"#;
    let (status, dry) = call(
        "POST",
        &format!("{events}/dry-run"),
        Some("sms-secret"),
        Some(reply),
    );
    assert_eq!(status, 200);
    assert_eq!(dry["outcome"], "allowed");
    let (_, conversation) = call(
        "GET",
        &format!("{b}/v1/tenants/brightside/conversations/c1"),
        Some("sms-secret"),
        None,
    );
    assert_eq!(conversation["outbound"], 0);
    let (_, real) = call("POST", &events, Some("sms-secret"), Some(reply));
    assert_eq!(real["changes"][0]["change"], "locked");

    // The read endpoints.
    let (status, view) = call(
        "GET",
        &format!("{b}/v1/tenants/brightside/agents/ben/conversations?inbox=sales_team_sms"),
        Some("sms-secret"),
        None,
    );
    assert_eq!(status, 200);
    assert_eq!(view["conversations"][0]["locked_by"], "ana");
    let (_, counters) = call(
        "GET",
        &format!("{b}/v1/tenants/brightside/inboxes/sales_team_sms/counters"),
        Some("sms-secret"),
        None,
    );
    assert_eq!(counters["inbound"], 1);
    assert_eq!(counters["outbound"], 1);
    let (_, policy) = call(
        "GET",
        &format!("{b}/v1/tenants/brightside/policy"),
        Some("sms-secret"),
        None,
    );
    assert_eq!(policy["tenant"], "brightside");
    let (status, metrics) = call("GET", &format!("{b}/metrics"), None, None);
    assert_eq!(status, 200);
    assert!(metrics
        .as_str()
        .unwrap()
        .contains("switchboard_decisions_total"));

    // Bad requests: JSON errors, 4xx, nothing changed.
    let (status, body) = call("POST", &events, Some("sms-secret"), Some("{not json"));
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "bad_event");
    let unknown = r#"{"type":"inbound","at":"2026-03-02T17:06:00Z","from":"+14155551234","to":"+19999999999","body":"Hi"}"#;
    let (status, body) = call("POST", &events, Some("sms-secret"), Some(unknown));
    assert_eq!(status, 422);
    assert_eq!(body["error"]["code"], "unknown_number");
    let big = format!(
        r#"{{"type":"inbound","at":"2026-03-02T17:07:00Z","from":"+1","to":"+1","body":"{}"}}"#,
        "x".repeat(100_000)
    );
    let (status, body) = call("POST", &events, Some("sms-secret"), Some(&big));
    assert_eq!(status, 413, "{body}");
    assert_eq!(
        call(
            "GET",
            &format!("{b}/v1/tenants/brightside/conversations/c99"),
            Some("sms-secret"),
            None
        )
        .0,
        404
    );
    assert_eq!(
        call(
            "GET",
            &format!("{b}/v1/tenants/brightside/agents/nobody/conversations"),
            Some("sms-secret"),
            None
        )
        .0,
        404
    );
    assert_eq!(call("GET", &format!("{b}/nowhere"), None, None).0, 404);
}

#[test]
fn acknowledged_events_survive_a_kill() {
    let data = scratch("kill");
    let acknowledged = {
        let mut server = start(&data);
        let events = format!("{}/v1/tenants/brightside/events", server.base);
        let mut acknowledged = Vec::new();
        for i in 0..30 {
            let event = format!(
                r#"{{"type":"inbound","at":"2026-03-02T17:{:02}:00Z","from":"+1415555{:04}","to":"+14155550100","body":"Hi","message_id":"SM{i}"}}"#,
                i, i
            );
            let (status, decision) = call("POST", &events, Some("sms-secret"), Some(&event));
            assert_eq!(status, 200);
            acknowledged.push(decision);
        }
        // SIGKILL: no graceful shutdown, no checkpoint.
        server.child.kill().unwrap();
        server.child.wait().unwrap();
        acknowledged
    };
    let server = start(&data);
    for (i, decision) in acknowledged.iter().enumerate() {
        let id = decision["conversation"].as_str().unwrap();
        let (status, conversation) = call(
            "GET",
            &format!("{}/v1/tenants/brightside/conversations/{id}", server.base),
            Some("sms-secret"),
            None,
        );
        assert_eq!(status, 200, "conversation {id} of event {i} is there");
        assert_eq!(conversation["inbound"], 1, "and applied once");
    }
}

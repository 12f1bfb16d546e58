//! The live stream of decisions (`GET /v1/tenants/{tenant}/stream`) from
//! the real service: many listeners at once and one that stops reading,
//! timer-driven decisions, resuming with `Last-Event-ID`, the agent and
//! inbox filters, revisions, and the errors.

mod common;

use common::service::{eventually, request, team_sms_locking_for, Server};
use common::sse::{self, Dechunked, Sse};
use serde_json::{json, Value};
use std::io::BufReader;
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::mpsc::Receiver;
use std::time::Duration;

const TOKEN: &str = "sms-secret";
const SERVICE_LINE: &str = "+14155550102";
const SALES_LINE: &str = "+14155550100";

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn start(name: &str, args: &[&str]) -> (Server, PathBuf) {
    let dir = scratch(name);
    let policies = dir.join("policies");
    team_sms_locking_for("2s", &policies);
    let env = [("SWITCHBOARD_TOKENS", "brightside=sms-secret")];
    (
        Server::serve(&dir.join("data"), &policies, args, &env),
        policies,
    )
}

/// The tenant's stream, with `query` (`?agent=ana`) and extra headers.
fn listen(server: &Server, query: &str, headers: &[(&str, &str)]) -> (u16, Receiver<Sse>) {
    let path = format!("/v1/tenants/brightside/stream{query}");
    sse::listen(&server.base, &path, TOKEN, headers)
}

fn open(server: &Server, query: &str, headers: &[(&str, &str)]) -> (BufReader<TcpStream>, u16) {
    let path = format!("/v1/tenants/brightside/stream{query}");
    sse::open(&server.base, &path, TOKEN, headers)
}

fn post(server: &Server, event: &Value) -> Value {
    let url = server.url("/v1/tenants/brightside/events");
    let reply = request("POST", &url, Some(TOKEN), Some(&event.to_string()));
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

fn inbound(from: &str, to: &str, body: &str) -> Value {
    json!({"type": "inbound", "from": from, "to": to, "body": body})
}

/// The next event, waiting at most 20 s.
fn next(events: &Receiver<Sse>) -> Sse {
    events
        .recv_timeout(Duration::from_secs(20))
        .expect("an event within 20 s")
}

/// Decisions until `count` of them have come (other events kept aside).
fn decisions(events: &Receiver<Sse>, count: usize) -> (Vec<Sse>, Vec<Sse>) {
    let (mut decided, mut other) = (Vec::new(), Vec::new());
    while decided.len() < count {
        let e = next(events);
        match e.event.as_str() {
            "decision" => decided.push(e),
            _ => other.push(e),
        }
    }
    (decided, other)
}

#[test]
fn every_listener_hears_every_decision_and_a_stalled_one_slows_nothing() {
    let (server, _) = start("stream-listeners", &["--stream-buffer", "16"]);
    let listeners: Vec<Receiver<Sse>> = (0..12)
        .map(|_| {
            let (status, events) = listen(&server, "", &[]);
            assert_eq!(status, 200);
            events
        })
        .collect();
    // One that sends its request and then reads nothing at all.
    let (stalled, status) = open(&server, "", &[]);
    assert_eq!(status, 200);

    // Enough text that the stalled listener's socket fills many times over.
    let body = "x".repeat(30_000);
    let count = 600;
    let mut decided = Vec::new();
    for i in 0..count {
        let from = format!("+1415555{:04}", 1000 + i);
        decided.push(post(&server, &inbound(&from, SERVICE_LINE, &body)));
    }
    // Every event was decided and answered while the stalled listener read
    // nothing: deciding did not wait for it.

    for events in &listeners {
        let (got, other) = decisions(events, count);
        let ids: Vec<u64> = got.iter().map(|e| e.id.unwrap()).collect();
        assert_eq!(
            ids,
            (1..=count as u64).collect::<Vec<_>>(),
            "in order, each once"
        );
        assert!(other.iter().all(|e| e.event == "lagged"), "{other:?}");
        let first = got[0].json();
        assert_eq!(first["seq"], 1);
        assert_eq!(first["event"]["type"], "inbound");
        assert_eq!(first["decision"]["inbox"], decided[0]["inbox"]);
        assert_eq!(
            first["decision"]["conversation"],
            decided[0]["conversation"]
        );
    }

    // The stalled listener wakes: it is told it fell behind, and still gets
    // every decision, the missed ones from the store.
    let mut reader = Dechunked::new(stalled);
    let (mut lagged, mut ids) = (Vec::new(), Vec::new());
    let mut current = Sse::default();
    while ids.len() < count {
        let mut line = String::new();
        assert!(reader.read_line(&mut line).unwrap() > 0, "the stream ended");
        let line = line.trim_end();
        if line.is_empty() {
            match current.event.as_str() {
                "decision" => ids.push(current.id.unwrap()),
                "lagged" => lagged.push(current.json()),
                _ => {}
            }
            current = Sse::default();
        } else if let Some((field, value)) = line.split_once(':') {
            match field {
                "id" => current.id = value.trim().parse().ok(),
                "event" => current.event = value.trim().to_string(),
                "data" => current.data = value.trim().to_string(),
                _ => {}
            }
        }
    }
    assert!(
        !lagged.is_empty(),
        "the stalled listener was told it fell behind"
    );
    assert!(lagged[0]["missed"].as_u64().unwrap() > 0, "{lagged:?}");
    assert_eq!(ids, (1..=count as u64).collect::<Vec<_>>());
}

#[test]
fn timers_resumes_filters_and_revisions() {
    let (server, policies) = start("stream-resume", &[]);
    let (_, all) = listen(&server, "", &[]);
    let (_, cho) = listen(&server, "?agent=cho", &[]);
    let (_, service) = listen(&server, "?inbox=service_team_sms", &[]);

    // 1: a service-line text; 2: ana replies, which locks it for 2 s;
    // 3: a sales-line text; then the lock expires on the service's clock.
    post(&server, &inbound("+14155558888", SERVICE_LINE, "Hi"));
    let reply = json!({"type": "reply", "agent": "ana", "conversation": "c1", "body": "Hello"});
    assert_eq!(post(&server, &reply)["changes"][0]["change"], "locked");
    post(&server, &inbound("+14155557777", SALES_LINE, "Price?"));
    let (got, _) = decisions(&all, 4);
    let timed = got[3].json();
    assert_eq!(timed["event"]["type"], "tick", "{timed}");
    assert_eq!(
        timed["decision"]["changes"][0]["change"], "lock_expired",
        "{timed}"
    );
    assert_eq!(
        got.iter().map(|e| e.id.unwrap()).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );

    // cho answers sales only: the sales text, nothing of the service line.
    let (mine, _) = decisions(&cho, 1);
    assert_eq!(mine[0].id, Some(3));
    // The service inbox: its text, the reply, and the tick that unlocked it.
    let (theirs, _) = decisions(&service, 3);
    assert_eq!(
        theirs.iter().map(|e| e.id).collect::<Vec<_>>(),
        [Some(1), Some(2), Some(4)]
    );
    assert!(
        cho.recv_timeout(Duration::from_millis(300)).is_err(),
        "nothing else for cho"
    );

    // Resuming after 2 sends 3 and 4, from the store, as they were sent live.
    let (status, resumed) = listen(&server, "", &[("Last-Event-ID", "2")]);
    assert_eq!(status, 200);
    let (again, _) = decisions(&resumed, 2);
    assert_eq!(again, got[2..].to_vec());
    // `?after=` is the same for clients that cannot set the header; and
    // then the live stream goes on with nothing twice.
    let (_, after) = listen(&server, "?after=3&inbox=service_team_sms", &[]);
    let (fourth, _) = decisions(&after, 1);
    assert_eq!(fourth[0], got[3]);
    post(&server, &inbound("+14155556666", SERVICE_LINE, "Hello?"));
    let (fifth, _) = decisions(&after, 1);
    assert_eq!(fifth[0].id, Some(5));

    // A reload is announced with the revision it serves.
    let policy = policies.join("team-sms/team-sms.policy");
    let text = std::fs::read_to_string(&policy).unwrap();
    std::fs::write(&policy, format!("{text}\n# reloaded\n")).unwrap();
    eventually("the new revision is announced", || {
        match all.recv_timeout(Duration::from_millis(200)) {
            Ok(e) => e.event == "serving" && e.json()["revision"].is_string(),
            Err(_) => false,
        }
    });

    // Resuming after the largest sequence number there can be is a stream
    // with nothing to catch up on, not a fault.
    let (status, _) = listen(&server, "?after=18446744073709551615", &[]);
    assert_eq!(status, 200);

    // Bad requests are answered as every route answers them.
    let url = |q: &str| server.url(&format!("/v1/tenants/brightside/stream{q}"));
    let reply = request("GET", &url("?after=soon"), Some(TOKEN), None);
    assert_eq!(
        (reply.status, reply.body["error"]["code"].clone()),
        (400, json!("bad_resume"))
    );
    let reply = request("GET", &url("?agent=nobody"), Some(TOKEN), None);
    assert_eq!(
        (reply.status, reply.body["error"]["code"].clone()),
        (404, json!("unknown_agent"))
    );
    let reply = request("GET", &url("?inbox=nowhere"), Some(TOKEN), None);
    assert_eq!(reply.body["error"]["code"], "unknown_inbox");
    let reply = request("GET", &url(""), None, None);
    assert_eq!(reply.status, 401);
    let reply = request("GET", &url(""), Some("wrong"), None);
    assert_eq!(reply.status, 401);
}

#[test]
fn a_shutdown_ends_open_streams_instead_of_waiting_for_them() {
    let (server, _) = start("stream-shutdown", &[]);
    let (status, events) = listen(&server, "", &[]);
    assert_eq!(status, 200);
    post(&server, &inbound("+14155558888", SERVICE_LINE, "Hi"));
    assert_eq!(next(&events).event, "decision");
    // SIGTERM with the stream open: the listener is told, and the service
    // exits cleanly (a graceful shutdown waits for open connections).
    let stopping = std::thread::spawn(move || server.stop());
    let last = next(&events);
    assert_eq!(last.event, "end", "{last:?}");
    assert!(last.json()["reason"]
        .as_str()
        .unwrap()
        .contains("shutting down"));
    stopping.join().expect("the service stopped cleanly");
}

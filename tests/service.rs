//! The real service on a loopback port, driven over HTTP: tokens and
//! tenant isolation, every endpoint, Twilio's webhook, bad requests, timers
//! from the service's clock, hot reload, races, and state that survives the
//! process being killed again and again under load.
//!
//! Events carry times in 2030 unless a test is about the service's clock,
//! so no timer of theirs comes due while a test runs.

mod common;

use common::service::{
    agent, copy_tenant, eventually, inbound, repository, team_sms_locking_for, try_request,
    twilio_post, twilio_signed_post, Server,
};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use switchboard::server::twilio;

const TOKENS: &str = "brightside=sms-secret, cascade_outfitters=other-secret";
const TWILIO_TOKENS: &str = "brightside=twilio-auth";

impl Server {
    /// The service on the repository's policies.
    fn start(data: &Path) -> Server {
        Server::start_with(data, &repository("policies"), &[])
    }

    fn start_with(data: &Path, policies: &Path, args: &[&str]) -> Server {
        let env = [
            ("SWITCHBOARD_TOKENS", TOKENS),
            ("SWITCHBOARD_TWILIO_TOKENS", TWILIO_TOKENS),
        ];
        Server::serve(data, policies, args, &env)
    }
}

/// Replaces a file the way an editor saves it whole: the service never
/// reads half of it (a plain write truncates first, and a reload between
/// the two would see a broken policy).
fn write_whole(path: &Path, text: &str) {
    let staged = path.with_extension("saving");
    std::fs::write(&staged, text).unwrap();
    std::fs::rename(&staged, path).unwrap();
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("service-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// (status, JSON body) of a request; panics if the service cannot be
/// reached.
fn call(method: &str, url: &str, token: Option<&str>, body: Option<&str>) -> (u16, Value) {
    try_call(method, url, token, body).unwrap_or_else(|e| panic!("{method} {url}: {e}"))
}

fn try_call(
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> Result<(u16, Value), ureq::Error> {
    try_request(method, url, token, body).map(|r| (r.status, r.body))
}

/// A GET with a raw Authorization header.
fn get_with(url: &str, authorization: &str) -> (u16, Value) {
    let mut response = agent()
        .get(url)
        .header("authorization", authorization)
        .call()
        .unwrap();
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

const AT: &str = "2030-03-04T17:00:00Z";

/// Waits until `what` holds; fails after 20 seconds.
#[test]
fn the_service_end_to_end() {
    let data = scratch("e2e");
    let server = Server::start(&data);
    let events = server.url("/v1/tenants/brightside/events");
    let sms = Some("sms-secret");
    let first_message = inbound(AT, "+14155551234", "+14155550100", "Is the sale on?", "SM1");

    let (status, health) = call("GET", &server.url("/healthz"), None, None);
    assert_eq!((status, &health["status"]), (200, &json!("ok")));
    assert_eq!(
        health["tenants"]["brightside"],
        json!({"status": "serving"})
    );
    assert_eq!(
        call("GET", &server.url("/readyz"), None, None).0,
        200,
        "every tenant recovered and serving"
    );

    // Tokens: none, wrong, and another tenant's.
    let (status, body) = call("POST", &events, None, Some(&first_message));
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "unauthorized");
    assert_eq!(
        call("POST", &events, Some("guess"), Some(&first_message)).0,
        401
    );
    let (status, body) = call("POST", &events, Some("other-secret"), Some(&first_message));
    assert_eq!(status, 404, "{body}");
    let (status, body) = call(
        "GET",
        &server.url("/v1/tenants/brightside/conversations/c1"),
        Some("other-secret"),
        None,
    );
    assert_eq!(
        (status, &body["error"]["code"]),
        (404, &json!("unknown_tenant"))
    );
    assert_eq!(
        call("GET", &server.url("/v1/tenants/nosuch/policy"), sms, None).0,
        404
    );

    // The scheme is case-insensitive.
    let (status, body) = get_with(
        &server.url("/v1/tenants/brightside/policy"),
        "bearer sms-secret",
    );
    assert_eq!(status, 200, "{body}");

    // An event, and its redelivery.
    let (status, first) = call("POST", &events, sms, Some(&first_message));
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["outcome"], "routed");
    assert_eq!(first["conversation"], "c1");
    let revision = first["revision"].as_str().unwrap().to_string();
    assert_eq!(revision.len(), 12);
    let (_, mut again) = call("POST", &events, sms, Some(&first_message));
    assert_eq!(again["redelivered"], true);
    again.as_object_mut().unwrap().remove("redelivered");
    assert_eq!(again, first);

    // Dry run changes nothing.
    let reply = r#"{"type":"reply","at":"2030-03-04T17:05:00Z","agent":"ana","conversation":"c1","body":"Yes!"}"#;
    let (status, dry) = call("POST", &format!("{events}/dry-run"), sms, Some(reply));
    assert_eq!(status, 200);
    assert_eq!(dry["outcome"], "allowed");
    assert_eq!(dry["revision"], revision.as_str());
    let conversation_url = server.url("/v1/tenants/brightside/conversations/c1");
    let (_, conversation) = call("GET", &conversation_url, sms, None);
    assert_eq!(conversation["outbound"], 0);
    let (_, real) = call("POST", &events, sms, Some(reply));
    assert_eq!(real["changes"][0]["change"], "locked");

    // The read endpoints.
    let (status, view) = call(
        "GET",
        &server.url("/v1/tenants/brightside/agents/ben/conversations?inbox=sales_team_sms"),
        sms,
        None,
    );
    assert_eq!(status, 200);
    assert_eq!(view["conversations"][0]["locked_by"], "ana");
    let (status, view) = call(
        "GET",
        &server.url("/v1/tenants/brightside/agents/ben/conversations?inbox=service_team_sms"),
        sms,
        None,
    );
    assert_eq!(status, 200);
    assert_eq!(view["conversations"], json!([]), "filtered by inbox");
    let (_, counters) = call(
        "GET",
        &server.url("/v1/tenants/brightside/inboxes/sales_team_sms/counters"),
        sms,
        None,
    );
    assert_eq!(counters["inbound"], 1);
    assert_eq!(counters["outbound"], 1);
    assert_eq!(counters["sms_volume"], 2);
    let (_, policy) = call(
        "GET",
        &server.url("/v1/tenants/brightside/policy"),
        sms,
        None,
    );
    assert_eq!(policy["tenant"], "brightside");
    assert_eq!(policy["revision"], revision.as_str());
    assert_eq!(policy["refused"], Value::Null);
    let (_, reload) = call(
        "POST",
        &server.url("/v1/tenants/brightside/policy/reload"),
        sms,
        None,
    );
    assert_eq!(reload, json!({"result": "unchanged", "revision": revision}));
    let (status, metrics) = call("GET", &server.url("/metrics"), None, None);
    assert_eq!(status, 200);
    let metrics = metrics.as_str().unwrap();
    for line in [
        "switchboard_decisions_total 2",
        "switchboard_redeliveries_total 1",
        "switchboard_decision_seconds_count 2",
        "switchboard_reloads_total 0",
        "switchboard_hook_failures_total{tenant=\"brightside\"} 0",
    ] {
        assert!(metrics.contains(line), "{line} in\n{metrics}");
    }

    // Bad requests: JSON errors, 4xx, nothing changed.
    let (status, body) = call("POST", &events, sms, Some("{not json"));
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "bad_event");
    let (status, body) = call("POST", &events, sms, Some(r#"{"type":"teleport"}"#));
    assert_eq!(status, 400);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("teleport"));
    let unknown = inbound(AT, "+14155551234", "+19999999999", "Hi", "SM2");
    let (status, body) = call("POST", &events, sms, Some(&unknown));
    assert_eq!(status, 422);
    assert_eq!(body["error"]["code"], "unknown_number");
    let stranger =
        r#"{"type":"claim","at":"2030-03-04T17:06:00Z","agent":"nobody","conversation":"c1"}"#;
    let (status, body) = call("POST", &events, sms, Some(stranger));
    assert_eq!(status, 422);
    assert_eq!(body["error"]["code"], "unknown_agent");
    let big = inbound(AT, "+1", "+1", &"x".repeat(100_000), "SM3");
    let (status, body) = call("POST", &events, sms, Some(&big));
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"]["code"], "bad_body");
    for path in [
        "/v1/tenants/brightside/conversations/c99",
        "/v1/tenants/brightside/agents/nobody/conversations",
        "/v1/tenants/brightside/agents/ben/conversations?inbox=nowhere",
        "/v1/tenants/brightside/inboxes/nowhere/counters",
    ] {
        let (status, body) = call("GET", &server.url(path), sms, None);
        assert_eq!(status, 404, "{path}");
        assert!(body["error"]["message"].is_string(), "{path}: {body}");
    }
    let (status, _) = call(
        "GET",
        &server.url("/v1/tenants/brightside/agents/ben/conversations?at=yesterday"),
        sms,
        None,
    );
    assert_eq!(status, 400);
    assert_eq!(call("GET", &server.url("/nowhere"), None, None).0, 404);
    let (status, body) = call("GET", &events, sms, None);
    assert_eq!(
        (status, &body["error"]["code"]),
        (405, &json!("method_not_allowed"))
    );
    let (_, conversation) = call("GET", &conversation_url, sms, None);
    assert_eq!(
        (&conversation["inbound"], &conversation["outbound"]),
        (&json!(1), &json!(1)),
        "bad requests changed nothing"
    );

    // The decision log: a line per decision, the customer's number masked.
    server.stop();
    let log = std::fs::read_to_string(data.join("decisions.jsonl")).unwrap();
    assert!(!log.contains("+14155551234"), "{log}");
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["customer"], "+*******1234");
    assert_eq!(lines[0]["revision"], revision.as_str());
    assert_eq!(lines[1]["redelivered"], true);
}

#[test]
fn the_service_log_is_json_lines_filtered_by_switchboard_log() {
    let data = scratch("service-log");
    let server = Server::start(&data);
    let recovered = server
        .log_line("tenant recovered")
        .expect("each tenant's recovery is logged");
    let line: Value = serde_json::from_str(&recovered).expect("a JSON line");
    assert_eq!(line["level"], "INFO", "{line}");
    assert_eq!(line["message"], "tenant recovered", "{line}");
    assert!(line["tenant"].is_string(), "{line}");
    assert!(line["replayed"].is_u64(), "{line}");
    assert!(
        line["timestamp"]
            .as_str()
            .is_some_and(|t| chrono::DateTime::parse_from_rfc3339(t).is_ok()),
        "{line}"
    );
    server.stop();

    let env = [
        ("SWITCHBOARD_TOKENS", TOKENS),
        ("SWITCHBOARD_TWILIO_TOKENS", TWILIO_TOKENS),
        ("SWITCHBOARD_LOG", "warn"),
    ];
    let quiet = Server::serve(&data, &repository("policies"), &[], &env);
    assert_eq!(call("GET", &quiet.url("/healthz"), None, None).0, 200);
    assert!(
        quiet.log_line("\"level\":\"INFO\"").is_none(),
        "SWITCHBOARD_LOG=warn leaves info lines out"
    );
    // `stop` waits for the info line that says it stopped.
    quiet.kill();
}

#[test]
fn a_second_service_on_the_same_data_folder_is_refused() {
    let data = scratch("in-use");
    let _first = Server::start(&data);
    let second = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(&data)
        .arg("--policies")
        .arg(repository("policies"))
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains("in use by another switchboard serve"),
        "{stderr}"
    );
}

#[test]
fn twilio_webhook_checks_the_signature_and_answers_with_twiml() {
    let data = scratch("twilio");
    let server = Server::start(&data);
    let url = server.url("/v1/tenants/brightside/twilio/messages");
    let params = [
        ("MessageSid", "SM0001"),
        ("AccountSid", "AC0001"),
        ("From", "+14155557777"),
        ("To", "+14155550100"),
        ("Body", "HELP"),
        ("NumMedia", "0"),
    ];
    let owned: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let signed = twilio::signature("twilio-auth", &url, &owned);

    // Forged: signed with another token, or for another URL, or not at all.
    let forged = twilio::signature("guessed-token", &url, &owned);
    for signature in [Some(forged.as_str()), None] {
        let (status, _, body) = twilio_post(&url, signature, &params);
        assert_eq!(status, 403, "{body}");
        assert!(body.contains("bad_signature"), "{body}");
    }
    let elsewhere = twilio::signature("twilio-auth", "https://example.com/hook", &owned);
    assert_eq!(twilio_post(&url, Some(&elsewhere), &params).0, 403);
    let mut tampered = params;
    tampered[4] = ("Body", "STOP");
    assert_eq!(twilio_post(&url, Some(&signed), &tampered).0, 403);
    let (status, conversations) = call(
        "GET",
        &server.url("/v1/tenants/brightside/conversations/c1"),
        Some("sms-secret"),
        None,
    );
    assert_eq!(
        status, 404,
        "forged requests stored nothing: {conversations}"
    );

    // Valid: TwiML with the help reply, escaped.
    let (status, kind, twiml) = twilio_post(&url, Some(&signed), &params);
    assert_eq!(status, 200, "{twiml}");
    assert!(kind.starts_with("text/xml"), "{kind}");
    assert_eq!(
        twiml,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Message>Reply STOP to unsubscribe. Msg &amp; data rates may apply.</Message></Response>"
    );
    // Redelivered by Twilio: nothing is sent twice.
    let (status, _, again) = twilio_post(&url, Some(&signed), &params);
    assert_eq!(status, 200);
    assert_eq!(
        again,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>"
    );

    // A form without the fields a message has.
    let partial = [("MessageSid", "SM0002"), ("From", "+14155557777")];
    let owned: Vec<(String, String)> = partial
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let (status, _, body) = twilio_post(
        &url,
        Some(&twilio::signature("twilio-auth", &url, &owned)),
        &partial,
    );
    assert_eq!(status, 400);
    assert!(body.contains("`To`"), "{body}");
    // A tenant without a Twilio auth token has no webhook.
    let other = server.url("/v1/tenants/cascade_outfitters/twilio/messages");
    assert_eq!(twilio_post(&other, Some(&signed), &params).0, 404);
}

/// Twilio writes a WhatsApp sender and number as `whatsapp:+1...`: the
/// message routes on channel whatsapp, where the number takes it, and gets
/// no autoresponder (article 003); any reply goes back on WhatsApp.
#[test]
fn twilio_whatsapp_messages_route_as_whatsapp() {
    let data = scratch("twilio-whatsapp");
    let env = [
        ("SWITCHBOARD_TOKENS", TOKENS),
        ("SWITCHBOARD_TWILIO_TOKENS", "cascade_outfitters=wa-auth"),
    ];
    let server = Server::serve(&data, &repository("policies"), &[], &env);
    let url = server.url("/v1/tenants/cascade_outfitters/twilio/messages");
    let params = [
        ("MessageSid", "SMwa01"),
        ("From", "whatsapp:+14155551234"),
        ("To", "whatsapp:+16285550300"),
        ("Body", "Do you have the Alpine 40 in green?"),
        ("NumMedia", "0"),
    ];
    let (status, _, twiml) = twilio_signed_post(&url, "wa-auth", &params);
    assert_eq!(status, 200, "{twiml}");
    // Whatever the hours (an after-hours reply may go), never the
    // autoresponder, and nothing addressed elsewhere.
    assert!(!twiml.contains("will reply shortly"), "{twiml}");
    assert!(!twiml.contains(" to="), "{twiml}");
    let (status, conversation) = call(
        "GET",
        &server.url("/v1/tenants/cascade_outfitters/conversations/c1"),
        Some("other-secret"),
        None,
    );
    assert_eq!(status, 200, "{conversation}");
    assert_eq!(conversation["channel"], "whatsapp", "{conversation}");
    assert_eq!(conversation["customer"], "+14155551234", "{conversation}");
    assert_eq!(conversation["number"], "+16285550300", "{conversation}");

    // The support line takes no WhatsApp: refused as such, not as an
    // unknown number.
    let params = [
        ("MessageSid", "SMwa02"),
        ("From", "whatsapp:+14155551234"),
        ("To", "whatsapp:+16285550310"),
        ("Body", "Hello?"),
    ];
    let (status, _, twiml) = twilio_signed_post(&url, "wa-auth", &params);
    assert_eq!(status, 200, "{twiml}");
    assert_eq!(twiml, twilio::empty());
    // The decision log says why.
    let log = data.join("decisions.jsonl");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("channel_not_enabled") {
            assert!(!text.contains("unknown_number"), "{text}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{text}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn timers_fire_from_the_service_clock_and_survive_a_restart() {
    let data = scratch("timers");
    let policies = data.join("policies");
    team_sms_locking_for("2s", &policies);
    let sms = Some("sms-secret");
    // Events without `at` happen now, by the service's clock.
    let message = r#"{"type":"inbound","from":"+14155558888","to":"+14155550102","body":"Hi"}"#;
    let reply = r#"{"type":"reply","agent":"ana","conversation":"c1","body":"Hello"}"#;
    let locked = |server: &Server| {
        let (_, c) = call(
            "GET",
            &server.url("/v1/tenants/brightside/conversations/c1"),
            sms,
            None,
        );
        !c["lock"].is_null()
    };

    let server = Server::start_with(&data, &policies, &[]);
    let events = server.url("/v1/tenants/brightside/events");
    let (status, decision) = call("POST", &events, sms, Some(message));
    assert_eq!(status, 200, "{decision}");
    let (_, decision) = call("POST", &events, sms, Some(reply));
    assert_eq!(decision["changes"][0]["change"], "locked", "{decision}");
    assert!(decision["next_tick"].is_string());
    assert!(locked(&server));
    eventually("the lock expires on the service's clock", || {
        !locked(&server)
    });

    // Locked again, then killed before the lock runs out: the first tick
    // after the restart releases it.
    let (_, decision) = call("POST", &events, sms, Some(reply));
    assert_eq!(decision["changes"][0]["change"], "locked", "{decision}");
    server.kill();
    std::thread::sleep(Duration::from_secs(3));
    let server = Server::start_with(&data, &policies, &[]);
    eventually("the lock due while the service was down expires", || {
        !locked(&server)
    });
    // Counted once the tick is on disk, a moment after memory shows it.
    eventually("the tick is counted", || {
        let (_, metrics) = call("GET", &server.url("/metrics"), None, None);
        metrics
            .as_str()
            .unwrap()
            .contains("switchboard_ticks_total 1")
    });
}

#[test]
fn a_good_policy_change_is_picked_up_and_a_broken_one_refused() {
    let data = scratch("reload");
    let policies = data.join("policies");
    let folder = copy_tenant("team-sms", &policies);
    let policy = folder.join("team-sms.policy");
    let original = std::fs::read_to_string(&policy).unwrap();
    let server = Server::start_with(&data, &policies, &["--reload-every", "100ms"]);
    let events = server.url("/v1/tenants/brightside/events");
    let policy_url = server.url("/v1/tenants/brightside/policy");
    let sms = Some("sms-secret");
    let revision = |server: &Server| {
        call(
            "GET",
            &server.url("/v1/tenants/brightside/policy"),
            sms,
            None,
        )
        .1["revision"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let first = revision(&server);

    // A stream of events runs through both changes; every one is answered.
    let stop = Arc::new(AtomicBool::new(false));
    let stream = {
        let (stop, events) = (stop.clone(), events.clone());
        std::thread::spawn(move || {
            let mut answered = Vec::new();
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let from = format!("+1415600{:04}", i % 500);
                let message = inbound(AT, &from, "+14155550100", "Hi", &format!("R{i}"));
                let (status, decision) = call("POST", &events, Some("sms-secret"), Some(&message));
                assert_eq!(status, 200, "{decision}");
                answered.push(decision["revision"].as_str().unwrap().to_string());
                i += 1;
            }
            answered
        })
    };

    // A good change: the sales line's lock lasts longer.
    std::thread::sleep(Duration::from_millis(300));
    let changed = original.replace("lock 30m", "lock 45m");
    assert_ne!(changed, original);
    write_whole(&policy, &changed);
    eventually("the changed policy is loaded", || {
        revision(&server) != first
    });
    let second = revision(&server);
    std::thread::sleep(Duration::from_millis(300));

    // A broken one: refused, the second revision keeps serving.
    let broken = format!("{changed}\ninbox broken shared {{\n  numbers +10000000000\n}}\n");
    write_whole(&policy, &broken);
    eventually("the broken policy is refused", || {
        !call("GET", &policy_url, sms, None).1["refused"].is_null()
    });
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    let answered = stream.join().unwrap();

    let (_, policy_now) = call("GET", &policy_url, sms, None);
    assert_eq!(policy_now["revision"], second.as_str());
    let refused = &policy_now["refused"];
    assert_ne!(refused["revision"], second.as_str());
    assert!(
        refused["diagnostics"]
            .as_str()
            .unwrap()
            .contains("+10000000000"),
        "{refused}"
    );
    assert!(server.logged("policy refused"), "the refusal is logged");
    assert!(server.logged("policy reloaded"));
    let (_, reload) = call(
        "POST",
        &server.url("/v1/tenants/brightside/policy/reload"),
        sms,
        None,
    );
    assert_eq!(
        reload,
        json!({"result": "unchanged", "revision": second}),
        "a refused revision is not checked again; the second keeps serving"
    );

    // Decisions name the revision that made them: first, then second.
    assert!(answered.len() > 5, "{}", answered.len());
    assert_eq!(answered.first().unwrap(), &first);
    assert_eq!(answered.last().unwrap(), &second);
    let switched = answered.windows(2).filter(|w| w[0] != w[1]).count();
    assert_eq!(switched, 1, "one switch, between two events");
    let (_, metrics) = call("GET", &server.url("/metrics"), None, None);
    let metrics = metrics.as_str().unwrap().to_string();
    assert!(metrics.contains("switchboard_reloads_total 1"), "{metrics}");
    assert!(
        metrics.contains("switchboard_reloads_refused_total 1"),
        "{metrics}"
    );

    // Fixed again: loaded.
    write_whole(&policy, &original);
    let (_, reload) = call(
        "POST",
        &server.url("/v1/tenants/brightside/policy/reload"),
        sms,
        None,
    );
    assert_eq!(reload["result"], "loaded", "{reload}");
    assert_eq!(
        reload["revision"],
        first.as_str(),
        "the same files, the same revision"
    );
}

/// Claims one conversation from `agents` at once; the agents whose claim won.
fn claim_race(events: &str, conversation: &str, agents: &[&str], at: &str) -> Vec<String> {
    let threads: Vec<_> = agents
        .iter()
        .map(|agent| {
            let claim =
                json!({"type": "claim", "at": at, "agent": agent, "conversation": conversation})
                    .to_string();
            let (events, agent) = (events.to_string(), agent.to_string());
            std::thread::spawn(move || {
                let (status, decision) = call("POST", &events, Some("other-secret"), Some(&claim));
                assert_eq!(status, 200, "{decision}");
                let won = decision["changes"]
                    .as_array()
                    .is_some_and(|c| c.iter().any(|c| c["change"] == "claimed"));
                won.then_some(agent)
            })
        })
        .collect();
    threads
        .into_iter()
        .filter_map(|t| t.join().unwrap())
        .collect()
}

const RETURNS: &str = "+16285550320";
const RETURNS_AGENTS: [&str; 2] = ["eli", "jo"];

#[test]
fn of_many_concurrent_claims_and_replies_exactly_one_wins() {
    let data = scratch("race");
    let server = Server::start(&data);
    let events = server.url("/v1/tenants/cascade_outfitters/events");
    let message = inbound(AT, "+14155559999", RETURNS, "My boots broke", "SMR1");
    let (status, decision) = call("POST", &events, Some("other-secret"), Some(&message));
    assert_eq!(status, 200, "{decision}");
    let conversation = decision["conversation"].as_str().unwrap().to_string();
    // Claims and replies, from both agents, all at once; in a claim-must
    // inbox a reply is sent only by the one who holds the claim.
    let threads: Vec<_> = (0..24)
        .map(|i| {
            let agent = RETURNS_AGENTS[i % 2];
            let kind = if i % 3 == 0 { "reply" } else { "claim" };
            let action = json!({"type": kind, "at": "2030-03-04T17:01:00Z", "agent": agent, "conversation": conversation, "body": "On it"}).to_string();
            let events = events.clone();
            std::thread::spawn(move || {
                let (status, decision) = call("POST", &events, Some("other-secret"), Some(&action));
                assert_eq!(status, 200, "{decision}");
                let claimed = decision["changes"]
                    .as_array()
                    .is_some_and(|c| c.iter().any(|c| c["change"] == "claimed"));
                (agent, kind, claimed, decision["outcome"] == "allowed")
            })
        })
        .collect();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let winners: Vec<&str> = results.iter().filter(|r| r.2).map(|r| r.0).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    let replied_by: Vec<&str> = results
        .iter()
        .filter(|r| r.1 == "reply" && r.3)
        .map(|r| r.0)
        .collect();
    assert!(
        replied_by.iter().all(|a| *a == winners[0]),
        "only the claim's winner replied: {results:?}"
    );
    let (_, state) = call(
        "GET",
        &server.url(&format!(
            "/v1/tenants/cascade_outfitters/conversations/{conversation}"
        )),
        Some("other-secret"),
        None,
    );
    assert_eq!(state["owner"], winners[0]);
    assert_eq!(state["outbound"], replied_by.len());
}

#[test]
fn killed_again_and_again_under_load_nothing_acknowledged_is_lost_or_doubled() {
    let data = scratch("crash");
    let (acknowledged, owners, sent) = crash_rounds(&data, &[]);

    let server = Server::start(&data);
    let events = server.url("/v1/tenants/cascade_outfitters/events");
    // Every acknowledged message is stored: sending it again is a redelivery.
    for (id, customer) in &acknowledged {
        let message = inbound(AT, customer, "+16285550300", "Hello", id);
        let (status, decision) = call("POST", &events, Some("other-secret"), Some(&message));
        assert_eq!(status, 200);
        assert_eq!(
            decision["redelivered"], true,
            "{id} was acknowledged, so it is stored"
        );
    }
    applied_once(&server, &acknowledged, &owners, sent);
}

/// The same, with a snapshot every 25 events and nothing kept behind the
/// latest one: recovery starts from snapshots taken under load, and
/// retention removes events while the stream runs.
#[test]
fn killed_again_and_again_across_snapshots_and_retention_nothing_is_lost_or_doubled() {
    let data = scratch("crash-retention");
    let args = ["--snapshot-every", "25", "--retention", "0s"];
    let (acknowledged, owners, sent) = crash_rounds(&data, &args);
    let server = Server::start_with(&data, &repository("policies"), &args);
    applied_once(&server, &acknowledged, &owners, sent);
    let kept = {
        let db = data.join("switchboard.db");
        use switchboard::store::TenantStore;
        let store = switchboard::store::SqliteStore::open(db).unwrap();
        let history = store.history("cascade_outfitters").unwrap();
        assert!(history.snapshot.is_some(), "snapshots were taken");
        history.events.len()
    };
    assert!(
        kept < acknowledged.len(),
        "retention removed events covered by snapshots: {kept} kept of {} acknowledged",
        acknowledged.len()
    );
}

/// A (message id, customer) or (conversation, agent).
type Pair = (String, String);

/// Four rounds of six senders and a claim race, each ended by a SIGKILL:
/// the acknowledged (message id, customer) pairs, each race's
/// (conversation, winner), and how many messages were sent.
fn crash_rounds(data: &Path, args: &[&str]) -> (Vec<Pair>, Vec<Pair>, u64) {
    let sequence = Arc::new(AtomicU32::new(0));
    // (message id, customer) of every acknowledged inbound message, and the
    // winner of every acknowledged claim race.
    let mut acknowledged: Vec<(String, String)> = Vec::new();
    let mut owners: Vec<(String, String)> = Vec::new();
    for round in 0..4 {
        let server = Server::start_with(data, &repository("policies"), args);
        let events = server.url("/v1/tenants/cascade_outfitters/events");
        let stop = Arc::new(AtomicBool::new(false));
        let senders: Vec<_> = (0..6)
            .map(|_| {
                let (stop, events, sequence) = (stop.clone(), events.clone(), sequence.clone());
                std::thread::spawn(move || {
                    let mut acked = Vec::new();
                    while !stop.load(Ordering::Relaxed) {
                        let n = sequence.fetch_add(1, Ordering::Relaxed);
                        let customer = format!("+1628600{:04}", n % 40);
                        let id = format!("SMC{n}");
                        let message = inbound(AT, &customer, "+16285550300", "Hello", &id);
                        match try_call("POST", &events, Some("other-secret"), Some(&message)) {
                            Ok((200, _)) => acked.push((id, customer)),
                            Ok((status, body)) => panic!("{status}: {body}"),
                            // Killed mid-request: not acknowledged.
                            Err(_) => break,
                        }
                    }
                    acked
                })
            })
            .collect();
        // A claim race on a new returns conversation while the stream runs.
        let customer = format!("+1628700{round:04}");
        let message = inbound(AT, &customer, RETURNS, "Return", &format!("SMX{round}"));
        let (_, decision) = call("POST", &events, Some("other-secret"), Some(&message));
        let conversation = decision["conversation"].as_str().unwrap().to_string();
        let winners = claim_race(
            &events,
            &conversation,
            &RETURNS_AGENTS,
            "2030-03-04T17:02:00Z",
        );
        assert_eq!(winners.len(), 1, "{winners:?}");
        owners.push((conversation, winners[0].clone()));
        std::thread::sleep(Duration::from_millis(200 + 150 * round));
        server.kill();
        stop.store(true, Ordering::Relaxed);
        for sender in senders {
            acknowledged.extend(sender.join().unwrap());
        }
    }
    assert!(acknowledged.len() > 50, "{}", acknowledged.len());
    (
        acknowledged,
        owners,
        sequence.load(Ordering::Relaxed) as u64,
    )
}

/// Each acknowledged message applied once: each conversation counts at
/// least its acknowledged messages and no more than were sent (an
/// unacknowledged one may have been stored just before a kill); each claim
/// race's acknowledged winner owns its conversation.
fn applied_once(server: &Server, acknowledged: &[Pair], owners: &[Pair], sent: u64) {
    let get = |path: &str| {
        call(
            "GET",
            &server.url(&format!("/v1/tenants/cascade_outfitters{path}")),
            Some("other-secret"),
            None,
        )
        .1
    };
    let mut per_customer: std::collections::HashMap<&str, u64> = Default::default();
    for (_, customer) in acknowledged {
        *per_customer.entry(customer).or_default() += 1;
    }
    let mut counted = 0;
    let view = get("/agents/hannah/conversations?inbox=sales");
    for (customer, acked) in &per_customer {
        let row = view["conversations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["customer"] == *customer)
            .cloned()
            .unwrap_or_else(|| panic!("{customer} in {view}"));
        let conversation = get(&format!(
            "/conversations/{}",
            row["conversation"].as_str().unwrap()
        ));
        let inbound = conversation["inbound"].as_u64().unwrap();
        assert!(inbound >= *acked, "{customer}: {inbound} < {acked}");
        counted += inbound;
    }
    assert!(counted <= sent, "{counted} applied of {sent} sent");
    // One owner each: the acknowledged winner of each race.
    for (conversation, winner) in owners {
        let state = get(&format!("/conversations/{conversation}"));
        assert_eq!(state["owner"], winner.as_str(), "{state}");
    }
}

/// With `--store postgres://...`, a tenant's state lives in PostgreSQL: a
/// service killed mid-stream comes back on another data folder with every
/// acknowledged event, and a redelivery still answers from the store.
#[test]
fn state_in_postgresql_survives_a_kill_and_a_new_data_folder() {
    let schema = common::postgres::Schema::new("service_store");
    // One node name for both starts: a node started again under its name
    // takes its leases at once.
    let store = ["--store", schema.url.as_str(), "--node", "solo"];
    let sms = Some("sms-secret");
    let first = inbound(AT, "+14155551234", "+14155550100", "Is the sale on?", "SM1");
    let reply = r#"{"type":"reply","at":"2030-03-04T17:01:00Z","agent":"ana","conversation":"c1","body":"It is","action_id":"a1"}"#;

    let server = Server::start_with(&scratch("pg-first"), &repository("policies"), &store);
    let events = server.url("/v1/tenants/brightside/events");
    let (status, routed) = call("POST", &events, sms, Some(&first));
    assert_eq!(status, 200, "{routed}");
    assert_eq!(routed["conversation"], "c1");
    let (status, replied) = call("POST", &events, sms, Some(reply));
    assert_eq!(
        (status, &replied["outcome"]),
        (200, &json!("allowed")),
        "{replied}"
    );
    let (_, before) = call(
        "GET",
        &server.url("/v1/tenants/brightside/conversations/c1"),
        sms,
        None,
    );
    assert_eq!(
        (&before["id"], &before["outbound"]),
        (&json!("c1"), &json!(1)),
        "{before}"
    );
    server.kill();

    let server = Server::start_with(&scratch("pg-second"), &repository("policies"), &store);
    let (_, after) = call(
        "GET",
        &server.url("/v1/tenants/brightside/conversations/c1"),
        sms,
        None,
    );
    assert_eq!(after, before, "recovered from PostgreSQL");
    let events = server.url("/v1/tenants/brightside/events");
    let (_, mut again) = call("POST", &events, sms, Some(&first));
    assert_eq!(again["redelivered"], true, "{again}");
    again.as_object_mut().unwrap().remove("redelivered");
    assert_eq!(again, routed);
}

#[test]
fn a_store_that_is_not_postgresql_is_refused_at_start() {
    let data = scratch("bad-store");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["serve", "--policies"])
        .arg(repository("policies"))
        .arg("--data")
        .arg(&data)
        .args([
            "--store",
            "mysql://root@127.0.0.1/test",
            "--listen",
            "127.0.0.1:0",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--store takes a PostgreSQL URL"),
        "{stderr}"
    );
}

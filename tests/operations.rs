//! The service as operators run it: times outside the accepted range,
//! health and readiness, start-up faults kept to the tenant they belong to,
//! a tenant added while serving, a full disk, a busy tenant, archived
//! conversations read back from the store, online backups, metrics on an
//! address of their own, and retention.
//!
//! Each test runs the real binary on a loopback port and speaks HTTP to
//! it. Events carry times in 2030 unless a test is about the range of
//! times, so no timer of theirs comes due while a test runs.

mod common;

use common::service::{copy_tenant, eventually, inbound, repository, request, Reply, Server};
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A tenant as an API client knows it: its name and its token.
#[derive(Clone, Copy)]
struct Account {
    tenant: &'static str,
    token: &'static str,
}

/// Team SMS (policies/team-sms): main line +14155550100, agents ana and ben.
const BRIGHTSIDE: Account = Account {
    tenant: "brightside",
    token: "sms-secret",
};
/// Team inbox with claims (policies/team-inbox-claims): sales on +16285550300.
const CASCADE: Account = Account {
    tenant: "cascade_outfitters",
    token: "other-secret",
};
/// Hostile hooks (policies/hostile-hooks): every line runs a misbehaving hook.
const LAKESHORE: Account = Account {
    tenant: "lakeshore_plumbing",
    token: "plumbing-secret",
};
/// Texting with ownership (policies/texting-ownership): accept, then close.
const SUNRIDGE: Account = Account {
    tenant: "sunridge_solar",
    token: "solar-secret",
};

/// Every token, whether or not its tenant is served: a test that adds a
/// tenant later needs its token from the start.
fn tokens() -> String {
    [BRIGHTSIDE, CASCADE, LAKESHORE, SUNRIDGE]
        .iter()
        .map(|a| format!("{}={}", a.tenant, a.token))
        .collect::<Vec<_>>()
        .join(", ")
}

const MAIN_LINE: &str = "+14155550100";
const CASCADE_SALES: &str = "+16285550300";
/// The hostile tenant's slow line: its routing hook (`crawl`) runs every
/// operation of its budget, each one slow.
const SLOW_LINE: &str = "+13125550109";
const SUNRIDGE_LINE: &str = "+16285550200";
const AT: &str = "2030-03-04T17:00:00Z";

impl Server {
    fn start(data: &Path, policies: &Path, args: &[&str]) -> Server {
        Server::serve(data, policies, args, &[("SWITCHBOARD_TOKENS", &tokens())])
    }

    /// The service never panicked, in a handler or a decider.
    fn assert_never_panicked(&self) {
        let log = self.log.lock().unwrap();
        let panics: Vec<&String> = log.iter().filter(|l| l.contains("panicked")).collect();
        assert!(panics.is_empty(), "{panics:#?}");
    }

    /// Sends one event to a tenant.
    fn post(&self, account: Account, event: &str) -> Reply {
        let url = self.url(&format!("/v1/tenants/{}/events", account.tenant));
        request("POST", &url, Some(account.token), Some(event))
    }

    /// Reads a path under the tenant's `/v1/tenants/{tenant}`.
    fn read(&self, account: Account, path: &str) -> Reply {
        let url = self.url(&format!("/v1/tenants/{}{path}", account.tenant));
        request("GET", &url, Some(account.token), None)
    }

    fn health(&self) -> Value {
        let reply = request("GET", &self.url("/healthz"), None, None);
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.body
    }

    /// A tenant's status in /healthz: `serving`, `degraded`, ...
    fn status_of(&self, tenant: &str) -> Value {
        self.health()["tenants"][tenant].clone()
    }

    fn ready(&self) -> u16 {
        request("GET", &self.url("/readyz"), None, None).status
    }

    fn metrics(&self) -> String {
        let reply = request("GET", &self.url("/metrics"), None, None);
        assert_eq!(reply.status, 200);
        reply.body.as_str().unwrap().to_string()
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("operations-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A copy of one example tenant's folder, to change or remove.
/// An agent's action on a conversation: a reply, a claim, a close, ...
fn action(kind: &str, at: &str, agent: &str, conversation: &str) -> String {
    json!({"type": kind, "at": at, "agent": agent, "conversation": conversation, "body": "On it"})
        .to_string()
}

/// The decision's conversation id.
fn conversation_of(decision: &Value) -> String {
    decision["conversation"]
        .as_str()
        .unwrap_or_else(|| panic!("no conversation in {decision}"))
        .to_string()
}

// ---------------------------------------------------------------------------
// Times outside the accepted range

/// Times a client might send that the engine cannot keep: far past and far
/// future, the first instant past the range, the last before it.
const OUTSIDE_THE_RANGE: [&str; 6] = [
    "-262143-01-01T00:00:00Z",
    "+262142-12-31T23:59:59Z",
    "9999-12-31T00:00:00Z",
    "9000-01-01T00:00:00Z",
    "1969-12-31T23:59:59Z",
    "0000-01-01T00:00:00Z",
];

#[test]
fn an_event_at_a_time_outside_the_accepted_range_is_refused_and_changes_nothing() {
    let dir = scratch("bad-time");
    let policies = dir.join("policies");
    copy_tenant("team-sms", &policies);
    let server = Server::start(&dir.join("data"), &policies, &[]);
    let first = server.post(
        BRIGHTSIDE,
        &inbound(AT, "+14155551234", MAIN_LINE, "Hi", "SM1"),
    );
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body["conversation"], "c1");
    let reply = action("reply", "2030-03-04T17:01:00Z", "ana", "c1");
    assert_eq!(server.post(BRIGHTSIDE, &reply).status, 200);
    let conversation = server.read(BRIGHTSIDE, "/conversations/c1").body;
    let ana_view = server.read(BRIGHTSIDE, "/agents/ana/conversations").body;

    for (n, at) in OUTSIDE_THE_RANGE.iter().enumerate() {
        let customer = format!("+1415555{:04}", 2000 + n);
        let events = [
            inbound(at, &customer, MAIN_LINE, "Hello", &format!("SMT{n}")),
            action("reply", at, "ana", "c1"),
        ];
        for event in &events {
            for path in ["/events", "/events/dry-run"] {
                let url = server.url(&format!("/v1/tenants/brightside{path}"));
                let answer = request("POST", &url, Some(BRIGHTSIDE.token), Some(event));
                assert_eq!(answer.status, 400, "{path} {event}: {}", answer.body);
                assert_eq!(answer.body["error"]["code"], "bad_time", "{event}");
                let message = answer.body["error"]["message"].as_str().unwrap();
                assert!(
                    message.contains("1970-01-01T00:00:00Z")
                        && message.contains("9000-01-01T00:00:00Z"),
                    "the message names the accepted range: {message}"
                );
            }
        }
    }

    assert_eq!(
        server.read(BRIGHTSIDE, "/conversations/c1").body,
        conversation,
        "refused events changed nothing"
    );
    assert_eq!(server.read(BRIGHTSIDE, "/conversations/c2").status, 404);
    assert_eq!(
        server.read(BRIGHTSIDE, "/agents/ana/conversations").body,
        ana_view
    );
    for at in ["9999-12-31T00:00:00Z", "1969-12-31T23:59:59Z"] {
        let view = server.read(BRIGHTSIDE, &format!("/agents/ana/conversations?at={at}"));
        assert_eq!(view.status, 400, "the agent view at {at}: {}", view.body);
        assert_eq!(view.body["error"]["code"], "bad_time");
    }
    assert_eq!(server.health()["status"], "ok", "still alive");
    let metrics = server.metrics();
    assert!(
        metrics.contains("switchboard_decisions_total 2\n"),
        "only the two good events were decided:\n{metrics}"
    );
    // A refused message id was not kept: at a good time it is new.
    let again = server.post(
        BRIGHTSIDE,
        &inbound(AT, "+14155552000", MAIN_LINE, "Hello", "SMT0"),
    );
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.body["redelivered"], Value::Null, "{}", again.body);
    assert_eq!(again.body["conversation"], "c2");
    server.assert_never_panicked();
}

#[test]
fn an_event_at_either_end_of_the_accepted_range_is_decided_and_recovered() {
    let dir = scratch("range-ends");
    let policies = dir.join("policies");
    copy_tenant("team-sms", &policies);
    let data = dir.join("data");
    let server = Server::start(&data, &policies, &[]);
    let ends = [
        ("1970-01-01T00:00:00Z", "+14155553001"),
        ("8999-12-31T23:59:59.999999999Z", "+14155553002"),
    ];
    for (n, (at, customer)) in ends.iter().enumerate() {
        let decided = server.post(
            BRIGHTSIDE,
            &inbound(at, customer, MAIN_LINE, "Hi", &format!("SME{n}")),
        );
        assert_eq!(decided.status, 200, "{at}: {}", decided.body);
        let id = conversation_of(&decided.body);
        // The lock a reply takes at the last instant ends past the range.
        let reply = server.post(BRIGHTSIDE, &action("reply", at, "ana", &id));
        assert_eq!(reply.status, 200, "{at}: {}", reply.body);
    }
    let last = server.read(BRIGHTSIDE, "/conversations/c2").body;
    assert_eq!(last["lock"]["until"], "9000-01-01T00:29:59.999999999Z");
    server.kill();

    let server = Server::start(&data, &policies, &[]);
    assert_eq!(server.read(BRIGHTSIDE, "/conversations/c2").body, last);
    let first = server.read(BRIGHTSIDE, "/conversations/c1");
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body["opened_at"], "1970-01-01T00:00:00Z");
    server.assert_never_panicked();
}

// ---------------------------------------------------------------------------
// Health, and start-up faults kept to their tenant

#[test]
fn health_and_readiness_list_every_tenant_serving() {
    let dir = scratch("health");
    let policies = dir.join("policies");
    copy_tenant("team-sms", &policies);
    copy_tenant("team-inbox-claims", &policies);
    let server = Server::start(&dir.join("data"), &policies, &[]);
    assert_eq!(
        server.health(),
        json!({
            "status": "ok",
            "ready": true,
            "tenants": {
                "brightside": {"status": "serving"},
                "cascade_outfitters": {"status": "serving"},
            },
            "unserved": [],
        })
    );
    assert_eq!(server.ready(), 200);
    let policy = server.read(BRIGHTSIDE, "/policy").body;
    assert_eq!(policy["status"], json!({"status": "serving"}));
    let metrics = server.metrics();
    for line in [
        "switchboard_tenant_status{tenant=\"brightside\",status=\"serving\"} 1",
        "switchboard_tenant_status{tenant=\"brightside\",status=\"degraded\"} 0",
        "switchboard_unserved_policies 0",
    ] {
        assert!(metrics.contains(line), "{line} in\n{metrics}");
    }
}

/// How the first run of a service ends.
#[derive(Clone, Copy)]
enum End {
    /// SIGTERM, with its snapshots.
    Clean,
    /// SIGKILL: what is on disk is what was acknowledged.
    Killed,
}

/// What a first run served, for a restart to keep.
struct FirstRun {
    /// The revision brightside decided by.
    revision: String,
    /// brightside's c1 and cascade_outfitters' first conversation.
    brightside_c1: Value,
    cascade_conversation: (String, Value),
}

/// Serves brightside and cascade_outfitters, one conversation each, then
/// ends the service as told.
fn serve_two_tenants(data: &Path, policies: &Path, end: End) -> FirstRun {
    let server = Server::start(data, policies, &[]);
    let decided = server.post(
        BRIGHTSIDE,
        &inbound(AT, "+14155551234", MAIN_LINE, "Is the sale on?", "SMA1"),
    );
    assert_eq!(decided.status, 200, "{}", decided.body);
    assert_eq!(decided.body["conversation"], "c1");
    let revision = decided.body["revision"].as_str().unwrap().to_string();
    let other = server.post(
        CASCADE,
        &inbound(AT, "+14155559999", CASCADE_SALES, "Tents?", "SMB1"),
    );
    assert_eq!(other.status, 200, "{}", other.body);
    let id = conversation_of(&other.body);
    let first = FirstRun {
        revision,
        brightside_c1: server.read(BRIGHTSIDE, "/conversations/c1").body,
        cascade_conversation: (
            id.clone(),
            server.read(CASCADE, &format!("/conversations/{id}")).body,
        ),
    };
    match end {
        End::Clean => server.stop(),
        End::Killed => server.kill(),
    }
    first
}

/// After a restart with brightside's policy file broken or gone:
/// brightside is degraded for `reason`, decides by its last good revision
/// and keeps its conversations; cascade_outfitters serves as before.
fn assert_degraded_alone(server: &Server, first: &FirstRun, reason: &str) {
    let health = server.health();
    let brightside = &health["tenants"]["brightside"];
    assert_eq!(brightside["status"], "degraded", "{health}");
    let why = brightside["reason"].as_str().unwrap();
    assert!(why.contains(reason), "{why:?} says {reason:?}");
    assert_eq!(
        health["tenants"]["cascade_outfitters"],
        json!({"status": "serving"})
    );
    assert_eq!(health["ready"], true, "degraded still decides");
    assert_eq!(server.ready(), 200);
    let policy = server.read(BRIGHTSIDE, "/policy").body;
    assert_eq!(policy["status"]["status"], "degraded", "{policy}");
    assert!(
        policy["status"]["reason"]
            .as_str()
            .unwrap()
            .contains(reason),
        "{policy}"
    );
    assert_eq!(policy["revision"], first.revision.as_str());
    let metrics = server.metrics();
    let line = "switchboard_tenant_status{tenant=\"brightside\",status=\"degraded\"} 1";
    assert!(metrics.contains(line), "{line} in\n{metrics}");

    assert_eq!(
        server.read(BRIGHTSIDE, "/conversations/c1").body,
        first.brightside_c1,
        "its conversations are still there"
    );
    let (id, conversation) = &first.cascade_conversation;
    assert_eq!(
        &server.read(CASCADE, &format!("/conversations/{id}")).body,
        conversation
    );
    let decided = server.post(
        BRIGHTSIDE,
        &inbound(
            "2030-03-04T17:10:00Z",
            "+14155551234",
            MAIN_LINE,
            "Hello?",
            "SMA2",
        ),
    );
    assert_eq!(decided.status, 200, "{}", decided.body);
    assert_eq!(decided.body["conversation"], "c1");
    assert_eq!(
        decided.body["revision"],
        first.revision.as_str(),
        "decided by the last good revision"
    );
    let redelivered = server.post(
        BRIGHTSIDE,
        &inbound(AT, "+14155551234", MAIN_LINE, "Is the sale on?", "SMA1"),
    );
    assert_eq!(redelivered.body["redelivered"], true);
    let other = server.post(
        CASCADE,
        &inbound(AT, "+14155559998", CASCADE_SALES, "Boots?", "SMB2"),
    );
    assert_eq!(other.status, 200, "the other tenant serves: {}", other.body);
    server.assert_never_panicked();
}

fn two_tenants(dir: &Path) -> (PathBuf, PathBuf) {
    let policies = dir.join("policies");
    let folder = copy_tenant("team-sms", &policies);
    copy_tenant("team-inbox-claims", &policies);
    (policies, folder.join("team-sms.policy"))
}

/// Appends an inbox that never closes its brace.
fn break_policy(policy: &Path) {
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(policy)
        .unwrap();
    writeln!(file, "\ninbox broken nonsense {{").unwrap();
}

#[test]
fn a_policy_that_no_longer_compiles_degrades_its_tenant_alone() {
    let dir = scratch("broken-policy");
    let (policies, policy) = two_tenants(&dir);
    let data = dir.join("data");
    let first = serve_two_tenants(&data, &policies, End::Clean);
    break_policy(&policy);
    let server = Server::start(&data, &policies, &[]);
    assert_degraded_alone(&server, &first, "team-sms.policy");
}

#[test]
fn a_policy_file_gone_degrades_its_tenant_alone() {
    let dir = scratch("gone-policy");
    let (policies, policy) = two_tenants(&dir);
    let data = dir.join("data");
    let first = serve_two_tenants(&data, &policies, End::Clean);
    std::fs::remove_file(&policy).unwrap();
    // The reason as start-up gives it, before any reload looks at the file
    // (see the test after this one).
    let server = Server::start(&data, &policies, &["--reload-every", "off"]);
    assert_degraded_alone(&server, &first, "is gone");
    assert!(server
        .status_of("brightside")
        .to_string()
        .contains("team-sms.policy"));
}

/// After a restart with a tenant's policy file gone, the reloader's looks
/// keep start-up's reason, which stays true.
#[test]
fn a_policy_file_gone_at_start_keeps_a_true_reason_once_the_reloader_looks() {
    let dir = scratch("gone-reason");
    let (policies, policy) = two_tenants(&dir);
    let data = dir.join("data");
    serve_two_tenants(&data, &policies, End::Clean);
    std::fs::remove_file(&policy).unwrap();
    let server = Server::start(&data, &policies, &["--reload-every", "100ms"]);
    // A look at the missing file is counted as a refused reload.
    eventually("the reloader has looked at the missing file", || {
        counter(&server.metrics(), "switchboard_reloads_refused_total") >= 1
    });
    let status = server.status_of("brightside");
    assert_eq!(status["status"], "degraded", "{status}");
    let reason = status["reason"].as_str().unwrap();
    assert!(
        !reason.contains("until restart"),
        "restarted already, yet the reason says: {reason:?}"
    );
}

/// A degraded tenant whose policy file is put back as it was when last
/// served (`git checkout`, say) serves again at the next look, without a
/// restart.
#[test]
fn a_degraded_tenant_serves_again_once_its_policy_file_is_restored() {
    let dir = scratch("restored-policy");
    let (policies, policy) = two_tenants(&dir);
    let data = dir.join("data");
    let first = serve_two_tenants(&data, &policies, End::Clean);
    let good = std::fs::read_to_string(&policy).unwrap();
    break_policy(&policy);
    let server = Server::start(&data, &policies, &["--reload-every", "off"]);
    assert_eq!(server.status_of("brightside")["status"], "degraded");

    std::fs::write(&policy, good).unwrap();
    let url = server.url("/v1/tenants/brightside/policy/reload");
    let reload = request("POST", &url, Some(BRIGHTSIDE.token), None);
    assert_eq!(reload.status, 200, "{}", reload.body);
    assert_eq!(reload.body["revision"], first.revision.as_str());
    assert_eq!(
        server.status_of("brightside"),
        json!({"status": "serving"}),
        "the file loads as it is, so nothing is degraded"
    );
    assert_eq!(
        server.read(BRIGHTSIDE, "/policy").body["status"],
        json!({"status": "serving"})
    );
}

#[test]
fn a_killed_service_restarts_with_a_broken_policy_degraded() {
    let dir = scratch("killed-broken");
    let (policies, policy) = two_tenants(&dir);
    let data = dir.join("data");
    let first = serve_two_tenants(&data, &policies, End::Killed);
    break_policy(&policy);
    let server = Server::start(&data, &policies, &[]);
    assert_degraded_alone(&server, &first, "team-sms.policy");
}

#[test]
fn a_broken_policy_never_served_is_listed_unserved_and_the_others_serve() {
    let dir = scratch("never-served");
    let policies = dir.join("policies");
    copy_tenant("team-sms", &policies);
    let data = dir.join("data");
    serve_brightside_once(&data, &policies);
    // A new tenant's folder whose policy has never checked.
    let folder = copy_tenant("texting-ownership", &policies);
    let policy = folder.join("texting-ownership.policy");
    break_policy(&policy);

    let server = Server::start(&data, &policies, &[]);
    let health = server.health();
    assert_eq!(
        health["tenants"],
        json!({"brightside": {"status": "serving"}})
    );
    let unserved = health["unserved"].as_array().unwrap();
    assert_eq!(unserved.len(), 1, "{health}");
    assert!(
        unserved[0]["path"]
            .as_str()
            .unwrap()
            .ends_with("texting-ownership.policy"),
        "{health}"
    );
    assert!(unserved[0]["reason"]
        .as_str()
        .is_some_and(|r| !r.is_empty()));
    assert_eq!(server.ready(), 200, "every tenant there is serves");
    assert!(server.metrics().contains("switchboard_unserved_policies 1"));
    let decided = server.post(
        BRIGHTSIDE,
        &inbound(AT, "+14155551111", MAIN_LINE, "Hi", "SMN2"),
    );
    assert_eq!(decided.status, 200, "{}", decided.body);
    let unserved_tenant = server.post(
        SUNRIDGE,
        &inbound(AT, "+16025551601", SUNRIDGE_LINE, "Hi", "SMN3"),
    );
    assert_eq!(unserved_tenant.status, 404, "{}", unserved_tenant.body);
    assert_eq!(unserved_tenant.body["error"]["code"], "unknown_tenant");
    server.assert_never_panicked();
}

/// Serves brightside once, an event, and stops cleanly.
fn serve_brightside_once(data: &Path, policies: &Path) {
    let server = Server::start(data, policies, &[]);
    let decided = server.post(
        BRIGHTSIDE,
        &inbound(AT, "+14155551234", MAIN_LINE, "Hi", "SMN1"),
    );
    assert_eq!(decided.status, 200, "{}", decided.body);
    server.stop();
}

// ---------------------------------------------------------------------------
// A tenant added while serving

#[test]
fn a_tenant_whose_folder_is_added_while_serving_is_picked_up() {
    let dir = scratch("added-tenant");
    let policies = dir.join("policies");
    copy_tenant("team-sms", &policies);
    let server = Server::start(&dir.join("data"), &policies, &["--reload-every", "100ms"]);
    let message = inbound(AT, "+14155559999", CASCADE_SALES, "Tents?", "SMD1");
    let before = server.post(CASCADE, &message);
    assert_eq!(before.status, 404, "not served yet: {}", before.body);

    // Copied aside, then moved in whole, so no poll sees half a folder.
    let staged = copy_tenant("team-inbox-claims", &dir.join("staging"));
    std::fs::rename(&staged, policies.join("team-inbox-claims")).unwrap();
    eventually("the new tenant decides", || {
        server.post(CASCADE, &message).status == 200
    });
    assert_eq!(
        server.status_of("cascade_outfitters"),
        json!({"status": "serving"})
    );
    assert_eq!(server.ready(), 200);
    let again = server.post(CASCADE, &message);
    assert_eq!(
        again.body["redelivered"], true,
        "stored once: {}",
        again.body
    );
    let brightside = server.post(
        BRIGHTSIDE,
        &inbound(AT, "+14155551234", MAIN_LINE, "Hi", "SMD2"),
    );
    assert_eq!(brightside.status, 200, "{}", brightside.body);
}

// ---------------------------------------------------------------------------
// A full disk

/// A tmpfs mounted on a folder for as long as this lives; unmounted on
/// drop, a panicking test's too.
struct Tmpfs {
    path: PathBuf,
}

impl Tmpfs {
    /// None where mounting is not allowed.
    fn mount(path: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(path).unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .output()
            .ok()?;
        if !mounted.status.success() {
            eprintln!(
                "cannot mount a tmpfs: {}",
                String::from_utf8_lossy(&mounted.stderr)
            );
            return None;
        }
        Some(Tmpfs {
            path: path.to_path_buf(),
        })
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let unmounted = Command::new("umount").arg(&self.path).status();
        if !unmounted.is_ok_and(|s| s.success()) {
            // Still busy (a service not yet reaped): detach it anyway.
            let _ = Command::new("umount").arg("-l").arg(&self.path).status();
        }
    }
}

/// Writes `path` until the disk takes no more, to the last byte.
fn fill_disk(path: &Path) {
    let mut file = std::fs::File::create(path).unwrap();
    for chunk in [1 << 20, 64 << 10, 4096, 512, 1] {
        let bytes = vec![7u8; chunk];
        loop {
            match file.write_all(&bytes) {
                Ok(()) => {}
                Err(e) if e.raw_os_error() == Some(28) => break,
                Err(e) => panic!("filling {}: {e}", path.display()),
            }
        }
    }
    let _ = file.sync_all();
}

/// An acknowledged inbound message, to send again after a restart.
struct Acknowledged {
    event: String,
    conversation: String,
}

#[test]
fn a_full_disk_stops_the_tenant_until_there_is_room_and_loses_nothing_acknowledged() {
    let dir = scratch("full-disk");
    let policies = dir.join("policies");
    copy_tenant("team-sms", &policies);
    let data = dir.join("data");
    let Some(_tmpfs) = Tmpfs::mount(&data, "8m") else {
        eprintln!("skipped: this machine does not allow mounting a tmpfs");
        return;
    };
    let args = ["--decision-log", "off"];
    let server = Server::start(&data, &policies, &args);
    let sequence = AtomicU32::new(0);
    // Every message from a new customer, so each would open a conversation.
    let next_message = || {
        let n = sequence.fetch_add(1, Ordering::Relaxed);
        let customer = format!("+1415700{n:04}");
        let body = format!("Message {n}: {}", "x".repeat(4000));
        inbound(AT, &customer, MAIN_LINE, &body, &format!("SMF{n}"))
    };
    let mut acknowledged: Vec<Acknowledged> = Vec::new();
    let mut refused: Vec<String> = Vec::new();
    let acknowledge = |reply: Reply, event: String, acknowledged: &mut Vec<Acknowledged>| {
        assert_eq!(reply.status, 200, "{}", reply.body);
        acknowledged.push(Acknowledged {
            conversation: conversation_of(&reply.body),
            event,
        });
    };
    for _ in 0..10 {
        let event = next_message();
        acknowledge(server.post(BRIGHTSIDE, &event), event, &mut acknowledged);
    }
    let conversations = |server: &Server| {
        server
            .read(BRIGHTSIDE, "/inboxes/sales_team_sms/counters")
            .body["conversations"]
            .as_u64()
            .unwrap()
    };

    fill_disk(&data.join("filler"));
    // SQLite may have room left in pages it holds; the disk has none.
    let mut first_refusal = None;
    for _ in 0..300 {
        let event = next_message();
        let reply = server.post(BRIGHTSIDE, &event);
        if reply.status == 200 {
            acknowledge(reply, event, &mut acknowledged);
            continue;
        }
        refused.push(event);
        first_refusal = Some(reply);
        break;
    }
    let refusal = first_refusal.expect("a full disk refuses an event within 300");
    assert_eq!(refusal.status, 503, "{}", refusal.body);
    assert_eq!(
        refusal.body["error"]["code"], "not_stored",
        "{}",
        refusal.body
    );
    assert!(refusal.retry_after.is_some(), "a 503 says when to retry");
    let would_be = format!("/conversations/c{}", acknowledged.len() + 1);
    assert_eq!(
        server.read(BRIGHTSIDE, &would_be).status,
        404,
        "a refused event is not read"
    );
    assert_eq!(conversations(&server), acknowledged.len() as u64);
    assert_eq!(server.status_of("brightside")["status"], "stopped");
    assert_eq!(server.ready(), 503, "a stopped tenant is not ready");
    assert!(server
        .metrics()
        .contains("switchboard_tenant_status{tenant=\"brightside\",status=\"stopped\"} 1"));
    // While stopped, every event is refused alike.
    for _ in 0..3 {
        let event = next_message();
        let reply = server.post(BRIGHTSIDE, &event);
        assert_eq!(reply.status, 503, "{}", reply.body);
        assert_eq!(reply.body["error"]["code"], "not_stored");
        assert!(reply.retry_after.is_some());
        refused.push(event);
    }
    assert_eq!(server.read(BRIGHTSIDE, &would_be).status, 404);
    assert_eq!(conversations(&server), acknowledged.len() as u64);
    // A redelivery needs no write: it is answered from what is stored.
    let again = server.post(BRIGHTSIDE, &acknowledged[0].event);
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.body["redelivered"], true);
    assert_eq!(conversation_of(&again.body), acknowledged[0].conversation);

    // Room again: the tenant resumes by itself.
    std::fs::remove_file(data.join("filler")).unwrap();
    eventually("the tenant serves again", || {
        server.status_of("brightside") == json!({"status": "serving"})
    });
    assert_eq!(server.ready(), 200);
    for _ in 0..3 {
        let event = next_message();
        acknowledge(server.post(BRIGHTSIDE, &event), event, &mut acknowledged);
    }
    server.assert_never_panicked();
    server.kill();

    // Every acknowledged event is stored once; no refused one is.
    let server = Server::start(&data, &policies, &args);
    for ack in &acknowledged {
        let again = server.post(BRIGHTSIDE, &ack.event);
        assert_eq!(again.status, 200, "{}", again.body);
        assert_eq!(again.body["redelivered"], true, "{}", ack.event);
        assert_eq!(again.body["conversation"], ack.conversation.as_str());
    }
    assert_eq!(conversations(&server), acknowledged.len() as u64);
    for event in &refused {
        let now = server.post(BRIGHTSIDE, event);
        assert_eq!(now.status, 200, "{}", now.body);
        assert_eq!(
            now.body["redelivered"],
            Value::Null,
            "a refused event was not stored: {event}"
        );
    }
    server.assert_never_panicked();
}

// ---------------------------------------------------------------------------
// A busy tenant

#[test]
fn a_busy_tenant_answers_429_and_slows_no_other_tenant() {
    let dir = scratch("busy");
    let policies = dir.join("policies");
    copy_tenant("hostile-hooks", &policies);
    copy_tenant("team-sms", &policies);
    let server = Server::start(&dir.join("data"), &policies, &["--mailbox", "4"]);
    let stop = AtomicBool::new(false);
    let sequence = AtomicU32::new(0);
    let busy = AtomicU32::new(0);
    let started = Instant::now();
    let (hostile, brightside) = std::thread::scope(|s| {
        let senders: Vec<_> = (0..16)
            .map(|_| {
                s.spawn(|| {
                    let mut answers = Vec::new();
                    for _ in 0..40 {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        let n = sequence.fetch_add(1, Ordering::Relaxed);
                        let customer = format!("+1773600{n:04}");
                        let body = "Water is coming through the ceiling below our bathroom!";
                        let message = inbound(AT, &customer, SLOW_LINE, body, &format!("SMH{n}"));
                        let reply = server.post(LAKESHORE, &message);
                        if reply.status == 429 {
                            busy.fetch_add(1, Ordering::Relaxed);
                        }
                        answers.push(reply);
                    }
                    answers
                })
            })
            .collect();
        let other = s.spawn(|| {
            let mut answers = Vec::new();
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let customer = format!("+1415800{:04}", n % 20);
                let message = inbound(AT, &customer, MAIN_LINE, "Hi", &format!("SMO{n}"));
                answers.push(server.post(BRIGHTSIDE, &message));
                n += 1;
            }
            answers
        });
        // Until the busy tenant has refused a few and two seconds have
        // passed, so the other tenant's stream runs alongside; 15 s at most.
        while started.elapsed() < Duration::from_secs(15)
            && !(busy.load(Ordering::Relaxed) >= 3 && started.elapsed() > Duration::from_secs(2))
        {
            std::thread::sleep(Duration::from_millis(50));
        }
        stop.store(true, Ordering::Relaxed);
        let hostile: Vec<Reply> = senders
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        (hostile, other.join().unwrap())
    });

    let refused: Vec<&Reply> = hostile.iter().filter(|r| r.status == 429).collect();
    assert!(
        !refused.is_empty(),
        "of {} events none was refused",
        hostile.len()
    );
    for reply in &refused {
        assert_eq!(reply.body["error"]["code"], "busy", "{}", reply.body);
        assert!(reply.retry_after.is_some(), "a 429 says when to retry");
    }
    for reply in hostile.iter().filter(|r| r.status != 429) {
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    assert!(!brightside.is_empty());
    for reply in &brightside {
        assert_eq!(
            reply.status, 200,
            "the other tenant decides: {}",
            reply.body
        );
    }
    let metrics = server.metrics();
    let counted = metrics
        .lines()
        .find_map(|l| l.strip_prefix("switchboard_busy_total "))
        .and_then(|n| n.parse::<usize>().ok());
    assert_eq!(counted, Some(refused.len()), "{metrics}");
    server.assert_never_panicked();
}

// ---------------------------------------------------------------------------
// Archived conversations

#[test]
fn a_closed_conversation_leaves_memory_and_is_still_read_and_refused_after_a_restart() {
    let dir = scratch("archived");
    let policies = dir.join("policies");
    copy_tenant("texting-ownership", &policies);
    let data = dir.join("data");
    let server = Server::start(&data, &policies, &[]);
    let opened = server.post(
        SUNRIDGE,
        &inbound(AT, "+16025551601", SUNRIDGE_LINE, "My contract?", "SMS1"),
    );
    assert_eq!(opened.status, 200, "{}", opened.body);
    assert_eq!(opened.body["conversation"], "c1");
    for (kind, minute) in [("accept", 1), ("reply", 2), ("close", 3)] {
        let at = format!("2030-03-04T17:0{minute}:00Z");
        let decided = server.post(SUNRIDGE, &action(kind, &at, "kenji", "c1"));
        assert_eq!(decided.status, 200, "{kind}: {}", decided.body);
        assert_eq!(
            decided.body["outcome"], "allowed",
            "{kind}: {}",
            decided.body
        );
    }
    let closed = server.read(SUNRIDGE, "/conversations/c1");
    assert_eq!(closed.status, 200, "{}", closed.body);
    assert!(closed.body["closed_at"].is_string(), "{}", closed.body);
    assert!(server
        .metrics()
        .contains("switchboard_open_conversations{tenant=\"sunridge_solar\"} 0"));
    let refused_reply = |server: &Server| {
        let decided = server.post(
            SUNRIDGE,
            &action("reply", "2030-03-04T17:05:00Z", "kenji", "c1"),
        );
        assert_eq!(decided.status, 200, "{}", decided.body);
        assert_eq!(decided.body["outcome"], "denied", "{}", decided.body);
        assert_eq!(decided.body["denial"]["code"], "closed", "{}", decided.body);
    };
    refused_reply(&server);
    let conversation = server.read(SUNRIDGE, "/conversations/c1").body;
    server.kill();

    let server = Server::start(&data, &policies, &[]);
    let after = server.read(SUNRIDGE, "/conversations/c1");
    assert_eq!(after.status, 200, "{}", after.body);
    assert_eq!(after.body, conversation, "read back from the store");
    refused_reply(&server);
    // The customer's next text starts over.
    let next = server.post(
        SUNRIDGE,
        &inbound(
            "2030-03-04T18:00:00Z",
            "+16025551601",
            SUNRIDGE_LINE,
            "One more question",
            "SMS2",
        ),
    );
    assert_eq!(next.body["conversation"], "c2", "{}", next.body);
    server.assert_never_panicked();
}

// ---------------------------------------------------------------------------
// Backups

fn backup(data: &Path, out: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["backup", "--data"])
        .arg(data)
        .arg(out)
        .output()
        .unwrap()
}

#[test]
fn a_backup_taken_while_serving_restores_every_event_acknowledged_before_it() {
    let dir = scratch("backup");
    let policies = dir.join("policies");
    copy_tenant("team-sms", &policies);
    let data = dir.join("data");
    let server = Server::start(&data, &policies, &[]);
    let out = dir.join("backup.db");
    let acknowledged: Mutex<Vec<Acknowledged>> = Mutex::new(Vec::new());
    let stop = AtomicBool::new(false);
    let before_backup = std::thread::scope(|s| {
        s.spawn(|| {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let customer = format!("+1415900{:04}", n % 30);
                let event = inbound(AT, &customer, MAIN_LINE, "Hi", &format!("SMK{n}"));
                let reply = server.post(BRIGHTSIDE, &event);
                assert_eq!(reply.status, 200, "{}", reply.body);
                acknowledged.lock().unwrap().push(Acknowledged {
                    conversation: conversation_of(&reply.body),
                    event,
                });
                n += 1;
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        eventually("a stream of events is under way", || {
            acknowledged.lock().unwrap().len() >= 20
        });
        let before_backup = acknowledged.lock().unwrap().len();
        let made = backup(&data, &out);
        assert_eq!(
            made.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&made.stderr)
        );
        assert!(out.is_file());
        let again = backup(&data, &out);
        assert_eq!(again.status.code(), Some(1), "a backup never overwrites");
        let stderr = String::from_utf8_lossy(&again.stderr);
        assert!(stderr.contains("exists"), "{stderr}");
        // A little more of the stream after the backup, then stop.
        std::thread::sleep(Duration::from_millis(100));
        stop.store(true, Ordering::Relaxed);
        before_backup
    });
    let acknowledged = acknowledged.into_inner().unwrap();
    assert!(acknowledged.len() > before_backup, "the stream ran on");

    let restored = dir.join("restored");
    std::fs::create_dir_all(&restored).unwrap();
    std::fs::rename(&out, restored.join("switchboard.db")).unwrap();
    let second = Server::start(&restored, &policies, &[]);
    for ack in &acknowledged[..before_backup] {
        let again = second.post(BRIGHTSIDE, &ack.event);
        assert_eq!(again.status, 200, "{}", again.body);
        assert_eq!(
            again.body["redelivered"], true,
            "acknowledged before the backup began: {}",
            ack.event
        );
        assert_eq!(again.body["conversation"], ack.conversation.as_str());
    }
    second.assert_never_panicked();
    server.assert_never_panicked();
}

// ---------------------------------------------------------------------------
// Metrics on an address of their own

#[test]
fn metrics_on_their_own_address_leave_the_main_one() {
    let dir = scratch("metrics-listen");
    let policies = dir.join("policies");
    copy_tenant("team-sms", &policies);
    let args = ["--metrics-listen", "127.0.0.1:0"];
    let server = Server::start(&dir.join("data"), &policies, &args);
    let decided = server.post(
        BRIGHTSIDE,
        &inbound(AT, "+14155551234", MAIN_LINE, "Hi", "SMM1"),
    );
    assert_eq!(decided.status, 200);
    let metrics_base = server.metrics_base.clone().unwrap();
    assert_ne!(metrics_base, server.base);
    let metrics = request("GET", &format!("{metrics_base}/metrics"), None, None);
    assert_eq!(metrics.status, 200);
    let text = metrics.body.as_str().unwrap();
    assert!(text.contains("switchboard_decisions_total 1"), "{text}");
    let main = request("GET", &server.url("/metrics"), None, None);
    assert_eq!(main.status, 404, "{}", main.body);
    assert_eq!(
        server.health()["status"],
        "ok",
        "the API stays where it was"
    );
}

// ---------------------------------------------------------------------------
// Retention

/// A counter's value in the /metrics text.
fn counter(metrics: &str, name: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in\n{metrics}"))
}

#[test]
fn retention_prunes_events_a_snapshot_covers_and_recovery_still_holds() {
    let dir = scratch("retention");
    let policies = dir.join("policies");
    copy_tenant("team-sms", &policies);
    let data = dir.join("data");
    let args = ["--snapshot-every", "20", "--retention", "0s"];
    let server = Server::start(&data, &policies, &args);
    let message = |n: u32| {
        let customer = format!("+1415600{:04}", n % 10);
        inbound(AT, &customer, MAIN_LINE, "Hi", &format!("SMR{n}"))
    };
    for n in 0..200 {
        let reply = server.post(BRIGHTSIDE, &message(n));
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    eventually("a snapshot, and the events it covers pruned", || {
        let metrics = server.metrics();
        counter(&metrics, "switchboard_snapshots_total") >= 1
            && counter(&metrics, "switchboard_pruned_events_total") > 0
    });
    // A few after the latest snapshot: fewer than one snapshot's worth.
    let mut recent = None;
    for n in 200..205 {
        let reply = server.post(BRIGHTSIDE, &message(n));
        assert_eq!(reply.status, 200, "{}", reply.body);
        recent = Some((n, conversation_of(&reply.body)));
    }
    let conversation = server.read(BRIGHTSIDE, "/conversations/c1").body;
    assert_eq!(conversation["inbound"], 21, "{conversation}");
    server.kill();

    let server = Server::start(&data, &policies, &args);
    assert_eq!(
        server.read(BRIGHTSIDE, "/conversations/c1").body,
        conversation,
        "recovered from the snapshot and the events after it"
    );
    let (n, id) = recent.unwrap();
    let again = server.post(BRIGHTSIDE, &message(n));
    assert_eq!(again.body["redelivered"], true, "{}", again.body);
    assert_eq!(again.body["conversation"], id.as_str());
    server.assert_never_panicked();
}

/// `serve` on `data`; its exit code and stderr, for a start that fails.
fn serve_once(data: &Path, policies: &Path) -> (Option<i32>, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .arg("--policies")
        .arg(policies)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.code(), stderr)
}

#[test]
fn a_start_on_a_full_disk_says_so_in_words() {
    let dir = scratch("start-full");
    let Some(disk) = Tmpfs::mount(&dir.join("disk"), "4m") else {
        eprintln!("skipped: this machine does not mount a tmpfs");
        return;
    };
    fill_disk(&disk.path.join("filler"));
    let (code, stderr) = serve_once(&disk.path.join("data"), &repository("policies"));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("the disk is full"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_start_on_a_read_only_data_folder_says_so_in_words() {
    let dir = scratch("start-read-only");
    let Some(disk) = Tmpfs::mount(&dir.join("disk"), "4m") else {
        eprintln!("skipped: this machine does not mount a tmpfs");
        return;
    };
    let remounted = Command::new("mount")
        .args(["-o", "remount,ro"])
        .arg(&disk.path)
        .status()
        .unwrap();
    assert!(remounted.success());
    let (code, stderr) = serve_once(&disk.path.join("data"), &repository("policies"));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("read-only"), "{stderr}");
}

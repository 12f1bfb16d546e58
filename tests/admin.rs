//! The admin's loop around a policy: `show`, `diff` and `test --coverage`
//! on the example tenants, snapshotted.

mod common;

use common::service::{copy_tenant, inbound, request, Server};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn switchboard(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("the binary runs")
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Every example tenant's folder name, sorted.
fn tenants() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root().join("policies"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn show_draws_every_example_tenant() {
    for tenant in tenants() {
        let folder = Path::new("policies").join(&tenant);
        let folder = folder.to_str().unwrap();
        for format in ["text", "mermaid"] {
            let out = switchboard(&["show", folder, "--week", "2026-11-23", "--format", format]);
            assert!(out.status.success(), "show {tenant}: {out:?}");
            insta::assert_snapshot!(format!("show_{format}@{tenant}"), stdout(&out));
        }
        let out = switchboard(&["show", folder, "--week", "2026-11-23", "--format", "json"]);
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("show json");
        assert_eq!(
            json["week"],
            serde_json::json!(["2026-11-23", "2026-11-29"])
        );
        assert!(json["inboxes"].as_array().is_some_and(|i| !i.is_empty()));
    }
}

#[test]
fn show_answers_for_any_week_chrono_can_name() {
    for tenant in tenants() {
        let folder = format!("policies/{tenant}");
        for week in ["+262142-12-31", "-262143-01-01", "2026-03-08", "2026-11-01"] {
            let out = switchboard(&["show", &folder, &format!("--week={week}")]);
            assert_eq!(out.status.code(), Some(0), "{tenant} {week}: {out:?}");
        }
    }
}

#[test]
fn show_refuses_what_is_not_a_policy_or_a_date() {
    let out = switchboard(&["show", "policies"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("name the policy file"));
    let out = switchboard(&["show", "policies/team-sms", "--week", "next tuesday"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("2026-12-07"),
        "{out:?}"
    );
}

/// A copy of an example tenant's policy, changed by `edit`, in a scratch
/// folder of its own (beside copies of the files it names).
fn changed_copy(tenant: &str, name: &str, edit: impl Fn(&str) -> String) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("admin-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let from = root().join("policies").join(tenant);
    for entry in std::fs::read_dir(&from).unwrap() {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        if file.ends_with(".policy") {
            let text = std::fs::read_to_string(&path).unwrap();
            let changed = edit(&text);
            assert_ne!(changed, text, "the edit changes {file}");
            std::fs::write(dir.join(&file), changed).unwrap();
        } else if !file.ends_with(".scenario.yaml") {
            std::fs::copy(&path, dir.join(&file)).unwrap();
        }
    }
    dir
}

/// The example tenant's scenario files, as `--events` arguments.
fn scenario_files(tenant: &str) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(root().join("policies").join(tenant))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".scenario.yaml"))
        .map(|p| {
            p.strip_prefix(root())
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    files.sort();
    files
}

#[test]
fn diff_over_a_tenants_scenarios_reports_what_a_change_alters() {
    // Sales conversations must now be claimed before a reply.
    let changed = changed_copy("team-inbox-claims", "claim-must", |text| {
        text.replace("claim can # anyone", "claim must # anyone")
    });
    let changed = changed.to_str().unwrap();
    let old = "policies/team-inbox-claims";
    let files = scenario_files("team-inbox-claims");
    let mut args = vec!["diff", old, changed, "--events"];
    args.extend(files.iter().map(String::as_str));

    let out = switchboard(&args);
    assert_eq!(out.status.code(), Some(1), "something changes: {out:?}");
    let text = stdout(&out).replace(changed, "CHANGED");
    insta::assert_snapshot!("diff_text@team-inbox-claims-claim-must", text);

    args.extend(["--format", "json", "--examples", "100"]);
    let out = switchboard(&args);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let changed_count = json["changed"].as_u64().unwrap();
    assert!(changed_count > 0);
    let examples = json["examples"].as_array().unwrap();
    assert_eq!(examples.len() as u64, changed_count, "every change shown");
    for e in examples {
        // A reply that was allowed is now denied until someone claims.
        if e["event"]["type"] == "reply" && e["old"]["outcome"] == "allowed" {
            assert_eq!(e["new"]["outcome"], "denied", "{e}");
            assert_eq!(e["new"]["denial"]["code"], "must_claim", "{e}");
        }
    }

    // A policy against itself changes nothing, and says so with exit 0.
    let mut same = vec!["diff", old, old, "--events"];
    same.extend(files.iter().map(String::as_str));
    let out = switchboard(&same);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(stdout(&out).starts_with("no decision changes"), "{out:?}");
}

#[test]
fn diff_refuses_what_it_cannot_replay() {
    let old = "policies/team-sms";
    let out = switchboard(&["diff", old, old]);
    assert_eq!(out.status.code(), Some(2), "traffic is required: {out:?}");
    let out = switchboard(&["diff", old, old, "--events", "policies"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is a folder"),
        "{out:?}"
    );
    let out = switchboard(&["diff", old, old, "--data", "no-such-data"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("does not exist"),
        "{out:?}"
    );
}

/// A decision as the diff compares it: its explanation and next tick aside.
fn compared(decision: &switchboard::engine::Decision) -> Value {
    let mut v = serde_json::to_value(decision).unwrap();
    let fields = v.as_object_mut().unwrap();
    fields.remove("explanation");
    fields.remove("next_tick");
    fields.remove("at");
    v
}

#[test]
fn diff_over_the_services_stored_log_lists_exactly_what_a_team_change_alters() {
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("admin-diff-data");
    let _ = std::fs::remove_dir_all(&base);
    let (data, policies) = (base.join("data"), base.join("policies"));
    copy_tenant("team-sms", &policies);
    let env = [("SWITCHBOARD_TOKENS", "brightside=sms-secret")];
    let server = Server::serve(&data, &policies, &[], &env);

    // A morning of traffic on both numbers (times in 2030: no timer of
    // theirs comes due while the test runs), with replies by ana, ben and
    // dev, who is on no team.
    let mut sent: Vec<String> = Vec::new();
    for i in 0..12 {
        let at = format!("2030-03-04T17:{:02}:00Z", i * 4);
        let number = ["+14155550100", "+14155550102"][i % 2];
        let customer = format!("+1628555{:04}", 100 + i);
        sent.push(inbound(&at, &customer, number, "Hello?", &format!("SM{i}")));
        let at = format!("2030-03-04T17:{:02}:30Z", i * 4 + 1);
        let agent = ["ana", "ben", "dev"][i % 3];
        sent.push(
            json!({"type": "reply", "at": at, "agent": agent, "number": number,
                   "customer": customer, "body": "On it."})
            .to_string(),
        );
    }
    let url = server.url("/v1/tenants/brightside/events");
    for event in &sent {
        let reply = request("POST", &url, Some("sms-secret"), Some(event));
        assert!(reply.status == 200 || reply.status == 422, "{}", reply.body);
    }

    // The change: dev joins inbound_sales in ben's place.
    let old_path = policies.join("team-sms/team-sms.policy");
    let old_text = std::fs::read_to_string(&old_path).unwrap();
    let new_text = old_text.replace("members ana ben", "members ana dev");
    assert_ne!(new_text, old_text);
    let candidate = base.join("candidate");
    std::fs::create_dir_all(&candidate).unwrap();
    std::fs::write(candidate.join("team-sms.policy"), &new_text).unwrap();

    // By hand: both revisions step every event; which decisions differ?
    let old = switchboard::engine::Engine::new(switchboard::compile(&old_text).unwrap());
    let new = switchboard::engine::Engine::new(switchboard::compile(&new_text).unwrap());
    let (mut old_state, mut new_state) = (Default::default(), Default::default());
    let mut expected = Vec::new();
    for (i, text) in sent.iter().enumerate() {
        let event: switchboard::engine::Event = serde_json::from_str(text).unwrap();
        let a = old.step(&mut old_state, &event);
        let b = new.step(&mut new_state, &event);
        if compared(&a) != compared(&b) {
            expected.push(format!("event {}", i + 1));
        }
    }
    assert!(
        !expected.is_empty() && expected.len() < sent.len(),
        "{expected:?}"
    );

    let out = switchboard(&[
        "diff",
        old_path.to_str().unwrap(),
        candidate.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--format",
        "json",
        "--examples",
        "100",
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let found: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(found["compared"], json!(sent.len()));
    let listed: Vec<String> = found["examples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["from"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(listed, expected, "exactly the decisions the change alters");
    assert_eq!(found["changed"], json!(expected.len()));
    let (old_arg, new_arg, data_arg) = (
        old_path.to_str().unwrap(),
        candidate.to_str().unwrap(),
        data.to_str().unwrap(),
    );
    let named = switchboard(&[
        "diff",
        old_arg,
        new_arg,
        "--data",
        data_arg,
        "--tenant",
        "brightside",
    ]);
    assert_eq!(named.status.code(), Some(1), "{named:?}");
    assert!(stdout(&named).starts_with(&format!(
        "{} of {} decisions change",
        expected.len(),
        sent.len()
    )));
    let other = switchboard(&[
        "diff", old_arg, new_arg, "--data", data_arg, "--tenant", "acme",
    ]);
    assert_eq!(other.status.code(), Some(2));
    let told = String::from_utf8_lossy(&other.stderr);
    assert!(
        told.contains("no events of tenant acme; it has: brightside"),
        "{told}"
    );

    // The service answers the same for the candidate, before any reload.
    let body = json!({"policy": new_text, "examples": 100}).to_string();
    let url = server.url("/v1/tenants/brightside/policy/diff");
    let reply = request("POST", &url, Some("sms-secret"), Some(&body));
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["changed"], found["changed"]);
    assert_eq!(reply.body["kinds"], found["kinds"]);
    assert!(reply.body["serving"].is_string());

    // Comparing the serving policy with itself changes nothing; a broken
    // candidate is refused with its diagnostics; neither is stored.
    let same = json!({"policy": old_text}).to_string();
    let reply = request("POST", &url, Some("sms-secret"), Some(&same));
    assert_eq!(reply.body["changed"], json!(0), "{}", reply.body);
    let broken = json!({"policy": format!("{old_text}\ngarbage {{}}\n")}).to_string();
    let reply = request("POST", &url, Some("sms-secret"), Some(&broken));
    assert_eq!(reply.status, 422, "{}", reply.body);
    assert_eq!(reply.body["error"]["code"], "policy_does_not_check");
    assert!(reply.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("E0101"));
    let reply = request("POST", &url, Some("sms-secret"), Some("{\"polcy\": 1}"));
    assert_eq!(reply.status, 400, "{}", reply.body);
    let policy = request(
        "GET",
        &server.url("/v1/tenants/brightside/policy"),
        Some("sms-secret"),
        None,
    );
    assert!(policy.body["refused"].is_null(), "{}", policy.body);

    // The serving policy at a glance, as `show --format json` has it.
    let url = server.url("/v1/tenants/brightside/policy/overview?week=2030-03-04");
    let overview = request("GET", &url, Some("sms-secret"), None);
    assert_eq!(overview.status, 200, "{}", overview.body);
    assert_eq!(overview.body["week"], json!(["2030-03-04", "2030-03-10"]));
    let shown = switchboard(&[
        "show",
        "policies/team-sms",
        "--week",
        "2030-03-04",
        "--format",
        "json",
    ]);
    let mut shown: Value = serde_json::from_slice(&shown.stdout).unwrap();
    shown["revision"] = overview.body["revision"].clone();
    assert_eq!(overview.body, shown);
    let url = server.url("/v1/tenants/brightside/policy/overview?week=soon");
    assert_eq!(request("GET", &url, Some("sms-secret"), None).status, 400);
    server.stop();
}

#[test]
fn test_writes_json_and_junit_reports_and_coverage() {
    // A copy of team-sms with one expectation made wrong.
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("admin-test-reports");
    let _ = std::fs::remove_dir_all(&dir);
    let tenant = copy_tenant("team-sms", &dir);
    let t1 = tenant.join("T1-inbound-visible-to-team.scenario.yaml");
    let text = std::fs::read_to_string(&t1).unwrap();
    std::fs::write(&t1, text.replacen("outcome: routed", "outcome: denied", 1)).unwrap();
    let folder = tenant.to_str().unwrap();
    let scenarios = scenario_count(&tenant);

    let out = switchboard(&["test", folder, "--format", "json", "--coverage"]);
    assert_eq!(out.status.code(), Some(1), "one scenario fails");
    let json: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(json["passed"], json!(scenarios - 1));
    assert_eq!(json["failed"], json!(1));
    let failing: Vec<&Value> = json["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["passed"] == json!(false))
        .collect();
    assert_eq!(failing.len(), 1);
    assert!(failing[0]["path"]
        .as_str()
        .unwrap()
        .ends_with("T1-inbound-visible-to-team.scenario.yaml"));
    let diff = &failing[0]["failures"][0]["diffs"][0];
    assert_eq!(
        (&diff["expected"], &diff["actual"]),
        (&json!("denied"), &json!("routed"))
    );
    let coverage = &json["coverage"][0];
    assert!(coverage["policy"]
        .as_str()
        .unwrap()
        .ends_with("team-sms.policy"));
    let branch = |area: &str, name: &str| {
        coverage["branches"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["area"] == area && b["branch"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no branch {area}: {name} in {coverage}"))
    };
    assert!(
        branch("inbox sales_team_sms", "closed")["hits"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert!(branch("inbox sales_team_sms", "lock expires")["line"]
        .as_u64()
        .is_some());

    let out = switchboard(&["test", folder, "--format", "junit"]);
    assert_eq!(out.status.code(), Some(1));
    let xml = stdout(&out);
    assert!(xml.starts_with("<?xml"), "{xml}");
    assert!(xml.contains(&format!("tests=\"{scenarios}\"")), "{xml}");
    assert_eq!(xml.matches("<failure").count(), 1, "{xml}");
    assert!(xml.contains("expected: &quot;denied&quot;"), "{xml}");

    // Human output ends with the totals, then the coverage table.
    let out = switchboard(&["test", "policies/team-sms", "--coverage"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = stdout(&out);
    assert!(
        text.contains(&format!("{scenarios} passed, 0 failed")),
        "{text}"
    );
    assert!(
        text.contains("policies/team-sms/team-sms.policy: "),
        "{text}"
    );
}

fn scenario_count(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".scenario.yaml")
        })
        .count()
}

#[test]
fn coverage_of_the_example_tenants() {
    let out = switchboard(&["test", "policies", "--coverage"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let text = stdout(&out);
    let (_, coverage) = text
        .split_once(" passed, 0 failed\n")
        .expect("the totals line");
    insta::assert_snapshot!("coverage@policies", coverage.trim_start());
    for tenant in tenants() {
        assert!(
            coverage.contains(&format!("policies/{tenant}/{tenant}.policy: ")),
            "{tenant} has a coverage report"
        );
    }
}

#[test]
fn diff_since_a_time_builds_the_state_with_the_old_policy_alone() {
    // The lock grows from 30 minutes to 2 hours.
    let changed = changed_copy("team-sms", "lock-2h", |text| {
        text.replace("lock 30m", "lock 2h")
    });
    let changed = changed.to_str().unwrap();
    let events = "policies/team-sms/example.events.jsonl";
    let args = |since: &str| {
        let mut a = vec![
            "diff",
            "policies/team-sms",
            changed,
            "--events",
            events,
            "--format",
            "json",
        ];
        if !since.is_empty() {
            a.extend(["--since", since]);
        }
        switchboard(&a)
    };
    let all: Value = serde_json::from_slice(&args("").stdout).unwrap();
    assert_eq!(
        (all["warmed_up"].as_u64(), all["compared"].as_u64()),
        (Some(0), Some(5))
    );
    assert!(
        all["changed"].as_u64().unwrap() > 0,
        "the reply's lock lasts longer: {all}"
    );
    let later: Value = serde_json::from_slice(&args("2026-03-02T17:06:00Z").stdout).unwrap();
    assert_eq!(
        (later["warmed_up"].as_u64(), later["compared"].as_u64()),
        (Some(2), Some(3))
    );
    // The first reply locked under the old policy: nothing after it changes.
    assert_eq!(later["changed"], json!(0), "{later}");
    let out = args("yesterday");
    assert_eq!(out.status.code(), Some(2));
}

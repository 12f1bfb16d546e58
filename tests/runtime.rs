//! A tenant's runtime decides durably: after a restart its state is what
//! it was, a redelivered message changes nothing, and of many agents
//! claiming one conversation at once exactly one wins.

use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use switchboard::engine::Event;
use switchboard::server::revision::Files;
use switchboard::server::TenantRuntime;
use switchboard::store::{ConversationStore, SqliteStore};

/// A fresh folder for a test's database.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("runtime-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn sqlite(dir: &Path) -> Arc<dyn ConversationStore> {
    Arc::new(SqliteStore::open(dir.join("switchboard.db")).unwrap())
}

/// Opens the tenant of the policy file at `policy` (relative to the
/// repository) on a store; revisions compile under the store's folder.
fn open(policy: &Path, store: Arc<dyn ConversationStore>, data: &Path) -> TenantRuntime {
    let files = Files::read(policy).unwrap();
    let revision = files.compile(data).unwrap();
    TenantRuntime::open(policy, &files, revision, store, data).unwrap()
}

fn repository(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// A copy of the Team SMS policy under `dir`, to change: its path and text.
fn copy_of_team_sms(dir: &Path) -> (PathBuf, String) {
    let folder = dir.join("policy");
    std::fs::create_dir_all(&folder).unwrap();
    let policy = folder.join("team-sms.policy");
    let text = std::fs::read_to_string(repository("policies/team-sms/team-sms.policy")).unwrap();
    std::fs::write(&policy, &text).unwrap();
    (policy, text)
}

/// The Team SMS tenant, opened on a store.
fn brightside(store: Arc<dyn ConversationStore>, data: &Path) -> TenantRuntime {
    open(
        &repository("policies/team-sms/team-sms.policy"),
        store,
        data,
    )
}

fn state_of(tenant: &TenantRuntime) -> serde_json::Value {
    tenant.with_state(|_, s| serde_json::to_value(s).unwrap())
}

fn event(value: serde_json::Value) -> Event {
    serde_json::from_value(value).unwrap()
}

fn inbound(i: u32, message_id: &str) -> Event {
    event(json!({
        "type": "inbound", "at": format!("2026-03-02T17:{:02}:00Z", i % 60),
        "from": format!("+1415555{:04}", i), "to": "+14155550100", "body": "Hi", "message_id": message_id
    }))
}

#[test]
fn state_survives_a_restart() {
    let dir = scratch("restart");
    let before = {
        let tenant = brightside(sqlite(&dir), &dir);
        for i in 0..40 {
            tenant.decide(&inbound(i, &format!("SM{i}"))).unwrap();
        }
        tenant
            .decide(&event(json!({"type": "reply", "at": "2026-03-02T17:59:00Z", "agent": "ana", "conversation": "c3", "body": "Hello"})))
            .unwrap();
        state_of(&tenant)
    };
    let tenant = brightside(sqlite(&dir), &dir);
    assert_eq!(state_of(&tenant), before);
    tenant.checkpoint().unwrap();
    drop(tenant);
    let store = sqlite(&dir);
    let history = store.history("brightside").unwrap();
    assert!(history.events.is_empty(), "a checkpoint covers every event");
    let tenant = brightside(store, &dir);
    assert_eq!(state_of(&tenant), before);
}

#[test]
fn a_redelivered_message_changes_nothing() {
    let dir = scratch("redelivery");
    let store = sqlite(&dir);
    let tenant = brightside(store.clone(), &dir);
    let first = tenant.decide(&inbound(1, "SM1")).unwrap();
    assert!(!first.redelivered);
    let state = state_of(&tenant);
    let again = tenant.decide(&inbound(1, "SM1")).unwrap();
    assert!(again.redelivered);
    assert_eq!(first.decision, again.decision);
    assert_eq!(state_of(&tenant), state);
    drop(tenant);
    // After a restart too, from the store.
    let tenant = brightside(store, &dir);
    assert_eq!(
        tenant.decide(&inbound(1, "SM1")).unwrap().decision,
        first.decision
    );
    assert_eq!(tenant.with_state(|_, s| s.open_count()), 1);
}

#[test]
fn a_retried_action_is_answered_from_its_first_decision() {
    let dir = scratch("action-retry");
    let tenant = brightside(sqlite(&dir), &dir);
    tenant.decide(&inbound(1, "SM1")).unwrap();
    let reply = event(
        json!({"type": "reply", "at": "2026-03-02T17:05:00Z", "agent": "ana", "conversation": "c1", "body": "Hello", "action_id": "desk-42"}),
    );
    let first = tenant.decide(&reply).unwrap();
    let again = tenant.decide(&reply).unwrap();
    assert!(!first.redelivered && again.redelivered);
    assert_eq!(first.decision, again.decision);
    let outbound = tenant.with_state(|_, s| s.conversation("c1").unwrap().outbound);
    assert_eq!(outbound, 1, "the reply was sent once");
    // An action id and a message id of the same text are different keys.
    let same_text = tenant.decide(&inbound(2, "desk-42")).unwrap();
    assert!(!same_text.redelivered);
}

#[test]
fn of_many_concurrent_claims_exactly_one_wins() {
    let dir = scratch("race");
    let policy = repository("policies/team-inbox-claims/team-inbox-claims.policy");
    let tenant = Arc::new(open(&policy, sqlite(&dir), &dir));
    let (number, members) = tenant.with_state(|revision, _| {
        let policy = revision.engine.policy();
        let inbox = policy.inbox(policy.inbox_id("sales").unwrap());
        let members: Vec<String> = inbox.member_names.iter().map(|m| m.to_string()).collect();
        (inbox.numbers[0].clone(), members)
    });
    assert!(members.len() >= 2);
    tenant
        .decide(&event(json!({"type": "inbound", "at": "2026-03-02T18:00:00Z", "from": "+14155551234", "to": number, "body": "Hi"})))
        .unwrap();
    let threads: Vec<_> = (0..16)
        .map(|i| {
            let tenant = tenant.clone();
            let agent = members[i % members.len()].clone();
            std::thread::spawn(move || {
                let claim = event(json!({"type": "claim", "at": "2026-03-02T18:01:00Z", "agent": agent, "conversation": "c1"}));
                let decision = tenant.decide(&claim).unwrap().decision;
                let won = decision["changes"].as_array().is_some_and(|c| c.iter().any(|c| c["change"] == "claimed"));
                (agent, won)
            })
        })
        .collect();
    let results: Vec<(String, bool)> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let winners: Vec<&String> = results
        .iter()
        .filter(|(_, won)| *won)
        .map(|(a, _)| a)
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    let owner = tenant.with_state(|_, s| s.conversation("c1").unwrap().owner.clone());
    assert_eq!(owner.as_deref(), Some(winners[0].as_str()));
}

#[test]
fn events_replay_with_the_revision_that_decided_them() {
    let dir = scratch("revisions");
    let (policy, original) = copy_of_team_sms(&dir);
    let reply = |minute: u32| {
        event(
            json!({"type": "reply", "at": format!("2026-03-02T17:{minute:02}:00Z"), "agent": "ana", "conversation": "c1", "body": "On it"}),
        )
    };
    let (before, first_revision) = {
        let tenant = open(&policy, sqlite(&dir), &dir);
        tenant.decide(&inbound(1, "SM1")).unwrap();
        let decided = tenant.decide(&reply(2)).unwrap().decision;
        (
            state_of(&tenant),
            decided["revision"].as_str().unwrap().to_string(),
        )
    };
    // The lock rule changes while the service is down, before any snapshot.
    std::fs::write(&policy, original.replace("lock 30m", "lock 5m")).unwrap();
    let tenant = open(&policy, sqlite(&dir), &dir);
    assert_eq!(
        state_of(&tenant),
        before,
        "the reply locked the thread for 30 minutes under the revision that decided it"
    );
    let decided = tenant.decide(&reply(40)).unwrap().decision;
    assert_ne!(decided["revision"].as_str().unwrap(), first_revision);
}

#[test]
fn a_new_revision_without_an_inbox_or_agent_still_decides_their_conversations() {
    let dir = scratch("renamed");
    let (policy, original) = copy_of_team_sms(&dir);
    let tenant = open(&policy, sqlite(&dir), &dir);
    let at = |minute: u32| format!("2026-03-02T17:{minute:02}:00Z");
    tenant.decide(&inbound(1, "SM1")).unwrap();
    tenant
        .decide(&event(json!({"type": "reply", "at": at(2), "agent": "cho", "conversation": "c1", "body": "Hi"})))
        .unwrap();

    // The inbox and an agent of c1 are renamed away.
    let renamed = original
        .replace("sales_team_sms", "sales")
        .replace("cho", "chloe");
    std::fs::write(&policy, &renamed).unwrap();
    let files = Files::read(&policy).unwrap();
    tenant.reload(&files, files.compile(&dir).unwrap()).unwrap();

    let outcome = |value: serde_json::Value| {
        let decided = tenant.decide(&event(value)).unwrap().decision;
        decided["outcome"].as_str().unwrap().to_string()
    };
    let reply = json!({"type": "reply", "at": at(3), "agent": "ana", "conversation": "c1", "body": "Still there?"});
    assert_eq!(
        outcome(reply),
        "denied",
        "ana is no member of an inbox that is gone"
    );
    let claim = json!({"type": "claim", "at": at(4), "agent": "cho", "conversation": "c1"});
    assert_eq!(outcome(claim), "rejected", "cho is gone");
    // The customer writes again, and time passes beyond the old lock.
    let again = json!({"type": "inbound", "at": at(5), "from": "+14155550001", "to": "+14155550100", "body": "Hello?"});
    let decided = tenant.decide(&event(again)).unwrap().decision;
    assert_eq!(decided["inbox"], "sales");
    assert_eq!(
        decided["changes"][0],
        json!({"change": "rerouted", "conversation": "c1", "from": "sales_team_sms"})
    );
    assert_eq!(decided["conversation"], "c2");
    assert_eq!(
        outcome(json!({"type": "tick", "at": "2026-03-02T19:00:00Z"})),
        "ticked"
    );
    tenant.with_state(|revision, state| {
        let view =
            revision
                .engine
                .visible_conversations(state, "ben", None, state.clock().unwrap());
        assert!(
            !view.is_empty(),
            "ben sees the customer's conversation in the renamed inbox"
        );
    });
}

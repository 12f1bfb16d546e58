//! A tenant's runtime decides durably: after a restart its state is what
//! it was, a redelivered message changes nothing, and of many agents
//! claiming one conversation at once exactly one wins.

use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;
use switchboard::engine::{Engine, Event};
use switchboard::server::TenantRuntime;
use switchboard::store::{ConversationStore, SqliteStore};

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("runtime-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("switchboard.db")
}

fn engine(policy: &str) -> Engine {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(policy);
    let source = std::fs::read_to_string(&path).unwrap();
    let options = switchboard::CheckOptions {
        base_dir: path.parent().map(|p| p.to_path_buf()),
    };
    Engine::new(switchboard::compile_with(&source, &options).unwrap())
}

/// The Team SMS tenant, opened on a store.
fn brightside(store: Arc<dyn ConversationStore>) -> TenantRuntime {
    TenantRuntime::open(
        "brightside",
        engine("policies/team-sms/team-sms.policy"),
        store,
    )
    .unwrap()
}

fn state_of(tenant: &TenantRuntime) -> serde_json::Value {
    tenant.with_state(|s| serde_json::to_value(s).unwrap())
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
    let path = scratch("restart");
    let before = {
        let store: Arc<dyn ConversationStore> = Arc::new(SqliteStore::open(&path).unwrap());
        let tenant = brightside(store);
        for i in 0..40 {
            tenant.decide(&inbound(i, &format!("SM{i}"))).unwrap();
        }
        tenant
            .decide(&event(json!({"type": "reply", "at": "2026-03-02T17:59:00Z", "agent": "ana", "conversation": "c3", "body": "Hello"})))
            .unwrap();
        state_of(&tenant)
    };
    let store: Arc<dyn ConversationStore> = Arc::new(SqliteStore::open(&path).unwrap());
    let tenant = brightside(store);
    assert_eq!(state_of(&tenant), before);
    tenant.checkpoint().unwrap();
    drop(tenant);
    let store: Arc<dyn ConversationStore> = Arc::new(SqliteStore::open(&path).unwrap());
    let history = store.history("brightside").unwrap();
    assert!(history.events.is_empty(), "a checkpoint covers every event");
    let tenant = brightside(store);
    assert_eq!(state_of(&tenant), before);
}

#[test]
fn a_redelivered_message_changes_nothing() {
    let path = scratch("redelivery");
    let store: Arc<dyn ConversationStore> = Arc::new(SqliteStore::open(&path).unwrap());
    let tenant = brightside(store.clone());
    let first = tenant.decide(&inbound(1, "SM1")).unwrap();
    let state = state_of(&tenant);
    let again = tenant.decide(&inbound(1, "SM1")).unwrap();
    assert_eq!(first, again);
    assert_eq!(state_of(&tenant), state);
    drop(tenant);
    // After a restart too, from the store.
    let tenant = brightside(store);
    assert_eq!(tenant.decide(&inbound(1, "SM1")).unwrap(), first);
    assert_eq!(tenant.with_state(|s| s.open_count()), 1);
}

#[test]
fn of_many_concurrent_claims_exactly_one_wins() {
    let policy = "policies/team-inbox-claims/team-inbox-claims.policy";
    let engine = engine(policy);
    let inbox = engine.policy().inbox_id("sales").unwrap();
    let number = engine.policy().inbox(inbox).numbers[0].clone();
    let members: Vec<String> = engine
        .policy()
        .inbox(inbox)
        .member_names
        .iter()
        .map(|m| m.to_string())
        .collect();
    assert!(members.len() >= 2);
    let store: Arc<dyn ConversationStore> = Arc::new(SqliteStore::open(scratch("race")).unwrap());
    let tenant = Arc::new(TenantRuntime::open("cascade", engine, store).unwrap());
    tenant
        .decide(&event(json!({"type": "inbound", "at": "2026-03-02T18:00:00Z", "from": "+14155551234", "to": number, "body": "Hi"})))
        .unwrap();
    let threads: Vec<_> = (0..16)
        .map(|i| {
            let tenant = tenant.clone();
            let agent = members[i % members.len()].clone();
            std::thread::spawn(move || {
                let claim = event(json!({"type": "claim", "at": "2026-03-02T18:01:00Z", "agent": agent, "conversation": "c1"}));
                let decision = tenant.decide(&claim).unwrap();
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
    let owner = tenant.with_state(|s| s.conversation("c1").unwrap().owner.clone());
    assert_eq!(owner.as_deref(), Some(winners[0].as_str()));
}

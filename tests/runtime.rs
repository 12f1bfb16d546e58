//! A tenant's runtime decides durably: after a restart its state is what
//! it was, a redelivered message changes nothing, of many agents claiming
//! one conversation at once exactly one wins, and a write that fails
//! leaves the state as it was, the next event decided as if the failed one
//! never came.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use switchboard::engine::Event;
use switchboard::runtime::{reload, Config, DecideError, Runtime, Status, Tenant};
use switchboard::store::{
    Done, Pending, Record, Served, SqliteStore, StoreError, Stored, TenantStore,
};

/// A fresh folder for a test's database.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("runtime-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn config(policy: &Path, data: &Path) -> Config {
    let mut config = Config::new(policy, data.join("data"));
    config.decision_log = None;
    config.reload_every = None;
    config
}

/// Starts a runtime of the one policy file at `policy`, state under `data`.
fn start(policy: &Path, data: &Path) -> Runtime {
    Runtime::start(config(policy, data)).unwrap()
}

/// As `start`, on a store of the test's.
fn start_on(policy: &Path, data: &Path, store: Arc<dyn TenantStore>) -> Runtime {
    let config = config(policy, data);
    std::fs::create_dir_all(&config.data).unwrap();
    let lock = std::fs::File::create(config.data.join("switchboard.lock")).unwrap();
    Runtime::start_on(config, store, lock).unwrap()
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

fn team_sms() -> PathBuf {
    repository("policies/team-sms/team-sms.policy")
}

fn the_tenant(runtime: &Runtime) -> Arc<Tenant> {
    runtime.tenants_now().into_iter().next().unwrap()
}

fn state_of(tenant: &Tenant) -> Value {
    serde_json::to_value(&tenant.view().state).unwrap()
}

/// Decides an event durably: the decision, and whether it was redelivered.
fn decide(tenant: &Tenant, event: &Event) -> (Value, bool) {
    let decided = tenant.decide_blocking(event.clone()).unwrap();
    (
        serde_json::from_str(&decided.decision).unwrap(),
        decided.redelivered,
    )
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
        let runtime = start(&team_sms(), &dir);
        let tenant = the_tenant(&runtime);
        for i in 0..40 {
            decide(&tenant, &inbound(i, &format!("SM{i}")));
        }
        decide(
            &tenant,
            &event(
                json!({"type": "reply", "at": "2026-03-02T17:59:00Z", "agent": "ana", "conversation": "c3", "body": "Hello"}),
            ),
        );
        state_of(&tenant)
    };
    let runtime = start(&team_sms(), &dir);
    assert_eq!(state_of(&the_tenant(&runtime)), before);
    drop(runtime);
    let store = SqliteStore::open(dir.join("data/switchboard.db")).unwrap();
    let history = store.history("brightside").unwrap();
    assert!(
        history.events.is_empty(),
        "a clean stop's snapshot covers every event"
    );
    drop(store);
    let runtime = start(&team_sms(), &dir);
    assert_eq!(state_of(&the_tenant(&runtime)), before);
}

#[test]
fn a_redelivered_message_changes_nothing() {
    let dir = scratch("redelivery");
    let (first, state) = {
        let runtime = start(&team_sms(), &dir);
        let tenant = the_tenant(&runtime);
        let first = decide(&tenant, &inbound(1, "SM1"));
        assert!(!first.1);
        let state = state_of(&tenant);
        let again = decide(&tenant, &inbound(1, "SM1"));
        assert!(again.1);
        assert_eq!(first.0, again.0);
        assert_eq!(state_of(&tenant), state);
        (first.0, state)
    };
    // After a restart too, from the store.
    let runtime = start(&team_sms(), &dir);
    let tenant = the_tenant(&runtime);
    assert_eq!(decide(&tenant, &inbound(1, "SM1")).0, first);
    assert_eq!(state_of(&tenant), state);
    assert_eq!(tenant.view().state.open_count(), 1);
}

#[test]
fn a_retried_action_is_answered_from_its_first_decision() {
    let dir = scratch("action-retry");
    let runtime = start(&team_sms(), &dir);
    let tenant = the_tenant(&runtime);
    decide(&tenant, &inbound(1, "SM1"));
    let reply = event(
        json!({"type": "reply", "at": "2026-03-02T17:05:00Z", "agent": "ana", "conversation": "c1", "body": "Hello", "action_id": "desk-42"}),
    );
    let first = decide(&tenant, &reply);
    let again = decide(&tenant, &reply);
    assert!(!first.1 && again.1);
    assert_eq!(first.0, again.0);
    let outbound = tenant.view().state.conversation("c1").unwrap().outbound;
    assert_eq!(outbound, 1, "the reply was sent once");
    // An action id and a message id of the same text are different keys.
    let same_text = decide(&tenant, &inbound(2, "desk-42"));
    assert!(!same_text.1);
}

#[test]
fn of_many_concurrent_claims_exactly_one_wins() {
    let dir = scratch("race");
    let policy = repository("policies/team-inbox-claims/team-inbox-claims.policy");
    let runtime = start(&policy, &dir);
    let tenant = the_tenant(&runtime);
    let (number, members) = {
        let revision = tenant.revision();
        let policy = revision.engine.policy();
        let inbox = policy.inbox(policy.inbox_id("sales").unwrap());
        let members: Vec<String> = inbox.member_names.iter().map(|m| m.to_string()).collect();
        (inbox.numbers[0].clone(), members)
    };
    assert!(members.len() >= 2);
    decide(
        &tenant,
        &event(
            json!({"type": "inbound", "at": "2026-03-02T18:00:00Z", "from": "+14155551234", "to": number, "body": "Hi"}),
        ),
    );
    let threads: Vec<_> = (0..16)
        .map(|i| {
            let tenant = tenant.clone();
            let agent = members[i % members.len()].clone();
            std::thread::spawn(move || {
                let claim = event(json!({"type": "claim", "at": "2026-03-02T18:01:00Z", "agent": agent, "conversation": "c1"}));
                let decision = decide(&tenant, &claim).0;
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
    let owner = tenant
        .view()
        .state
        .conversation("c1")
        .unwrap()
        .owner
        .clone();
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
    let store_path = dir.join("data/switchboard.db");
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let (before, first_revision) = {
        // No clean stop: the events are replayed from the log.
        let store: Arc<dyn TenantStore> = Arc::new(SqliteStore::open(&store_path).unwrap());
        let runtime = start_on(&policy, &dir, store);
        let tenant = the_tenant(&runtime);
        decide(&tenant, &inbound(1, "SM1"));
        let decided = decide(&tenant, &reply(2)).0;
        let state = state_of(&tenant);
        // As if killed: no stop, so no snapshot.
        std::mem::forget(runtime);
        (state, decided["revision"].as_str().unwrap().to_string())
    };
    // The lock rule changes while the service is down, before any snapshot.
    std::fs::write(&policy, original.replace("lock 30m", "lock 5m")).unwrap();
    let store: Arc<dyn TenantStore> = Arc::new(SqliteStore::open(&store_path).unwrap());
    let runtime = start_on(&policy, &dir, store);
    let tenant = the_tenant(&runtime);
    assert_eq!(
        state_of(&tenant),
        before,
        "the reply locked the thread for 30 minutes under the revision that decided it"
    );
    let decided = decide(&tenant, &reply(40)).0;
    assert_ne!(decided["revision"].as_str().unwrap(), first_revision);
    assert_eq!(runtime.stats().divergences.load(Ordering::Relaxed), 0);
}

#[test]
fn a_new_revision_without_an_inbox_or_agent_still_decides_their_conversations() {
    let dir = scratch("renamed");
    let (policy, original) = copy_of_team_sms(&dir);
    let runtime = start(&policy, &dir);
    let tenant = the_tenant(&runtime);
    let at = |minute: u32| format!("2026-03-02T17:{minute:02}:00Z");
    decide(&tenant, &inbound(1, "SM1"));
    decide(
        &tenant,
        &event(
            json!({"type": "reply", "at": at(2), "agent": "cho", "conversation": "c1", "body": "Hi"}),
        ),
    );

    // The inbox and an agent of c1 are renamed away.
    let renamed = original
        .replace("sales_team_sms", "sales")
        .replace("cho", "chloe");
    std::fs::write(&policy, &renamed).unwrap();
    assert!(matches!(
        reload::reload(&runtime, &tenant),
        reload::Reloaded::Loaded { .. }
    ));

    let outcome = |value: Value| {
        let decided = decide(&tenant, &event(value)).0;
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
    let decided = decide(&tenant, &event(again)).0;
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
    let (revision, view) = (tenant.revision(), tenant.view());
    let rows = revision.engine.visible_conversations(
        &view.state,
        "ben",
        None,
        view.state.clock().unwrap(),
    );
    assert!(
        !rows.is_empty(),
        "ben sees the customer's conversation in the renamed inbox"
    );
}

/// SQLite with a switch that makes every write fail, as a full disk would.
struct Faulty {
    inner: SqliteStore,
    failing: AtomicBool,
}

impl Faulty {
    fn fail(&self) -> Result<(), StoreError> {
        match self.failing.load(Ordering::SeqCst) {
            true => Err(StoreError::Write("database or disk is full".into())),
            false => Ok(()),
        }
    }
}

impl TenantStore for Faulty {
    fn submit(&self, record: Record) -> Result<Pending, StoreError> {
        self.fail()?;
        self.inner.submit(record)
    }
    /// A failing batch is taken and then reported failed, as a write that
    /// failed on its way to disk would be.
    fn submit_all(&self, records: Vec<Record>, done: Done) -> Result<(), StoreError> {
        match self.fail() {
            Ok(()) => self.inner.submit_all(records, done),
            Err(error) => {
                done(Err(error));
                Ok(())
            }
        }
    }
    fn probe(&self, tenant: &str) -> Result<(), StoreError> {
        self.fail()?;
        self.inner.probe(tenant)
    }
    fn decision_for(&self, tenant: &str, id: &str) -> Result<Option<String>, StoreError> {
        self.inner.decision_for(tenant, id)
    }
    fn snapshot(&self, tenant: &str, seq: u64, state: String) -> Result<(), StoreError> {
        self.fail()?;
        self.inner.snapshot(tenant, seq, state)
    }
    fn prune(
        &self,
        tenant: &str,
        through: u64,
        before: chrono::DateTime<chrono::Utc>,
    ) -> Result<(usize, usize), StoreError> {
        self.inner.prune(tenant, through, before)
    }
    fn latest_snapshot(&self, tenant: &str) -> Result<Option<(u64, String)>, StoreError> {
        self.inner.latest_snapshot(tenant)
    }
    fn replay(
        &self,
        tenant: &str,
        after: u64,
        each: &mut dyn FnMut(Stored) -> Result<(), String>,
    ) -> Result<(), StoreError> {
        self.inner.replay(tenant, after, each)
    }
    fn save_revision(&self, tenant: &str, revision: &str, files: &Value) -> Result<(), StoreError> {
        self.inner.save_revision(tenant, revision, files)
    }
    fn revision(&self, tenant: &str, revision: &str) -> Result<Option<Value>, StoreError> {
        self.inner.revision(tenant, revision)
    }
    fn archived(&self, tenant: &str, id: &str) -> Result<Option<String>, StoreError> {
        self.inner.archived(tenant, id)
    }
    fn note_serving(&self, tenant: &str, path: &str, revision: &str) -> Result<(), StoreError> {
        self.inner.note_serving(tenant, path, revision)
    }
    fn served(&self) -> Result<Vec<Served>, StoreError> {
        self.inner.served()
    }
}

#[test]
fn a_failed_write_changes_nothing_and_the_tenant_resumes_by_itself() {
    let dir = scratch("failed-write");
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let faulty = Arc::new(Faulty {
        inner: SqliteStore::open(dir.join("data/switchboard.db")).unwrap(),
        failing: AtomicBool::new(false),
    });
    let runtime = start_on(&team_sms(), &dir, faulty.clone());
    let tenant = the_tenant(&runtime);
    decide(&tenant, &inbound(1, "SM1"));
    let before = state_of(&tenant);

    faulty.failing.store(true, Ordering::SeqCst);
    let lost = tenant.decide_blocking(inbound(2, "SM2"));
    assert!(matches!(lost, Err(DecideError::NotStored(_))), "{lost:?}");
    assert_eq!(state_of(&tenant), before, "the failed event was undone");
    assert!(
        matches!(tenant.status(), Status::Stopped(_)),
        "{:?}",
        tenant.status()
    );
    let refused = tenant.decide_blocking(inbound(3, "SM3"));
    assert!(
        matches!(refused, Err(DecideError::Stopped { .. })),
        "{refused:?}"
    );
    assert_eq!(state_of(&tenant), before);

    faulty.failing.store(false, Ordering::SeqCst);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while tenant.status() != Status::Serving {
        assert!(
            std::time::Instant::now() < deadline,
            "the tenant did not resume"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // Decided as if the failed event never came: the same as a tenant that
    // never saw it.
    let retried = decide(&tenant, &inbound(2, "SM2"));
    assert!(!retried.1, "the failed event was never stored");
    let control_dir = scratch("failed-write-control");
    let control = start(&team_sms(), &control_dir);
    let clean = the_tenant(&control);
    decide(&clean, &inbound(1, "SM1"));
    let expected = decide(&clean, &inbound(2, "SM2"));
    assert_eq!(retried.0, expected.0);
    assert_eq!(state_of(&tenant), state_of(&clean));
    drop(runtime);
    let store = SqliteStore::open(dir.join("data/switchboard.db")).unwrap();
    assert_eq!(
        store.decision_for("brightside", "SM3").unwrap(),
        None,
        "an event refused while stopped was never stored"
    );
}

#[test]
fn a_replayed_event_that_decides_otherwise_is_counted_not_ignored() {
    let dir = scratch("divergence");
    let store_path = dir.join("data/switchboard.db");
    std::fs::create_dir_all(dir.join("data")).unwrap();
    {
        let store: Arc<dyn TenantStore> = Arc::new(SqliteStore::open(&store_path).unwrap());
        let runtime = start_on(&team_sms(), &dir, store);
        let tenant = the_tenant(&runtime);
        for i in 0..3 {
            decide(&tenant, &inbound(i, &format!("SM{i}")));
        }
        // As if killed: no snapshot, so a restart replays all three.
        std::mem::forget(runtime);
    }
    // The second stored decision no longer says what the engine decides.
    let db = rusqlite::Connection::open(&store_path).unwrap();
    let changed = db
        .execute(
            "UPDATE events SET decision = replace(decision, '\"routed\"', '\"denied\"') WHERE seq = 2",
            [],
        )
        .unwrap();
    assert_eq!(changed, 1);
    drop(db);
    let store: Arc<dyn TenantStore> = Arc::new(SqliteStore::open(&store_path).unwrap());
    let runtime = start_on(&team_sms(), &dir, store);
    assert_eq!(runtime.stats().divergences.load(Ordering::Relaxed), 1);
    assert_eq!(
        the_tenant(&runtime).view().seq,
        3,
        "recovery goes on past it"
    );
}

#[test]
fn a_tenant_whose_stored_rows_cannot_be_read_fails_alone() {
    let dir = scratch("unreadable");
    let policies = dir.join("policies");
    for (example, file) in [
        ("team-sms", "team-sms.policy"),
        ("team-inbox-claims", "team-inbox-claims.policy"),
    ] {
        std::fs::create_dir_all(policies.join(example)).unwrap();
        let from = repository(&format!("policies/{example}/{file}"));
        std::fs::copy(from, policies.join(example).join(file)).unwrap();
    }
    let store_path = dir.join("data/switchboard.db");
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let open = || -> Arc<dyn TenantStore> { Arc::new(SqliteStore::open(&store_path).unwrap()) };
    let other = {
        let runtime = start_on(&policies, &dir, open());
        let brightside = runtime.tenant("brightside").unwrap();
        decide(&brightside, &inbound(1, "SM1"));
        let other = runtime
            .tenants_now()
            .into_iter()
            .find(|t| t.name() != "brightside")
            .unwrap()
            .name()
            .to_string();
        // As if killed: the event stays in the log, after no snapshot.
        std::mem::forget(runtime);
        other
    };
    let db = rusqlite::Connection::open(&store_path).unwrap();
    db.execute(
        "UPDATE events SET event = 'not an event' WHERE tenant = 'brightside'",
        [],
    )
    .unwrap();
    drop(db);

    let runtime = start_on(&policies, &dir, open());
    let brightside = runtime.tenant("brightside").unwrap();
    let Status::Failed(reason) = brightside.status() else {
        panic!("{:?}", brightside.status());
    };
    assert!(reason.contains("cannot be read"), "{reason}");
    assert!(matches!(
        brightside.decide_blocking(inbound(2, "SM2")),
        Err(DecideError::Failed { .. })
    ));
    let other = runtime.tenant(&other).unwrap();
    assert_eq!(other.status(), Status::Serving);
    assert!(!runtime.health().ready, "a failed tenant is not ready");
}

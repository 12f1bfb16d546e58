//! The embedded store keeps every acknowledged event, once, and a tenant's
//! state comes back exactly from its snapshot and the events after it.

use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;
use switchboard::engine::{Engine, Event, State};
use switchboard::store::{Appended, Record, SqliteStore, TenantStore};

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("store-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("switchboard.db")
}

fn record(tenant: &str, seq: u64, message_id: Option<&str>) -> Record {
    Record {
        tenant: tenant.into(),
        seq,
        message_id: message_id.map(str::to_string),
        revision: "r1".into(),
        event: json!({"type": "tick", "at": "2026-03-02T17:00:00Z"}).to_string(),
        decision: json!({"seq": seq}).to_string(),
        archived: Vec::new(),
    }
}

#[test]
fn appended_events_survive_reopening() {
    let path = scratch("reopen");
    {
        let store = SqliteStore::open(&path).unwrap();
        for seq in 1..=5 {
            assert_eq!(
                store.append(record("acme", seq, None)).unwrap(),
                Appended::Stored
            );
        }
        store.append(record("other", 1, None)).unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    let history = store.history("acme").unwrap();
    assert_eq!(history.snapshot, None);
    let seqs: Vec<u64> = history.events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, vec![1, 2, 3, 4, 5]);
    assert_eq!(history.events[2].decision, json!({"seq": 3}).to_string());
    assert_eq!(history.events[2].revision, "r1");
    assert_eq!(store.history("other").unwrap().events.len(), 1);
}

#[test]
fn a_redelivered_message_is_stored_once_and_gets_its_first_decision() {
    let store = SqliteStore::open(scratch("idempotent")).unwrap();
    assert_eq!(
        store.append(record("acme", 1, Some("SM1"))).unwrap(),
        Appended::Stored
    );
    let again = store.append(record("acme", 2, Some("SM1"))).unwrap();
    assert_eq!(again, Appended::Duplicate(json!({"seq": 1}).to_string()));
    assert_eq!(store.history("acme").unwrap().events.len(), 1);
    assert_eq!(
        store.decision_for("acme", "SM1").unwrap(),
        Some(json!({"seq": 1}).to_string())
    );
    // Message ids are per tenant.
    assert_eq!(
        store.append(record("other", 1, Some("SM1"))).unwrap(),
        Appended::Stored
    );
}

#[test]
fn many_threads_appending_at_once_all_get_stored() {
    let store = Arc::new(SqliteStore::open(scratch("concurrent")).unwrap());
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                for i in 0..250u64 {
                    let tenant = format!("tenant{t}");
                    let id = format!("m{i}");
                    assert_eq!(
                        store.append(record(&tenant, i + 1, Some(&id))).unwrap(),
                        Appended::Stored
                    );
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    for t in 0..8 {
        assert_eq!(
            store.history(&format!("tenant{t}")).unwrap().events.len(),
            250
        );
    }
}

#[test]
fn state_comes_back_exactly_from_snapshot_and_replay() {
    let path = scratch("recover");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let source = std::fs::read_to_string(root.join("policies/team-sms/team-sms.policy")).unwrap();
    let engine = Engine::new(switchboard::compile(&source).unwrap());
    let events: Vec<Event> =
        std::fs::read_to_string(root.join("policies/team-sms/example.events.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();

    let mut live = State::new();
    {
        let store = SqliteStore::open(&path).unwrap();
        for (i, event) in events.iter().enumerate() {
            let seq = i as u64 + 1;
            let decision = engine.step(&mut live, event);
            let record = Record {
                tenant: "brightside".into(),
                seq,
                message_id: None,
                revision: "r1".into(),
                event: serde_json::to_string(event).unwrap(),
                decision: serde_json::to_string(&decision).unwrap(),
                archived: Vec::new(),
            };
            store.append(record).unwrap();
            if seq == 2 {
                store
                    .snapshot("brightside", seq, serde_json::to_string(&live).unwrap())
                    .unwrap();
            }
        }
    }

    let store = SqliteStore::open(&path).unwrap();
    let history = store.history("brightside").unwrap();
    let (seq, snapshot) = history.snapshot.clone().unwrap();
    assert_eq!(seq, 2);
    let mut recovered: State = serde_json::from_str(&snapshot).unwrap();
    assert_eq!(history.events.len(), events.len() - 2);
    for stored in history.events {
        let event: Event = serde_json::from_str(&stored.event).unwrap();
        let replayed = serde_json::to_string(&engine.step(&mut recovered, &event)).unwrap();
        assert_eq!(
            replayed, stored.decision,
            "replay decides as the original did"
        );
    }
    assert_eq!(recovered, live);
}

#[test]
fn a_file_that_is_not_a_database_is_an_error() {
    let path = scratch("garbage");
    std::fs::write(&path, b"this is not sqlite, just some bytes to confuse it").unwrap();
    let error = SqliteStore::open(&path).unwrap_err();
    assert!(error.to_string().contains("database"), "{error}");
    let untouched: Value = Value::String(std::fs::read_to_string(&path).unwrap());
    assert_eq!(
        untouched,
        Value::String("this is not sqlite, just some bytes to confuse it".into())
    );
}

#[test]
fn a_snapshot_past_the_stored_events_is_not_saved() {
    let store = SqliteStore::open(scratch("snapshot-past")).unwrap();
    store.append(record("acme", 1, None)).unwrap();
    store.snapshot("acme", 2, "{}".into()).unwrap();
    assert_eq!(
        store.history("acme").unwrap().snapshot,
        None,
        "event 2 was never stored"
    );
    store.snapshot("acme", 1, "{}".into()).unwrap();
    assert_eq!(
        store.history("acme").unwrap().snapshot,
        Some((1, "{}".to_string()))
    );
}

/// Submits a tenant's batch and waits for its outcome.
fn write_all(store: &SqliteStore, records: Vec<Record>) -> Result<(), String> {
    let (done, outcome) = std::sync::mpsc::channel();
    store
        .submit_all(
            records,
            Box::new(move |result| {
                let _ = done.send(result.map_err(|e| e.to_string()));
            }),
        )
        .map_err(|e| e.to_string())?;
    outcome.recv().unwrap()
}

#[test]
fn after_a_failed_batch_the_tenants_later_batches_wait_for_a_probe() {
    let store = SqliteStore::open(scratch("poison")).unwrap();
    write_all(&store, vec![record("acme", 1, Some("SM1"))]).unwrap();
    // A batch with a message id stored before fails whole...
    let failed = write_all(
        &store,
        vec![record("acme", 2, None), record("acme", 3, Some("SM1"))],
    );
    assert!(failed.unwrap_err().contains("stored already"));
    assert_eq!(store.history("acme").unwrap().events.len(), 1, "none of it");
    // ...and the batch decided on top of it is refused unwritten.
    let refused = write_all(&store, vec![record("acme", 2, None)]);
    assert!(refused.unwrap_err().contains("earlier write"), "refused");
    // Another tenant writes as ever.
    write_all(&store, vec![record("other", 1, None)]).unwrap();
    // Once a probe of the tenant succeeds, its batches are taken again.
    store.probe("acme").unwrap();
    write_all(&store, vec![record("acme", 2, None)]).unwrap();
    assert_eq!(store.history("acme").unwrap().events.len(), 2);
}

//! The store conformance suite: every backend keeps every acknowledged
//! event, once, and a tenant's state comes back exactly from its snapshot
//! and the events after it. Each test runs against the embedded SQLite
//! store and against PostgreSQL (a schema of its own on the machine's
//! server, dropped after); what only one backend has is tested below the
//! suite.

mod common;

use common::postgres::Schema;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;
use switchboard::engine::{Engine, Event, State};
use switchboard::store::{Appended, PostgresStore, Record, SqliteStore, TenantStore};

/// Where a test's store lives; `open` opens it (again).
trait Place {
    fn open(&self) -> Box<dyn TenantStore>;
}

struct Sqlite(PathBuf);

impl Place for Sqlite {
    fn open(&self) -> Box<dyn TenantStore> {
        Box::new(SqliteStore::open(&self.0).unwrap())
    }
}

struct Postgres(Schema);

impl Place for Postgres {
    fn open(&self) -> Box<dyn TenantStore> {
        Box::new(PostgresStore::open(&self.0.url).unwrap())
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("store-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("switchboard.db")
}

/// Runs each test of the suite against each backend: `store::sqlite::x`
/// and `store::postgres::x`.
macro_rules! conformance {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(#[test]
            fn $test() {
                super::$test(&super::Sqlite(super::scratch(stringify!($test))));
            })*
        }
        mod postgres {
            $(#[test]
            fn $test() {
                super::$test(&super::Postgres(super::Schema::new(stringify!($test))));
            })*
        }
    };
}

conformance!(
    appended_events_survive_reopening,
    a_redelivered_message_is_stored_once_and_gets_its_first_decision,
    a_message_id_twice_in_one_commit_is_stored_once,
    many_threads_appending_at_once_all_get_stored,
    many_threads_asking_at_once_each_get_their_own_answers,
    state_comes_back_exactly_from_snapshot_and_replay,
    a_snapshot_past_the_stored_events_is_not_saved,
    after_a_failed_batch_the_tenants_later_batches_wait_for_a_probe,
    revisions_serving_and_archived_conversations_are_kept,
    pruning_removes_only_what_a_snapshot_covers_and_the_window_left,
    a_replay_stops_at_the_first_error,
);

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

fn appended_events_survive_reopening(place: &dyn Place) {
    {
        let store = place.open();
        for seq in 1..=5 {
            assert_eq!(
                store.append(record("acme", seq, None)).unwrap(),
                Appended::Stored
            );
        }
        store.append(record("other", 1, None)).unwrap();
    }
    let store = place.open();
    let history = store.history("acme").unwrap();
    assert_eq!(history.snapshot, None);
    let seqs: Vec<u64> = history.events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, vec![1, 2, 3, 4, 5]);
    assert_eq!(history.events[2].decision, json!({"seq": 3}).to_string());
    assert_eq!(history.events[2].revision, "r1");
    assert_eq!(store.history("other").unwrap().events.len(), 1);
}

fn a_redelivered_message_is_stored_once_and_gets_its_first_decision(place: &dyn Place) {
    let store = place.open();
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
    assert_eq!(store.decision_for("acme", "SM2").unwrap(), None);
    let asked = ["SM1".to_string(), "SM2".to_string()];
    let found = store.decisions_for("acme", &asked).unwrap();
    assert_eq!(
        found.into_iter().collect::<Vec<_>>(),
        vec![("SM1".to_string(), json!({"seq": 1}).to_string())]
    );
    assert!(store.decisions_for("other", &asked).unwrap().is_empty());
    // Message ids are per tenant.
    assert_eq!(
        store.append(record("other", 1, Some("SM1"))).unwrap(),
        Appended::Stored
    );
}

fn a_message_id_twice_in_one_commit_is_stored_once(place: &dyn Place) {
    let store = place.open();
    // Submitted together, so the writer takes both in one transaction.
    let first = store.submit(record("acme", 1, Some("SM1"))).unwrap();
    let second = store.submit(record("acme", 2, Some("SM1"))).unwrap();
    assert_eq!(first.wait().unwrap(), Appended::Stored);
    assert_eq!(
        second.wait().unwrap(),
        Appended::Duplicate(json!({"seq": 1}).to_string())
    );
    assert_eq!(store.history("acme").unwrap().events.len(), 1);
}

fn many_threads_appending_at_once_all_get_stored(place: &dyn Place) {
    let store: Arc<dyn TenantStore> = Arc::from(place.open());
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
        let history = store.history(&format!("tenant{t}")).unwrap();
        let seqs: Vec<u64> = history.events.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, (1..=250).collect::<Vec<u64>>());
    }
}

/// Questions about message ids asked at once from many threads (the
/// shared store asks those that wait together in one query): each gets
/// the decisions of its own tenant's ids, and nothing for ids not stored.
fn many_threads_asking_at_once_each_get_their_own_answers(place: &dyn Place) {
    let store: Arc<dyn TenantStore> = Arc::from(place.open());
    for t in 0..4 {
        let tenant = format!("tenant{t}");
        let records = (1..=20)
            .map(|i| record(&tenant, i, Some(&format!("m{i}"))))
            .collect();
        write_all(store.as_ref(), records).unwrap();
    }
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                // Two threads a tenant; each asks for the ids it owns, half
                // of them stored (m1..m20), half not.
                let tenant = format!("tenant{}", t % 4);
                for round in 0..50u64 {
                    let asked: Vec<String> = (0..4)
                        .map(|k| format!("m{}", (round * 4 + k + t) % 40 + 1))
                        .collect();
                    let found = store.decisions_for(&tenant, &asked).unwrap();
                    let expected: std::collections::HashMap<String, String> = asked
                        .iter()
                        .filter_map(|id| {
                            let n: u64 = id[1..].parse().unwrap();
                            (n <= 20).then(|| (id.clone(), json!({"seq": n}).to_string()))
                        })
                        .collect();
                    assert_eq!(found, expected, "{tenant} asked {asked:?}");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

fn state_comes_back_exactly_from_snapshot_and_replay(place: &dyn Place) {
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
        let store = place.open();
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

    let store = place.open();
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

fn a_snapshot_past_the_stored_events_is_not_saved(place: &dyn Place) {
    let store = place.open();
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
    // An older snapshot never replaces a newer one.
    store.append(record("acme", 2, None)).unwrap();
    store.snapshot("acme", 2, "{\"two\":2}".into()).unwrap();
    store.snapshot("acme", 1, "{}".into()).unwrap();
    assert_eq!(
        store.latest_snapshot("acme").unwrap(),
        Some((2, "{\"two\":2}".to_string()))
    );
}

/// Submits a tenant's batch and waits for its outcome.
fn write_all(store: &dyn TenantStore, records: Vec<Record>) -> Result<(), String> {
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

fn after_a_failed_batch_the_tenants_later_batches_wait_for_a_probe(place: &dyn Place) {
    let store = place.open();
    let store = store.as_ref();
    write_all(store, vec![record("acme", 1, Some("SM1"))]).unwrap();
    // A batch with a message id stored before fails whole...
    let failed = write_all(
        store,
        vec![record("acme", 2, None), record("acme", 3, Some("SM1"))],
    );
    assert!(failed.unwrap_err().contains("stored already"));
    assert_eq!(store.history("acme").unwrap().events.len(), 1, "none of it");
    // ...and the batch decided on top of it is refused unwritten.
    let refused = write_all(store, vec![record("acme", 2, None)]);
    assert!(refused.unwrap_err().contains("earlier write"), "refused");
    // Another tenant writes as ever.
    write_all(store, vec![record("other", 1, None)]).unwrap();
    // Once a probe of the tenant succeeds, its batches are taken again.
    store.probe("acme").unwrap();
    write_all(store, vec![record("acme", 2, None)]).unwrap();
    assert_eq!(store.history("acme").unwrap().events.len(), 2);
}

fn revisions_serving_and_archived_conversations_are_kept(place: &dyn Place) {
    {
        let store = place.open();
        let files = json!({"acme.policy": "tenant acme {}", "hooks.rhai": "fn f() { 1 }"});
        store.save_revision("acme", "r1", &files).unwrap();
        // Storing a revision twice keeps the first.
        store
            .save_revision("acme", "r1", &json!({"other": "text"}))
            .unwrap();
        store
            .note_serving("acme", "policies/acme.policy", "r1")
            .unwrap();
        store
            .note_serving("acme", "policies/acme.policy", "r2")
            .unwrap();
        store
            .note_serving("bolt", "policies/bolt.policy", "r9")
            .unwrap();
        let mut closing = record("acme", 1, None);
        closing.archived = vec![("c1".into(), "{\"id\":\"c1\"}".into())];
        store.append(closing).unwrap();
    }
    let store = place.open();
    assert_eq!(
        store.revision("acme", "r1").unwrap(),
        Some(json!({"acme.policy": "tenant acme {}", "hooks.rhai": "fn f() { 1 }"}))
    );
    assert_eq!(store.revision("acme", "r2").unwrap(), None);
    assert_eq!(store.revision("bolt", "r1").unwrap(), None, "per tenant");
    let served: Vec<(String, String, String)> = store
        .served()
        .unwrap()
        .into_iter()
        .map(|s| (s.tenant, s.path, s.revision))
        .collect();
    assert_eq!(
        served,
        vec![
            ("acme".into(), "policies/acme.policy".into(), "r2".into()),
            ("bolt".into(), "policies/bolt.policy".into(), "r9".into()),
        ]
    );
    assert_eq!(
        store.archived("acme", "c1").unwrap(),
        Some("{\"id\":\"c1\"}".to_string())
    );
    assert_eq!(store.archived("bolt", "c1").unwrap(), None);
}

fn pruning_removes_only_what_a_snapshot_covers_and_the_window_left(place: &dyn Place) {
    let store = place.open();
    for seq in 1..=4 {
        let mut r = record("acme", seq, Some(&format!("m{seq}")));
        if seq == 2 {
            r.archived = vec![("c2".into(), "{}".into())];
        }
        store.append(r).unwrap();
    }
    store.append(record("other", 1, None)).unwrap();
    store.snapshot("acme", 3, "{}".into()).unwrap();
    // Everything was stored after this moment: nothing is old enough.
    let long_ago = chrono::Utc::now() - chrono::Duration::days(1);
    assert_eq!(store.prune("acme", 3, long_ago).unwrap(), (0, 0));
    // Everything is old enough by a moment from now: only what the
    // snapshot covers goes, and only the tenant's.
    let later = chrono::Utc::now() + chrono::Duration::seconds(1);
    assert_eq!(store.prune("acme", 3, later).unwrap(), (3, 1));
    let history = store.history("acme").unwrap();
    assert_eq!(history.snapshot, Some((3, "{}".to_string())));
    let seqs: Vec<u64> = history.events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, vec![4]);
    assert_eq!(store.archived("acme", "c2").unwrap(), None);
    assert_eq!(store.history("other").unwrap().events.len(), 1);
}

fn a_replay_stops_at_the_first_error(place: &dyn Place) {
    let store = place.open();
    for seq in 1..=50 {
        store.append(record("acme", seq, None)).unwrap();
    }
    let mut seen = Vec::new();
    let error = store
        .replay("acme", 10, &mut |stored| {
            seen.push(stored.seq);
            if stored.seq == 20 {
                Err("event 20 does not step".to_string())
            } else {
                Ok(())
            }
        })
        .unwrap_err();
    assert!(
        error.to_string().contains("event 20 does not step"),
        "{error}"
    );
    assert_eq!(seen, (11..=20).collect::<Vec<u64>>());
    // The store answers as ever after a replay was abandoned.
    assert_eq!(store.history("acme").unwrap().events.len(), 50);
}

// What only the embedded store has.

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

// What only PostgreSQL has.

#[test]
fn an_address_that_is_not_postgresql_is_a_clear_error() {
    let error = PostgresStore::open("postgres://root@127.0.0.1:notaport/test").unwrap_err();
    assert!(
        error.to_string().contains("not a PostgreSQL URL"),
        "{error}"
    );
}

#[test]
fn a_server_that_does_not_answer_is_a_clear_error() {
    // A port nothing listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let error = PostgresStore::open(&format!("postgres://root@127.0.0.1:{port}/test")).unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains(&format!("127.0.0.1:{port}/test")),
        "{message}"
    );
}

#[test]
fn nodes_starting_together_migrate_once() {
    let schema = Schema::new("migrate_once");
    let url = Arc::new(schema.url.clone());
    let opened: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || PostgresStore::open(&url).map(drop))
        })
        .collect();
    for open in opened {
        open.join().unwrap().unwrap();
    }
    common::postgres::execute(&format!(
        "DO $$ BEGIN
           IF (SELECT count(*) FROM {0}.switchboard_migrations) <> 2 THEN
             RAISE EXCEPTION 'migrated more than once';
           END IF;
         END $$",
        schema.name
    ));
}

#[test]
fn a_database_from_a_newer_switchboard_is_refused_untouched() {
    let schema = Schema::new("newer_schema");
    drop(PostgresStore::open(&schema.url).unwrap());
    common::postgres::execute(&format!(
        "INSERT INTO {0}.switchboard_migrations (version) VALUES (999);
         INSERT INTO {0}.events VALUES ('acme', 1, NULL, 'r1', '{{}}', '{{}}', 0)",
        schema.name
    ));
    let error = PostgresStore::open(&schema.url).unwrap_err();
    assert!(error.to_string().contains("newer"), "{error}");
    common::postgres::execute(&format!(
        "DELETE FROM {0}.switchboard_migrations WHERE version = 999",
        schema.name
    ));
    let store = PostgresStore::open(&schema.url).unwrap();
    assert_eq!(store.history("acme").unwrap().events.len(), 1, "kept");
}

#[test]
fn a_node_whose_lease_was_taken_over_writes_nothing() {
    use std::time::Duration;
    use switchboard::store::Node;
    let schema = Schema::new("fence");
    let node = |name: &str, instance| Node {
        name: name.into(),
        instance,
        address: format!("http://{name}"),
    };
    let (a, b) = (node("a", 1), node("b", 2));
    let lease = Duration::from_secs(1);
    let first = PostgresStore::open(&schema.url).unwrap();
    let second = PostgresStore::open(&schema.url).unwrap();
    let (leases_a, leases_b) = (first.leases().unwrap(), second.leases().unwrap());
    leases_a.enforce();
    leases_b.enforce();
    assert!(
        second.append(record("t", 1, None)).is_err(),
        "no lease held: refused"
    );
    assert_eq!(leases_a.acquire("t", &a, lease).unwrap(), Some(1));
    assert_eq!(leases_b.acquire("t", &b, lease).unwrap(), None, "held by a");
    first.append(record("t", 1, Some("m1"))).unwrap();

    // a is paused past its lease; b takes the tenant over.
    std::thread::sleep(lease + Duration::from_millis(300));
    assert_eq!(leases_b.acquire("t", &b, lease).unwrap(), Some(2));
    let refused = first.append(record("t", 2, Some("m2"))).unwrap_err();
    assert!(refused.to_string().contains("taken over"), "{refused}");
    assert!(first.snapshot("t", 1, "{}".into()).is_err());
    assert!(first.probe("t").is_err(), "a probe cannot lift the fence");
    let round = leases_a.round(&a, lease).unwrap();
    assert!(round.renewed.is_empty(), "a renews nothing: {round:?}");
    assert!(round
        .leases
        .iter()
        .any(|l| l.tenant == "t" && l.node == "b" && l.epoch == 2));

    second.append(record("t", 2, Some("m2"))).unwrap();
    let history = second.history("t").unwrap();
    let seqs: Vec<u64> = history.events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [1, 2], "the events of both owners, once each");
    common::postgres::execute(&format!(
        "DO $$ BEGIN
           IF (SELECT string_agg(seq || ':' || epoch, ',' ORDER BY seq) FROM {0}.events)
              <> '1:1,2:2' THEN
             RAISE EXCEPTION 'each event keeps the epoch it was written under';
           END IF;
         END $$",
        schema.name
    ));
}

#[test]
fn a_statement_the_database_refuses_fails_its_transaction_and_the_connection_serves_on() {
    let schema = Schema::new("refused_statement");
    let store = PostgresStore::open(&schema.url).unwrap();
    store.append(record("acme", 1, Some("m1"))).unwrap();
    // A row the store did not write takes the place of event 2, so the
    // insert of the store's own event 2 is refused by the database.
    common::postgres::execute(&format!(
        "INSERT INTO {0}.events (tenant, seq, revision, event, decision, stored_at)
         VALUES ('acme', 2, 'r1', '{{}}', '{{}}', 0)",
        schema.name
    ));
    let refused = write_all(
        &store,
        vec![record("acme", 2, Some("m2")), record("acme", 3, Some("m3"))],
    )
    .unwrap_err();
    assert!(refused.contains("duplicate key"), "{refused}");
    assert_eq!(
        store.decision_for("acme", "m3").unwrap(),
        None,
        "nothing of the batch"
    );
    // Every pooled connection is out of the failed transaction: writes and
    // reads go on as ever.
    store.probe("acme").unwrap();
    for seq in 3..=12 {
        store.append(record("acme", seq, None)).unwrap();
        assert!(store.latest_snapshot("acme").unwrap().is_none());
    }
    store.snapshot("acme", 12, "{}".into()).unwrap();
    assert_eq!(store.latest_snapshot("acme").unwrap().unwrap().0, 12);
    let history = store.history("acme").unwrap();
    assert!(history.events.is_empty(), "all covered by the snapshot");
    let mut seqs = Vec::new();
    store
        .replay("acme", 0, &mut |stored| {
            seqs.push(stored.seq);
            Ok(())
        })
        .unwrap();
    assert_eq!(seqs, (1..=12).collect::<Vec<_>>());
}

#[test]
fn a_write_that_fails_before_its_commit_is_sent_leaves_no_transaction_open() {
    let schema = Schema::new("failed_before_commit");
    // The store's connections name themselves after the schema, so this
    // test sees its own and no other test's.
    let url = format!("{}&application_name={}", schema.url, schema.name);
    let store = PostgresStore::open(&url).unwrap();
    store.append(record("acme", 1, None)).unwrap();
    // Without its table, the statement that archives a conversation cannot
    // be prepared: the transaction fails after it began, before its
    // `COMMIT` is sent.
    common::postgres::execute(&format!(
        "ALTER TABLE {0}.archive RENAME TO archive_away",
        schema.name
    ));
    let archiving = Record {
        archived: vec![("c1".into(), "{}".into())],
        ..record("acme", 2, Some("m2"))
    };
    let failed = store.append(archiving).unwrap_err().to_string();
    assert!(failed.contains("archive"), "{failed}");
    let open = common::postgres::value(
        &schema.url,
        &format!(
            "SELECT count(*) FROM pg_stat_activity
             WHERE application_name = '{}' AND state LIKE 'idle in transaction%'",
            schema.name
        ),
    );
    assert_eq!(
        open, "0",
        "a pooled connection was left in the failed transaction"
    );
    common::postgres::execute(&format!(
        "ALTER TABLE {0}.archive_away RENAME TO archive",
        schema.name
    ));
    store.probe("acme").unwrap();
    store.append(record("acme", 2, Some("m2"))).unwrap();
    assert_eq!(
        store.decision_for("acme", "m2").unwrap().as_deref(),
        Some(json!({"seq": 2}).to_string().as_str())
    );
}

//! Several real `switchboard serve` nodes on one PostgreSQL schema: nodes
//! killed and restarted at random under a stream of events, a node paused
//! past its lease, and timers that come due while a tenant moves.
//!
//! Every node runs with `--lease-time 2s` (3s where a timer must fall in
//! the gap), so a dead node's tenants move within a few seconds. Which node
//! holds a tenant is read from the `leases` table, the same rows the nodes
//! read.

mod common;

use common::postgres::{rows, value, Schema};
use common::service::{
    eventually, inbound, repository, team_sms_locking_for, try_request, twilio_signed_post, Server,
};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

const TOKENS: &str = "brightside=sms-secret, cascade_outfitters=other-secret";
/// Events carry times in 2030, so no timer of theirs comes due.
const AT: &str = "2030-03-04T17:00:00Z";

/// The two tenants the streams write to: (name, token, number written to).
const CASCADE: (&str, &str, &str) = ("cascade_outfitters", "other-secret", "+16285550300");
const BRIGHTSIDE: (&str, &str, &str) = ("brightside", "sms-secret", "+14155550100");
/// cascade_outfitters' returns line: a conversation must be claimed.
const RETURNS: &str = "+16285550320";

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("cluster-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Nodes of one cluster, each with its own data folder, started and
/// killed by index. `bases` is where each running node answers, shared
/// with the threads that send to them.
struct Nodes {
    schema: Schema,
    policies: PathBuf,
    folder: PathBuf,
    lease: &'static str,
    names: Vec<String>,
    servers: Vec<Option<Server>>,
    bases: Arc<RwLock<Vec<Option<String>>>>,
}

impl Nodes {
    fn new(test: &str, policies: PathBuf, count: usize, lease: &'static str) -> Nodes {
        Nodes {
            schema: Schema::new(test),
            policies,
            folder: scratch(test),
            lease,
            names: (1..=count).map(|n| format!("n{n}")).collect(),
            servers: (0..count).map(|_| None).collect(),
            bases: Arc::new(RwLock::new(vec![None; count])),
        }
    }

    fn start(&mut self, i: usize) {
        let data = self.folder.join(&self.names[i]);
        // A snapshot every 200 events: a takeover recovers from a snapshot
        // and the events after it.
        let args = [
            "--store",
            self.schema.url.as_str(),
            "--node",
            self.names[i].as_str(),
            "--lease-time",
            self.lease,
            "--snapshot-every",
            "200",
        ];
        let env = [
            ("SWITCHBOARD_TOKENS", TOKENS),
            ("SWITCHBOARD_TWILIO_TOKENS", "brightside=twilio-auth"),
        ];
        let server = Server::serve(&data, &self.policies, &args, &env);
        self.bases.write().unwrap()[i] = Some(server.base.clone());
        self.servers[i] = Some(server);
    }

    /// SIGKILL: no shutdown, no snapshot, no lease released.
    fn kill(&mut self, i: usize) {
        self.bases.write().unwrap()[i] = None;
        if let Some(server) = self.servers[i].take() {
            server.kill();
        }
    }

    fn signal(&self, i: usize, signal: &str) {
        let server = self.servers[i].as_ref().expect("the node runs");
        let pid = server.child.id().to_string();
        let sent = Command::new("kill").args([signal, &pid]).status().unwrap();
        assert!(sent.success(), "kill {signal} {pid}");
    }

    fn server(&self, i: usize) -> &Server {
        self.servers[i].as_ref().expect("the node runs")
    }

    fn index(&self, node: &str) -> usize {
        self.names.iter().position(|n| n == node).unwrap()
    }

    /// The node holding `tenant`'s live lease, and its epoch.
    fn owner(&self, tenant: &str) -> Option<(String, i64)> {
        let found = rows(
            &self.schema.url,
            &format!(
                "SELECT node, epoch FROM leases WHERE tenant = '{tenant}' AND expires_at > now()"
            ),
        );
        found.first().map(|row| {
            (
                row[0].clone().unwrap(),
                row[1].as_deref().unwrap().parse().unwrap(),
            )
        })
    }

    /// Waits until each of `tenants` has a live lease and its owner has
    /// recovered it (`/healthz` says `serving`).
    fn settled(&self, tenants: &[&str]) {
        eventually("every tenant is held by a node and served", || {
            tenants.iter().all(|t| {
                let Some((node, _)) = self.owner(t) else {
                    return false;
                };
                let Some(base) = self.bases.read().unwrap()[self.index(&node)].clone() else {
                    return false;
                };
                try_request("GET", &format!("{base}/healthz"), None, None)
                    .is_ok_and(|r| r.body["tenants"][t]["status"] == "serving")
            })
        });
    }

    /// Two nodes, settled on `tenant`: the nodes, the owner's index and
    /// the other's.
    fn pair(test: &str, tenant: &str) -> (Nodes, usize, usize) {
        let mut nodes = Nodes::new(test, repository("policies"), 2, "2s");
        nodes.start(0);
        nodes.start(1);
        nodes.settled(&[tenant]);
        let (owner, _) = nodes.owner(tenant).unwrap();
        let owner = nodes.index(&owner);
        (nodes, owner, 1 - owner)
    }

    /// How many events have an epoch below the one before them (none
    /// should: a takeover only raises it).
    fn falling_epochs(&self) -> i64 {
        self.count(
            "SELECT count(*) FROM events a JOIN events b ON b.tenant = a.tenant AND b.seq = a.seq + 1 \
             WHERE b.epoch < a.epoch",
        )
    }

    fn query(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        rows(&self.schema.url, sql)
    }

    fn count(&self, sql: &str) -> i64 {
        value(&self.schema.url, sql).parse().unwrap()
    }
}

/// Sends `body` to the running nodes in turn, starting with the
/// `first`th, until one acknowledges it: a node that is down, a request cut
/// off by a kill, and every 503 (a tenant moving, not stored, shutting
/// down) are tried again, as a client would. Anything else fails the test.
fn until_acknowledged(
    bases: &RwLock<Vec<Option<String>>>,
    first: usize,
    tenant: &str,
    token: &str,
    body: &str,
) -> Value {
    let started = Instant::now();
    for attempt in first.. {
        assert!(
            started.elapsed() < Duration::from_secs(40),
            "no node acknowledged {body} in 40 s"
        );
        let base = {
            let bases = bases.read().unwrap();
            bases[attempt % bases.len()].clone()
        };
        let Some(base) = base else { continue };
        let url = format!("{base}/v1/tenants/{tenant}/events");
        match try_request("POST", &url, Some(token), Some(body)) {
            Ok(reply) if reply.status == 200 => return reply.body,
            Ok(reply) if reply.status == 503 || reply.status == 429 => {}
            Ok(reply) => panic!("{body}: {} {}", reply.status, reply.body),
            Err(_) => {}
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    unreachable!()
}

/// A decision as first answered: without `redelivered`.
fn first_answer(mut decision: Value) -> Value {
    decision.as_object_mut().unwrap().remove("redelivered");
    decision
}

/// A small random source with a fixed seed, so a failing run can be told
/// apart from a lucky one by its printed choices.
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Every conversation of `tenant` as a node serves it: c1, c2, … until
/// one is not found.
fn conversations(base: &str, tenant: (&str, &str, &str)) -> Vec<Value> {
    let mut found = Vec::new();
    for n in 1.. {
        let url = format!("{base}/v1/tenants/{}/conversations/c{n}", tenant.0);
        let reply = try_request("GET", &url, Some(tenant.1), None).unwrap();
        if reply.status == 404 {
            return found;
        }
        assert_eq!(reply.status, 200, "{url}: {}", reply.body);
        found.push(reply.body);
    }
    unreachable!()
}

/// Claims `conversation` for each of `agents` at once, each through
/// another node, retried until acknowledged: the agents whose claim won.
fn claim_race(
    bases: &Arc<RwLock<Vec<Option<String>>>>,
    conversation: &str,
    race: u32,
) -> Vec<String> {
    let threads: Vec<_> = ["eli", "jo"]
        .into_iter()
        .enumerate()
        .map(|(i, agent)| {
            // An action id: a claim sent again after a cut-off answer is
            // the same claim.
            let claim = json!({
                "type": "claim", "at": "2030-03-04T17:02:00Z", "agent": agent,
                "conversation": conversation, "action_id": format!("race{race}-{agent}"),
            })
            .to_string();
            let bases = bases.clone();
            std::thread::spawn(move || {
                let (tenant, token, _) = CASCADE;
                let decision = until_acknowledged(&bases, i, tenant, token, &claim);
                let won = decision["changes"]
                    .as_array()
                    .is_some_and(|c| c.iter().any(|c| c["change"] == "claimed"));
                won.then(|| agent.to_string())
            })
        })
        .collect();
    threads
        .into_iter()
        .filter_map(|t| t.join().unwrap())
        .collect()
}

/// An acknowledged message: its tenant, id and first answer.
struct Acknowledged {
    tenant: (&'static str, &'static str, &'static str),
    id: String,
    body: String,
    decision: Value,
}

/// Three nodes, four clients sending to all of them, and a node killed
/// (SIGKILL) twelve times, each time the one holding a tenant the clients
/// write to: restarted at once (its leases come back to it) or after the
/// lease time (another node has taken them over). Then every acknowledged
/// event is stored once and answers `redelivered: true` with its first
/// decision, each claim race had one winner who still owns its
/// conversation, every tenant's events are numbered without a gap and
/// their epochs only rise, and the whole history, replayed without a
/// snapshot by a fresh node, serves what the cluster served.
#[test]
fn three_nodes_killed_at_random_lose_and_double_nothing() {
    let mut nodes = Nodes::new("chaos", repository("policies"), 3, "2s");
    for i in 0..3 {
        nodes.start(i);
    }
    nodes.settled(&[CASCADE.0, BRIGHTSIDE.0]);

    let stop = Arc::new(AtomicBool::new(false));
    let sequence = Arc::new(AtomicU32::new(0));
    let senders: Vec<_> = (0..4)
        .map(|sender| {
            let (stop, sequence, bases) = (stop.clone(), sequence.clone(), nodes.bases.clone());
            std::thread::spawn(move || {
                let mut acknowledged = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let n = sequence.fetch_add(1, Ordering::Relaxed);
                    let tenant = if n % 2 == 0 { CASCADE } else { BRIGHTSIDE };
                    let customer = format!("+1628600{:04}", n % 24);
                    let id = format!("SM{n}");
                    let body = inbound(AT, &customer, tenant.2, "Hello", &id);
                    let decision =
                        until_acknowledged(&bases, sender + n as usize, tenant.0, tenant.1, &body);
                    acknowledged.push(Acknowledged {
                        tenant,
                        id,
                        body,
                        decision,
                    });
                    std::thread::sleep(Duration::from_millis(10));
                }
                acknowledged
            })
        })
        .collect();

    let mut dice = Dice(0x5eed_c1a5);
    let mut races = Vec::new();
    let mut moved = 0;
    for kill in 0..12u32 {
        std::thread::sleep(Duration::from_millis(500 + 100 * dice.below(10)));
        let tenant = if kill % 2 == 0 {
            CASCADE.0
        } else {
            BRIGHTSIDE.0
        };
        let victim = match nodes.owner(tenant) {
            Some((node, _)) => nodes.index(&node),
            None => dice.below(3) as usize,
        };
        let wait = if dice.below(3) == 0 {
            Duration::from_millis(200)
        } else {
            moved += 1;
            Duration::from_millis(2_500 + 100 * dice.below(10))
        };
        eprintln!(
            "kill {kill}: n{} ({tenant}'s owner), back after {wait:?}",
            victim + 1
        );
        nodes.kill(victim);
        std::thread::sleep(wait);
        nodes.start(victim);

        // A claim race on a new returns conversation, through two nodes.
        let (name, token, _) = CASCADE;
        let message = inbound(
            AT,
            &format!("+1628700{kill:04}"),
            RETURNS,
            "Return",
            &format!("SMX{kill}"),
        );
        let decision = until_acknowledged(&nodes.bases, kill as usize, name, token, &message);
        let conversation = decision["conversation"].as_str().unwrap().to_string();
        let winners = claim_race(&nodes.bases, &conversation, kill);
        assert_eq!(winners.len(), 1, "{conversation}: {winners:?}");
        races.push((conversation, winners[0].clone()));
    }
    assert!(moved >= 4, "tenants moved to another node {moved} times");
    stop.store(true, Ordering::Relaxed);
    let acknowledged: Vec<Acknowledged> = senders
        .into_iter()
        .flat_map(|s| s.join().unwrap())
        .collect();
    assert!(
        acknowledged.len() > 300,
        "{} acknowledged",
        acknowledged.len()
    );
    nodes.settled(&[CASCADE.0, BRIGHTSIDE.0]);

    // Every acknowledged message is stored: sent again, to any node, it is a
    // redelivery with its first decision.
    let bases = nodes.bases.clone();
    std::thread::scope(|scope| {
        for part in acknowledged.chunks(acknowledged.len().div_ceil(4)) {
            let bases = bases.clone();
            scope.spawn(move || {
                for (n, message) in part.iter().enumerate() {
                    let (tenant, token, _) = message.tenant;
                    let again = until_acknowledged(&bases, n, tenant, token, &message.body);
                    assert_eq!(again["redelivered"], true, "{}: {again}", message.id);
                    assert_eq!(
                        first_answer(again),
                        first_answer(message.decision.clone()),
                        "{}",
                        message.id
                    );
                }
            });
        }
    });

    // Stored once each, numbered without a gap, epochs only rising.
    let stored: HashSet<(String, String)> = nodes
        .query("SELECT tenant, message_id FROM events WHERE message_id IS NOT NULL")
        .into_iter()
        .map(|row| (row[0].clone().unwrap(), row[1].clone().unwrap()))
        .collect();
    for message in &acknowledged {
        assert!(
            stored.contains(&(message.tenant.0.to_string(), message.id.clone())),
            "{} is stored",
            message.id
        );
    }
    let doubled = nodes.count(
        "SELECT count(*) FROM (SELECT 1 FROM events WHERE message_id IS NOT NULL \
         GROUP BY tenant, message_id HAVING count(*) > 1) d",
    );
    assert_eq!(doubled, 0, "no message is stored twice");
    for row in
        nodes.query("SELECT tenant, count(*), min(seq), max(seq) FROM events GROUP BY tenant")
    {
        let [tenant, count, min, max] = [0, 1, 2, 3].map(|i| row[i].clone().unwrap());
        assert_eq!(
            (min.as_str(), &count),
            ("1", &max),
            "{tenant}: events 1..{max}, {count} of them"
        );
    }
    let falling = nodes.falling_epochs();
    assert_eq!(
        falling, 0,
        "an event's epoch is never below the one before it"
    );
    let epochs = nodes.count(&format!(
        "SELECT count(DISTINCT epoch) FROM events WHERE tenant IN ('{}', '{}')",
        CASCADE.0, BRIGHTSIDE.0
    ));
    assert!(
        epochs >= 6,
        "the tenants were written under {epochs} epochs"
    );

    // One owner for each raced conversation: its acknowledged winner.
    let base = nodes.server(0).base.clone();
    for (conversation, winner) in &races {
        let url = format!(
            "{base}/v1/tenants/{}/conversations/{conversation}",
            CASCADE.0
        );
        let state = try_request("GET", &url, Some(CASCADE.1), None)
            .unwrap()
            .body;
        assert_eq!(state["owner"], winner.as_str(), "{state}");
    }

    // The history replays, from the first event, to what was served.
    let served: Vec<Vec<Value>> = [CASCADE, BRIGHTSIDE]
        .into_iter()
        .map(|t| conversations(&base, t))
        .collect();
    assert!(
        served.iter().all(|c| c.len() >= 12),
        "conversations were served"
    );
    for i in 0..3 {
        nodes.kill(i);
    }
    common::postgres::execute(&format!("DELETE FROM {}.snapshots", nodes.schema.name));
    nodes.names.push("replayer".into());
    nodes.servers.push(None);
    nodes.bases.write().unwrap().push(None);
    nodes.start(3);
    let replayer = nodes.server(3);
    eventually("the replayer decides both tenants", || {
        [CASCADE, BRIGHTSIDE].iter().all(|(tenant, token, _)| {
            let url = replayer.url(&format!("/v1/tenants/{tenant}/conversations/c1"));
            nodes
                .owner(tenant)
                .is_some_and(|(node, _)| node == "replayer")
                && try_request("GET", &url, Some(token), None).is_ok_and(|r| r.status == 200)
        })
    });
    let replayed: Vec<Vec<Value>> = [CASCADE, BRIGHTSIDE]
        .into_iter()
        .map(|t| conversations(&replayer.base, t))
        .collect();
    assert_eq!(replayed, served, "replayed from the first event");
    let metrics = try_request("GET", &replayer.url("/metrics"), None, None).unwrap();
    let metrics = metrics.body.as_str().unwrap().to_string();
    assert!(
        metrics.contains("switchboard_replay_divergences_total 0"),
        "every replayed decision is the stored one"
    );
    eprintln!(
        "{} acknowledged, {} races, {epochs} epochs",
        acknowledged.len(),
        races.len()
    );
}

/// A node paused (SIGSTOP) past its lease while requests wait for it: the
/// other node takes its tenants over. Woken (SIGCONT), the paused node
/// still believes it decides them; every write it tries is refused by the
/// fence, each waiting request is answered with an error or forwarded to
/// the new owner, and nothing is stored under the old epoch after the
/// takeover.
#[test]
fn a_node_paused_past_its_lease_writes_nothing_when_it_wakes() {
    let (tenant, token, number) = BRIGHTSIDE;
    let (nodes, paused, other) = Nodes::pair("paused", tenant);
    let (_, before) = nodes.owner(tenant).unwrap();
    let send_to = |i: usize, id: &str| {
        let url = format!(
            "{}/v1/tenants/{tenant}/events",
            nodes.bases.read().unwrap()[i].clone().unwrap()
        );
        let body = inbound(AT, "+14155557777", number, "Still there?", id);
        try_request("POST", &url, Some(token), Some(&body))
    };
    for n in 0..3 {
        let reply = send_to(other, &format!("SMP{n}")).unwrap();
        assert_eq!(reply.status, 200, "forwarded to the owner: {}", reply.body);
    }
    let stored_before = nodes.count(&format!(
        "SELECT count(*) FROM events WHERE tenant = '{tenant}'"
    ));

    nodes.signal(paused, "-STOP");
    eventually("the other node takes the tenant over", || {
        nodes
            .owner(tenant)
            .is_some_and(|(node, epoch)| node == nodes.names[other] && epoch > before)
    });
    let (_, after) = nodes.owner(tenant).unwrap();
    // Once it has recovered the tenant (until then: 503 tenant_moving).
    eventually("the new owner decides", || {
        let reply = send_to(other, "SMQ0").unwrap();
        assert!(
            reply.status == 200 || reply.body["error"]["code"] == "tenant_moving",
            "{} {}",
            reply.status,
            reply.body
        );
        reply.status == 200
    });

    // Requests to the paused node wait in its listen queue; it answers
    // them when it wakes, before or after its next lease round.
    let waiting: Vec<_> = (0..6)
        .map(|n| {
            let base = nodes.bases.read().unwrap()[paused].clone().unwrap();
            std::thread::spawn(move || {
                let url = format!("{base}/v1/tenants/{tenant}/events");
                let id = format!("SMW{n}");
                let body = inbound(AT, "+14155557777", number, "Anyone?", &id);
                (
                    id,
                    try_request("POST", &url, Some(token), Some(&body)).unwrap(),
                )
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    nodes.signal(paused, "-CONT");
    let answers: Vec<_> = waiting.into_iter().map(|t| t.join().unwrap()).collect();

    let epoch_of = |id: &str| {
        let found = nodes.query(&format!(
            "SELECT epoch FROM events WHERE tenant = '{tenant}' AND message_id = '{id}'"
        ));
        found
            .first()
            .map(|row| row[0].clone().unwrap().parse::<i64>().unwrap())
    };
    for (id, reply) in &answers {
        eprintln!("{id}: {} {}", reply.status, reply.body["error"]["code"]);
        match reply.status {
            // Forwarded once the paused node saw its lease was gone.
            200 => assert_eq!(epoch_of(id), Some(after), "{id}: {}", reply.body),
            // Refused by the fence (not stored) or the tenant moving.
            503 => {
                assert!(
                    ["not_stored", "tenant_moving"]
                        .contains(&reply.body["error"]["code"].as_str().unwrap_or("")),
                    "{id}: {}",
                    reply.body
                );
                assert_eq!(
                    epoch_of(id),
                    None,
                    "{id} was answered 503, so it is not stored"
                );
            }
            status => panic!("{id}: {status} {}", reply.body),
        }
    }
    let old = nodes.count(&format!(
        "SELECT count(*) FROM events WHERE tenant = '{tenant}' AND epoch <= {before}"
    ));
    assert_eq!(
        old, stored_before,
        "nothing stored under the old epoch after the takeover"
    );

    // Awake, the paused node knows it no longer decides the tenant and
    // forwards; both nodes serve one state.
    eventually("the woken node forwards to the owner", || {
        send_to(paused, "SMR0").is_ok_and(|r| r.status == 200)
    });
    assert_eq!(epoch_of("SMR0"), Some(after));
    let served = |i: usize| {
        let base = nodes.bases.read().unwrap()[i].clone().unwrap();
        conversations(&base, BRIGHTSIDE)
    };
    assert_eq!(served(paused), served(other));
    let falling = nodes.falling_epochs();
    assert_eq!(falling, 0);
}

/// A lock that expires while its tenant moves: the node that takes the
/// tenant over fires it once, and one that the old owner fired before it
/// died is not fired again.
#[test]
fn a_timer_due_during_a_failover_fires_once() {
    let policies = scratch("timers-policies").join("policies");
    team_sms_locking_for("1s", &policies);
    // A lease of 3s: the lock falls due well inside the gap.
    let mut nodes = Nodes::new("timers", policies, 2, "3s");
    nodes.start(0);
    nodes.start(1);
    let (tenant, token, _) = BRIGHTSIDE;
    nodes.settled(&[tenant]);
    // No `at`: these happen now, by the service's clock.
    let message = r#"{"type":"inbound","from":"+14155558888","to":"+14155550102","body":"Hi"}"#;
    let reply = r#"{"type":"reply","agent":"ana","conversation":"c1","body":"Hello"}"#;
    let (bases, store) = (nodes.bases.clone(), nodes.schema.url.clone());
    let post = |body: &str| until_acknowledged(&bases, 0, tenant, token, body);
    let expired = || {
        value(
            &store,
            &format!(
                "SELECT count(*) FROM events WHERE tenant = '{tenant}' \
                 AND decision LIKE '%\"lock_expired\"%'"
            ),
        )
        .parse::<i64>()
        .unwrap()
    };
    post(message);

    // Fired by the owner, before anything moves.
    assert_eq!(post(reply)["changes"][0]["change"], "locked");
    eventually("the owner fires the first lock's expiry", || expired() == 1);

    // Locked again, and the owner killed at once: the expiry falls due
    // while no node decides the tenant.
    assert_eq!(post(reply)["changes"][0]["change"], "locked");
    let (owner, epoch) = nodes.owner(tenant).unwrap();
    let dead = nodes.index(&owner);
    let killed = Instant::now();
    nodes.kill(dead);
    eventually("the other node takes the tenant over", || {
        nodes.owner(tenant).is_some_and(|(_, e)| e > epoch)
    });
    eventually("the new owner fires the expiry that fell due", || {
        expired() == 2
    });
    eprintln!("the expiry fired {:?} after the kill", killed.elapsed());
    let url = format!(
        "{}/v1/tenants/{tenant}/conversations/c1",
        nodes.bases.read().unwrap()[1 - dead].clone().unwrap()
    );
    let state = try_request("GET", &url, Some(token), None).unwrap().body;
    assert!(state["lock"].is_null(), "{state}");

    // The dead node comes back: the tenant's history is replayed, not its
    // timers fired again.
    nodes.start(dead);
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(expired(), 2, "each expiry fired once");
    let ticks = nodes.count(&format!(
        "SELECT count(*) FROM events WHERE tenant = '{tenant}' AND event LIKE '%\"tick\"%'"
    ));
    assert_eq!(ticks, 2, "one tick for each expiry");
}

/// Twilio's webhook, signed for the node it reached, which does not decide
/// the tenant: forwarded as it came (its Host kept), the owner checks the
/// signature, decides and answers with TwiML; a forged one is refused by
/// the owner just the same.
#[test]
fn a_twilio_webhook_to_any_node_is_checked_and_decided_by_the_owner() {
    let (tenant, token, number) = BRIGHTSIDE;
    let (nodes, _, other) = Nodes::pair("twilio", tenant);
    let url = nodes
        .server(other)
        .url(&format!("/v1/tenants/{tenant}/twilio/messages"));
    let params = [
        ("MessageSid", "SMTW1"),
        ("AccountSid", "AC0001"),
        ("From", "+14155557777"),
        ("To", number),
        ("Body", "Is the store open?"),
        ("NumMedia", "0"),
    ];
    let (status, _, body) = twilio_signed_post(&url, "guessed", &params);
    assert_eq!(status, 403, "{body}");
    let (status, _, body) = twilio_signed_post(&url, "twilio-auth", &params);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("<Response"), "TwiML: {body}");
    let stored = nodes.count(&format!(
        "SELECT count(*) FROM events WHERE tenant = '{tenant}' AND message_id = 'SMTW1'"
    ));
    assert_eq!(stored, 1, "the owner stored it once");
    let conversation = nodes
        .server(other)
        .url(&format!("/v1/tenants/{tenant}/conversations/c1"));
    let conversation = try_request("GET", &conversation, Some(token), None).unwrap();
    assert_eq!(
        conversation.body["customer"], "+14155557777",
        "{}",
        conversation.body
    );
}

#[test]
fn a_stream_from_any_node_follows_the_tenant_across_a_failover() {
    let (tenant, token, number) = BRIGHTSIDE;
    let (mut nodes, owner, other) = Nodes::pair("stream", tenant);
    let path = format!("/v1/tenants/{tenant}/stream");
    // Opened on the node that does not decide the tenant: forwarded from
    // the owner as it comes.
    let (status, events) = common::sse::listen(&nodes.server(other).base, &path, token, &[]);
    assert_eq!(status, 200);
    let events_url = |i: usize| nodes.server(i).url(&format!("/v1/tenants/{tenant}/events"));
    let first = inbound(AT, "+14155556001", number, "Hi", "SMstream1");
    let decided = try_request("POST", &events_url(other), Some(token), Some(&first)).unwrap();
    assert_eq!(decided.status, 200, "{}", decided.body);
    let heard = events
        .recv_timeout(Duration::from_secs(20))
        .expect("a decision");
    assert_eq!((heard.event.as_str(), heard.id), ("decision", Some(1)));
    assert_eq!(
        heard.json()["decision"]["conversation"],
        decided.body["conversation"]
    );

    // The owner dies: the forwarded stream ends with it.
    nodes.kill(owner);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match events.recv_timeout(Duration::from_millis(500)) {
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            _ if Instant::now() > deadline => panic!("the stream outlived its owner"),
            _ => {}
        }
    }
    // The survivor takes the tenant; a client resuming there with
    // Last-Event-ID misses nothing and sees nothing twice.
    nodes.settled(&[tenant]);
    let second = inbound(AT, "+14155556002", number, "Hello?", "SMstream2");
    let answered = until_acknowledged(&nodes.bases, other, tenant, token, &second);
    let (status, resumed) = common::sse::listen(
        &nodes.server(other).base,
        &path,
        token,
        &[("Last-Event-ID", "0")],
    );
    assert_eq!(status, 200);
    let replayed: Vec<Option<u64>> = (0..2)
        .map(|_| {
            resumed
                .recv_timeout(Duration::from_secs(20))
                .expect("a decision")
                .id
        })
        .collect();
    assert_eq!(replayed, [Some(1), Some(2)], "{answered}");
}

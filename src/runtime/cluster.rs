//! Several nodes on one shared store: which node decides each tenant.
//!
//! ```text
//!  every lease/3, and right after another node's lease lapses:
//!                  round ─▶ renew what this node holds ─▶ lost? give it up
//!                    │      learn the members, the owners, the store's clock
//!                    ├──▶ a lapsed lease this node is preferred for? take it
//!                    │      (and recover it on the recoverer's thread)
//!                    └──▶ a tenant a settled member is preferred for? hand one back
//! ```
//!
//! Each tenant is decided by the node holding its lease (see
//! [`crate::store::Leases`]); the other nodes keep it on standby, its
//! revision loaded, and forward its requests to the owner. Which node is
//! preferred for a tenant is rendezvous hashing over the members that have
//! been members for a lease time, so every node computes the same answer,
//! a node that joins is preferred for about its share, and a node that
//! leaves moves only its own tenants. A node hands back at most one tenant
//! per round, so a join moves tenants one by one, never in a storm.
//!
//! Time comes from the store: leases lapse by its clock, and the service's
//! clock (event times, timers) is this node's clock corrected by the
//! store's, as each round measures it.

use super::Runtime;
use crate::store::{Leases, Node, Round};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How a node takes part, from `serve --node`, `--advertise` and
/// `--lease-time`.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The node's name; by default its advertised address.
    pub node: Option<String>,
    /// Where the other nodes reach it (`http://host:port`); by default the
    /// address it listens on.
    pub advertise: Option<String>,
    /// How long a lease runs without renewal: a dead owner's tenants move
    /// after at most this long.
    pub lease: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            node: None,
            advertise: None,
            lease: Duration::from_secs(5),
        }
    }
}

/// The node that decides a tenant, for forwarding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    pub node: String,
    pub address: String,
}

/// This node's part in the cluster, as the rest of the runtime reads it.
pub(crate) struct Cluster {
    pub lease: Duration,
    settings: Settings,
    me: RwLock<Option<Node>>,
    /// The nodes deciding the tenants this node does not, by tenant.
    owners: RwLock<HashMap<String, Owner>>,
    /// The store's clock less this node's, in microseconds.
    offset: AtomicI64,
    /// Whether a round has succeeded yet.
    joined: AtomicBool,
    /// The tenants whose leases this node took and whose history it is
    /// recovering (off the lease thread, so renewals never wait on it).
    recovering: Mutex<HashSet<String>>,
}

fn read<T: Clone>(lock: &RwLock<T>) -> T {
    lock.read().unwrap_or_else(|e| e.into_inner()).clone()
}

impl Cluster {
    pub(crate) fn new(settings: Settings) -> Cluster {
        Cluster {
            lease: settings.lease,
            settings,
            me: RwLock::new(None),
            owners: RwLock::new(HashMap::new()),
            offset: AtomicI64::new(0),
            joined: AtomicBool::new(false),
            recovering: Mutex::new(HashSet::new()),
        }
    }

    /// The service's time: this node's clock, corrected by the store's.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::microseconds(self.offset.load(Ordering::Relaxed))
    }

    pub(crate) fn me(&self) -> Option<Node> {
        read(&self.me)
    }

    pub(crate) fn owner_of(&self, tenant: &str) -> Option<Owner> {
        self.owners
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(tenant)
            .cloned()
    }

    pub(crate) fn joined(&self) -> bool {
        self.joined.load(Ordering::Acquire)
    }

    /// Whether this node took the tenant's lease and is recovering it.
    pub(crate) fn is_recovering(&self, tenant: &str) -> bool {
        self.recovering
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(tenant)
    }

    fn recovering_none(&self) -> bool {
        self.recovering
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    fn set_recovering(&self, tenant: &str, recovering: bool) {
        let mut set = self.recovering.lock().unwrap_or_else(|e| e.into_inner());
        if recovering {
            set.insert(tenant.to_string());
        } else {
            set.remove(tenant);
        }
    }

    /// Notes the store's clock as a round read it, between `sent` and
    /// `answered` by this node's.
    fn set_clock(&self, store: DateTime<Utc>, sent: Instant, answered: Instant) {
        let midway =
            Utc::now() - chrono::Duration::from_std((answered - sent) / 2).unwrap_or_default();
        let offset = (store - midway).num_microseconds().unwrap_or(0);
        self.offset.store(offset, Ordering::Relaxed);
    }
}

/// Names this node (once it knows where it listens), keeps its leases
/// for a first round (so a node that says it serves has taken its
/// tenants), and goes on keeping them on a thread of its own.
pub(crate) fn start(
    runtime: Arc<Runtime>,
    listening: std::net::SocketAddr,
) -> Result<JoinHandle<()>, String> {
    let Some(cluster) = &runtime.cluster else {
        return Err("the store is not shared".into());
    };
    let address = match &cluster.settings.advertise {
        Some(address) => address.trim_end_matches('/').to_string(),
        None if listening.ip().is_unspecified() => {
            return Err(format!(
                "--listen {listening} is every address: give --advertise \
                 http://HOST:PORT, where the other nodes reach this one"
            ))
        }
        None => format!("http://{listening}"),
    };
    let name = cluster.settings.node.clone().unwrap_or_else(|| {
        address
            .trim_start_matches("http://")
            .trim_start_matches("https://")
            .to_string()
    });
    let me = Node {
        name,
        instance: instance(),
        address,
    };
    *cluster.me.write().unwrap_or_else(|e| e.into_inner()) = Some(me.clone());
    let (recover, taken) = mpsc::channel();
    let recoverer = {
        let (runtime, me) = (runtime.clone(), me.clone());
        std::thread::Builder::new()
            .name("switchboard-recover".into())
            .spawn(move || recover_taken(&runtime, &me, taken))
            .map_err(|e| format!("cannot start a thread: {e}"))?
    };
    let mut keeper = Keeper {
        runtime: runtime.clone(),
        me,
        free_for: HashMap::new(),
        renewed_at: Instant::now(),
        next_lapse: None,
        recover,
    };
    let every = cluster.lease / 3;
    keeper.round();
    let thread = std::thread::Builder::new()
        .name("switchboard-leases".into())
        .spawn(move || {
            while super::sleep_unless_stopping(&keeper.runtime, keeper.until_next_round(every)) {
                keeper.round();
            }
            // The recoverer ends with the channel, after the tenant it is
            // recovering.
            drop(keeper);
            let _ = recoverer.join();
        })
        .map_err(|e| format!("cannot start a thread: {e}"))?;
    // A node that says it serves has recovered the tenants its first round
    // took (while the lease thread renews them).
    while !cluster.recovering_none() && !runtime.stopping() {
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(thread)
}

/// Recovers the tenants whose leases the keeper took, one at a time, in
/// the order taken. A node stopping releases the leases it has not
/// recovered yet, so the other nodes take them at once.
fn recover_taken(runtime: &Runtime, me: &Node, taken: mpsc::Receiver<String>) {
    let Some(cluster) = &runtime.cluster else {
        return;
    };
    for name in taken {
        if runtime.stopping() {
            if let Some(leases) = runtime.store().leases() {
                if let Err(e) = leases.release(&name, me) {
                    tracing::warn!(tenant = %name, error = %e, "releasing the lease failed; it lapses");
                }
            }
        } else {
            // A panic would leave the tenant marked recovering for good (and
            // a starting node waiting on it): it is logged, and the lease
            // handed back for a node that can recover the tenant.
            let recovered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                runtime.take_over(&name);
            }));
            if recovered.is_err() {
                tracing::error!(tenant = %name, "recovering the tenant panicked; its lease is handed back");
                if let Some(leases) = runtime.store().leases() {
                    leases.forget(&name);
                    let _ = leases.release(&name, me);
                }
            }
        }
        cluster.set_recovering(&name, false);
    }
}

/// A number for this start of the process, different from every other's.
fn instance() -> i64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos() as i64;
    nanos ^ (i64::from(std::process::id()) << 40)
}

/// What a node's lease keeping needs from round to round.
struct Keeper {
    runtime: Arc<Runtime>,
    me: Node,
    /// How many rounds each tenant nobody holds has been free, as this node
    /// saw it: one free for long is taken by whoever sees it, preferred or
    /// not.
    free_for: HashMap<String, u32>,
    /// When the last round that renewed this node's leases was sent.
    renewed_at: Instant,
    /// When the soonest lease another node holds lapses unless renewed, as
    /// the last round saw it.
    next_lapse: Option<Instant>,
    /// Where tenants taken over go to be recovered.
    recover: mpsc::Sender<String>,
}

/// How long after a lease's lapse the round that may take it runs: the
/// store's clock and this node's measure of it agree only so closely.
const AFTER_LAPSE: Duration = Duration::from_millis(20);

/// Rounds after which any node takes a tenant no one holds.
const TAKE_ANYWAY: u32 = 3;

impl Keeper {
    fn cluster(&self) -> &Cluster {
        self.runtime
            .cluster
            .as_ref()
            .expect("a keeper runs only in a cluster")
    }

    fn leases(&self) -> &dyn Leases {
        self.runtime
            .store()
            .leases()
            .expect("a keeper runs only on a shared store")
    }

    /// The tenants this node decides (holds the lease of).
    fn owned(&self) -> Vec<String> {
        self.runtime
            .tenants_now()
            .iter()
            .filter(|t| !t.is_standby())
            .map(|t| t.name().to_string())
            .collect()
    }

    /// A round every third of a lease time renews in time; one right after
    /// another node's lease lapses takes it over without waiting for the
    /// next (so a dead node's tenants move a lease time after its last
    /// renewal, not up to a third later).
    fn until_next_round(&self, every: Duration) -> Duration {
        let lapse = self
            .next_lapse
            .map(|at| at.saturating_duration_since(Instant::now()) + AFTER_LAPSE);
        lapse.map_or(every, |lapse| lapse.min(every))
    }

    /// One round: renew, learn, take and hand back.
    fn round(&mut self) {
        let sent = Instant::now();
        let lease = self.cluster().lease;
        match self.leases().round(&self.me, lease) {
            Ok(round) => {
                self.cluster().set_clock(round.now, sent, Instant::now());
                self.renewed_at = sent;
                self.keep(round);
                self.cluster().joined.store(true, Ordering::Release);
            }
            Err(error) => {
                tracing::warn!(error = %error, "the lease round failed; retrying");
                if sent.duration_since(self.renewed_at) >= lease {
                    // The leases have lapsed by now: whoever takes them
                    // over must not find this node writing.
                    for name in self.owned() {
                        self.leases().forget(&name);
                        self.runtime
                            .give_up(&name, "its lease lapsed: the store did not answer");
                    }
                }
            }
        }
    }

    fn keep(&mut self, round: Round) {
        let me = self.me.name.clone();
        let me = &me;
        let lease = self.cluster().lease;
        let answered = Instant::now();
        self.next_lapse = round
            .leases
            .iter()
            .filter(|l| l.live && &l.node != me)
            .map(|l| answered + l.left)
            .min();
        for name in self.owned() {
            if !round.renewed.contains(&name) {
                self.leases().forget(&name);
                self.runtime
                    .give_up(&name, "its lease was taken over by another node");
            }
        }
        let owners: HashMap<String, Owner> = round
            .leases
            .iter()
            .filter(|l| l.live && &l.node != me)
            .map(|l| {
                let owner = Owner {
                    node: l.node.clone(),
                    address: l.address.clone(),
                };
                (l.tenant.clone(), owner)
            })
            .collect();
        *self
            .cluster()
            .owners
            .write()
            .unwrap_or_else(|e| e.into_inner()) = owners;

        // Members for a lease time, and this node: the nodes tenants are
        // spread over.
        let settled: Vec<&str> = round
            .members
            .iter()
            .filter(|m| m.member_for >= lease || &m.name == me)
            .map(|m| m.name.as_str())
            .collect();
        let leases: HashMap<&str, &crate::store::Lease> = round
            .leases
            .iter()
            .map(|l| (l.tenant.as_str(), l))
            .collect();

        let mut taken = Vec::new();
        for tenant in self.runtime.tenants_now() {
            if !tenant.is_standby() || self.cluster().is_recovering(tenant.name()) {
                continue;
            }
            let name = tenant.name();
            let held = leases.get(name).filter(|l| l.live);
            let mine_before = held.is_some_and(|l| &l.node == me);
            if held.is_some() && !mine_before {
                self.free_for.remove(name);
                continue;
            }
            let rounds = self.free_for.entry(name.to_string()).or_insert(0);
            *rounds += 1;
            let preferred = preferred(name, &settled) == Some(me.as_str());
            if (mine_before || preferred || *rounds > TAKE_ANYWAY) && self.take(name) {
                taken.push(name.to_string());
            }
        }

        // Hand back one tenant whose preferred node is another settled one
        // (not one just taken because its preferred node did not).
        let away = self.owned().into_iter().find(|name| {
            !taken.contains(name) && preferred(name, &settled).is_some_and(|p| p != me)
        });
        if let Some(name) = away {
            tracing::info!(tenant = %name, "handing the tenant to its preferred node");
            self.runtime.give_up(&name, "handed to its preferred node");
            if let Err(e) = self.leases().release(&name, &self.me) {
                tracing::warn!(tenant = %name, error = %e, "releasing the lease failed; it lapses");
            }
        }
    }

    /// Takes the tenant's lease and decides it here; true if taken.
    fn take(&mut self, name: &str) -> bool {
        match self.leases().acquire(name, &self.me, self.cluster().lease) {
            Ok(Some(epoch)) => {
                self.free_for.remove(name);
                tracing::info!(tenant = %name, epoch, "took the tenant's lease");
                // Recovered on a thread of its own: a long history must not
                // hold up the renewals of the leases this node has.
                self.cluster().set_recovering(name, true);
                if self.recover.send(name.to_string()).is_err() {
                    self.cluster().set_recovering(name, false);
                    self.runtime.take_over(name);
                }
                true
            }
            Ok(None) => false,
            Err(e) => {
                tracing::warn!(tenant = %name, error = %e, "taking the lease failed");
                false
            }
        }
    }
}

/// The member preferred for a tenant: the highest of a hash of the two
/// names (rendezvous hashing), the same on every node.
fn preferred<'m>(tenant: &str, members: &[&'m str]) -> Option<&'m str> {
    members.iter().copied().max_by_key(|node| {
        let digest = Sha256::new()
            .chain_update(tenant.as_bytes())
            .chain_update([0])
            .chain_update(node.as_bytes())
            .finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        (u64::from_be_bytes(first), *node)
    })
}

#[cfg(test)]
mod tests {
    use super::preferred;

    #[test]
    fn every_node_prefers_the_same_member_and_a_join_moves_only_a_share() {
        let three = ["a:1", "b:2", "c:3"];
        let tenants: Vec<String> = (0..300).map(|i| format!("tenant{i}")).collect();
        let before: Vec<_> = tenants.iter().map(|t| preferred(t, &three)).collect();
        let mut reversed = three;
        reversed.reverse();
        for (tenant, chosen) in tenants.iter().zip(&before) {
            assert_eq!(
                preferred(tenant, &reversed),
                *chosen,
                "order does not matter"
            );
        }
        for node in three {
            let share = before.iter().filter(|p| **p == Some(node)).count();
            assert!(
                (60..=140).contains(&share),
                "{node} is preferred for {share} of 300"
            );
        }
        let four = ["a:1", "b:2", "c:3", "d:4"];
        let moved = tenants
            .iter()
            .zip(&before)
            .filter(|(t, chosen)| preferred(t, &four) != **chosen)
            .inspect(|(t, _)| {
                assert_eq!(
                    preferred(t, &four),
                    Some("d:4"),
                    "moves only to the new node"
                )
            })
            .count();
        assert!(
            (40..=110).contains(&moved),
            "{moved} of 300 moved to the fourth node"
        );
        assert_eq!(preferred("t", &[]), None);
    }
}

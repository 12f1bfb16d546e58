//! Who decides a tenant when several nodes share one store: a lease per
//! tenant, held by one node at a time, kept in the store and timed by the
//! store's clock (never a node's).
//!
//! Every takeover raises the lease's epoch, and every write of a tenant
//! (events, snapshots, pruning, probes) commits only while the epoch the
//! writing node holds is still the lease's: a node that lost its lease
//! (paused, partitioned, slow) can never write again, even while it still
//! believes it owns the tenant. The runtime's `cluster` module decides
//! when to take, renew and hand back leases; this is what the store
//! offers it.

use super::StoreError;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// This node, as the other nodes know it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// Its name, one per process (`--node`): a node started again under its
    /// name takes over its leases at once, since the process that held
    /// them is gone.
    pub name: String,
    /// Different for every start of the process.
    pub instance: i64,
    /// Where the other nodes forward its tenants' requests
    /// (`http://host:port`).
    pub address: String,
}

/// A node that is a member now: it was seen within a lease time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub name: String,
    pub address: String,
    /// How long it has been a member without a break, by the store's clock.
    pub member_for: Duration,
}

/// A tenant's lease as the store has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    pub tenant: String,
    /// The node holding it, and where that node answers.
    pub node: String,
    pub address: String,
    pub epoch: u64,
    /// Whether it runs still, by the store's clock.
    pub live: bool,
    /// How long it runs still unless renewed (zero once it lapsed).
    pub left: Duration,
}

/// What one round of a node's lease keeping found.
#[derive(Clone, Debug, PartialEq)]
pub struct Round {
    /// The store's clock, as the round read it.
    pub now: DateTime<Utc>,
    /// Every member, this node included.
    pub members: Vec<Member>,
    /// Every tenant's lease.
    pub leases: Vec<Lease>,
    /// The tenants whose leases this node held and renewed in this round;
    /// a lease it held and did not renew was taken over.
    pub renewed: Vec<String>,
}

/// A store that keeps leases (the shared one; the embedded store has one
/// node by construction, and its data folder's lock).
pub trait Leases: Send + Sync {
    /// From now on every tenant write needs the tenant's lease: a write of
    /// a tenant this node holds no lease of is refused.
    fn enforce(&self);

    /// Marks this node a member for another lease time, renews every lease
    /// it holds, and reads the members and leases (one transaction).
    fn round(&self, me: &Node, lease: Duration) -> Result<Round, StoreError>;

    /// Takes the tenant's lease if it lapsed, is held by no one, or is held
    /// by an earlier start of this node; returns the new epoch, or `None`
    /// if another node holds it. Writes carry the epoch from here on.
    fn acquire(&self, tenant: &str, me: &Node, lease: Duration) -> Result<Option<u64>, StoreError>;

    /// Ends this node's lease of the tenant now, so another node can take
    /// it at once; the tenant's writes are refused from here on.
    fn release(&self, tenant: &str, me: &Node) -> Result<(), StoreError>;

    /// Forgets the lease of a tenant this node lost: its writes are
    /// refused from here on, without asking the store.
    fn forget(&self, tenant: &str);

    /// Ends this node's membership (a clean shutdown, after releasing).
    fn leave(&self, me: &Node) -> Result<(), StoreError>;
}

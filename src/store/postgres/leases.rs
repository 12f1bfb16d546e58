//! Leases in PostgreSQL: the `nodes` and `leases` tables, timed by the
//! server's `now()`, and the fence every write transaction passes.
//!
//! The fence reads the leases of the tenants a transaction writes `FOR
//! SHARE`, so a takeover (an `UPDATE` of the lease) waits for every write
//! under the old epoch to commit or roll back, and every write after it
//! reads the new epoch and is refused. Recovery, which reads the events
//! after the takeover committed, therefore sees every event the old owner
//! stored, and the old owner stores nothing more.

use super::super::lease::{Lease, Leases, Member, Node, Round};
use super::super::queue::Job;
use super::{database, PostgresStore, StoreError};
use chrono::{DateTime, Utc};
use deadpool_postgres::ClientWrapper;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// The epochs of the leases this node holds, by tenant.
#[derive(Debug, Default)]
pub(super) struct Fences {
    enforced: AtomicBool,
    held: Mutex<HashMap<String, i64>>,
}

impl Fences {
    /// The epoch a job is written under: `None` where leases are not
    /// enforced, or for a job that needs no lease; an error for a tenant
    /// this node holds no lease of.
    pub(super) fn epoch_for(&self, job: &Job) -> Result<Option<i64>, String> {
        let Some(tenant) = job.fenced_tenant() else {
            return Ok(None);
        };
        if !self.enforced.load(Ordering::Acquire) {
            return Ok(None);
        }
        match self.held().get(tenant) {
            Some(epoch) => Ok(Some(*epoch)),
            None => Err(format!(
                "this node holds no lease of tenant {tenant}: another node decides it"
            )),
        }
    }

    fn held(&self) -> std::sync::MutexGuard<'_, HashMap<String, i64>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Why each job of a batch is refused by its lease, if it is: the lease's
/// epoch is no longer the one the job was queued under. Inside the
/// writer's transaction, it locks the leases read until the transaction
/// ends.
pub(super) async fn fence(
    client: &ClientWrapper,
    batch: &[Job],
    epochs: &[Option<i64>],
) -> Result<Vec<Option<String>>, tokio_postgres::Error> {
    let mut tenants: Vec<&str> = batch
        .iter()
        .zip(epochs)
        .filter(|(_, epoch)| epoch.is_some())
        .filter_map(|(job, _)| job.fenced_tenant())
        .collect();
    if tenants.is_empty() {
        return Ok(vec![None; batch.len()]);
    }
    tenants.sort_unstable();
    tenants.dedup();
    // In one order, so two writers never wait on each other's locks.
    let statement = client
        .prepare_cached(
            "SELECT tenant, epoch FROM leases WHERE tenant = ANY($1) ORDER BY tenant FOR SHARE",
        )
        .await?;
    let current: HashMap<String, i64> = client
        .query(&statement, &[&tenants])
        .await?
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    Ok(batch
        .iter()
        .zip(epochs)
        .map(|(job, epoch)| {
            let (tenant, mine) = (job.fenced_tenant()?, (*epoch)?);
            match current.get(tenant) {
                Some(now) if *now == mine => None,
                now => Some(format!(
                    "tenant {tenant}'s lease was taken over (epoch {} now, this node's was \
                     {mine}): this node no longer decides it, and wrote nothing",
                    now.map_or("none".into(), |n| n.to_string())
                )),
            }
        })
        .collect())
}

/// Milliseconds, as the queries take a lease time.
fn millis(span: Duration) -> i64 {
    i64::try_from(span.as_millis()).unwrap_or(i64::MAX)
}

fn time_of(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or_default()
}

impl Leases for PostgresStore {
    fn enforce(&self) {
        self.fences.enforced.store(true, Ordering::Release);
    }

    fn round(&self, me: &Node, lease: Duration) -> Result<Round, StoreError> {
        let (pool, me, ttl) = (self.pool.clone(), me.clone(), millis(lease));
        let held: Vec<String> = self.fences.held().keys().cloned().collect();
        let (round, renewed) = self.run(async move {
            let mut client = pool.get().await.map_err(super::pool_error)?;
            let tx = client.transaction().await.map_err(database)?;
            let work = async {
                // A node whose membership lapsed, or that started again,
                // joins afresh.
                tx.execute(
                    "INSERT INTO nodes (node, instance, address, joined_at, seen_at)
                     VALUES ($1, $2, $3, now(), now())
                     ON CONFLICT (node) DO UPDATE SET
                         instance = excluded.instance,
                         address = excluded.address,
                         seen_at = now(),
                         joined_at = CASE
                             WHEN nodes.instance <> excluded.instance
                               OR nodes.seen_at < now() - $4::bigint * interval '1 millisecond'
                             THEN now() ELSE nodes.joined_at END",
                    &[&me.name, &me.instance, &me.address, &ttl],
                )
                .await?;
                let renewed: Vec<(String, i64)> = tx
                    .query(
                        "UPDATE leases SET expires_at = now() + $3::bigint * interval '1 millisecond'
                         WHERE node = $1 AND instance = $2 AND tenant = ANY($4)
                         RETURNING tenant, epoch",
                        &[&me.name, &me.instance, &ttl, &held],
                    )
                    .await?
                    .iter()
                    .map(|row| (row.get(0), row.get(1)))
                    .collect();
                let now: i64 = tx
                    .query_one("SELECT (extract(epoch FROM now()) * 1000000)::bigint", &[])
                    .await?
                    .get(0);
                let members = tx
                    .query(
                        "SELECT node, address,
                                (extract(epoch FROM now() - joined_at) * 1000)::bigint
                         FROM nodes WHERE seen_at > now() - $1::bigint * interval '1 millisecond'
                         ORDER BY node",
                        &[&ttl],
                    )
                    .await?
                    .iter()
                    .map(|row| Member {
                        name: row.get(0),
                        address: row.get(1),
                        member_for: Duration::from_millis(row.get::<_, i64>(2).max(0) as u64),
                    })
                    .collect();
                let leases = tx
                    .query(
                        "SELECT tenant, node, address, epoch, expires_at > now(),
                                greatest(extract(epoch FROM expires_at - now()) * 1000, 0)::bigint
                         FROM leases ORDER BY tenant",
                        &[],
                    )
                    .await?
                    .iter()
                    .map(|row| Lease {
                        tenant: row.get(0),
                        node: row.get(1),
                        address: row.get(2),
                        epoch: row.get::<_, i64>(3) as u64,
                        live: row.get(4),
                        left: Duration::from_millis(row.get::<_, i64>(5) as u64),
                    })
                    .collect();
                let round = Round {
                    now: time_of(now),
                    members,
                    leases,
                    renewed: Vec::new(),
                };
                Ok::<_, tokio_postgres::Error>((round, renewed))
            };
            let out = work.await.map_err(database)?;
            tx.commit().await.map_err(database)?;
            Ok(out)
        })?;
        // Renewed only where the epoch is still the one this node holds.
        let held = self.fences.held();
        let renewed = renewed
            .into_iter()
            .filter(|(tenant, epoch)| held.get(tenant) == Some(epoch))
            .map(|(tenant, _)| tenant)
            .collect();
        Ok(Round { renewed, ..round })
    }

    fn acquire(&self, tenant: &str, me: &Node, lease: Duration) -> Result<Option<u64>, StoreError> {
        let (tenant_, me, ttl) = (tenant.to_string(), me.clone(), millis(lease));
        let epoch: Option<i64> = self.read(move |client| async move {
            let row = client
                .query_opt(
                    "INSERT INTO leases (tenant, node, instance, address, epoch, expires_at)
                     VALUES ($1, $2, $3, $4, 1, now() + $5::bigint * interval '1 millisecond')
                     ON CONFLICT (tenant) DO UPDATE SET
                         node = excluded.node,
                         instance = excluded.instance,
                         address = excluded.address,
                         epoch = leases.epoch + 1,
                         expires_at = excluded.expires_at
                     WHERE leases.expires_at <= now()
                        OR (leases.node = excluded.node AND leases.instance <> excluded.instance)
                     RETURNING epoch",
                    &[&tenant_, &me.name, &me.instance, &me.address, &ttl],
                )
                .await?;
            Ok(row.map(|r| r.get(0)))
        })?;
        if let Some(epoch) = epoch {
            self.fences.held().insert(tenant.to_string(), epoch);
        }
        Ok(epoch.map(|e| e as u64))
    }

    fn release(&self, tenant: &str, me: &Node) -> Result<(), StoreError> {
        let Some(epoch) = self.fences.held().remove(tenant) else {
            return Ok(());
        };
        let (tenant, me) = (tenant.to_string(), me.clone());
        self.read(move |client| async move {
            client
                .execute(
                    "UPDATE leases SET expires_at = now() - interval '1 millisecond'
                     WHERE tenant = $1 AND node = $2 AND instance = $3 AND epoch = $4",
                    &[&tenant, &me.name, &me.instance, &epoch],
                )
                .await
        })
        .map(drop)
    }

    fn forget(&self, tenant: &str) {
        self.fences.held().remove(tenant);
    }

    fn leave(&self, me: &Node) -> Result<(), StoreError> {
        let me = me.clone();
        self.read(move |client| async move {
            client
                .execute(
                    "DELETE FROM nodes WHERE node = $1 AND instance = $2",
                    &[&me.name, &me.instance],
                )
                .await
        })
        .map(drop)
    }
}

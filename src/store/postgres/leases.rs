//! PostgreSQL engine: who does what now, for workers on many machines sharing
//! one database. A source is refreshed by the worker holding its lease; a lease
//! is taken with `FOR UPDATE SKIP LOCKED` (so workers never wait on each other),
//! lasts until `claimed_until` and is renewed while the refresh runs; a worker
//! that dies loses its leases when they expire, and the sources are due again.
//! An origin's requests in flight and the spacing of their starts are claimed
//! here too, so `per_host` and `host_delay` hold across all workers together.
//!
//! Times are the database's clock. Items, health and feeds are the store's
//! business ([`super::PgStore`]); this is only coordination, on a connection of its own.

use std::time::Duration;

use super::PgStore;
use super::session::Prepared;
use crate::fetch::{HostClaim, HostLimits};
use crate::store::StoreError;

/// The lease that stands for publishing the channels, the index and the OPML.
pub const SITE: &str = "~site";

/// The coordination tables on one connection.
pub struct Leases {
    store: PgStore,
}

impl Leases {
    /// Connects to the (migrated) database at `url`.
    pub fn connect(url: &str) -> Result<Leases, StoreError> {
        Ok(Leases { store: PgStore::open(url)? })
    }

    /// Makes sure every name has a lease row (new ones are due at once).
    pub fn register(&self, names: &[&str]) -> Result<(), StoreError> {
        self.store.with(|client| {
            client.execute("INSERT INTO leases (name) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING", &[&names])?;
            Ok(())
        })
    }

    /// Takes up to `most` of `names` that are due and not leased by anyone,
    /// for `lease`, as `worker`; returns their names, most overdue first.
    pub fn claim_due(
        &self,
        worker: &str,
        names: &[&str],
        lease: Duration,
        most: usize,
    ) -> Result<Vec<String>, StoreError> {
        let most = i64::try_from(most).unwrap_or(i64::MAX);
        self.store.with(|client| {
            let rows = client.query(
                "WITH due AS (
                     SELECT name FROM leases
                     WHERE name = ANY($1) AND next_due <= clock_timestamp()
                         AND (claimed_until IS NULL OR claimed_until <= clock_timestamp())
                     ORDER BY next_due, name LIMIT $2 FOR UPDATE SKIP LOCKED),
                 claimed AS (
                     UPDATE leases SET claimed_by = $3, claimed_at = clock_timestamp(),
                         claimed_until = clock_timestamp() + $4 * interval '1 second'
                     FROM due WHERE leases.name = due.name
                     RETURNING leases.name, leases.next_due)
                 SELECT name FROM claimed ORDER BY next_due, name",
                &[&names, &most, &worker, &lease.as_secs_f64()],
            )?;
            Ok(rows.iter().map(|row| row.get(0)).collect())
        })
    }

    /// Extends `worker`'s leases on `names` by `lease` from now: a refresh
    /// that runs long keeps its sources.
    pub fn renew(&self, worker: &str, names: &[&str], lease: Duration) -> Result<(), StoreError> {
        self.store.with(|client| {
            client.execute(
                "UPDATE leases SET claimed_until = clock_timestamp() + $3 * interval '1 second'
                 WHERE name = ANY($1) AND claimed_by = $2",
                &[&names, &worker, &lease.as_secs_f64()],
            )?;
            Ok(())
        })
    }

    /// Gives back `worker`'s lease on `name`; it is due again `every` after
    /// the claim began (`None`: at once).
    pub fn release(&self, worker: &str, name: &str, every: Option<Duration>) -> Result<(), StoreError> {
        let seconds = every.map_or(0.0, |every| every.as_secs_f64());
        self.store.with(|client| {
            client.execute(
                "UPDATE leases SET next_due = claimed_at + $3 * interval '1 second',
                     claimed_by = NULL, claimed_at = NULL, claimed_until = NULL
                 WHERE name = $1 AND claimed_by = $2",
                &[&name, &worker, &seconds],
            )?;
            Ok(())
        })
    }

    /// How long until the first of `names` is due (zero when one is now).
    pub fn next_due_in(&self, names: &[&str]) -> Result<Option<Duration>, StoreError> {
        self.store.with(|client| {
            let row = client.query_one(
                "SELECT extract(epoch FROM greatest(min(greatest(next_due, coalesce(claimed_until, next_due))), now())
                     - now())::float8
                 FROM leases WHERE name = ANY($1)",
                &[&names],
            )?;
            let seconds: Option<f64> = row.get(0);
            Ok(seconds.map(|seconds| Duration::from_secs_f64(seconds.max(0.0))))
        })
    }
}

impl HostLimits for Leases {
    fn try_claim(&self, origin: &str, per_host: usize, delay: Duration, hold: Duration) -> Result<HostClaim, String> {
        let slots = i32::try_from(per_host).unwrap_or(i32::MAX);
        let claimed = self.store.with(|client| -> Result<HostClaim, StoreError> {
            let mut tx = client.transaction()?;
            tx.execute("INSERT INTO host_turns (origin) VALUES ($1) ON CONFLICT DO NOTHING", &[&origin])?;
            let wait: f64 = tx
                .query_one(
                    "SELECT greatest(0, extract(epoch FROM greatest(next_start, now()) - now()))::float8
                     FROM host_turns WHERE origin = $1 FOR UPDATE",
                    &[&origin],
                )?
                .get(0);
            if wait > 0.0 {
                return Ok(HostClaim::WaitFor(Duration::from_secs_f64(wait)));
            }
            tx.execute(
                "INSERT INTO host_slots (origin, slot) SELECT $1, generate_series(0, $2 - 1) ON CONFLICT DO NOTHING",
                &[&origin, &slots],
            )?;
            let free = tx.query_opt(
                "SELECT slot FROM host_slots WHERE origin = $1 AND slot < $2 AND busy_until <= clock_timestamp()
                 ORDER BY slot LIMIT 1 FOR UPDATE SKIP LOCKED",
                &[&origin, &slots],
            )?;
            let Some(free) = free else { return Ok(HostClaim::WaitFor(Duration::ZERO)) };
            let slot: i32 = free.get(0);
            tx.execute(
                "UPDATE host_slots SET busy_until = clock_timestamp() + $3 * interval '1 second'
                 WHERE origin = $1 AND slot = $2",
                &[&origin, &slot, &hold.as_secs_f64()],
            )?;
            tx.execute(
                "UPDATE host_turns SET next_start = clock_timestamp() + $2 * interval '1 second' WHERE origin = $1",
                &[&origin, &delay.as_secs_f64()],
            )?;
            tx.commit()?;
            Ok(HostClaim::Granted(slot))
        });
        claimed.map_err(|error| error.to_string())
    }

    fn release(&self, origin: &str, slot: i32) {
        let freed = self.store.with(|client| {
            client.execute(
                "UPDATE host_slots SET busy_until = '-infinity' WHERE origin = $1 AND slot = $2",
                &[&origin, &slot],
            )
        });
        if let Err(error) = freed {
            tracing::warn!("cannot free a request slot of {origin} (it frees itself when its hold ends): {error}");
        }
    }
}

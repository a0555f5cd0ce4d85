//! Keeping and giving back the lease of a claimed job: renewal while it runs, taking it back
//! after a store outage, the reaper of expired leases, the release at shutdown. On PostgreSQL
//! a lease's end is set and compared on the database's clock (see `jobs.rs`).

use super::jobs::{Claimed, claimed_columns, pg_lease_ms, rows_to_claimed, to_claimed};
use super::{Store, StoreError, on_pool};

/// `Store::renew_lease`: a longer lease on what `$1` holds under a live lease (`$2`: the new
/// end on SQLite, the lease's length on PostgreSQL, whose end is the database's clock).
const RENEW_SQLITE: &str = "UPDATE events SET lease_until = $2, updated_ms = $3 \
     WHERE lease_owner = $1 AND status = 'running' AND lease_until > $3";
const RENEW_PG: &str = "UPDATE events SET \
     lease_until = (EXTRACT(EPOCH FROM now()) * 1000)::bigint + $2, updated_ms = $3 \
     WHERE lease_owner = $1 AND status = 'running' \
     AND lease_until > (EXTRACT(EPOCH FROM now()) * 1000)::bigint";
/// `Store::resume_claim`: a fresh lease on whatever `$1` still holds, expired or not.
const RESUME_SQLITE: &str = concat!(
    "UPDATE events SET lease_until = $2, updated_ms = $3 \
     WHERE lease_owner = $1 AND status = 'running' RETURNING ",
    claimed_columns!()
);
const RESUME_PG: &str = concat!(
    "UPDATE events SET \
     lease_until = (EXTRACT(EPOCH FROM now()) * 1000)::bigint + $2, updated_ms = $3 \
     WHERE lease_owner = $1 AND status = 'running' RETURNING ",
    claimed_columns!()
);

impl Store {
    /// Extends the lease of a claim still held by `owner` under a live lease; 0 when the
    /// lease was lost (it expired: another worker may have taken the job over). An expired
    /// lease is never brought back, so a claim that saw it expired is never contradicted.
    /// On PostgreSQL the new end is the database's clock plus `lease_until_ms - now_ms`.
    pub async fn renew_lease(
        &self,
        owner: &str,
        lease_until_ms: i64,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        let (sql, lease) = match self {
            Store::Sqlite(_) => (RENEW_SQLITE, lease_until_ms),
            Store::Postgres(_) => (RENEW_PG, pg_lease_ms(now_ms, lease_until_ms)),
        };
        on_pool!(self, pool, sql = sql => {
            Ok(sqlx::query(sql).bind(owner).bind(lease).bind(now_ms).execute(pool).await?
                .rows_affected())
        })
    }

    /// Takes back a claim whose worker was cut off from the store (an outage), under a fresh
    /// lease, and returns what is still held: `None` when nothing is, because another worker
    /// took the job over (its lease had expired meanwhile), or the reaper put it back, or the
    /// job's completion committed after all. Unlike `renew_lease` this also takes back a lease
    /// that expired, but only while the rows still name `owner`: a claim that took the job
    /// over changed the owner, so no other worker can hold the job at that moment. The
    /// attempt is not counted again.
    pub async fn resume_claim(
        &self,
        owner: &str,
        now_ms: i64,
        lease_until_ms: i64,
    ) -> Result<Option<Claimed>, StoreError> {
        let (sql, lease) = match self {
            Store::Sqlite(_) => (RESUME_SQLITE, lease_until_ms),
            Store::Postgres(_) => (RESUME_PG, pg_lease_ms(now_ms, lease_until_ms)),
        };
        let rows = on_pool!(self, pool, sql = sql => {
            rows_to_claimed(sqlx::query(sql).bind(owner).bind(lease).bind(now_ms)
                .fetch_all(pool).await?)?
        });
        Ok(to_claimed(owner, rows).map(|c| Claimed { resumed: true, ..c }))
    }

    /// Returns to the queue every event whose lease expired (its worker died). Claims take
    /// such events over by themselves; this keeps the queue's counts honest when no claim
    /// comes. On PostgreSQL the lease is compared with the database's clock (`now_ms` is
    /// only the row's `updated_ms`), and rows locked by a transaction in progress (a job
    /// finishing) are skipped, so a reaper never waits on one.
    pub async fn reap_expired(&self, now_ms: i64) -> Result<u64, StoreError> {
        let sql = match self {
            Store::Sqlite(_) => {
                "UPDATE events SET status = 'queued', lease_owner = NULL, \
                lease_until = NULL, updated_ms = $1 WHERE status = 'running' AND lease_until <= $1"
            }
            Store::Postgres(_) => {
                "UPDATE events SET status = 'queued', lease_owner = NULL, \
                lease_until = NULL, updated_ms = $1 WHERE status = 'running' \
                AND lease_until <= (EXTRACT(EPOCH FROM now()) * 1000)::bigint \
                AND id IN (SELECT id FROM events WHERE status = 'running' \
                AND lease_until <= (EXTRACT(EPOCH FROM now()) * 1000)::bigint \
                FOR UPDATE SKIP LOCKED)"
            }
        };
        on_pool!(self, pool, sql = sql => {
            Ok(sqlx::query(sql).bind(now_ms).execute(pool).await?.rows_affected())
        })
    }

    /// Releases the claim without counting the attempt (graceful shutdown).
    pub async fn release_claim(&self, owner: &str, now_ms: i64) -> Result<u64, StoreError> {
        on_pool!(self, pool, sql = "UPDATE events SET status = 'queued', lease_owner = NULL, \
            lease_until = NULL, attempts = attempts - 1, updated_ms = $2 \
            WHERE lease_owner = $1 AND status = 'running'" => {
            Ok(sqlx::query(sql).bind(owner).bind(now_ms).execute(pool).await?.rows_affected())
        })
    }
}

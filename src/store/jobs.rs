//! Job state transitions on the events table: claim under a lease, finish, retry later,
//! dead-letter, take back expired leases.
//!
//! A claim takes every due event of ONE job key (one user, or one group) at once, and only
//! when no other worker holds that key: jobs of one user never run concurrently, and a burst
//! of events for one user costs one pass over Domo. Completion is keyed by the claim's owner
//! token, so a worker whose lease expired cannot overwrite the newer claimant's result.

use sqlx::Row;

use super::{Store, StoreError, on_pool};

/// One event of a claimed job.
#[derive(Debug, Clone)]
pub struct ClaimedEvent {
    pub pk: i64,
    pub source: String,
    pub event_id: String,
    pub payload: Option<String>,
    /// Attempts including this one.
    pub attempts: i64,
    pub occurred_at: Option<i64>,
    pub received_ms: i64,
    /// The `x-request-id` of the delivery, when it came over HTTP.
    pub request_id: Option<String>,
}

/// A claimed job: all due events of one key, oldest `occurred_at` first.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub owner: String,
    pub job_key: String,
    pub events: Vec<ClaimedEvent>,
}

impl Claimed {
    /// The most attempts any event of the job has had.
    pub fn attempts(&self) -> i64 {
        self.events.iter().map(|e| e.attempts).max().unwrap_or(0)
    }
    /// When the oldest event of the job was received.
    pub fn first_received_ms(&self) -> i64 {
        self.events.iter().map(|e| e.received_ms).min().unwrap_or(0)
    }
}

const CLAIM_SQLITE: &str = "UPDATE events SET status = 'running', lease_until = $1, \
     lease_owner = $2, attempts = attempts + 1, updated_ms = $3 \
     WHERE status = 'queued' AND run_at_ms <= $3 AND job_key = ( \
       SELECT e.job_key FROM events e WHERE e.status = 'queued' AND e.run_at_ms <= $3 \
       AND NOT EXISTS (SELECT 1 FROM events r WHERE r.job_key = e.job_key AND r.status = 'running') \
       ORDER BY e.run_at_ms, e.id LIMIT 1) \
     RETURNING id, source, event_id, job_key, payload, attempts, occurred_at, received_ms, \
     request_id";

// PostgreSQL: the candidate key is taken with a transaction-scoped advisory lock on its hash,
// so two replicas never claim the same key at once; SKIP LOCKED skips rows others hold.
const CLAIM_PG: &str = "WITH pick AS ( \
       SELECT e.job_key FROM events e WHERE e.status = 'queued' AND e.run_at_ms <= $3 \
       AND NOT EXISTS (SELECT 1 FROM events r WHERE r.job_key = e.job_key AND r.status = 'running') \
       AND pg_try_advisory_xact_lock(hashtext(e.job_key)) \
       ORDER BY e.run_at_ms, e.id LIMIT 1 FOR UPDATE SKIP LOCKED) \
     UPDATE events SET status = 'running', lease_until = $1, lease_owner = $2, \
       attempts = attempts + 1, updated_ms = $3 \
     WHERE status = 'queued' AND run_at_ms <= $3 AND job_key = (SELECT job_key FROM pick) \
     RETURNING id, source, event_id, job_key, payload, attempts, occurred_at, received_ms, \
     request_id";

impl Store {
    /// Claims the due events of one job key not held by anyone, under a lease until
    /// `lease_until_ms`. `None` when nothing is due.
    pub async fn claim(
        &self,
        owner: &str,
        now_ms: i64,
        lease_until_ms: i64,
    ) -> Result<Option<Claimed>, StoreError> {
        let rows = match self {
            Store::Sqlite(s) => sqlx::query(super::sqlite_sql(CLAIM_SQLITE))
                .bind(lease_until_ms)
                .bind(owner)
                .bind(now_ms)
                .fetch_all(&s.write)
                .await?
                .into_iter()
                .map(|r| row_to_claimed(&r))
                .collect::<Result<Vec<_>, _>>()?,
            Store::Postgres(p) => {
                let mut tx = p.pool.begin().await?;
                let rows = sqlx::query(CLAIM_PG)
                    .bind(lease_until_ms)
                    .bind(owner)
                    .bind(now_ms)
                    .fetch_all(&mut *tx)
                    .await?
                    .into_iter()
                    .map(|r| row_to_claimed(&r))
                    .collect::<Result<Vec<_>, _>>()?;
                tx.commit().await?;
                rows
            }
        };
        let Some(job_key) = rows.first().map(|(k, _)| k.clone()) else {
            return Ok(None);
        };
        let mut events: Vec<ClaimedEvent> = rows.into_iter().map(|(_, e)| e).collect();
        events.sort_by_key(|e| (e.occurred_at, e.pk));
        Ok(Some(Claimed {
            owner: owner.to_owned(),
            job_key,
            events,
        }))
    }

    /// Marks every event of the claim done.
    pub async fn finish_claim(&self, owner: &str, now_ms: i64) -> Result<u64, StoreError> {
        on_pool!(self, pool, sql = "UPDATE events SET status = 'done', lease_owner = NULL, \
            lease_until = NULL, last_error = NULL, updated_ms = $2 \
            WHERE lease_owner = $1 AND status = 'running'" => {
            Ok(sqlx::query(sql).bind(owner).bind(now_ms).execute(pool).await?.rows_affected())
        })
    }

    /// Puts every event of the claim back in the queue, due at `run_at_ms`, with the error.
    pub async fn retry_claim(
        &self,
        owner: &str,
        run_at_ms: i64,
        error: &str,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        on_pool!(self, pool, sql = "UPDATE events SET status = 'queued', lease_owner = NULL, \
            lease_until = NULL, run_at_ms = $2, last_error = $3, updated_ms = $4 \
            WHERE lease_owner = $1 AND status = 'running'" => {
            Ok(sqlx::query(sql).bind(owner).bind(run_at_ms).bind(error).bind(now_ms)
                .execute(pool).await?.rows_affected())
        })
    }

    /// Dead-letters every event of the claim with the reason.
    pub async fn dead_claim(
        &self,
        owner: &str,
        reason: &str,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        on_pool!(self, pool, sql = "UPDATE events SET status = 'dead', lease_owner = NULL, \
            lease_until = NULL, last_error = $2, updated_ms = $3 \
            WHERE lease_owner = $1 AND status = 'running'" => {
            Ok(sqlx::query(sql).bind(owner).bind(reason).bind(now_ms).execute(pool).await?.rows_affected())
        })
    }

    /// Dead-letters one event of a claim (an event that can never be applied), leaving the
    /// rest of the claim running.
    pub async fn dead_event(
        &self,
        owner: &str,
        pk: i64,
        reason: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        on_pool!(self, pool, sql = "UPDATE events SET status = 'dead', lease_owner = NULL, \
            lease_until = NULL, last_error = $3, updated_ms = $4 \
            WHERE id = $2 AND lease_owner = $1" => {
            sqlx::query(sql).bind(owner).bind(pk).bind(reason).bind(now_ms).execute(pool).await?;
        });
        Ok(())
    }

    /// Moves a claim to another job key (an event that named its user by id, once the id is
    /// resolved to an email) and makes it due now. The attempt is not counted.
    pub async fn rekey_claim(
        &self,
        owner: &str,
        job_key: &str,
        user_key: &str,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        on_pool!(self, pool, sql = "UPDATE events SET status = 'queued', job_key = $2, user_key = $3, \
            lease_owner = NULL, lease_until = NULL, run_at_ms = $4, attempts = attempts - 1, \
            updated_ms = $4 WHERE lease_owner = $1 AND status = 'running'" => {
            Ok(sqlx::query(sql).bind(owner).bind(job_key).bind(user_key).bind(now_ms)
                .execute(pool).await?.rows_affected())
        })
    }

    /// Returns to the queue every event whose lease expired (its worker died), so another
    /// worker picks it up.
    pub async fn reap_expired(&self, now_ms: i64) -> Result<u64, StoreError> {
        on_pool!(self, pool, sql = "UPDATE events SET status = 'queued', lease_owner = NULL, \
            lease_until = NULL, updated_ms = $1 WHERE status = 'running' AND lease_until <= $1" => {
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

    /// The earliest `run_at_ms` among queued events, to know how long an idle worker may sleep.
    pub async fn next_due_ms(&self) -> Result<Option<i64>, StoreError> {
        super::on_read_pool!(self, pool, sql = "SELECT MIN(run_at_ms) FROM events WHERE status = 'queued'" => {
            Ok(sqlx::query_scalar(sql).fetch_one(pool).await?)
        })
    }
}

fn row_to_claimed<R>(r: &R) -> Result<(String, ClaimedEvent), StoreError>
where
    R: Row,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<String>: sqlx::Decode<'a, R::Database>,
    for<'a> Option<i64>: sqlx::Decode<'a, R::Database>,
{
    Ok((
        r.try_get("job_key")?,
        ClaimedEvent {
            pk: r.try_get("id")?,
            source: r.try_get("source")?,
            event_id: r.try_get("event_id")?,
            payload: r.try_get("payload")?,
            attempts: r.try_get("attempts")?,
            occurred_at: r.try_get("occurred_at")?,
            received_ms: r.try_get("received_ms")?,
            request_id: r.try_get("request_id")?,
        },
    ))
}

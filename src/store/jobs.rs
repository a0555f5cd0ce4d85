//! Job state transitions on the events table: claim under a lease, finish, retry later,
//! dead-letter, move to another key. (Renewing, taking back and reaping leases: `leases.rs`.)
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
    /// The canonical type (or a reconcile repair's kind).
    pub event_type: String,
    /// The W3C `traceparent` of the request that delivered it (tracing on only).
    pub trace_context: Option<String>,
}

/// A claimed job: all due events of one key, oldest `occurred_at` first.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub owner: String,
    pub job_key: String,
    pub events: Vec<ClaimedEvent>,
    /// Taken back after a store outage interrupted the job (`Store::resume_claim`): some of
    /// its Domo calls may have been made and not recorded, as in a job run again.
    pub resumed: bool,
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

/// The columns of a claimed event (`rows_to_claimed` reads them): every statement that hands
/// events to a worker returns exactly these.
macro_rules! claimed_columns {
    () => {
        "id, source, event_id, job_key, payload, attempts, occurred_at, received_ms, \
         request_id, event_type, trace_context"
    };
}
pub(super) use claimed_columns;

/// Events a claim may take: queued and due, or running under a lease that expired (its worker
/// died or lost touch): a claim takes such a job over at once instead of waiting for the
/// reaper. `$3` is the claimer's clock (SQLite: one process, one clock).
const CLAIM_SQLITE: &str = concat!(
    "UPDATE events SET status = 'running', lease_until = $1, \
     lease_owner = $2, attempts = attempts + 1, updated_ms = $3 \
     WHERE ((status = 'queued' AND run_at_ms <= $3) OR (status = 'running' AND lease_until <= $3)) \
     AND job_key = ( \
       SELECT e.job_key FROM events e \
       WHERE ((e.status = 'queued' AND e.run_at_ms <= $3) \
         OR (e.status = 'running' AND e.lease_until <= $3)) \
       AND NOT EXISTS (SELECT 1 FROM events r WHERE r.job_key = e.job_key \
         AND r.status = 'running' AND r.lease_until > $3) \
       ORDER BY e.run_at_ms, e.id LIMIT 1) \
     RETURNING ",
    claimed_columns!()
);

// Leases on PostgreSQL are written and compared on the database's clock only, never a
// replica's, as `(EXTRACT(EPOCH FROM now()) * 1000)::bigint` (unix milliseconds at the start
// of the statement's transaction): a replica whose clock is off by minutes neither takes a
// live lease (its "now" past the lease's end) nor leaves a dead one (its "now" before it).

// PostgreSQL, several replicas. A claim is one READ COMMITTED transaction of short statements:
//
// 1. `PG_CANDIDATES` reads the oldest due events (queued and due, or running under an expired
//    lease) whose key shows no live lease, and keeps their distinct keys in order. This read
//    is only a hint: it may be stale by the time it is used.
// 2. For each candidate key, `PG_TRY_KEY` takes a transaction-scoped advisory lock on the key
//    (class `LOCK_CLASS_JOB`). It never waits: a key another claimer holds is skipped.
// 3. `PG_CLAIM_KEY` then marks the key's due events running, unless one is held under a live
//    lease. Being a NEW statement, it reads a snapshot taken AFTER the lock was granted, and
//    PostgreSQL releases a transaction's locks only after its commit is visible: so it sees
//    every claim of this key ever committed (all were made under the same lock) and the
//    `NOT EXISTS` check is exact. (A single statement that took the lock in its WHERE would
//    check with a snapshot older than the lock and could start a second job of a user whose
//    first claim committed meanwhile.) A lease is renewed only while it is live
//    (`renew_lease`), so an expired lease seen here cannot come back to life. `FOR UPDATE
//    SKIP LOCKED` skips rows another statement is changing (the reaper, a replay, the old
//    owner finishing); they wait for the next claim of the key.
// 4. `PG_OTHERS_RUNNING` checks that no event of the key is left running under another
//    owner (a row skipped in 3 because its expired owner was finishing it): a job is taken
//    over whole or not at all, else two workers would hold one user.
// The first key that yields rows is committed, which releases the locks. No statement waits
// for a lock, so claims cannot deadlock. Two keys whose hashes collide only skip each other.
// `$1`/`$3` of the claim are the claimer's clock for `run_at_ms` (written by replicas);
// leases use the database's clock, and the lease length is bound as a duration.
const PG_CANDIDATES: &str = "SELECT e.job_key FROM events e \
     WHERE ((e.status = 'queued' AND e.run_at_ms <= $1) \
       OR (e.status = 'running' AND e.lease_until <= (EXTRACT(EPOCH FROM now()) * 1000)::bigint)) \
     AND NOT EXISTS (SELECT 1 FROM events r WHERE r.job_key = e.job_key AND r.status = 'running' \
       AND r.lease_until > (EXTRACT(EPOCH FROM now()) * 1000)::bigint) \
     ORDER BY e.run_at_ms, e.id LIMIT $2";
const PG_TRY_KEY: &str = "SELECT pg_try_advisory_xact_lock($1, hashtext($2))";
const PG_CLAIM_KEY: &str = concat!(
    "UPDATE events SET status = 'running', \
     lease_until = (EXTRACT(EPOCH FROM now()) * 1000)::bigint + $1, \
     lease_owner = $2, attempts = attempts + 1, updated_ms = $3 \
     WHERE id IN (SELECT id FROM events WHERE job_key = $4 \
       AND ((status = 'queued' AND run_at_ms <= $3) \
         OR (status = 'running' AND lease_until <= (EXTRACT(EPOCH FROM now()) * 1000)::bigint)) \
       FOR UPDATE SKIP LOCKED) \
     AND NOT EXISTS (SELECT 1 FROM events r WHERE r.job_key = $4 AND r.status = 'running' \
       AND r.lease_until > (EXTRACT(EPOCH FROM now()) * 1000)::bigint) \
     RETURNING ",
    claimed_columns!()
);
const PG_OTHERS_RUNNING: &str = "SELECT EXISTS (SELECT 1 FROM events WHERE job_key = $1 \
     AND status = 'running' AND lease_owner <> $2)";
/// Candidate events read per claim, and distinct keys tried at most.
const PG_CANDIDATE_ROWS: i64 = 256;
const PG_MAX_KEYS_TRIED: usize = 16;

/// Advisory lock classes (the two-key form, apart from the migration lock's one-key form):
/// a job key being claimed, a Domo group being created.
pub(crate) const LOCK_CLASS_JOB: i32 = 0x6467_7301;
pub(crate) const LOCK_CLASS_GROUP: i32 = 0x6467_7302;

async fn claim_pg(
    pool: &sqlx::PgPool,
    owner: &str,
    now_ms: i64,
    lease_ms: i64,
) -> Result<Vec<(String, ClaimedEvent)>, StoreError> {
    let mut tx = pool.begin().await?;
    // The argument above needs a fresh snapshot per statement, whatever the server's default.
    sqlx::query("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
        .execute(&mut *tx)
        .await?;
    let rows: Vec<String> = sqlx::query_scalar(PG_CANDIDATES)
        .bind(now_ms)
        .bind(PG_CANDIDATE_ROWS)
        .fetch_all(&mut *tx)
        .await?;
    let mut keys: Vec<String> = Vec::new();
    for k in rows {
        if !keys.contains(&k) {
            keys.push(k);
        }
        if keys.len() == PG_MAX_KEYS_TRIED {
            break;
        }
    }
    for key in keys {
        let locked: bool = sqlx::query_scalar(PG_TRY_KEY)
            .bind(LOCK_CLASS_JOB)
            .bind(&key)
            .fetch_one(&mut *tx)
            .await?;
        if !locked {
            continue;
        }
        let claimed = rows_to_claimed(
            sqlx::query(PG_CLAIM_KEY)
                .bind(lease_ms)
                .bind(owner)
                .bind(now_ms)
                .bind(&key)
                .fetch_all(&mut *tx)
                .await?,
        )?;
        if claimed.is_empty() {
            continue;
        }
        let others: bool = sqlx::query_scalar(PG_OTHERS_RUNNING)
            .bind(&key)
            .bind(owner)
            .fetch_one(&mut *tx)
            .await?;
        if others {
            // Part of an expired job is being finished by its old owner: leave the key to
            // the next claim, which sees that commit.
            break;
        }
        tx.commit().await?;
        return Ok(claimed);
    }
    tx.rollback().await?;
    Ok(Vec::new())
}

impl Store {
    /// Claims the due events of one job key not held by anyone (or held under an expired
    /// lease), under a lease until `lease_until_ms`. `None` when nothing is due. On
    /// PostgreSQL only the lease's length (`lease_until_ms - now_ms`) is taken from the
    /// caller; its end is set on the database's clock.
    pub async fn claim(
        &self,
        owner: &str,
        now_ms: i64,
        lease_until_ms: i64,
    ) -> Result<Option<Claimed>, StoreError> {
        let rows = match self {
            Store::Sqlite(s) => rows_to_claimed(
                sqlx::query(super::sqlite_sql(CLAIM_SQLITE))
                    .bind(lease_until_ms)
                    .bind(owner)
                    .bind(now_ms)
                    .fetch_all(&s.write)
                    .await?,
            )?,
            Store::Postgres(p) => {
                claim_pg(&p.pool, owner, now_ms, pg_lease_ms(now_ms, lease_until_ms)).await?
            }
        };
        Ok(to_claimed(owner, rows))
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
    /// rest of the claim running; `notices` about it are written in the same commit.
    pub async fn dead_event(
        &self,
        owner: &str,
        pk: i64,
        reason: &str,
        notices: &[super::OutboxItem],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let dead = self.sql(
            "UPDATE events SET status = 'dead', lease_owner = NULL, \
             lease_until = NULL, last_error = $3, updated_ms = $4 \
             WHERE id = $2 AND lease_owner = $1",
        );
        let insert = self.sql(super::outbox::INSERT_OUTBOX);
        on_pool!(self, pool, _unused = "" => {
            let mut tx = pool.begin().await?;
            let n = sqlx::query(dead).bind(owner).bind(pk).bind(reason).bind(now_ms)
                .execute(&mut *tx).await?.rows_affected();
            for it in notices.iter().filter(|_| n > 0) {
                sqlx::query(insert).bind(&it.subscriber).bind(&it.msg_id).bind(&it.event_type)
                    .bind(&it.body).bind(now_ms).execute(&mut *tx).await?;
            }
            tx.commit().await?;
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

    /// The earliest `run_at_ms` among queued events, to know how long an idle worker may sleep.
    pub async fn next_due_ms(&self) -> Result<Option<i64>, StoreError> {
        super::on_read_pool!(self, pool, sql = "SELECT MIN(run_at_ms) FROM events WHERE status = 'queued'" => {
            Ok(sqlx::query_scalar(sql).fetch_one(pool).await?)
        })
    }
}

/// The claim made of `rows` (all of one job key), oldest `occurred_at` first; `None` if empty.
pub(super) fn to_claimed(owner: &str, rows: Vec<(String, ClaimedEvent)>) -> Option<Claimed> {
    let job_key = rows.first().map(|(k, _)| k.clone())?;
    let mut events: Vec<ClaimedEvent> = rows.into_iter().map(|(_, e)| e).collect();
    events.sort_by_key(|e| (e.occurred_at, e.pk));
    Some(Claimed {
        owner: owner.to_owned(),
        job_key,
        events,
        resumed: false,
    })
}

/// A lease's length for PostgreSQL, whose end is the database's clock plus it: at least 0 and
/// at most a year (an "endless" lease from a caller must not overflow `bigint`).
pub(super) fn pg_lease_ms(now_ms: i64, lease_until_ms: i64) -> i64 {
    const YEAR_MS: i64 = 366 * 86_400_000;
    lease_until_ms.saturating_sub(now_ms).clamp(0, YEAR_MS)
}

/// The rows of a statement that hands events to a worker (they have `claimed_columns!`), each
/// with its job key.
pub(super) fn rows_to_claimed<R>(rows: Vec<R>) -> Result<Vec<(String, ClaimedEvent)>, StoreError>
where
    R: Row,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<String>: sqlx::Decode<'a, R::Database>,
    for<'a> Option<i64>: sqlx::Decode<'a, R::Database>,
{
    let claimed = |r: &R| -> Result<(String, ClaimedEvent), StoreError> {
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
                event_type: r.try_get("event_type")?,
                trace_context: r.try_get("trace_context")?,
            },
        ))
    };
    rows.iter().map(claimed).collect()
}

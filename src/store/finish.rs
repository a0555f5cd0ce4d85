//! `finish_job`: a job's state, memberships, audit entries and outcome, in one transaction.

use sqlx::Connection;

use super::outbox::{INSERT_OUTBOX, OutboxItem};
use super::users::{AuditEntry, UserRow};
use super::{Store, StoreError};

/// How a job ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    Done,
    Retry { run_at_ms: i64, error: String },
    Dead { reason: String },
}

/// Everything a job wrote, committed together with its outcome.
#[derive(Debug, Clone)]
pub struct JobResult {
    pub owner: String,
    pub user: Option<UserRow>,
    /// Replace the user's known memberships with these (after reading them from Domo).
    pub memberships_replace: Option<Vec<(i64, String)>>,
    pub memberships_add: Vec<(i64, String)>,
    pub memberships_remove: Vec<i64>,
    pub audit: Vec<AuditEntry>,
    pub outcome: JobOutcome,
    /// Outgoing notices about this outcome (written only when the outcome is).
    pub notices: Vec<OutboxItem>,
}

const UPSERT_USER: &str = "INSERT INTO user_states (user_key, state, domo_user_id, synced, last_event, updated_ms) \
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (user_key) DO UPDATE SET state = excluded.state, \
     domo_user_id = excluded.domo_user_id, synced = excluded.synced, last_event = excluded.last_event, \
     updated_ms = excluded.updated_ms";
const DELETE_MEMBERSHIPS: &str = "DELETE FROM memberships WHERE user_key = $1";
const DELETE_MEMBERSHIP: &str =
    "DELETE FROM memberships WHERE user_key = $1 AND domo_group_id = $2";
const UPSERT_MEMBERSHIP: &str = "INSERT INTO memberships (user_key, domo_group_id, group_name, updated_ms) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (user_key, domo_group_id) DO UPDATE SET group_name = excluded.group_name, \
     updated_ms = excluded.updated_ms";
const INSERT_AUDIT: &str = "INSERT INTO audit (at_ms, event, user_key, rule, op, group_name, domo_group_id, \
     domo_user_id, http_status, outcome, error, duration_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";
const OUTCOME_DONE: &str = "UPDATE events SET status = 'done', lease_owner = NULL, lease_until = NULL, \
     last_error = NULL, updated_ms = $2 WHERE lease_owner = $1 AND status = 'running'";
const OUTCOME_RETRY: &str = "UPDATE events SET status = 'queued', lease_owner = NULL, lease_until = NULL, \
     run_at_ms = $2, last_error = $3, updated_ms = $4 WHERE lease_owner = $1 AND status = 'running'";
const OUTCOME_DEAD: &str = "UPDATE events SET status = 'dead', lease_owner = NULL, lease_until = NULL, \
     last_error = $2, updated_ms = $3 WHERE lease_owner = $1 AND status = 'running'";

impl Store {
    /// Writes a job's state, memberships, audit entries and outcome in one transaction.
    /// Returns how many events the outcome touched: 0 if the lease was lost meanwhile, and then
    /// only the audit entries are written.
    ///
    /// The commit is relaxed: it returns before it reaches the disk (SQLite `synchronous =
    /// NORMAL`, PostgreSQL `synchronous_commit = off`), which takes an fsync off every job.
    /// This is safe because the claim before it was durable: if a power loss takes this
    /// commit back, the events are `running` again with their attempt counted, the reaper
    /// requeues them when the lease expires, and the re-run (attempt > 1) reads the user's
    /// groups live from Domo instead of trusting memberships this commit would have recorded.
    /// Both databases keep their log in order, so a later durable commit (the next claim or
    /// ingest) makes this one durable too. A process crash loses nothing either way.
    pub async fn finish_job(&self, r: &JobResult, now_ms: i64) -> Result<u64, StoreError> {
        macro_rules! q {
            ($t:expr) => {
                self.sql($t)
            };
        }
        macro_rules! write_job {
            ($tx:ident) => {{
                // The outcome first: when the lease was lost (the job expired and another worker
                // may hold the user now), the user's state and memberships are left to that
                // worker; only the audit of the calls made is kept.
                let touched = match &r.outcome {
                    JobOutcome::Done => sqlx::query(q!(OUTCOME_DONE))
                        .bind(&r.owner)
                        .bind(now_ms)
                        .execute(&mut *$tx)
                        .await?
                        .rows_affected(),
                    JobOutcome::Retry { run_at_ms, error } => sqlx::query(q!(OUTCOME_RETRY))
                        .bind(&r.owner)
                        .bind(run_at_ms)
                        .bind(error)
                        .bind(now_ms)
                        .execute(&mut *$tx)
                        .await?
                        .rows_affected(),
                    JobOutcome::Dead { reason } => sqlx::query(q!(OUTCOME_DEAD))
                        .bind(&r.owner)
                        .bind(reason)
                        .bind(now_ms)
                        .execute(&mut *$tx)
                        .await?
                        .rows_affected(),
                };
                if let Some(u) = r.user.as_ref().filter(|_| touched > 0) {
                    sqlx::query(q!(UPSERT_USER))
                        .bind(&u.user_key)
                        .bind(&u.state)
                        .bind(u.domo_user_id)
                        .bind(i64::from(u.synced))
                        .bind(u.last_event)
                        .bind(now_ms)
                        .execute(&mut *$tx)
                        .await?;
                    if r.memberships_replace.is_some() {
                        sqlx::query(q!(DELETE_MEMBERSHIPS))
                            .bind(&u.user_key)
                            .execute(&mut *$tx)
                            .await?;
                    }
                    let upserts = r.memberships_replace.iter().flatten();
                    for (gid, name) in upserts.chain(&r.memberships_add) {
                        sqlx::query(q!(UPSERT_MEMBERSHIP))
                            .bind(&u.user_key)
                            .bind(gid)
                            .bind(name)
                            .bind(now_ms)
                            .execute(&mut *$tx)
                            .await?;
                    }
                    for gid in &r.memberships_remove {
                        sqlx::query(q!(DELETE_MEMBERSHIP))
                            .bind(&u.user_key)
                            .bind(gid)
                            .execute(&mut *$tx)
                            .await?;
                    }
                }
                for n in r.notices.iter().filter(|_| touched > 0) {
                    sqlx::query(q!(INSERT_OUTBOX))
                        .bind(&n.subscriber)
                        .bind(&n.msg_id)
                        .bind(&n.event_type)
                        .bind(&n.body)
                        .bind(now_ms)
                        .execute(&mut *$tx)
                        .await?;
                }
                for a in &r.audit {
                    sqlx::query(q!(INSERT_AUDIT))
                        .bind(a.at_ms)
                        .bind(a.event)
                        .bind(&a.user_key)
                        .bind(a.rule)
                        .bind(&a.op)
                        .bind(&a.group_name)
                        .bind(a.domo_group_id)
                        .bind(a.domo_user_id)
                        .bind(a.http_status)
                        .bind(&a.outcome)
                        .bind(&a.error)
                        .bind(a.duration_ms)
                        .execute(&mut *$tx)
                        .await?;
                }
                $tx.commit().await?;
                Ok(touched)
            }};
        }
        match self {
            Store::Sqlite(s) => {
                let mut conn = s.relaxed_writer().await?;
                let mut tx = conn.begin().await?;
                write_job!(tx)
            }
            Store::Postgres(p) => {
                let mut tx = p.pool.begin().await?;
                sqlx::query("SET LOCAL synchronous_commit = off")
                    .execute(&mut *tx)
                    .await?;
                write_job!(tx)
            }
        }
    }
}

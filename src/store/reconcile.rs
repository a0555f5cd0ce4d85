//! Reconcile runs, the lease that lets one run at a time across replicas, the members each
//! managed group had when last read, and the queries the run report and `explain` need.

use super::{AuditEntry, Store, StoreError, on_pool, on_read_pool};

/// The source name of the jobs a reconcile queues (reserved: no webhook source may take it).
pub const RECONCILE_SOURCE: &str = "reconcile";

/// One stored run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRow {
    pub id: i64,
    pub started_ms: i64,
    pub finished_ms: Option<i64>,
    pub started_by: String,
    pub apply: bool,
    /// `running`, `planned` (dry run), `held` (over the cap), `queued` (repairs queued),
    /// `failed`.
    pub status: String,
    /// The plan as JSON.
    pub plan: Option<String>,
    pub error: Option<String>,
    pub approved_by: Option<String>,
    pub approved_ms: Option<i64>,
    /// The source whose directory pass this run is; `None` for a full reconcile.
    pub scope: Option<String>,
}

type RunTuple = (
    i64,
    i64,
    Option<i64>,
    String,
    i64,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<String>,
);

fn to_row(t: RunTuple) -> RunRow {
    let (
        id,
        started_ms,
        finished_ms,
        started_by,
        apply,
        status,
        plan,
        error,
        approved_by,
        am,
        scope,
    ) = t;
    RunRow {
        id,
        started_ms,
        finished_ms,
        started_by,
        apply: apply != 0,
        status,
        plan,
        error,
        approved_by,
        approved_ms: am,
        scope,
    }
}

const RUN_COLUMNS: &str = "id, started_ms, finished_ms, started_by, apply, status, plan, error, \
     approved_by, approved_ms, scope";

/// A user the service has seen: key, state JSON, Domo id if known.
pub type SeenUserRow = (String, String, Option<i64>);

impl Store {
    /// Takes the named lease for `owner` until `until_ms` if nobody holds it (or its holder's
    /// lease ran out). True when taken.
    pub async fn acquire_lease(
        &self,
        name: &str,
        owner: &str,
        now_ms: i64,
        until_ms: i64,
    ) -> Result<bool, StoreError> {
        on_pool!(self, pool, sql = "INSERT INTO leases (name, owner, until_ms) VALUES ($1, $2, $3) \
            ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until_ms = excluded.until_ms \
            WHERE leases.until_ms < $4" => {
            let n = sqlx::query(sql).bind(name).bind(owner).bind(until_ms).bind(now_ms)
                .execute(pool).await?.rows_affected();
            Ok(n == 1)
        })
    }

    /// Gives the lease back (only if `owner` still holds it).
    pub async fn release_lease(&self, name: &str, owner: &str) -> Result<(), StoreError> {
        on_pool!(self, pool, sql = "DELETE FROM leases WHERE name = $1 AND owner = $2" => {
            sqlx::query(sql).bind(name).bind(owner).execute(pool).await?;
        });
        Ok(())
    }

    /// Marks runs left `running` by a process that stopped mid-run as failed (call only while
    /// holding the lease: then no run is really running). Returns how many.
    pub async fn fail_interrupted_runs(&self, now_ms: i64) -> Result<u64, StoreError> {
        on_pool!(self, pool, sql = "UPDATE reconcile_runs SET status = 'failed', finished_ms = $1, \
            error = 'interrupted: the process stopped before the run finished; nothing was queued' \
            WHERE status = 'running' AND scope IS NULL" => {
            Ok(sqlx::query(sql).bind(now_ms).execute(pool).await?.rows_affected())
        })
    }

    /// As [`Store::fail_interrupted_runs`], for the directory passes of one source (call only
    /// while holding that source's pull lease).
    pub async fn fail_interrupted_passes(
        &self,
        scope: &str,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        on_pool!(self, pool, sql = "UPDATE reconcile_runs SET status = 'failed', finished_ms = $1, \
            error = 'interrupted: the process stopped before the pass finished; nothing was queued' \
            WHERE status = 'running' AND scope = $2" => {
            Ok(sqlx::query(sql).bind(now_ms).bind(scope).execute(pool).await?.rows_affected())
        })
    }

    /// Records the start of a full reconcile run; returns its id.
    pub async fn insert_run(
        &self,
        started_by: &str,
        apply: bool,
        now_ms: i64,
    ) -> Result<i64, StoreError> {
        self.insert_scoped_run(started_by, apply, None, now_ms)
            .await
    }

    /// Records the start of a run (`scope`: the source of a directory pass); returns its id.
    pub async fn insert_scoped_run(
        &self,
        started_by: &str,
        apply: bool,
        scope: Option<&str>,
        now_ms: i64,
    ) -> Result<i64, StoreError> {
        on_pool!(self, pool, sql = "INSERT INTO reconcile_runs (started_ms, started_by, apply, status, scope) \
            VALUES ($1, $2, $3, 'running', $4) RETURNING id" => {
            Ok(sqlx::query_scalar(sql).bind(now_ms).bind(started_by).bind(i64::from(apply))
                .bind(scope).fetch_one(pool).await?)
        })
    }

    /// Stores a run's outcome (status, plan, error, finish time) and the notices about it, in
    /// one commit.
    pub async fn finish_run(
        &self,
        id: i64,
        status: &str,
        plan: Option<&str>,
        error: Option<&str>,
        notices: &[super::OutboxItem],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let update = self.sql(
            "UPDATE reconcile_runs SET status = $2, plan = COALESCE($3, plan), \
             error = $4, finished_ms = $5 WHERE id = $1",
        );
        let insert = self.sql(super::outbox::INSERT_OUTBOX);
        on_pool!(self, pool, _unused = "" => {
            let mut tx = pool.begin().await?;
            sqlx::query(update).bind(id).bind(status).bind(plan).bind(error).bind(now_ms)
                .execute(&mut *tx).await?;
            for it in notices {
                sqlx::query(insert).bind(&it.subscriber).bind(&it.msg_id).bind(&it.event_type)
                    .bind(&it.body).bind(now_ms).execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Marks a held run approved and queued, with the notices about it; false (and nothing
    /// written) when it is not (or no longer) held.
    pub async fn approve_run(
        &self,
        id: i64,
        by: &str,
        notices: &[super::OutboxItem],
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let update = self.sql(
            "UPDATE reconcile_runs SET status = 'queued', approved_by = $2, \
             approved_ms = $3 WHERE id = $1 AND status = 'held'",
        );
        let insert = self.sql(super::outbox::INSERT_OUTBOX);
        on_pool!(self, pool, _unused = "" => {
            let mut tx = pool.begin().await?;
            let n = sqlx::query(update).bind(id).bind(by).bind(now_ms).execute(&mut *tx).await?
                .rows_affected();
            if n == 1 {
                for it in notices {
                    sqlx::query(insert).bind(&it.subscriber).bind(&it.msg_id)
                        .bind(&it.event_type).bind(&it.body).bind(now_ms)
                        .execute(&mut *tx).await?;
                }
            }
            tx.commit().await?;
            Ok(n == 1)
        })
    }

    /// Runs, newest first.
    pub async fn list_runs(&self, limit: i64) -> Result<Vec<RunRow>, StoreError> {
        static SQL: std::sync::LazyLock<&'static str> = std::sync::LazyLock::new(|| {
            Box::leak(
                format!("SELECT {RUN_COLUMNS} FROM reconcile_runs ORDER BY id DESC LIMIT $1")
                    .into_boxed_str(),
            )
        });
        let sql = self.sql(*SQL);
        let rows: Vec<RunTuple> = match self {
            Store::Sqlite(s) => sqlx::query_as(sql).bind(limit).fetch_all(&s.read).await?,
            Store::Postgres(p) => sqlx::query_as(sql).bind(limit).fetch_all(&p.pool).await?,
        };
        Ok(rows.into_iter().map(to_row).collect())
    }

    /// One run.
    pub async fn get_run(&self, id: i64) -> Result<Option<RunRow>, StoreError> {
        static SQL: std::sync::LazyLock<&'static str> = std::sync::LazyLock::new(|| {
            Box::leak(
                format!("SELECT {RUN_COLUMNS} FROM reconcile_runs WHERE id = $1").into_boxed_str(),
            )
        });
        let sql = self.sql(*SQL);
        let row: Option<RunTuple> = match self {
            Store::Sqlite(s) => sqlx::query_as(sql).bind(id).fetch_optional(&s.read).await?,
            Store::Postgres(p) => sqlx::query_as(sql).bind(id).fetch_optional(&p.pool).await?,
        };
        Ok(row.map(to_row))
    }

    /// The last run that finished reading Domo (planned, held or queued).
    pub async fn last_completed_run(&self) -> Result<Option<i64>, StoreError> {
        on_read_pool!(self, pool, sql = "SELECT MAX(id) FROM reconcile_runs \
            WHERE status IN ('planned', 'held', 'queued') AND scope IS NULL" => {
            Ok(sqlx::query_scalar(sql).fetch_one(pool).await?)
        })
    }

    /// Every user the service has seen.
    pub async fn seen_users(&self) -> Result<Vec<SeenUserRow>, StoreError> {
        on_read_pool!(self, pool, sql = "SELECT user_key, state, domo_user_id FROM user_states \
            ORDER BY user_key" => {
            Ok(sqlx::query_as(sql).fetch_all(pool).await?)
        })
    }

    /// Replaces the recorded members of the given groups with what a run read.
    pub async fn replace_observed(
        &self,
        run_id: i64,
        members: &[(i64, Vec<i64>)],
    ) -> Result<(), StoreError> {
        let del = self.sql("DELETE FROM observed_members WHERE domo_group_id = $1");
        let ins = self.sql(
            "INSERT INTO observed_members (domo_group_id, domo_user_id, run_id) VALUES ($1, $2, $3)",
        );
        on_pool!(self, pool, _unused = "" => {
            let mut tx = pool.begin().await?;
            for (gid, users) in members {
                sqlx::query(del).bind(gid).execute(&mut *tx).await?;
                for uid in users {
                    sqlx::query(ins).bind(gid).bind(uid).bind(run_id).execute(&mut *tx).await?;
                }
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// The groups a Domo user was in when last read: (group id, run id).
    pub async fn observed_groups_of(
        &self,
        domo_user_id: i64,
    ) -> Result<Vec<(i64, i64)>, StoreError> {
        on_read_pool!(self, pool, sql = "SELECT domo_group_id, run_id FROM observed_members \
            WHERE domo_user_id = $1" => {
            Ok(sqlx::query_as(sql).bind(domo_user_id).fetch_all(pool).await?)
        })
    }

    /// The groups whose members a run has read.
    pub async fn observed_group_ids(&self) -> Result<Vec<i64>, StoreError> {
        on_read_pool!(self, pool, sql = "SELECT DISTINCT domo_group_id FROM observed_members" => {
            Ok(sqlx::query_scalar(sql).fetch_all(pool).await?)
        })
    }

    /// Jobs a run queued, counted by status, and the reasons of the dead ones.
    pub async fn run_jobs(
        &self,
        run_id: i64,
    ) -> Result<Vec<(String, String, Option<String>)>, StoreError> {
        let prefix = format!("run:{run_id}:%");
        on_read_pool!(self, pool, sql = "SELECT event_id, status, last_error FROM events \
            WHERE source = $1 AND event_id LIKE $2 ORDER BY id" => {
            Ok(sqlx::query_as(sql).bind(RECONCILE_SOURCE).bind(&prefix).fetch_all(pool).await?)
        })
    }

    /// The latest Domo call that touched this user in this group.
    pub async fn last_call(
        &self,
        user_key: &str,
        domo_group_id: i64,
    ) -> Result<Option<AuditEntry>, StoreError> {
        type T = (
            i64,
            Option<i64>,
            Option<String>,
            Option<i64>,
            String,
            Option<String>,
            Option<i64>,
            Option<i64>,
            Option<i64>,
            String,
            Option<String>,
            i64,
        );
        on_read_pool!(self, pool, sql = "SELECT at_ms, event, user_key, rule, op, group_name, \
            domo_group_id, domo_user_id, http_status, outcome, error, duration_ms FROM audit \
            WHERE user_key = $1 AND domo_group_id = $2 ORDER BY at_ms DESC, id DESC LIMIT 1" => {
            let row: Option<T> = sqlx::query_as(sql).bind(user_key).bind(domo_group_id)
                .fetch_optional(pool).await?;
            Ok(row.map(|t| AuditEntry {
                at_ms: t.0, event: t.1, user_key: t.2, rule: t.3, op: t.4, group_name: t.5,
                domo_group_id: t.6, domo_user_id: t.7, http_status: t.8, outcome: t.9,
                error: t.10, duration_ms: t.11,
            }))
        })
    }
}

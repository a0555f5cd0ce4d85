//! A stored run as the API and the CLI show it: when, who, the plan, and what its repair jobs
//! did so far.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ReconcilePlan, Reconciler};
use crate::store::{Store, StoreError};

/// The repair jobs of a run, by status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RunJobs {
    pub queued: usize,
    pub running: usize,
    pub done: usize,
    pub dead: usize,
    /// Why each dead job failed: `user:<email>` or `domo-user:<id>` → reason.
    pub failures: Vec<JobFailure>,
}

/// A repair that failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct JobFailure {
    pub job: String,
    pub error: Option<String>,
}

/// One reconcile run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RunReport {
    pub id: i64,
    /// RFC 3339.
    pub started_at: String,
    pub finished_at: Option<String>,
    /// Who started it: an API token's name, `cli` or `schedule`.
    pub started_by: String,
    /// False for a dry run.
    pub apply: bool,
    /// `running`, `planned` (dry run), `held` (over the removal cap, waiting for approval),
    /// `queued` (repairs queued; see `jobs`), `failed`.
    pub status: String,
    pub error: Option<String>,
    pub approved_by: Option<String>,
    pub approved_at: Option<String>,
    /// `null` for a full reconcile; the source's name for a directory pass of that source
    /// alone (its plan has only `directory`).
    pub scope: Option<String>,
    pub plan: Option<ReconcilePlan>,
    pub jobs: RunJobs,
}

/// Unix milliseconds as RFC 3339 (UTC, milliseconds).
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

impl Reconciler {
    /// A stored run with its jobs' progress; `None` if there is no such run.
    pub async fn report(&self, id: i64) -> Result<Option<RunReport>, StoreError> {
        load_report(&self.store, id).await
    }
}

/// A stored run with its jobs' progress; `None` if there is no such run.
pub async fn load_report(store: &Store, id: i64) -> Result<Option<RunReport>, StoreError> {
    let Some(r) = store.get_run(id).await? else {
        return Ok(None);
    };
    let plan = match r.plan.as_deref() {
        Some(p) => Some(
            serde_json::from_str(p).map_err(|e| StoreError::Corrupt(format!("run plan: {e}")))?,
        ),
        None => None,
    };
    let mut jobs = RunJobs::default();
    for (event_id, status, error) in store.run_jobs(id).await? {
        match status.as_str() {
            "queued" => jobs.queued += 1,
            "running" => jobs.running += 1,
            "done" => jobs.done += 1,
            _ => {
                jobs.dead += 1;
                let prefix = format!("run:{id}:");
                jobs.failures.push(JobFailure {
                    job: event_id
                        .strip_prefix(&prefix)
                        .unwrap_or(&event_id)
                        .to_owned(),
                    error,
                });
            }
        }
    }
    Ok(Some(RunReport {
        id: r.id,
        started_at: rfc3339(r.started_ms),
        finished_at: r.finished_ms.map(rfc3339),
        started_by: r.started_by,
        apply: r.apply,
        status: r.status,
        error: r.error,
        approved_by: r.approved_by,
        approved_at: r.approved_ms.map(rfc3339),
        scope: r.scope,
        plan,
        jobs,
    }))
}

impl Reconciler {
    /// The latest runs, newest first.
    pub async fn list(&self, limit: i64) -> Result<Vec<RunReport>, StoreError> {
        let mut out = Vec::new();
        for r in self.store.list_runs(limit).await? {
            if let Some(rep) = self.report(r.id).await? {
                out.push(rep);
            }
        }
        Ok(out)
    }
}

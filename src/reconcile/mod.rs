//! Reconciliation: read the members of every managed Domo group (paged), compare them with the
//! membership the service wants for every user it has seen, and repair the difference.
//!
//! A run never calls Domo to change anything itself: an applied plan queues one repair job per
//! affected user (`user:<email>`, in the user's own lane, so it runs in order with the user's
//! events) and one per unknown member to remove (`domo-user:<id>`), all in one commit. The
//! workers apply them with the usual retries and audit. A crash before that commit leaves
//! nothing queued; after it, every repair is durable and the next run finds whatever is left.
//!
//! Safety: protected groups and Domo's default group are never read or changed; members the
//! service has never seen are reported and kept unless `reconcile.remove_unknown`; the Domo API
//! client's own user (a member of every group it creates) is never removed; a plan that
//! removes more than the cap is stored as `held` and waits for approval. One run at a time
//! across replicas: a lease row in the store.
//!
//! Files: this one runs a run (lease, plan, store, queue, approve); `read` reads both sides,
//! `plan` plans from what was read (pure), `record` stores the run and its notices, `report`
//! shows a stored run.

pub mod cli;
mod explain;
mod plan;
mod read;
mod record;
mod report;
pub mod schedule;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

pub use explain::{Decider, Explanation, GroupExplanation};
pub use plan::{GroupPlan, Limits, Member, ReconcilePlan, Totals};
pub use report::{JobFailure, RunJobs, RunReport, load_report, rfc3339};

use crate::config::ReconcileConfig;
use crate::domo::{DomoClient, DomoError};
use crate::prometheus as prom;
use crate::rules::RuleSet;
use crate::store::{IngestItem, RECONCILE_SOURCE, RunRow, Store, StoreError};
use crate::worker::{Directory, DirectoryError};
pub(crate) use record::RunRecord;

/// The lease's name, and how long a run may hold it before another replica may take over.
const LEASE: &str = "reconcile";
const LEASE_TTL: Duration = Duration::from_secs(15 * 60);

/// Releases the run lease of `owner` once the store answers, trying with backoff (1 s doubling
/// to 10 s) until the lease would have expired by itself.
async fn release_when_back(store: Store, owner: String) {
    let deadline = tokio::time::Instant::now() + LEASE_TTL;
    let mut wait = Duration::from_secs(1);
    while tokio::time::Instant::now() < deadline {
        tokio::time::sleep(wait).await;
        match store.release_lease(LEASE, &owner).await {
            Ok(()) => {
                tracing::info!("the store answers again: the reconcile lease is released");
                return;
            }
            Err(e) if e.is_unavailable() => wait = (wait * 2).min(Duration::from_secs(10)),
            Err(e) => {
                tracing::warn!(error = %e, "could not release the reconcile lease; it will expire");
                return;
            }
        }
    }
}

/// Why a run could not be done.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("a reconcile is already running")]
    Busy,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("Domo: {0}")]
    Domo(#[from] DomoError),
}

impl From<DirectoryError> for ReconcileError {
    fn from(e: DirectoryError) -> Self {
        match e {
            DirectoryError::Domo(d) => ReconcileError::Domo(d),
            DirectoryError::Store(s) => ReconcileError::Store(s),
        }
    }
}

/// Progress of a run, for the terminal.
#[derive(Debug, Clone)]
pub enum Progress {
    Started {
        run: i64,
    },
    GroupRead {
        name: String,
        members: usize,
        done: usize,
        of: usize,
    },
    Planned {
        run: i64,
    },
    /// A step of a source's directory pass (the run's first step).
    Pull(crate::pull::Step),
}

/// Runs reconciles. Shared by the API, the schedule and the CLI.
pub struct Reconciler {
    pub store: Store,
    pub domo: DomoClient,
    pub rules: Arc<RuleSet>,
    pub directory: Arc<Directory>,
    pub settings: ReconcileConfig,
    pub notify: Arc<Notify>,
    /// The pulling sources, whose directory passes are each run's first step.
    pub pulls: Option<Arc<crate::pull::Pulls>>,
    /// Who wants `reconcile.held` / `reconcile.completed` (written with the run's outcome).
    pub notifier: Arc<crate::notify::build::Notifier>,
}

impl Reconciler {
    /// Runs one reconcile: plans, stores the run, and (with `apply`, under the cap) queues the
    /// repairs. `Busy` when another run holds the lease.
    pub async fn run(
        &self,
        started_by: &str,
        apply: bool,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<RunReport, ReconcileError> {
        let owner = uuid::Uuid::new_v4().to_string();
        let now = now_ms();
        let until = now + i64::try_from(LEASE_TTL.as_millis()).unwrap_or(i64::MAX);
        if !self.store.acquire_lease(LEASE, &owner, now, until).await? {
            return Err(ReconcileError::Busy);
        }
        let result = self.run_locked(started_by, apply, progress).await;
        match self.store.release_lease(LEASE, &owner).await {
            Ok(()) => {}
            // The store went away during the run: give the lease back once it answers, or
            // every run (the schedule's too) would be `Busy` until the lease expires.
            Err(e) if e.is_unavailable() => {
                tracing::warn!(error = %e, "could not release the reconcile lease: the store is unavailable; retrying until it answers");
                tokio::spawn(release_when_back(self.store.clone(), owner));
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not release the reconcile lease; it will expire");
            }
        }
        result
    }

    async fn run_locked(
        &self,
        started_by: &str,
        apply: bool,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<RunReport, ReconcileError> {
        let interrupted = self.store.fail_interrupted_runs(now_ms()).await?;
        if interrupted > 0 {
            tracing::warn!(
                runs = interrupted,
                "marked runs interrupted by a stop as failed"
            );
        }
        let run = RunRecord::start(
            &self.store,
            &self.notifier,
            started_by,
            apply,
            None,
            now_ms(),
        )
        .await?;
        let id = run.id();
        progress(Progress::Started { run: id });
        let plan = match self.plan(id, progress).await {
            Ok(p) => p,
            Err(ReconcileError::Store(e)) => return Err(e.into()),
            Err(e) => {
                // Domo failed (after the client's own retries): the run is stored as failed
                // and changed nothing; the next run starts over.
                tracing::warn!(run = id, error = %e, "reconcile failed");
                run.finish("failed", None, Some(&e.to_string())).await?;
                metrics::counter!(prom::RECONCILE_RUNS, "status" => "failed").increment(1);
                return Ok(run.report().await?);
            }
        };
        progress(Progress::Planned { run: id });
        let status = if !apply {
            "planned"
        } else if plan.held.is_some() {
            "held"
        } else {
            self.queue_repairs(id, &plan).await?;
            "queued"
        };
        run.finish(status, Some(&plan), None).await?;
        record_metrics(status, &plan);
        tracing::info!(
            run = id,
            status,
            add = plan.totals.add,
            remove = plan.totals.remove,
            unknown = plan.totals.unknown,
            create = plan.totals.create,
            "reconcile planned"
        );
        Ok(run.report().await?)
    }

    /// Approves a held run: queues its repairs. `None` when the run does not exist or is not
    /// held.
    pub async fn approve(&self, id: i64, by: &str) -> Result<Option<RunReport>, ReconcileError> {
        let Some(run) = self.store.get_run(id).await? else {
            return Ok(None);
        };
        if run.status != "held" {
            return Ok(None);
        }
        let plan: ReconcilePlan = serde_json::from_str(run.plan.as_deref().unwrap_or("null"))
            .map_err(|e| StoreError::Corrupt(format!("run plan: {e}")))?;
        // Queue first (deduplicated by run and user, so a repeat is harmless), then mark.
        self.queue_repairs(id, &plan).await?;
        let approved = RunRow {
            approved_by: Some(by.to_owned()),
            ..run
        };
        let now = now_ms();
        let notices = crate::notify::build::run_items(
            &self.notifier,
            &approved,
            "queued",
            Some(&plan),
            None,
            now,
        );
        if !self.store.approve_run(id, by, &notices, now).await? {
            return Ok(None);
        }
        if !notices.is_empty() {
            self.notifier.ring();
        }
        record_repairs(&plan);
        Ok(self.report(id).await?)
    }

    /// Queues the plan's repairs in one commit.
    async fn queue_repairs(&self, run: i64, plan: &ReconcilePlan) -> Result<(), StoreError> {
        let mut items: Vec<IngestItem> = plan
            .users
            .iter()
            .map(|email| IngestItem {
                event_id: format!("run:{run}:user:{email}"),
                event_type: "reconcile.repair".into(),
                job_key: Some(format!("user:{email}")),
                user_key: Some(email.clone()),
                occurred_at: None,
                payload: Some(serde_json::json!({ "run": run }).to_string()),
                replay_of: None,
                request_id: None,
                trace_context: crate::telemetry::traceparent(),
            })
            .collect();
        for (uid, groups) in plan.unknown_removals() {
            items.push(IngestItem {
                event_id: format!("run:{run}:domo-user:{uid}"),
                event_type: "reconcile.remove_unknown".into(),
                job_key: Some(format!("domo-user:{uid}")),
                user_key: None,
                occurred_at: None,
                payload: Some(
                    serde_json::json!({ "run": run, "domo_user_id": uid, "remove": groups })
                        .to_string(),
                ),
                replay_of: None,
                request_id: None,
                trace_context: crate::telemetry::traceparent(),
            });
        }
        // The directory events (each under its source) and the repairs, in one commit.
        let mut requests = crate::pull::directory::drift_items(&plan.directory);
        requests.push((RECONCILE_SOURCE.to_owned(), items));
        requests.retain(|(_, items)| !items.is_empty());
        if requests.is_empty() {
            return Ok(());
        }
        let refs: Vec<(&str, &[IngestItem])> = requests
            .iter()
            .map(|(s, i)| (s.as_str(), i.as_slice()))
            .collect();
        self.store.ingest(&refs, now_ms()).await?;
        crate::pull::directory::record_queued(&plan.directory);
        self.notify.notify_waiters();
        Ok(())
    }
}

/// A finished run's metrics: its status, the drift found, repairs queued, last success.
fn record_metrics(status: &'static str, plan: &ReconcilePlan) {
    metrics::counter!(prom::RECONCILE_RUNS, "status" => status).increment(1);
    let t = &plan.totals;
    for (kind, n) in [
        ("add", t.add),
        ("remove", t.remove),
        ("unknown", t.unknown),
        ("create", t.create),
    ] {
        metrics::gauge!(prom::RECONCILE_DRIFT, "kind" => kind).set(n as f64);
    }
    if status == "queued" {
        record_repairs(plan);
    }
    metrics::gauge!(prom::RECONCILE_LAST_SUCCESS).set(now_ms() as f64 / 1000.0);
}

fn record_repairs(plan: &ReconcilePlan) {
    let removed = plan.removals();
    metrics::counter!(prom::RECONCILE_REPAIRS, "kind" => "add").increment(plan.totals.add as u64);
    metrics::counter!(prom::RECONCILE_REPAIRS, "kind" => "remove").increment(removed as u64);
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

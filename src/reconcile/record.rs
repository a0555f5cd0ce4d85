//! A run as the store records it, for both kinds of run: a full reconcile, and a source's
//! directory pass (scoped to the source). It starts `running`; it finishes with a status, its
//! plan or its error, and the notices subscribers want about it, in one commit, after which
//! the local delivery lanes are woken.

use super::{ReconcilePlan, RunReport, load_report};
use crate::notify::build::{Notifier, run_items};
use crate::store::{RunRow, Store, StoreError};

/// A run that was started (its row stored as `running`).
pub(crate) struct RunRecord<'a> {
    store: &'a Store,
    notifier: &'a Notifier,
    row: RunRow,
}

impl<'a> RunRecord<'a> {
    /// Stores the start of a run; `scope` is the source of a directory pass.
    pub async fn start(
        store: &'a Store,
        notifier: &'a Notifier,
        started_by: &str,
        apply: bool,
        scope: Option<&str>,
        now_ms: i64,
    ) -> Result<RunRecord<'a>, StoreError> {
        let id = store
            .insert_scoped_run(started_by, apply, scope, now_ms)
            .await?;
        Ok(RunRecord {
            store,
            notifier,
            row: RunRow {
                id,
                started_ms: now_ms,
                finished_ms: None,
                started_by: started_by.to_owned(),
                apply,
                status: "running".to_owned(),
                plan: None,
                error: None,
                approved_by: None,
                approved_ms: None,
                scope: scope.map(str::to_owned),
            },
        })
    }

    /// The run's id.
    pub fn id(&self) -> i64 {
        self.row.id
    }

    /// Stores the run's outcome (`status`, with its plan or its error) and the notices about
    /// it in one commit, then wakes the delivery lanes if it wrote any.
    pub async fn finish(
        &self,
        status: &str,
        plan: Option<&ReconcilePlan>,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let json = plan
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let now = chrono::Utc::now().timestamp_millis();
        let notices = run_items(self.notifier, &self.row, status, plan, error, now);
        self.store
            .finish_run(self.row.id, status, json.as_deref(), error, &notices, now)
            .await?;
        if !notices.is_empty() {
            self.notifier.ring();
        }
        Ok(())
    }

    /// The run as it is stored now, with its jobs.
    pub async fn report(&self) -> Result<RunReport, StoreError> {
        load_report(self.store, self.row.id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("the run vanished".into()))
    }
}

//! The periodic reconcile (`reconcile.interval_secs`; off when 0): applies, under the cap,
//! once per interval. With several replicas each one ticks, and the lease lets one run.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{ReconcileError, Reconciler};

/// Runs `r` every `every` until `token` is cancelled.
pub async fn run_every(r: Arc<Reconciler>, every: Duration, token: CancellationToken) {
    loop {
        tokio::select! {
            () = token.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
        match r.run("schedule", true, &|_| {}).await {
            Ok(rep) => tracing::info!(run = rep.id, status = %rep.status, "scheduled reconcile"),
            Err(ReconcileError::Busy) => {
                tracing::debug!("scheduled reconcile skipped: another run holds the lease");
            }
            Err(ReconcileError::Store(e)) if e.is_unavailable() => {
                metrics::counter!(crate::prometheus::STORE_UNAVAILABLE, "component" => "reconcile")
                    .increment(1);
                tracing::warn!(error = %e, "scheduled reconcile failed: the store is unavailable; the next one runs on time");
            }
            Err(e) => tracing::warn!(error = %e, "scheduled reconcile failed"),
        }
    }
}

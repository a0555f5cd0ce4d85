//! Store outages as the workers live them. A store error is not a Domo failure: it must not
//! count an attempt, nor dead-letter anything, nor stop a worker.
//!
//! - A job that an outage interrupts (a read, a cache write or its completion failed) is not
//!   left to its lease, whose expiry would run it again with one more attempt counted: its
//!   worker keeps the claim, waits for the store (trying every 100 ms doubling to 2 s), takes
//!   the job back (`Store::resume_claim`, only if nobody took it over meanwhile) and runs it
//!   again, reading the user's groups live from Domo since some calls may have been made and
//!   not recorded. The first failure of an outage is logged at `warn`, the return at `info`.
//! - A claim that fails the same way may have committed with its answer lost: its worker waits
//!   the same way and then runs the job if it holds one.
//! - Any other failed pass backs off (from the poll interval, doubling, up to `MAX_BACKOFF`,
//!   woken early by a commit): never a tight loop of failing claims.
//! - A job whose lease renewals fail takes its lease back the same way once the store answers,
//!   even if it expired meanwhile.
//! - While any job of this process is in one of those two states, this process claims nothing
//!   and reaps nothing: its own claims would otherwise take over the interrupted job first
//!   (another replica still may, and then the attempt counts: a bounded cost, one per outage).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{RetryPolicy, Worker};
use crate::store::{Claimed, StoreError};

/// The longest a worker waits between passes while the store is unavailable.
pub(super) const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How often an interrupted job tries to take its claim back (from this, doubling, to 2 s): a
/// write, which is also the probe of whether the store can commit again.
const TAKE_BACK_FIRST: Duration = Duration::from_millis(100);
const TAKE_BACK_MAX: Duration = Duration::from_secs(2);

/// What the workers of one process share about the store's availability.
#[derive(Debug, Default)]
pub struct Outage {
    /// Jobs whose claim may have lapsed during an outage and that have not taken it back.
    at_risk: AtomicUsize,
    /// A worker saw the store unavailable and no pass has worked since (logs once per outage).
    down: AtomicBool,
}

/// Marks one job at risk while it lives.
pub(super) struct AtRisk(Arc<Outage>);

impl Drop for AtRisk {
    fn drop(&mut self) {
        self.0.at_risk.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Outage {
    /// Marks a job at risk until the guard is dropped.
    pub(super) fn hold(self: &Arc<Self>) -> AtRisk {
        self.at_risk.fetch_add(1, Ordering::SeqCst);
        AtRisk(self.clone())
    }

    /// Whether claims and reaps must wait (a job of this process may take its claim back).
    pub(super) fn holding(&self) -> bool {
        self.at_risk.load(Ordering::SeqCst) > 0
    }

    /// Records that a worker found the store unavailable (logged once per outage, counted
    /// every time).
    pub(super) fn unavailable(&self, e: &StoreError) {
        metrics::counter!(crate::prometheus::STORE_UNAVAILABLE, "component" => "worker")
            .increment(1);
        if !self.down.swap(true, Ordering::SeqCst) {
            tracing::warn!(error = %e, "the store is unavailable: workers wait until it answers");
        } else {
            tracing::debug!(error = %e, "the store is still unavailable");
        }
    }

    /// Records a failed pass; returns how long to wait before the next one (`failures` in a
    /// row so far, this one included).
    pub(super) fn failed(&self, e: &StoreError, failures: u32, poll: Duration) -> Duration {
        if e.is_unavailable() {
            self.unavailable(e);
        } else {
            tracing::warn!(error = %e, "worker pass failed; will retry");
        }
        let policy = RetryPolicy {
            max_attempts: u32::MAX,
            base: poll,
            max: MAX_BACKOFF.max(poll),
        };
        policy.delay(failures, None, fastrand::f64())
    }

    /// Records a pass that worked (the store answered).
    pub(super) fn answered(&self) {
        if self.down.swap(false, Ordering::SeqCst) {
            tracing::info!("the store answers again: workers resume");
        }
    }
}

impl Worker {
    /// Waits for the store to answer again and takes back the claim of `owner` that an outage
    /// interrupted: the job still held (resumed), or `None` when another worker took it over,
    /// it finished after all, or the shutdown deadline (`abort`) came first (then the lease is
    /// left to expire).
    pub(super) async fn take_back(
        &self,
        owner: &str,
        abort: &CancellationToken,
    ) -> Result<Option<Claimed>, StoreError> {
        let lease_ms = super::job::millis(self.settings.lease);
        let policy = RetryPolicy {
            max_attempts: u32::MAX,
            base: TAKE_BACK_FIRST,
            max: TAKE_BACK_MAX,
        };
        let mut tries = 0u32;
        loop {
            tries = tries.saturating_add(1);
            tokio::select! {
                biased;
                () = abort.cancelled() => return Ok(None),
                () = tokio::time::sleep(policy.delay(tries, None, fastrand::f64())) => {}
            }
            let now = self.now_ms();
            match self
                .store
                .resume_claim(owner, now, now.saturating_add(lease_ms))
                .await
            {
                Ok(Some(c)) => {
                    tracing::info!(job.key = %c.job_key, "the store answers again: the interrupted job is taken back");
                    metrics::counter!(crate::prometheus::JOB_RESUMES).increment(1);
                    return Ok(Some(c));
                }
                Ok(None) => {
                    tracing::info!(
                        "the interrupted job was finished or taken over meanwhile; nothing to take back"
                    );
                    return Ok(None);
                }
                Err(e) if e.is_unavailable() && !e.is_closed() => {
                    tracing::debug!(error = %e, "the store is still unavailable");
                }
                Err(e) => return Err(e),
            }
        }
    }
}

//! The worker pool: claims jobs (all due events of one user at a time), folds them into the
//! user's state, and applies the difference to Domo with retries; dead-letters what cannot be
//! applied, with the reason.
//!
//! The worker is the only caller of Domo. It never holds a database transaction across a Domo
//! call: claims are leases, so a job of a dead worker is taken over when its lease expires.

mod directory;
mod job;
mod live;
mod notices;
mod outage;
pub mod recorder;
pub mod retry;
mod sync;
mod unknown;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use directory::{Directory, DirectoryError, Ensured};
pub use outage::Outage;
pub use retry::RetryPolicy;

use crate::domo::DomoClient;
use crate::rules::RuleSet;
use crate::store::{Claimed, Store, StoreError};

/// How the workers behave (from `[worker]` and `[domo]`).
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    pub concurrency: usize,
    pub retry: RetryPolicy,
    pub lease: Duration,
    pub poll_interval: Duration,
    pub dry_run: bool,
    pub create_missing_users: bool,
    pub send_invite: bool,
    pub new_user_role: String,
    /// How long an unknown email (or sender id) is waited for before dead-lettering.
    pub user_wait: Duration,
    /// Added to the clock as this worker reads it (`worker.test_clock_offset_ms`, tests only).
    pub clock_offset_ms: i64,
    /// Put the user's email on job spans (`telemetry.include_email`).
    pub trace_email: bool,
}

/// What every worker task shares.
pub struct Worker {
    pub store: Store,
    pub domo: DomoClient,
    pub rules: Arc<RuleSet>,
    pub directory: Arc<Directory>,
    pub settings: WorkerSettings,
    pub notify: Arc<Notify>,
    /// Who wants which outgoing events (written in the job's commit).
    pub notifier: Arc<crate::notify::build::Notifier>,
    /// The store's availability as this process's workers see it (`outage.rs`).
    pub outage: Arc<Outage>,
}

/// Whether a pass found work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Worked,
    Idle,
}

impl Worker {
    /// Starts `concurrency` worker tasks and a lease reaper on `tracker`; they stop when
    /// `token` is cancelled, finishing the job in hand first.
    pub fn spawn(self: &Arc<Self>, tracker: &TaskTracker, token: &CancellationToken) {
        self.spawn_with_abort(tracker, token, &CancellationToken::new());
    }

    /// Like `spawn`; when `abort` is cancelled too (the shutdown deadline has passed), a job
    /// in hand is dropped and its lease released at once, without counting the attempt, so
    /// another replica (or the next start) takes it without waiting for the lease to expire.
    pub fn spawn_with_abort(
        self: &Arc<Self>,
        tracker: &TaskTracker,
        token: &CancellationToken,
        abort: &CancellationToken,
    ) {
        for n in 0..self.settings.concurrency {
            let (w, t, a) = (self.clone(), token.clone(), abort.clone());
            tracker.spawn(async move { w.run(n, t, a).await });
        }
        let (w, t) = (self.clone(), token.clone());
        tracker.spawn(async move { w.reap_loop(t).await });
    }

    async fn run(self: Arc<Self>, n: usize, token: CancellationToken, abort: CancellationToken) {
        tracing::debug!(worker = n, "worker started");
        let mut failures = 0u32;
        while !token.is_cancelled() {
            // Register interest before looking, so a commit between the look and the wait
            // still wakes us.
            let notified = self.notify.notified();
            // A job of this process interrupted by a store outage takes its own claim back
            // before this process claims anything (`outage.rs`).
            let pass = if self.outage.holding() {
                tokio::select! {
                    () = token.cancelled() => break,
                    () = tokio::time::sleep(self.settings.poll_interval) => continue,
                }
            } else {
                self.run_once_or_release(&abort).await
            };
            let wait = match pass {
                Ok(outcome) => {
                    failures = 0;
                    self.outage.answered();
                    if outcome == Outcome::Worked {
                        continue;
                    }
                    self.settings.poll_interval
                }
                // Back off (a commit still wakes the worker): a failing pass never loops.
                Err(e) => {
                    failures = failures.saturating_add(1);
                    self.outage
                        .failed(&e, failures, self.settings.poll_interval)
                }
            };
            tokio::select! {
                () = token.cancelled() => break,
                () = notified => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
        tracing::debug!(worker = n, "worker stopped");
    }

    async fn reap_loop(self: Arc<Self>, token: CancellationToken) {
        let every = (self.settings.lease / 2).max(Duration::from_millis(200));
        loop {
            tokio::select! {
                () = token.cancelled() => return,
                () = tokio::time::sleep(every) => {}
            }
            // A job of this process interrupted by an outage takes its own claim back first.
            if self.outage.holding() {
                continue;
            }
            match self.store.reap_expired(self.now_ms()).await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::warn!(jobs = n, "took back jobs whose lease expired");
                    self.notify.notify_waiters();
                }
                Err(e) => tracing::warn!(error = %e, "lease reaper failed"),
            }
        }
    }

    /// Claims and works one job, if one is due.
    pub async fn run_once(&self) -> Result<Outcome, StoreError> {
        self.run_once_or_release(&CancellationToken::new()).await
    }

    /// `run_once`, but when `abort` fires during the job, the job is dropped and its claim
    /// released (Domo operations are idempotent, so redoing a half-applied job is safe).
    /// When the store becomes unavailable during the job, the job keeps its claim, waits for
    /// the store and runs again (`outage.rs`); its attempt is not counted again.
    async fn run_once_or_release(&self, abort: &CancellationToken) -> Result<Outcome, StoreError> {
        let owner = format!("{}:{}", owner_prefix(), uuid::Uuid::new_v4().simple());
        let now = self.now_ms();
        let mut claimed = match self
            .store
            .claim(&owner, now, now.saturating_add(self.lease_ms()))
            .await
        {
            Ok(Some(c)) => c,
            Ok(None) => return Ok(Outcome::Idle),
            // The claim may have committed with its answer lost (PostgreSQL stopped during the
            // commit): whether this worker holds a job is known once the store answers.
            Err(e) if e.is_unavailable() && !e.is_closed() => {
                let _at_risk = self.outage.hold();
                self.outage.unavailable(&e);
                match self.take_back(&owner, abort).await? {
                    Some(c) => c,
                    None => return Ok(Outcome::Idle),
                }
            }
            Err(e) => return Err(e),
        };
        metrics::counter!(crate::prometheus::JOB_ATTEMPTS).increment(1);
        loop {
            let key = claimed.job_key.clone();
            match self.run_claimed(claimed, abort).await {
                Err(e) if e.is_unavailable() && !e.is_closed() => {
                    let _at_risk = self.outage.hold();
                    self.outage.unavailable(&e);
                    tracing::warn!(job.key = %key, error = %e,
                        "the store became unavailable during the job: it is kept, and taken back once the store answers");
                    match self.take_back(&owner, abort).await? {
                        Some(c) => claimed = c,
                        None => return Ok(Outcome::Worked),
                    }
                }
                r => return r.map(|()| Outcome::Worked),
            }
        }
    }

    /// Works a claimed job while a task keeps its lease.
    async fn run_claimed(
        &self,
        claimed: Claimed,
        abort: &CancellationToken,
    ) -> Result<(), StoreError> {
        let key = claimed.job_key.clone();
        let owner = claimed.owner.clone();
        let lease_ms = self.lease_ms();
        // Keep the lease while the job runs, so that only a dead worker's job is taken over.
        // The renewal runs in its own task: awaiting it in between polls of the job could
        // pause the job inside its finishing transaction, whose row locks the renewal then
        // waits for (a deadlock PostgreSQL cannot see, which also stalls every reaper).
        // When the lease is lost (it expired: this process stalled, or the store was out of
        // reach and another worker took the job over), `lost` fires and the job stops at
        // once: another worker may hold the user now, and this one must make no more Domo
        // calls nor write its result.
        let lost = CancellationToken::new();
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let renewer = {
            let (store, owner, lost) = (self.store.clone(), owner.clone(), lost.clone());
            let outage = self.outage.clone();
            let offset = self.settings.clock_offset_ms;
            let every = (self.settings.lease / 3).max(Duration::from_millis(100));
            tokio::spawn(async move {
                // Set while renewals fail (the store is unavailable): the lease may run out
                // meanwhile, and is then taken back if nobody took the job over.
                let mut at_risk = None;
                loop {
                    tokio::select! {
                        _ = &mut stopped => return,
                        () = tokio::time::sleep(every) => {}
                    }
                    let now = now_ms().saturating_add(offset);
                    let until = now.saturating_add(lease_ms);
                    let renewed = match store.renew_lease(&owner, until, now).await {
                        Ok(0) if at_risk.is_some() => store
                            .resume_claim(&owner, now, until)
                            .await
                            .map(|c| c.map_or(0, |c| c.events.len())),
                        other => other.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
                    };
                    match renewed {
                        Ok(0) => {
                            tracing::warn!(
                                "the job's lease was lost; stopping it (another worker may run it)"
                            );
                            lost.cancel();
                            return;
                        }
                        Ok(_) => {
                            if at_risk.take().is_some() {
                                tracing::info!(
                                    "the store answers again: the job's lease is renewed"
                                );
                            }
                        }
                        Err(e) => {
                            if at_risk.is_none() {
                                at_risk = Some(outage.hold());
                            }
                            tracing::warn!(error = %e, "could not renew the job's lease");
                        }
                    }
                }
            })
        };
        let result = tokio::select! {
            r = self.work(claimed) => r,
            () = lost.cancelled() => {
                metrics::counter!(crate::prometheus::JOB_LEASES_LOST).increment(1);
                tracing::warn!(job.key = %key, "lease lost: the job was stopped");
                Ok(())
            }
            () = abort.cancelled() => {
                self.store.release_claim(&owner, self.now_ms()).await.map(|n| {
                    tracing::warn!(job.key = %key, events = n, "shutdown deadline: released the job in hand");
                })
            }
        };
        let _ = stop.send(());
        let _ = renewer.await;
        result
    }

    /// Works jobs until none is due (tests and the CLI use this instead of the pool).
    pub async fn run_until_idle(&self) -> Result<usize, StoreError> {
        let mut n = 0;
        while self.run_once().await? == Outcome::Worked {
            n += 1;
        }
        Ok(n)
    }
}

/// Names this process in lease owners (`<host>/<pid>:<uuid>`), so that an operator looking at
/// running jobs (and the replica test) can tell which replica holds them.
pub(crate) fn owner_prefix() -> &'static str {
    static PREFIX: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let host = std::env::var("HOSTNAME")
            .ok()
            .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "host".to_owned());
        format!("{host}/{}", std::process::id())
    });
    &PREFIX
}

impl Worker {
    /// The lease's length in milliseconds.
    fn lease_ms(&self) -> i64 {
        job::millis(self.settings.lease)
    }

    /// The clock as this worker reads it, in unix milliseconds (shifted by the test-only
    /// `worker.test_clock_offset_ms`).
    pub(crate) fn now_ms(&self) -> i64 {
        now_ms().saturating_add(self.settings.clock_offset_ms)
    }
}

/// The machine's clock, in unix milliseconds: the one place the worker reads it.
fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

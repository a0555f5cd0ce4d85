//! One run of a source's pull under its lease: the event pull, then (when due, asked for, or
//! after a cursor reset) a directory pass; the outcome recorded in `pull_state` with the next
//! due times, and in the metrics. Shared by the poller, `POST /api/v1/sources/{name}/pull` and
//! `domo-group-sync pull`.
//!
//! The lease (`pull:<source>`, 30 s, renewed every 10 s while the run lasts) lets one run at a
//! time across replicas; every write of a run is fenced by it, so a run that lost it (a
//! stalled process) writes nothing more.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serde::Serialize;
use tokio_util::sync::CancellationToken;
use utoipa::ToSchema;

use crate::config::{PullConfig, SourceConfig};
use crate::prometheus as prom;
use crate::reconcile::RunReport;
use crate::store::{Fence, PullStateRow, StoreError};

use super::connector::{Connector, Progress, PullError};
use super::events::EventsReport;
use super::{Pulls, lease_name};

/// How long a pull lease lasts without renewal: a replica that dies mid-run holds up the
/// source's pulls this long at most.
const LEASE_TTL: Duration = Duration::from_secs(30);
/// How long `run_now` waits for a run in progress elsewhere to end.
const WAIT_FOR_LEASE: Duration = Duration::from_secs(5);
/// Longest wait between failed runs.
const MAX_BACKOFF: Duration = Duration::from_secs(15 * 60);

/// What a run did, as `POST /api/v1/sources/{name}/pull` and `domo-group-sync pull` show it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PullReport {
    pub source: String,
    /// RFC 3339.
    pub started_at: String,
    pub finished_at: String,
    /// False when the event pull or the directory pass failed (see `error`).
    pub ok: bool,
    pub error: Option<String>,
    /// The event pull (absent when the source's `interval_secs` is 0).
    pub events: Option<EventsReport>,
    /// Things an operator should know (a cursor reset, unmappable events, an incomplete
    /// listing).
    pub warnings: Vec<String>,
    /// The directory pass, recorded as a reconcile run scoped to the source.
    pub directory: Option<RunReport>,
}

/// Why `run_now` did not run.
#[derive(Debug, thiserror::Error)]
pub enum RunNowError {
    #[error("no source `{0}` with a [sources.pull] table")]
    NotFound(String),
    #[error("a pull of `{0}` is running (here or on another replica); try again when it ends")]
    Busy(String),
    #[error("the connector cannot be built: {0}")]
    Connector(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a run does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Due {
    pub events: bool,
    pub directory: bool,
}

impl Due {
    /// What the schedule in `state` says is due at `now_ms`.
    pub(super) fn of(state: &PullStateRow, pull: &PullConfig, now_ms: i64) -> Due {
        let (events, directory) = next_due(state, pull);
        Due {
            events: pull.interval_secs > 0 && events.is_none_or(|t| t <= now_ms),
            directory: match directory {
                Some(t) => t <= now_ms,
                None => pull.directory_interval_secs > 0,
            },
        }
    }

    pub(super) fn any(self) -> bool {
        self.events || self.directory
    }
}

/// When the next event pull and directory pass are due: as stored, but never later than one
/// interval after the last run (a reload that shortened the interval takes effect at once),
/// except after failures, whose backoff stands.
pub(super) fn next_due(state: &PullStateRow, pull: &PullConfig) -> (Option<i64>, Option<i64>) {
    let sooner = |stored: Option<i64>, last: Option<i64>, interval: u64| match (stored, last) {
        (Some(s), Some(l)) if interval > 0 => Some(s.min(l.saturating_add(secs_ms(interval)))),
        (s, _) => s,
    };
    let events = if state.failures == 0 {
        sooner(state.next_run_ms, state.last_run_ms, pull.interval_secs)
    } else {
        state.next_run_ms
    };
    let directory = sooner(
        state.next_directory_ms,
        state.last_directory_ms,
        pull.directory_interval_secs,
    );
    (events, directory)
}

/// A held pull lease; released when dropped.
pub(super) struct Held {
    pub fence: Fence,
    /// Cancelled when a renewal finds the lease taken.
    pub lost: CancellationToken,
    stop: CancellationToken,
    store: crate::store::Store,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.stop.cancel();
        let (store, fence) = (self.store.clone(), self.fence.clone());
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                if let Err(e) = store.release_lease(&fence.lease, &fence.owner).await {
                    tracing::debug!(error = %e, "could not release the pull lease; it will expire");
                }
            });
        }
    }
}

impl Pulls {
    /// Takes `source`'s pull lease if nobody holds it.
    pub(super) async fn try_lease(&self, source: &str) -> Result<Option<Held>, StoreError> {
        let fence = Fence {
            lease: lease_name(source),
            owner: format!(
                "{}:{}",
                crate::worker::owner_prefix(),
                uuid::Uuid::new_v4().simple()
            ),
        };
        let now = Utc::now().timestamp_millis();
        let ttl = i64::try_from(LEASE_TTL.as_millis()).unwrap_or(60_000);
        if !self
            .store
            .acquire_lease(&fence.lease, &fence.owner, now, now + ttl)
            .await?
        {
            return Ok(None);
        }
        let (lost, stop) = (CancellationToken::new(), CancellationToken::new());
        let (store, f, l, s) = (
            self.store.clone(),
            fence.clone(),
            lost.clone(),
            stop.clone(),
        );
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = s.cancelled() => return,
                    () = tokio::time::sleep(LEASE_TTL / 3) => {}
                }
                let until = Utc::now().timestamp_millis() + ttl;
                match store.renew_named_lease(&f.lease, &f.owner, until).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(lease = %f.lease, "the pull lease was taken over; stopping the run");
                        l.cancel();
                        return;
                    }
                    Err(e) => tracing::warn!(error = %e, "could not renew the pull lease"),
                }
            }
        });
        Ok(Some(Held {
            fence,
            lost,
            stop,
            store: self.store.clone(),
        }))
    }

    /// Runs `source`'s pull now (and with `full`, a directory pass), waiting a little for a
    /// run in progress to end. The directory pass applies its drift under the caps.
    pub async fn run_now(
        &self,
        source: &str,
        full: bool,
        started_by: &str,
        progress: &Progress<'_>,
    ) -> Result<PullReport, RunNowError> {
        let (cfg, connector) = match self.connector(source) {
            None => return Err(RunNowError::NotFound(source.to_owned())),
            Some(Err(e)) => return Err(RunNowError::Connector(e)),
            Some(Ok(c)) => c,
        };
        let now = Utc::now().timestamp_millis();
        self.store.ensure_pull_state(source, now).await?;
        let deadline = tokio::time::Instant::now() + WAIT_FOR_LEASE;
        let held = loop {
            if let Some(h) = self.try_lease(source).await? {
                break h;
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(RunNowError::Busy(source.to_owned()));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        };
        let due = Due {
            events: true,
            directory: full,
        };
        Ok(self
            .run_locked(&cfg, connector.as_ref(), &held, due, started_by, progress)
            .await)
    }

    /// One run under `held`: what `due` says, recorded.
    pub(super) async fn run_locked(
        &self,
        cfg: &Arc<SourceConfig>,
        connector: &dyn Connector,
        held: &Held,
        mut due: Due,
        started_by: &str,
        progress: &Progress<'_>,
    ) -> PullReport {
        let source = cfg.name.as_str();
        let Some(pull) = cfg.pull.as_ref() else {
            return failed_report(source, "the source does not pull".into());
        };
        let started = Utc::now().timestamp_millis();
        let mut report = PullReport {
            source: source.to_owned(),
            started_at: crate::reconcile::rfc3339(started),
            finished_at: String::new(),
            ok: true,
            error: None,
            events: None,
            warnings: Vec::new(),
            directory: None,
        };
        if due.events {
            let run = tokio::select! {
                r = self.pull_events(source, connector, &held.fence, progress) => r,
                () = held.lost.cancelled() => Err(PullError::LeaseLost),
            };
            match run {
                Ok(ev) => {
                    if ev.cursor_reset {
                        report.warnings.push(
                            "the provider no longer honoured the stored cursor: it was reset, and a \
                             full directory pass ran"
                                .into(),
                        );
                        due.directory = true;
                    }
                    if ev.unmappable > 0 {
                        report.warnings.push(format!(
                            "{} event(s) could not be mapped and were recorded as ignored (see the log)",
                            ev.unmappable
                        ));
                    }
                    report.events = Some(ev);
                    self.events_done(source, pull, None).await;
                }
                Err(e) => {
                    report.ok = false;
                    report.error = Some(e.to_string());
                    self.events_done(source, pull, Some(&e)).await;
                    if e == PullError::LeaseLost {
                        report.finished_at =
                            crate::reconcile::rfc3339(Utc::now().timestamp_millis());
                        return report;
                    }
                }
            }
        }
        if due.directory {
            let pass = tokio::select! {
                r = self.directory_pass(source, connector, started_by, true, progress) => r.map_err(|e| e.to_string()),
                () = held.lost.cancelled() => Err(PullError::LeaseLost.to_string()),
            };
            let now = Utc::now().timestamp_millis();
            let next = (pull.directory_interval_secs > 0)
                .then(|| now + secs_ms(pull.directory_interval_secs));
            let (error, next) = match &pass {
                Ok(run) => {
                    let problem = run
                        .plan
                        .as_ref()
                        .and_then(|p| p.directory.first())
                        .and_then(|d| d.problem.clone());
                    if let Some(p) = &problem {
                        report.warnings.push(format!(
                            "the directory listing is incomplete (only additions were made): {p}"
                        ));
                    }
                    if let Some(h) = run.plan.as_ref().and_then(|p| p.held.as_ref()) {
                        report.warnings.push(format!(
                            "the directory pass is held for approval (run {}): {h}",
                            run.id
                        ));
                    }
                    (problem, next)
                }
                Err(e) => {
                    report.ok = false;
                    report.error = Some(format!("directory pass: {e}"));
                    tracing::warn!(pull.source = source, error = %e, "directory pass failed");
                    metrics::counter!(prom::PULL_ERRORS, "source" => source.to_owned(), "reason" => "directory")
                        .increment(1);
                    // Try again in a minute (or at the next interval, if sooner).
                    (
                        Some(e.clone()),
                        Some(now + secs_ms(pull.directory_interval_secs.clamp(1, 60))),
                    )
                }
            };
            if let Err(e) = self
                .store
                .record_directory_pass(source, error.as_deref(), next, now)
                .await
            {
                tracing::warn!(error = %e, "could not record the directory pass");
            }
            report.directory = pass.ok();
        }
        report.finished_at = crate::reconcile::rfc3339(Utc::now().timestamp_millis());
        report
    }

    /// Records an event pull's end: the next due time (the interval, or a backoff after a
    /// failure, never before a rate limit's reset), the metrics and the log.
    async fn events_done(&self, source: &str, pull: &PullConfig, error: Option<&PullError>) {
        let now = Utc::now().timestamp_millis();
        let state = self
            .store
            .pull_state(source)
            .await
            .ok()
            .flatten()
            .unwrap_or_default();
        let next = match error {
            None => now + secs_ms(pull.interval_secs),
            Some(e) => {
                let failures = u32::try_from(state.failures + 1).unwrap_or(u32::MAX);
                let mut wait = backoff(pull.interval_secs, failures, fastrand::f64());
                if let PullError::RateLimited { wait: w } = e {
                    wait = wait.max(*w);
                }
                now + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX)
            }
        };
        match error {
            None => {
                metrics::gauge!(prom::PULL_LAST_SUCCESS, "source" => source.to_owned())
                    .set(now as f64 / 1000.0);
                if let Some(us) = state.newest_event_us {
                    let lag = (now as f64 / 1000.0) - (us as f64 / 1e6);
                    metrics::gauge!(prom::PULL_LAG, "source" => source.to_owned())
                        .set(lag.max(0.0));
                }
            }
            Some(e) => {
                tracing::warn!(pull.source = source, error = %e, reason = e.reason(),
                    retry_in_ms = next - now, "pull failed");
                metrics::counter!(prom::PULL_ERRORS, "source" => source.to_owned(), "reason" => e.reason())
                    .increment(1);
            }
        }
        let text = error.map(ToString::to_string);
        if let Err(e) = self
            .store
            .record_pull_run(source, text.as_deref(), next, now)
            .await
        {
            tracing::warn!(error = %e, "could not record the pull run");
        }
    }
}

fn secs_ms(secs: u64) -> i64 {
    i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX)
}

/// The wait after `failures` consecutive failures: the interval doubled each time, from the
/// interval up to 15 minutes, with ±10 % jitter (`jitter` in 0..1).
pub(super) fn backoff(interval_secs: u64, failures: u32, jitter: f64) -> Duration {
    let base = Duration::from_secs(interval_secs.max(1));
    let doubled = base.saturating_mul(2u32.saturating_pow(failures.saturating_sub(1).min(16)));
    let capped = doubled.min(MAX_BACKOFF).max(base.min(MAX_BACKOFF));
    capped.mul_f64(0.9 + 0.2 * jitter.clamp(0.0, 1.0))
}

fn failed_report(source: &str, error: String) -> PullReport {
    let now = crate::reconcile::rfc3339(Utc::now().timestamp_millis());
    PullReport {
        source: source.to_owned(),
        started_at: now.clone(),
        finished_at: now,
        ok: false,
        error: Some(error),
        events: None,
        warnings: Vec::new(),
        directory: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_back_off_from_the_interval_up_to_fifteen_minutes() {
        let secs = |interval, failures| backoff(interval, failures, 0.5).as_secs();
        assert_eq!(secs(60, 1), 60);
        assert_eq!(secs(60, 2), 120);
        assert_eq!(secs(60, 4), 480);
        assert_eq!(secs(60, 5), 900);
        assert_eq!(secs(60, 40), 900);
        assert_eq!(secs(3600, 1), 900, "never longer than the cap");
        assert_eq!(secs(0, 1), 1);
        let low = backoff(60, 1, 0.0).as_secs_f64();
        let high = backoff(60, 1, 1.0).as_secs_f64();
        assert!(
            (53.0..55.0).contains(&low) && (65.0..67.0).contains(&high),
            "{low} {high}"
        );
    }

    fn pull(interval: u64, directory: u64) -> PullConfig {
        PullConfig {
            provider: crate::config::Provider::Okta,
            api_base: "https://acme.okta.com".parse().expect("url"),
            token: None,
            client_id: None,
            client_secret: None,
            tenant_id: None,
            private_key: None,
            interval_secs: interval,
            directory_interval_secs: directory,
            budget_share: 0.5,
            max_requests_per_minute: 0,
        }
    }

    #[test]
    fn the_shared_schedule_says_what_is_due() {
        let fresh = PullStateRow::default();
        assert_eq!(
            Due::of(&fresh, &pull(60, 3600), 1000),
            Due {
                events: true,
                directory: true
            },
            "a source never pulled starts with both"
        );
        assert_eq!(
            Due::of(&fresh, &pull(0, 0), 1000),
            Due {
                events: false,
                directory: false
            }
        );
        let later = PullStateRow {
            next_run_ms: Some(2000),
            next_directory_ms: Some(500),
            ..PullStateRow::default()
        };
        assert_eq!(
            Due::of(&later, &pull(60, 0), 1000),
            Due {
                events: false,
                directory: true
            },
            "a pass asked for (after a reset) runs even with the interval off"
        );
        // Run at 0 with a 1-hour interval; reloaded with 10 s: due at 10 s, not in an hour.
        let hourly = PullStateRow {
            last_run_ms: Some(0),
            next_run_ms: Some(3_600_000),
            ..PullStateRow::default()
        };
        assert!(!Due::of(&hourly, &pull(10, 0), 9_000).events);
        assert!(Due::of(&hourly, &pull(10, 0), 10_000).events);
        // After a failure the backoff stands.
        let failed = PullStateRow {
            failures: 2,
            ..hourly
        };
        assert!(!Due::of(&failed, &pull(10, 0), 10_000).events);
    }
}

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
use utoipa::ToSchema;

use crate::config::{PullConfig, SourceConfig};
use crate::prometheus as prom;
use crate::reconcile::RunReport;
use crate::store::StoreError;

use super::Pulls;
use super::connector::{Connector, Progress, PullError};
use super::events::EventsReport;
use super::lease::Held;
use super::schedule::{Due, backoff, secs_ms};

/// How long `run_now` waits for a run in progress elsewhere to end.
const WAIT_FOR_LEASE: Duration = Duration::from_secs(5);

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
    /// The event pull (absent when the run only listed the directory).
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

impl Pulls {
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
                    if ev.directory_due && !due.directory {
                        report.warnings.push(
                            "the provider reported a change its event feed does not detail (a \
                             group deleted or renamed): a directory pass ran"
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
                    // How late the provider's data reached us: the newest event this run read
                    // (a quiet directory reads none and is not late; a reset re-reads old ones).
                    let lag = ev
                        .newest
                        .as_deref()
                        .filter(|_| ev.read > 0 && !ev.cursor_reset)
                        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                        .and_then(|t| (Utc::now() - t.with_timezone(&Utc)).to_std().ok());
                    report.events = Some(ev);
                    self.events_done(source, pull, None, lag, started).await;
                }
                Err(e) => {
                    report.ok = false;
                    report.error = Some(e.to_string());
                    self.events_done(source, pull, Some(&e), None, started)
                        .await;
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

    /// Records the end of an event pull that started at `started` (unix ms): the next due
    /// time (the interval, or a backoff after a failure, never before a rate limit's reset;
    /// now again when a notification asked for a pull meanwhile), the metrics and the log.
    async fn events_done(
        &self,
        source: &str,
        pull: &PullConfig,
        error: Option<&PullError>,
        lag: Option<std::time::Duration>,
        started: i64,
    ) {
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
        // `source.failing` (outgoing events): every pull but one cut short by a lost lease
        // (another replica goes on) counts; a successful one with how late its newest event came.
        let health = match error {
            None => Some(crate::notify::source::PullReport::Succeeded { lag }),
            Some(PullError::LeaseLost) => None,
            Some(e) => Some(crate::notify::source::PullReport::Failed {
                error: &e.to_string(),
            }),
        };
        if let Some(h) = health
            && let Err(e) = self.watch.report(source, h, now).await
        {
            tracing::warn!(error = %e, "could not record the source's health");
        }
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
            .record_pull_run(source, text.as_deref(), next, started, now)
            .await
        {
            tracing::warn!(error = %e, "could not record the pull run");
        }
    }
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

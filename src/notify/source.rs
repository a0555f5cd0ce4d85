//! `source.failing`: the pull poller reports every pull of a source here (its error, or how far
//! behind the source's data is); past `notify.source_error_threshold` failed pulls in a row, or
//! a lag over `notify.source_lag_secs`, a `source.failing` notice is written, once per episode
//! and again every `notify.source_repeat_secs` while it lasts. A healthy pull ends the episode.
//!
//! The poller calls [`SourceWatch::report`] after each pull:
//! `watch.report("okta", PullReport::Failed { error: &e.to_string() }, now_ms)` or
//! `watch.report("okta", PullReport::Succeeded { lag: Some(lag) }, now_ms)`.
//! The error text must carry no secret (it is sent to subscribers).

use std::sync::Arc;
use std::time::Duration;

use super::build::Notifier;
use super::event::{FailingReason, Notice, NoticeType, SourceFailing, rfc3339_ms};
use crate::config::NotifyConfig;
use crate::store::{SourceHealthRow, Store, StoreError};

/// What one pull of a source gave.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PullReport<'a> {
    /// The pull failed (after the poller's own retries, if any).
    Failed { error: &'a str },
    /// The pull succeeded; `lag` is how far behind the source's data is, when known (e.g.
    /// now minus the newest event's time the provider has made visible).
    Succeeded { lag: Option<Duration> },
}

/// Longest error text kept and sent.
const MAX_ERROR: usize = 500;

/// The health after a report, and the notice to send if any. Pure.
pub fn decide(
    prev: Option<&SourceHealthRow>,
    source: &str,
    report: PullReport<'_>,
    settings: &NotifyConfig,
    now_ms: i64,
) -> (SourceHealthRow, Option<SourceFailing>) {
    let mut row = prev.cloned().unwrap_or_else(|| SourceHealthRow {
        source: source.to_owned(),
        consecutive_errors: 0,
        failing_since_ms: None,
        last_error: None,
        last_success_ms: None,
        notified_ms: None,
        updated_ms: now_ms,
    });
    row.updated_ms = now_ms;
    let lag_ms = |lag: Duration| i64::try_from(lag.as_millis()).unwrap_or(i64::MAX);
    let threshold_ms =
        i64::try_from(settings.source_lag_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
    let (reason, lag) = match report {
        PullReport::Failed { error } => {
            row.consecutive_errors = row.consecutive_errors.saturating_add(1);
            row.last_error = Some(error.chars().take(MAX_ERROR).collect());
            // The episode starts at the first failure of the streak.
            if row.consecutive_errors == 1 && row.failing_since_ms.is_none() {
                row.failing_since_ms = Some(now_ms);
            }
            if row.consecutive_errors < i64::from(settings.source_error_threshold) {
                return (row, None);
            }
            (FailingReason::Errors, None)
        }
        PullReport::Succeeded { lag } => {
            row.consecutive_errors = 0;
            row.last_success_ms = Some(now_ms);
            match lag {
                Some(l) if lag_ms(l) > threshold_ms => {
                    row.failing_since_ms.get_or_insert(now_ms);
                    (FailingReason::Lag, Some(l))
                }
                _ => {
                    row.failing_since_ms = None;
                    row.notified_ms = None;
                    row.last_error = None;
                    return (row, None);
                }
            }
        }
    };
    let repeat_ms =
        i64::try_from(settings.source_repeat_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
    let due = match row.notified_ms {
        None => true,
        Some(t) => settings.source_repeat_secs > 0 && now_ms.saturating_sub(t) >= repeat_ms,
    };
    if !due {
        return (row, None);
    }
    row.notified_ms = Some(now_ms);
    let body = SourceFailing {
        source: source.to_owned(),
        reason,
        error: (reason == FailingReason::Errors)
            .then(|| row.last_error.clone())
            .flatten(),
        consecutive_errors: u32::try_from(row.consecutive_errors).unwrap_or(u32::MAX),
        lag_seconds: lag.map(|l| l.as_secs_f64()),
        failing_since: rfc3339_ms(row.failing_since_ms.unwrap_or(now_ms)),
        last_success: row.last_success_ms.map(rfc3339_ms),
    };
    (row, Some(body))
}

/// What the poller calls: keeps each source's health in the store and writes `source.failing`
/// to the outbox in the same commit.
pub struct SourceWatch {
    store: Store,
    notifier: Arc<Notifier>,
    settings: NotifyConfig,
}

impl SourceWatch {
    pub fn new(store: Store, notifier: Arc<Notifier>, settings: NotifyConfig) -> SourceWatch {
        SourceWatch {
            store,
            notifier,
            settings,
        }
    }

    /// Records one pull of `source` at `now_ms` (unix milliseconds). Returns the
    /// `source.failing` body when one was written (for the poller's log), else `None`.
    pub async fn report(
        &self,
        source: &str,
        report: PullReport<'_>,
        now_ms: i64,
    ) -> Result<Option<SourceFailing>, StoreError> {
        let prev = self.store.source_health(source).await?;
        let (row, failing) = decide(prev.as_ref(), source, report, &self.settings, now_ms);
        let notices = match &failing {
            Some(body) if self.notifier.wants(NoticeType::SourceFailing) => self
                .notifier
                .items(&[Notice::new(NoticeType::SourceFailing, now_ms, body)]),
            _ => Vec::new(),
        };
        // The messages are due on the store's clock, whatever time the poller reports in.
        let written_ms = chrono::Utc::now().timestamp_millis();
        self.store
            .put_source_health(&row, &notices, written_ms)
            .await?;
        if let Some(f) = &failing {
            tracing::warn!(source, reason = ?f.reason, errors = f.consecutive_errors, "pull source failing");
        }
        if !notices.is_empty() {
            self.notifier.ring();
        }
        Ok(failing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> NotifyConfig {
        NotifyConfig {
            source_error_threshold: 3,
            source_lag_secs: 900,
            source_repeat_secs: 3600,
            ..NotifyConfig::default()
        }
    }

    /// Feeds reports one minute apart; returns the notices' reasons with their minute.
    fn run(reports: &[PullReport<'_>], s: &NotifyConfig) -> Vec<(usize, FailingReason, u32)> {
        let mut row: Option<SourceHealthRow> = None;
        let mut out = Vec::new();
        for (i, r) in reports.iter().enumerate() {
            let now = 1_000_000 + i64::try_from(i).expect("small") * 60_000;
            let (next, notice) = decide(row.as_ref(), "okta", *r, s, now);
            if let Some(n) = notice {
                out.push((i, n.reason, n.consecutive_errors));
            }
            row = Some(next);
        }
        out
    }

    const FAIL: PullReport<'static> = PullReport::Failed { error: "503" };
    const OK: PullReport<'static> = PullReport::Succeeded { lag: None };

    #[test]
    fn errors_notify_at_the_threshold_once_per_episode() {
        let got = run(
            &[FAIL, FAIL, FAIL, FAIL, FAIL, OK, FAIL, FAIL, FAIL],
            &settings(),
        );
        assert_eq!(
            got,
            vec![(2, FailingReason::Errors, 3), (8, FailingReason::Errors, 3)]
        );
    }

    #[test]
    fn a_long_episode_is_repeated_at_the_interval() {
        let mut s = settings();
        s.source_repeat_secs = 120;
        let got = run(&[FAIL; 7], &s);
        let minutes: Vec<usize> = got.iter().map(|g| g.0).collect();
        assert_eq!(minutes, vec![2, 4, 6]);
        s.source_repeat_secs = 0;
        assert_eq!(run(&[FAIL; 7], &s).len(), 1, "0 = once per episode");
    }

    #[test]
    fn lag_over_the_threshold_is_failing_and_a_fresh_pull_ends_it() {
        let lagging = PullReport::Succeeded {
            lag: Some(Duration::from_secs(901)),
        };
        let fine = PullReport::Succeeded {
            lag: Some(Duration::from_secs(900)),
        };
        let got = run(&[fine, lagging, lagging, fine, lagging], &settings());
        assert_eq!(
            got,
            vec![(1, FailingReason::Lag, 0), (4, FailingReason::Lag, 0)]
        );
    }

    #[test]
    fn the_body_says_since_when_and_the_last_error() {
        let s = settings();
        let (r1, _) = decide(None, "okta", FAIL, &s, 1_000);
        let (r2, _) = decide(
            Some(&r1),
            "okta",
            PullReport::Failed { error: "timeout" },
            &s,
            2_000,
        );
        let (_, n) = decide(
            Some(&r2),
            "okta",
            PullReport::Failed {
                error: "401 invalid token",
            },
            &s,
            3_000,
        );
        let n = n.expect("at the threshold");
        assert_eq!(n.failing_since, rfc3339_ms(1_000));
        assert_eq!(n.error.as_deref(), Some("401 invalid token"));
        assert_eq!(n.last_success, None);
        assert_eq!(n.lag_seconds, None);
    }
}

//! The schedule of a source's pulls, shared by the replicas through `pull_state`: what is due,
//! when next, and the backoff after failures. Pure.

use std::time::Duration;

use crate::config::PullConfig;
use crate::store::PullStateRow;

/// Longest wait between failed runs.
const MAX_BACKOFF: Duration = Duration::from_secs(15 * 60);

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

pub(super) fn secs_ms(secs: u64) -> i64 {
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
            login_base: None,
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

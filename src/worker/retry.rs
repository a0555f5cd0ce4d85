//! When a failed job runs again: exponential backoff with jitter, never sooner than Domo's
//! `Retry-After`, and a dead letter after the last attempt.

use std::time::Duration;

/// The retry policy (from `[worker]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base: Duration,
    pub max: Duration,
}

impl RetryPolicy {
    /// The delay before attempt `attempts + 1`, given the attempts made so far (≥ 1) and
    /// Domo's `Retry-After`. `jitter` in [0, 1) spreads retries: the delay is between half and
    /// all of the exponential step. `Retry-After` is a floor, never shortened by jitter or the cap.
    pub fn delay(&self, attempts: u32, retry_after: Option<Duration>, jitter: f64) -> Duration {
        let exp = attempts.saturating_sub(1).min(30);
        let step = self.base.saturating_mul(1u32 << exp).min(self.max);
        let jittered = step.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0));
        match retry_after {
            Some(ra) if ra > jittered => ra,
            _ => jittered,
        }
    }

    /// Whether another attempt is allowed after `attempts` were made.
    pub fn may_retry(&self, attempts: u32) -> bool {
        attempts < self.max_attempts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: RetryPolicy = RetryPolicy {
        max_attempts: 5,
        base: Duration::from_millis(500),
        max: Duration::from_secs(60),
    };

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(P.delay(1, None, 1.0), Duration::from_millis(500));
        assert_eq!(P.delay(2, None, 1.0), Duration::from_millis(1000));
        assert_eq!(P.delay(3, None, 1.0), Duration::from_millis(2000));
        assert_eq!(P.delay(20, None, 1.0), Duration::from_secs(60));
        assert_eq!(P.delay(u32::MAX, None, 1.0), Duration::from_secs(60));
    }

    #[test]
    fn jitter_keeps_the_delay_between_half_and_all_of_the_step() {
        for j in [0.0, 0.3, 0.99] {
            let d = P.delay(3, None, j);
            assert!(
                d >= Duration::from_millis(1000) && d <= Duration::from_millis(2000),
                "{d:?}"
            );
        }
    }

    #[test]
    fn retry_after_is_a_floor_even_above_the_cap() {
        assert_eq!(
            P.delay(1, Some(Duration::from_secs(7)), 0.0),
            Duration::from_secs(7)
        );
        assert_eq!(
            P.delay(9, Some(Duration::from_secs(120)), 0.9),
            Duration::from_secs(120)
        );
        // A short Retry-After does not shorten the backoff.
        assert_eq!(
            P.delay(3, Some(Duration::from_millis(1)), 1.0),
            Duration::from_millis(2000)
        );
    }

    #[test]
    fn attempts_are_bounded() {
        assert!(P.may_retry(4));
        assert!(!P.may_retry(5));
    }
}

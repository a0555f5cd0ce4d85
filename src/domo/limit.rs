//! Client-side pacing of Domo requests: a bound on requests in flight (a semaphore), a
//! rate limit (a next-slot scheduler), and a pause for the whole client after Domo answered
//! 429 with `Retry-After` (Domo's limit is per client, so every request waits, not only the
//! one that was refused).
//!
//! Domo publishes no rate limit (reference/domo-api.md §2.2), so the service keeps its own,
//! below any plausible server limit. The scheduler's arithmetic is a pure function of an
//! injected `now`, so it is tested without sleeping. This module never retries anything.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// The longest gap between two requests, whatever the configured rate: a rate below one
/// request an hour is a mistake, not a policy.
const MAX_INTERVAL: Duration = Duration::from_secs(3600);

/// The longest pause a request sleeps through in the gate; a longer one is handed back to the
/// caller as a rate limit (the worker reschedules its job), so no job sleeps through its lease.
pub(crate) const MAX_PAUSE_WAIT: Duration = Duration::from_secs(5);

/// Hands out evenly spaced send times: at most one request per `interval`, with no burst
/// beyond one. A caller reserves the next free slot and waits until it comes.
#[derive(Debug, Clone)]
pub(crate) struct Schedule {
    /// Time between two requests; zero disables the limit.
    interval: Duration,
    /// The earliest time the next request may go; `None` before the first.
    next_free: Option<Instant>,
}

impl Schedule {
    /// A schedule for `per_second` requests a second; zero, negative or non-finite rates
    /// disable limiting.
    pub(crate) fn new(per_second: f64) -> Self {
        let interval = if per_second.is_finite() && per_second > 0.0 {
            Duration::try_from_secs_f64(1.0 / per_second)
                .unwrap_or(MAX_INTERVAL)
                .min(MAX_INTERVAL)
        } else {
            Duration::ZERO
        };
        Self {
            interval,
            next_free: None,
        }
    }

    /// Reserves the next slot for a request asked for at `now`, and says how long the caller
    /// must wait before sending. An idle period does not build up credit.
    pub(crate) fn reserve(&mut self, now: Instant) -> Duration {
        if self.interval.is_zero() {
            return Duration::ZERO;
        }
        let slot = match self.next_free {
            Some(next) if next > now => next,
            _ => now,
        };
        self.next_free = Some(slot + self.interval);
        slot - now
    }
}

/// Both limits together; cheap to share behind an `Arc`.
#[derive(Debug)]
pub(crate) struct Gate {
    in_flight: Arc<Semaphore>,
    schedule: Mutex<Schedule>,
    /// No request may be sent before this instant (Domo's `Retry-After`).
    paused_until: Mutex<Option<Instant>>,
}

impl Gate {
    /// A gate allowing `max_in_flight` concurrent requests (at least one) and
    /// `per_second` requests a second.
    pub(crate) fn new(max_in_flight: usize, per_second: f64) -> Self {
        Self {
            in_flight: Arc::new(Semaphore::new(
                max_in_flight.clamp(1, Semaphore::MAX_PERMITS),
            )),
            schedule: Mutex::new(Schedule::new(per_second)),
            paused_until: Mutex::new(None),
        }
    }

    /// Holds every request back for `delay` from now (never shortens a pause in force).
    pub(crate) fn pause(&self, delay: Duration) {
        let until = Instant::now() + delay.min(MAX_INTERVAL);
        let mut paused = self
            .paused_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if paused.is_none_or(|p| p < until) {
            *paused = Some(until);
        }
    }

    /// How much of a pause is left, if one is in force.
    pub(crate) fn pause_left(&self) -> Option<Duration> {
        let paused = *self
            .paused_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        paused
            .and_then(|p| p.checked_duration_since(Instant::now()))
            .filter(|d| !d.is_zero())
    }

    /// Waits for a free request slot, then for the rate limit; the request may be sent while
    /// the returned permit is held.
    ///
    /// The permit is taken first so that requests queued on the semaphore do not reserve
    /// rate slots they cannot use yet.
    pub(crate) async fn enter(&self) -> Option<OwnedSemaphorePermit> {
        // The semaphore is never closed, so this is always `Some`; were it closed, going on
        // unbounded would beat failing every call.
        let permit = Arc::clone(&self.in_flight).acquire_owned().await.ok();
        // A pause may be extended while we sleep (another 429): sleep until none is left.
        while let Some(left) = self.pause_left().filter(|d| *d <= MAX_PAUSE_WAIT) {
            tokio::time::sleep(left).await;
        }
        let wait = self
            .schedule
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .reserve(Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        permit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn first_request_goes_at_once() {
        let mut schedule = Schedule::new(10.0);
        assert_eq!(schedule.reserve(Instant::now()), Duration::ZERO);
    }

    #[test]
    fn requests_at_the_same_instant_are_spaced_by_the_interval() {
        let mut schedule = Schedule::new(10.0);
        let t0 = Instant::now();
        let waits: Vec<_> = (0..4).map(|_| schedule.reserve(t0)).collect();
        assert_eq!(waits, vec![ms(0), ms(100), ms(200), ms(300)]);
    }

    #[test]
    fn a_request_after_its_slot_waits_for_the_remainder_only() {
        let mut schedule = Schedule::new(4.0);
        let t0 = Instant::now();
        assert_eq!(schedule.reserve(t0), ms(0));
        assert_eq!(schedule.reserve(t0 + ms(100)), ms(150));
        // The third slot is at 500 ms.
        assert_eq!(schedule.reserve(t0 + ms(450)), ms(50));
    }

    #[test]
    fn an_idle_period_does_not_allow_a_burst() {
        let mut schedule = Schedule::new(2.0);
        let t0 = Instant::now();
        schedule.reserve(t0);
        let later = t0 + Duration::from_secs(60);
        assert_eq!(schedule.reserve(later), ms(0));
        assert_eq!(schedule.reserve(later), ms(500));
    }

    #[test]
    fn fractional_rates_give_long_intervals() {
        let mut schedule = Schedule::new(0.5);
        let t0 = Instant::now();
        schedule.reserve(t0);
        assert_eq!(schedule.reserve(t0), Duration::from_secs(2));
    }

    #[test]
    fn absurdly_low_rates_are_capped_at_one_request_an_hour() {
        for rate in [1e-9, f64::MIN_POSITIVE] {
            let mut schedule = Schedule::new(rate);
            let t0 = Instant::now();
            schedule.reserve(t0);
            assert_eq!(schedule.reserve(t0), MAX_INTERVAL, "rate {rate}");
        }
    }

    #[test]
    fn zero_negative_and_non_finite_rates_disable_the_limit() {
        for rate in [0.0, -3.0, f64::NAN, f64::INFINITY] {
            let mut schedule = Schedule::new(rate);
            let t0 = Instant::now();
            for _ in 0..3 {
                assert_eq!(schedule.reserve(t0), Duration::ZERO, "rate {rate}");
            }
        }
    }

    #[tokio::test]
    async fn the_gate_bounds_permits_in_flight() {
        let gate = Gate::new(2, 0.0);
        let a = gate.enter().await;
        let _b = gate.enter().await;
        assert_eq!(gate.in_flight.available_permits(), 0);
        drop(a);
        assert_eq!(gate.in_flight.available_permits(), 1);
        let _c = gate.enter().await;
        assert_eq!(gate.in_flight.available_permits(), 0);
    }

    #[tokio::test]
    async fn a_pause_holds_requests_back_and_is_never_shortened() {
        let gate = Gate::new(4, 0.0);
        assert_eq!(gate.pause_left(), None);
        gate.pause(ms(60));
        gate.pause(ms(1));
        let left = gate.pause_left().expect("paused");
        assert!(left > ms(1), "{left:?}");
        let _permit = gate.enter().await;
        // The gate let the request through only once the pause was over.
        assert_eq!(gate.pause_left(), None);
    }

    #[tokio::test]
    async fn a_gate_with_zero_in_flight_still_lets_one_through() {
        let gate = Gate::new(0, 0.0);
        let _only = gate.enter().await;
        assert_eq!(gate.in_flight.available_permits(), 0);
    }
}

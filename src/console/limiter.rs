//! Slowing down token guessing at the sign-in form: per client address (as the trusted
//! proxies report it), at most `MAX_FAILURES` failed sign-ins in a `WINDOW`; past that the
//! form answers 429 with `Retry-After` until the window ends, without checking the token.
//! A success clears the address's count. The caller also answers every failure only after
//! `FAILURE_DELAY`. Kept in memory (per replica): a limit, not an audit.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed sign-ins allowed per address per window.
pub const MAX_FAILURES: u32 = 10;
/// The window failures are counted in.
pub const WINDOW: Duration = Duration::from_secs(600);
/// How long every failed sign-in waits before its answer.
pub const FAILURE_DELAY: Duration = Duration::from_millis(400);
/// Most addresses tracked at once; past that, finished windows are dropped, then the oldest.
const MAX_TRACKED: usize = 10_000;

/// The key of a request whose client address cannot be known (they share one budget).
pub const UNKNOWN_CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    failures: u32,
}

/// Failed sign-ins per client address.
#[derive(Debug, Default)]
pub struct SignInLimiter {
    windows: Mutex<HashMap<IpAddr, Window>>,
}

impl SignInLimiter {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Window>> {
        self.windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `Err(retry_after)` while `ip` has used up its failures in the current window.
    pub fn check(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        match self.lock().get(&ip) {
            Some(w) if w.failures >= MAX_FAILURES => {
                let ends = w.started + WINDOW;
                if ends > now { Err(ends - now) } else { Ok(()) }
            }
            _ => Ok(()),
        }
    }

    /// Counts a failed sign-in from `ip`.
    pub fn failed(&self, ip: IpAddr, now: Instant) {
        let mut map = self.lock();
        if map.len() >= MAX_TRACKED && !map.contains_key(&ip) {
            map.retain(|_, w| w.started + WINDOW > now);
            if map.len() >= MAX_TRACKED
                && let Some(oldest) = map.iter().min_by_key(|(_, w)| w.started).map(|(k, _)| *k)
            {
                map.remove(&oldest);
            }
        }
        let w = map.entry(ip).or_insert(Window {
            started: now,
            failures: 0,
        });
        if w.started + WINDOW <= now {
            *w = Window {
                started: now,
                failures: 0,
            };
        }
        w.failures = w.failures.saturating_add(1);
    }

    /// Forgets `ip`'s failures (it signed in).
    pub fn succeeded(&self, ip: IpAddr) {
        self.lock().remove(&ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_stopped_after_its_failures_until_the_window_ends() {
        let l = SignInLimiter::default();
        let ip: IpAddr = "198.51.100.7".parse().expect("ip");
        let other: IpAddr = "198.51.100.8".parse().expect("ip");
        let t0 = Instant::now();
        for i in 0..MAX_FAILURES {
            assert!(l.check(ip, t0).is_ok(), "attempt {i} is allowed");
            l.failed(ip, t0);
        }
        let wait = l
            .check(ip, t0 + Duration::from_secs(60))
            .expect_err("blocked");
        assert_eq!(wait, WINDOW - Duration::from_secs(60));
        assert!(
            l.check(other, t0).is_ok(),
            "another address is not affected"
        );
        assert!(l.check(ip, t0 + WINDOW).is_ok(), "the window ended");
        l.failed(ip, t0 + WINDOW);
        assert!(
            l.check(ip, t0 + WINDOW).is_ok(),
            "a new window counts from one"
        );
    }

    #[test]
    fn a_success_clears_the_count() {
        let l = SignInLimiter::default();
        let ip: IpAddr = "2001:db8::1".parse().expect("ip");
        let t0 = Instant::now();
        for _ in 0..MAX_FAILURES - 1 {
            l.failed(ip, t0);
        }
        l.succeeded(ip);
        l.failed(ip, t0);
        assert!(l.check(ip, t0).is_ok());
    }

    #[test]
    fn the_map_stays_bounded() {
        let l = SignInLimiter::default();
        let t0 = Instant::now();
        for i in 0..(MAX_TRACKED as u32 + 50) {
            l.failed(IpAddr::V4(Ipv4Addr::from(i)), t0);
        }
        assert!(l.lock().len() <= MAX_TRACKED);
    }
}

//! A source's request budget: how many requests its pull may make to the provider, so that
//! the poller never takes more than `budget_share` of the provider's rate limit (Okta: one
//! token may use at most half a bucket by default, and other integrations share the rest),
//! nor more than `max_requests_per_minute` in any minute. After a 429 it also holds every
//! request until the provider's reset time.
//!
//! The provider's limit is learned from its answers (`observe`: Okta's `X-Rate-Limit-Limit`,
//! `-Remaining`, `-Reset` per endpoint family, the "bucket"), or declared by the connector when
//! the provider documents it but does not advertise it (`declare`: WorkOS's 6,000 requests a
//! minute per API key and 4 a second per directory on `/directory_users`). A request may count
//! against several buckets at once (`"key+directory_users:D"`): it goes only when every one
//! of them allows it. Pure: the caller passes `now`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The budget of one source. Shared by all of the source's requests.
#[derive(Debug)]
pub struct Budget {
    share: f64,
    per_minute: u64,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// No request before this (a 429's reset, or `X-Rate-Limit-Remaining: 0`).
    blocked_until: Option<Instant>,
    /// The current minute of the absolute cap, and the requests made in it.
    minute: Option<(Instant, u64)>,
    buckets: HashMap<String, Bucket>,
    /// Limits the connector declared: (requests, window), counted in fixed windows that start
    /// with the first request after the last one ended.
    declared: HashMap<String, (u64, Duration)>,
}

/// One of the provider's rate-limit buckets as last seen.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// The provider's limit for the window.
    limit: u64,
    /// When the provider's window resets.
    reset_at: Instant,
    /// Our requests in that window.
    ours: u64,
}

const MINUTE: Duration = Duration::from_secs(60);

impl Budget {
    /// A budget using at most `share` (0–1] of each advertised limit and at most `per_minute`
    /// requests a minute (0: no absolute cap).
    pub fn new(share: f64, per_minute: u64) -> Self {
        Budget {
            share: share.clamp(f64::MIN_POSITIVE, 1.0),
            per_minute,
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Asks to make one request counted against `buckets` (one name, or several joined by
    /// `+`) at `now`: `Duration::ZERO` means go (and the request is counted in each); otherwise
    /// wait that long and ask again.
    pub fn take(&self, buckets: &str, now: Instant) -> Duration {
        let mut s = self.lock();
        if let Some(until) = s.blocked_until {
            if until > now {
                return until - now;
            }
            s.blocked_until = None;
        }
        if self.per_minute > 0 {
            let (start, used) = match s.minute {
                Some((start, used)) if now < start + MINUTE => (start, used),
                _ => (now, 0),
            };
            if used >= self.per_minute {
                return start + MINUTE - now;
            }
            s.minute = Some((start, used));
        }
        let names: Vec<&str> = buckets.split('+').filter(|b| !b.is_empty()).collect();
        let mut wait = Duration::ZERO;
        for name in &names {
            let declared = s.declared.get(*name).copied();
            match (s.buckets.get_mut(*name), declared) {
                (Some(b), Some((_, window))) if now >= b.reset_at => {
                    b.ours = 0;
                    b.reset_at = now + window;
                }
                (Some(b), None) if now >= b.reset_at => b.ours = 0,
                (Some(b), _) => {
                    if b.ours >= self.allowed(b.limit) {
                        wait = wait.max(b.reset_at - now);
                    }
                }
                (None, Some((limit, window))) => {
                    s.buckets.insert(
                        (*name).to_owned(),
                        Bucket {
                            limit,
                            reset_at: now + window,
                            ours: 0,
                        },
                    );
                }
                (None, None) => {}
            }
        }
        if !wait.is_zero() {
            return wait;
        }
        if let Some((_, used)) = s.minute.as_mut() {
            *used += 1;
        }
        for name in &names {
            if let Some(b) = s.buckets.get_mut(*name) {
                b.ours += 1;
            }
        }
        Duration::ZERO
    }

    /// Declares a limit the provider documents but does not advertise: `limit` requests per
    /// `window` in `bucket` (of which this source uses its share). Declaring a bucket again
    /// with the same limit keeps its count.
    pub fn declare(&self, bucket: &str, limit: u64, window: Duration) {
        let mut s = self.lock();
        if s.declared.get(bucket) == Some(&(limit, window)) {
            return;
        }
        s.declared.insert(bucket.to_owned(), (limit, window));
        if let Some(b) = s.buckets.get_mut(bucket) {
            b.limit = limit;
        }
    }

    /// Our share of a window whose limit is `limit`: at least one request.
    fn allowed(&self, limit: u64) -> u64 {
        ((limit as f64 * self.share).floor() as u64).max(1)
    }

    /// Records what an answer from `bucket` said about the provider's window: its `limit`, the
    /// requests `remaining` in it and the time until it resets. A window that moved on starts
    /// our count again (at the request just answered); none remaining blocks until the reset.
    pub fn observe(
        &self,
        bucket: &str,
        limit: Option<u64>,
        remaining: Option<u64>,
        reset_in: Option<Duration>,
        now: Instant,
    ) {
        let mut s = self.lock();
        let (Some(limit), Some(reset_in)) = (limit, reset_in) else {
            return;
        };
        let reset_at = now + reset_in;
        match s.buckets.get_mut(bucket) {
            Some(b) => {
                b.limit = limit;
                if reset_at > b.reset_at + Duration::from_secs(1) {
                    // A new window: of ours, only the request just answered is in it.
                    b.ours = 1;
                }
                b.reset_at = reset_at;
            }
            None => {
                s.buckets.insert(
                    bucket.to_owned(),
                    Bucket {
                        limit,
                        reset_at,
                        ours: 1,
                    },
                );
            }
        }
        if remaining == Some(0) {
            self.block(&mut s, reset_at);
        }
    }

    /// Holds every request until `now + wait` (after a 429).
    pub fn block_for(&self, wait: Duration, now: Instant) {
        let mut s = self.lock();
        self.block(&mut s, now + wait);
    }

    fn block(&self, s: &mut State, until: Instant) {
        if s.blocked_until.is_none_or(|b| b < until) {
            s.blocked_until = Some(until);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn a_learned_limit_is_used_only_up_to_the_share_until_the_window_resets() {
        let b = Budget::new(0.5, 0);
        let t0 = Instant::now();
        // Before any answer the limit is unknown: go.
        assert_eq!(b.take("logs", t0), Duration::ZERO);
        // Okta says: 20 a minute, resets in 40 s.
        b.observe("logs", Some(20), Some(19), Some(secs(40)), t0);
        // 10 is half of 20: nine more go (the first was counted), the eleventh waits.
        for i in 0..9 {
            assert_eq!(b.take("logs", t0 + secs(1)), Duration::ZERO, "request {i}");
        }
        assert_eq!(b.take("logs", t0 + secs(1)), secs(39));
        // Another bucket is not affected.
        assert_eq!(b.take("users", t0 + secs(1)), Duration::ZERO);
        // After the reset the share is available again.
        assert_eq!(b.take("logs", t0 + secs(41)), Duration::ZERO);
    }

    #[test]
    fn a_new_window_reported_by_the_provider_restarts_our_count() {
        let b = Budget::new(0.5, 0);
        let t0 = Instant::now();
        b.observe("logs", Some(4), Some(3), Some(secs(10)), t0);
        assert_eq!(b.take("logs", t0), Duration::ZERO);
        assert_eq!(b.take("logs", t0), secs(10), "2 of 4 used");
        // The clock says the old window ended; the provider's next answer names a new one.
        assert_eq!(b.take("logs", t0 + secs(11)), Duration::ZERO);
        b.observe("logs", Some(4), Some(3), Some(secs(60)), t0 + secs(11));
        assert_eq!(b.take("logs", t0 + secs(12)), Duration::ZERO);
        assert_eq!(b.take("logs", t0 + secs(12)), secs(59));
    }

    #[test]
    fn the_absolute_cap_holds_whatever_the_provider_says() {
        let b = Budget::new(1.0, 3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(b.take("users", t0), Duration::ZERO);
        }
        assert_eq!(b.take("groups", t0 + secs(20)), secs(40));
        assert_eq!(b.take("groups", t0 + secs(60)), Duration::ZERO);
    }

    #[test]
    fn a_429_or_an_empty_window_blocks_every_request_until_the_reset() {
        let b = Budget::new(0.5, 0);
        let t0 = Instant::now();
        b.block_for(secs(7), t0);
        assert_eq!(b.take("users", t0 + secs(2)), secs(5));
        assert_eq!(b.take("users", t0 + secs(7)), Duration::ZERO);
        b.observe("users", Some(100), Some(0), Some(secs(30)), t0 + secs(7));
        assert_eq!(b.take("logs", t0 + secs(8)), secs(29));
        // A shorter block does not shorten a longer one.
        b.block_for(secs(1), t0 + secs(8));
        assert_eq!(b.take("logs", t0 + secs(10)), secs(27));
    }

    #[test]
    fn a_declared_limit_is_shared_in_fixed_windows_and_a_request_counts_in_every_bucket() {
        // WorkOS: 4 a second per directory on /directory_users, 6,000 a minute per key.
        let b = Budget::new(0.5, 0);
        b.declare("key", 6000, secs(60));
        b.declare("users:d1", 4, secs(1));
        let t0 = Instant::now();
        let both = "key+users:d1";
        assert_eq!(b.take(both, t0), Duration::ZERO);
        assert_eq!(b.take(both, t0), Duration::ZERO);
        // Half of 4 a second: the third waits for the window's end.
        assert_eq!(
            b.take(both, t0 + Duration::from_millis(200)),
            Duration::from_millis(800)
        );
        // Another directory has its own window; the key's is shared.
        b.declare("users:d2", 4, secs(1));
        assert_eq!(b.take("key+users:d2", t0), Duration::ZERO);
        // A new window starts with the next request after the last one ended.
        assert_eq!(b.take(both, t0 + secs(1)), Duration::ZERO);
        assert_eq!(b.take(both, t0 + secs(1)), Duration::ZERO);
        assert_eq!(b.take(both, t0 + secs(1)), secs(1));
        // Declaring the same limit again keeps the count.
        b.declare("users:d1", 4, secs(1));
        assert_eq!(b.take(both, t0 + secs(1)), secs(1));
        // The key's share of its own window: 3,000 a minute in all.
        let k = Budget::new(0.5, 0);
        k.declare("key", 6, secs(60));
        for _ in 0..3 {
            assert_eq!(k.take("key", t0), Duration::ZERO);
        }
        assert_eq!(k.take("key+users:d9", t0 + secs(10)), secs(50));
        assert_eq!(
            k.take("users:d9", t0 + secs(10)),
            Duration::ZERO,
            "an undeclared bucket alone is not limited"
        );
    }

    #[test]
    fn a_tiny_limit_still_allows_one_request_per_window() {
        let b = Budget::new(0.1, 0);
        let t0 = Instant::now();
        b.observe("token", Some(2), Some(1), Some(secs(60)), t0);
        assert_eq!(
            b.take("token", t0 + secs(1)),
            secs(59),
            "1 of 2 used: floor(0.2) -> 1"
        );
    }
}

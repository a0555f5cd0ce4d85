//! Fault injection shared by every simulator: which faults are configured ([`Faults`]) and
//! what one request suffers ([`FaultPlan`], drawn from the seeded generator). Each simulator
//! renders the faults in its provider's own shape (its 429 headers and bodies, its 5xx).
//!
//! Faults apply to a simulator's API routes only, never to `/_sim/*`. A faulted request
//! never reaches a handler, so it changes no state, except `drop_after_write_rate` (the Domo
//! simulator's writes: applied, then the connection dropped before the answer, as when the
//! provider did the work but the answer was lost on the way).

use std::time::Duration;

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

/// The faults injected into API requests. Every rate is a probability from 0.0 to 1.0,
/// drawn independently per request.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Share of requests answered `429 Too Many Requests`.
    pub rate_429: f64,
    /// Share of those 429 answers that carry `Retry-After`.
    pub retry_after_share: f64,
    /// The `Retry-After` value in seconds.
    pub retry_after_secs: u64,
    /// Share of requests answered 500, 502 or 503.
    pub rate_5xx: f64,
    /// Fixed latency added before every answer, in milliseconds.
    pub latency_ms: u64,
    /// Extra latency, uniform from 0 to this many milliseconds.
    pub latency_jitter_ms: u64,
    /// Share of requests whose TCP connection is dropped with no answer at all.
    pub drop_rate: f64,
    /// Share of writes that are applied and whose connection is then dropped before the
    /// answer (the Domo simulator: `POST /v1/groups`, `PUT`/`DELETE /v1/groups/{id}/users/{id}`).
    pub drop_after_write_rate: f64,
    /// Domo: leave `groups` out of `GET /v1/users/{id}` (documented by Domo, but a client must
    /// not depend on it).
    pub omit_user_groups: bool,
    /// A deterministic outage part way through a listing: requests to this route key
    /// (`"GET /api/v1/users"`) are answered 503 from its `fail_from_call`-th call on (calls
    /// counted since the start or the last `POST /_sim/reset-counters`), until the faults change.
    pub fail_route: Option<String>,
    /// See `fail_route`; 0 = off.
    pub fail_from_call: u64,
}

impl Faults {
    /// Checks that every rate is a number from 0.0 to 1.0.
    pub fn validate(&self) -> Result<(), String> {
        let rates = [
            ("rate_429", self.rate_429),
            ("retry_after_share", self.retry_after_share),
            ("rate_5xx", self.rate_5xx),
            ("drop_rate", self.drop_rate),
            ("drop_after_write_rate", self.drop_after_write_rate),
        ];
        for (name, rate) in rates {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!("{name} must be between 0.0 and 1.0, got {rate}"));
            }
        }
        Ok(())
    }

    /// Whether call number `call` (from 1) to `route` falls in the `fail_route` outage.
    pub fn fails_call(&self, route: &str, call: u64) -> bool {
        self.fail_from_call > 0
            && call >= self.fail_from_call
            && self.fail_route.as_deref() == Some(route)
    }

    /// Draws what happens to one request. The draws are made in a fixed order (latency
    /// jitter, drop, 429, `Retry-After`, 5xx, status, empty body, drop after a write) so that
    /// a seed gives the same sequence of faults whatever the rates; the first fault that hits
    /// wins, in the order drop, 429, 5xx, drop after a write. The last applies to writes only:
    /// a simulator serves any other request normally.
    pub fn draw(&self, rng: &mut fastrand::Rng) -> FaultPlan {
        let jitter = rng.u64(0..=self.latency_jitter_ms);
        let (drop, too_many, with_retry_after) = (rng.f64(), rng.f64(), rng.f64());
        let (server_error, status_pick, empty_pick) = (rng.f64(), rng.u8(0..3), rng.bool());
        let drop_after_write = rng.f64();

        let action = if drop < self.drop_rate {
            FaultAction::Drop
        } else if too_many < self.rate_429 {
            FaultAction::TooManyRequests {
                retry_after_secs: (with_retry_after < self.retry_after_share)
                    .then_some(self.retry_after_secs),
            }
        } else if server_error < self.rate_5xx {
            let status = match status_pick {
                0 => StatusCode::INTERNAL_SERVER_ERROR,
                1 => StatusCode::BAD_GATEWAY,
                _ => StatusCode::SERVICE_UNAVAILABLE,
            };
            // A gateway error never has a Domo body; 500 and 503 have one half of the time.
            let empty_body = status == StatusCode::BAD_GATEWAY || empty_pick;
            FaultAction::ServerError { status, empty_body }
        } else if drop_after_write < self.drop_after_write_rate {
            FaultAction::DropAfterWrite
        } else {
            FaultAction::None
        };
        FaultPlan {
            delay: Duration::from_millis(self.latency_ms.saturating_add(jitter)),
            action,
        }
    }
}

/// What one request suffers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultPlan {
    /// Latency to add before answering (or dropping).
    pub delay: Duration,
    /// The fault, if any.
    pub action: FaultAction,
}

/// A fault in place of the real answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultAction {
    /// No fault: the request is handled normally.
    None,
    /// Close the connection without answering.
    Drop,
    /// On a write: apply it, then close the connection without answering. On any other
    /// request: no fault.
    DropAfterWrite,
    /// Answer 429, with `Retry-After` when set.
    TooManyRequests {
        /// The `Retry-After` seconds, if the header is sent.
        retry_after_secs: Option<u64>,
    },
    /// Answer 500, 502 or 503.
    ServerError {
        /// The status.
        status: StatusCode,
        /// True for an empty body, false for a bedrock body.
        empty_body: bool,
    },
}

/// The fault options of every `*-sim` subcommand (`domo-sim` has its own, older set).
#[derive(Debug, Clone, clap::Args)]
pub struct FaultArgs {
    /// Share of API requests answered 429 (0.0 to 1.0).
    #[arg(long, default_value_t = 0.0)]
    pub rate_429: f64,
    /// Share of the injected 429 answers that carry a retry time (0.0 to 1.0).
    #[arg(long, default_value_t = 1.0)]
    pub retry_after_share: f64,
    /// The retry time of an injected 429, in seconds.
    #[arg(long, default_value_t = 1)]
    pub retry_after_secs: u64,
    /// Share of API requests answered 500, 502 or 503 (0.0 to 1.0).
    #[arg(long = "rate-5xx", default_value_t = 0.0)]
    pub rate_5xx: f64,
    /// Latency added to every API request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Extra latency drawn uniformly from 0 to this many milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_jitter_ms: u64,
    /// Share of API requests whose connection is dropped without an answer (0.0 to 1.0).
    #[arg(long, default_value_t = 0.0)]
    pub drop_rate: f64,
}

impl FaultArgs {
    /// The faults these options ask for, validated.
    pub fn faults(&self) -> anyhow::Result<Faults> {
        let faults = Faults {
            rate_429: self.rate_429,
            retry_after_share: self.retry_after_share,
            retry_after_secs: self.retry_after_secs,
            rate_5xx: self.rate_5xx,
            latency_ms: self.latency_ms,
            latency_jitter_ms: self.latency_jitter_ms,
            drop_rate: self.drop_rate,
            ..Faults::default()
        };
        faults.validate().map_err(anyhow::Error::msg)?;
        Ok(faults)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_faults_draw_nothing() {
        let mut rng = fastrand::Rng::with_seed(1);
        for _ in 0..1000 {
            let plan = Faults::default().draw(&mut rng);
            assert_eq!(plan.action, FaultAction::None);
            assert_eq!(plan.delay, Duration::ZERO);
        }
    }

    #[test]
    fn full_rates_always_hit_in_priority_order() {
        let mut rng = fastrand::Rng::with_seed(2);
        let faults = Faults {
            rate_429: 1.0,
            retry_after_share: 1.0,
            retry_after_secs: 7,
            rate_5xx: 1.0,
            latency_ms: 5,
            latency_jitter_ms: 3,
            ..Faults::default()
        };
        let plan = faults.draw(&mut rng);
        assert_eq!(
            plan.action,
            FaultAction::TooManyRequests {
                retry_after_secs: Some(7)
            }
        );
        assert!((5..=8).contains(&plan.delay.as_millis()));
        let dropping = Faults {
            drop_rate: 1.0,
            ..faults
        };
        assert_eq!(dropping.draw(&mut rng).action, FaultAction::Drop);
        let after_write = Faults {
            drop_after_write_rate: 1.0,
            ..Faults::default()
        };
        assert_eq!(
            after_write.draw(&mut rng).action,
            FaultAction::DropAfterWrite
        );
        let both = Faults {
            rate_5xx: 1.0,
            ..after_write
        };
        assert!(matches!(
            both.draw(&mut rng).action,
            FaultAction::ServerError { .. }
        ));
    }

    #[test]
    fn a_route_outage_starts_at_its_call_and_spares_other_routes() {
        let faults = Faults {
            fail_route: Some("GET /api/v1/users".into()),
            fail_from_call: 3,
            ..Faults::default()
        };
        assert!(!faults.fails_call("GET /api/v1/users", 2));
        assert!(faults.fails_call("GET /api/v1/users", 3));
        assert!(faults.fails_call("GET /api/v1/users", 9));
        assert!(!faults.fails_call("GET /api/v1/groups", 3));
        assert!(!Faults::default().fails_call("GET /api/v1/users", 3));
    }

    #[test]
    fn rates_outside_zero_to_one_are_rejected() {
        for faults in [
            Faults {
                rate_429: 1.5,
                ..Faults::default()
            },
            Faults {
                drop_rate: -0.1,
                ..Faults::default()
            },
            Faults {
                rate_5xx: f64::NAN,
                ..Faults::default()
            },
        ] {
            assert!(faults.validate().is_err(), "{faults:?} should be rejected");
        }
        assert!(Faults::default().validate().is_ok());
    }
}

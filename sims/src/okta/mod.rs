//! The Okta simulator (`domo-group-sync okta-sim`): a stateful stand-in for the Okta APIs
//! the service's pull connector reads, built from `reference/backfill.md` §1. Real HTTP over
//! TCP; it shares no types with the service's connector.
//!
//! # Routes
//! - `POST /oauth2/v1/token`: form `grant_type=client_credentials`, `scope` (space-separated),
//!   `client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`,
//!   `client_assertion=<JWT>` → `{token_type: "Bearer", expires_in: 3600, access_token,
//!   scope}`; OAuth errors `{error, error_description}` (`invalid_client` 401,
//!   `invalid_scope` / `invalid_request` / `unsupported_grant_type` 400).
//! - `GET /api/v1/logs` (`okta.logs.read`): `since`, `until`, `after`, `filter`, `q`, `limit`
//!   (0–1000, default 100), `sortOrder`. Polling (no `until`, ascending) orders by
//!   persistence time and always sends `Link: <…after=…>; rel="next"`, on an empty page too;
//!   bounded requests (`until` or `DESCENDING`) order by `published` and end. See `log`.
//! - `GET /api/v1/users` (`okta.users.read`): `limit` (default and max 200), `after`,
//!   `filter`, `search`, `q`; the plain list omits `DEPROVISIONED` users, `filter`/`search`
//!   include them. `GET /api/v1/users/{id or login}`, `GET /api/v1/users/{id}/groups`.
//! - `GET /api/v1/groups` (`okta.groups.read`): `limit` (default and max 10000), `after`,
//!   `filter` (`id`, `type`, `lastUpdated`, `lastMembershipUpdated`), `search`, `q`.
//! - `GET /api/v1/groups/{id}/users` (`okta.groups.read`): `limit` (default and max 1000),
//!   `after`; members whatever their status.
//! - Auth: `Authorization: SSWS <token>` (any scope) or `Bearer <access token>` (its scopes);
//!   bad or expired → 401 `E0000011`, missing scope → 403 `E0000006`.
//! - Every API answer carries `X-Rate-Limit-Limit`, `-Remaining`, `-Reset` for its bucket
//!   (`logs`, `users`, `groups`, `token`; per minute); past the limit → 429 `E0000047`.
//!
//! # Control (`/_sim`, no auth, no faults, not counted)
//! `GET /_sim/state`; `POST /_sim/users` `{profile: {login, firstName, lastName, …}, status?}`;
//! `PATCH /_sim/users/{id|login}` `{profile}`; `POST /_sim/users/{id|login}/lifecycle/{activate|
//! deactivate|suspend|unsuspend|delete}`; `POST /_sim/groups` `{name, description?}`;
//! `PUT`/`DELETE /_sim/groups/{id|name}/users/{id|login}`; each logs its event (returned as
//! `events`, the exact LogEvent a hook would carry) unless `"silent": true`; `"published"`
//! and `"delay_ms"` adjust it. `GET /_sim/events` (all, with `visible`), `POST /_sim/events`
//! `{events: [LogEvent…], delay_ms?}`, `PUT /_sim/visibility` `{delay_ms}`, `GET`/`PUT
//! /_sim/rate-limits` `{logs, users, groups, token}`, `POST /_sim/expire-tokens`; and the
//! shared `GET`/`PUT /_sim/faults`, `GET /_sim/requests`, `GET /_sim/calls`,
//! `POST /_sim/reset-counters` (`crate::shared::control`).
//!
//! # Guesses
//! - Persistence time = append time + the visibility delay (per event if given); Okta
//!   publishes no figure. The bookmark is `{persistence µs}_{sequence}` (Okta's looks like
//!   `1627500044869_1`); `after` from elsewhere → 400 `E0000001`; `after` with `since` → 400.
//!   A polling page that skipped filtered-out events still moves the bookmark past them.
//! - Retention: events whose `published` is older than 90 days are left out silently, even
//!   behind an old bookmark (no error says the bookmark outlived them). `since` more than 180
//!   days back → 400 `E0000001`. `limit` > 1000 on logs → 400; on users/groups/members it
//!   is clamped to the maximum.
//! - `filter`: `eq`/`sw`/`co`/`ew`/`gt`/`ge`/`lt`/`le`, `and`, `or`, parentheses; `published`
//!   → 400 `E0000053`; `eq` case-sensitive, `sw`/`co`/`ew` not. `q` matches all keywords
//!   anywhere in the event's JSON.
//! - Listings are ordered by id and `after` is the last id of the page; `next` is sent only
//!   when more items remain; `q` gives no `next`. `search` is not eventually consistent here.
//! - Deactivated and suspended users keep their group memberships and are listed as members
//!   with their status; `delete` needs `DEPROVISIONED`, logs `user.lifecycle.delete.initiated`
//!   and `.delete.completed`, and removes the memberships with no removal events.
//! - The LogEvent shape follows the docs' deactivation example; the actor is a fixed "Sim
//!   Admin"; membership events list the User target then the UserGroup target (whose
//!   `alternateId` is `unknown`); `legacyEventType` is null.
//! - Seeded users and groups (`--generate-*`) exist before the log starts: no events.
//! - Rate limits: fixed windows per wall-clock minute, one counter per bucket for the whole
//!   org (no 50 % per-token share, no concurrency limit); no `Retry-After`. An injected 429
//!   carries `X-Rate-Limit-Remaining: 0` and `Reset` = now + `retry_after_secs`. 5xx bodies
//!   are `E0000009` (or empty, half of the time; 502 always empty).
//! - OAuth: the assertion signature is **not** verified (see `auth`); `client_secret` is
//!   refused; DPoP is not simulated. Missing or unknown auth → 401 `E0000011`.

mod api;
mod auth;
mod config;
mod control;
mod error;
mod filter;
mod log;
mod model;
mod world;

#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;

pub use config::{DEFAULT_SEED, OktaArgs, OktaConfig};

use crate::shared::{Core, Provider, control as shared_control, pipeline};
use error::{OktaError, RateLimits};
use world::World;

/// A running Okta simulator. Cheap to clone: every clone sees the same org.
#[derive(Clone)]
pub struct Simulator {
    inner: Arc<Inner>,
}

struct Inner {
    config: OktaConfig,
    core: Core,
    state: Mutex<State>,
}

/// The org, the issued tokens and the rate-limit windows.
struct State {
    world: World,
    tokens: auth::Tokens,
    limits: RateLimits,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("okta::Simulator").finish_non_exhaustive()
    }
}

impl Simulator {
    /// A fresh org with the configured generated users and groups.
    pub fn new(config: OktaConfig) -> Self {
        let mut world = World::new(config.seed, config.visibility_delay_ms);
        let now = Utc::now();
        let silent = world::LogOptions {
            silent: true,
            ..Default::default()
        };
        let mut groups = Vec::new();
        for g in 1..=config.generate_groups {
            if let Ok((id, _)) = world.create_group(&format!("Group {g}"), "", now, silent) {
                groups.push(id);
            }
        }
        for i in 1..=config.generate_users {
            let profile = world::profile(&format!("user{i}@example.com"), "User", &i.to_string());
            if let (Ok((id, _)), Some(group)) = (
                world.create_user(profile, None, now, silent),
                groups.get(i % groups.len().max(1)).cloned(),
            ) {
                let _ = world.set_member(&group, &id, true, now, silent);
            }
        }
        let limits = RateLimits::new(config.logs_rate_limit, config.rate_limit);
        let core = Core::new(config.faults.clone(), config.seed.wrapping_add(1));
        Self {
            inner: Arc::new(Inner {
                config,
                core,
                state: Mutex::new(State {
                    world,
                    tokens: auth::Tokens::default(),
                    limits,
                }),
            }),
        }
    }

    /// The routes: the API (counted, rate-limited, faulted) and `/_sim/*`.
    pub fn router(&self) -> Router {
        let mut api = Router::new();
        for (path, handlers) in api::routes() {
            api = api.route(path, handlers);
        }
        let api = api.route_layer(axum::middleware::from_fn_with_state(
            self.clone(),
            pipeline::around_api::<Self>,
        ));
        let mut control = shared_control::routes::<Self>();
        for (path, handlers) in control::routes() {
            control = control.route(path, handlers);
        }
        api.merge(control)
            .fallback(|| async { OktaError::not_found("path", "Resource") })
            .with_state(self.clone())
    }

    /// Serves on `listener` until `shutdown` completes.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        crate::shared::serve(self.router(), listener, shutdown).await
    }

    pub fn config(&self) -> &OktaConfig {
        &self.inner.config
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Provider for Simulator {
    fn core(&self) -> &Core {
        &self.inner.core
    }

    fn too_many_requests(&self, route: &str, retry_after_secs: Option<u64>) -> Response {
        let bucket = error::bucket_of(route);
        let limit = self.lock().limits.limit(bucket).max(1);
        let wait = i64::try_from(retry_after_secs.unwrap_or(60)).unwrap_or(60);
        error::too_many(limit, Utc::now().timestamp() + wait)
    }

    fn server_error(&self, status: StatusCode, empty_body: bool) -> Response {
        if empty_body || status == StatusCode::BAD_GATEWAY {
            return status.into_response();
        }
        OktaError::new(status, "E0000009", "Internal Server Error").into_response()
    }

    fn admit(&self, route: &str) -> Result<HeaderMap, Box<Response>> {
        let bucket = error::bucket_of(route);
        self.lock().limits.take(bucket, Utc::now().timestamp())
    }
}

/// `domo-group-sync okta-sim`: serves until Ctrl-C or SIGTERM.
pub async fn run(args: OktaArgs) -> anyhow::Result<()> {
    let config = OktaConfig::from_args(&args)?;
    let listen = config.listen;
    let sim = Simulator::new(config);
    let router = sim.router();
    crate::shared::run_until_signal("okta-sim", listen, router, |addr| {
        format!(
            "okta-sim listening on http://{addr} (SSWS token {:?}, client id {:?}); state at http://{addr}/_sim/state",
            args.api_token, args.client_id
        )
    })
    .await
}

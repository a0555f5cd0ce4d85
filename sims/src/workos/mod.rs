//! The WorkOS simulator (`domo-group-sync workos-sim`): a stateful stand-in for the WorkOS
//! Events API and Directory Sync listings the service's pull connector reads, built from
//! `reference/backfill.md` §2 and `idp-webhooks.md` §4. Real HTTP over TCP.
//!
//! # Routes (all `Authorization: Bearer <api key>`; else 401 `{"message": "Unauthorized"}`)
//! - `GET /events`: `events` (required, comma-joined types; `events[]=` repeated also
//!   accepted), `after` (an event id), `limit` 1–100 (default 10), `range_start`/`range_end`
//!   (ISO 8601), `organization_id`, `order` (ignored: always oldest first, as the real server).
//!   → `{object: "list", data: [event…], list_metadata: {after}}`. Each event is
//!   `{object: "event", id, event, data, created_at, context}`, the exact body its webhook
//!   would carry (same id).
//! - `GET /directories` → the one directory. `GET /directory_users` (`directory` or `group`
//!   required; `email` needs `directory`), `GET /directory_groups` (`directory` or `user`),
//!   `GET /directory_users/{id}`, `GET /directory_groups/{id}` (404 when gone). Lists take
//!   `limit` 1–100 (default 10), `before`/`after` (ids), `order` `asc|desc` (default `desc`)
//!   → `{object: "list", data, list_metadata: {before, after}}`; page with `after` until null.
//!   Users carry `state` `active|inactive|suspended` and `groups: []` (deprecated, empty).
//! - Errors: 422 `{code: "invalid_request_parameters", message, errors: [{field, code}]}`;
//!   404 `{code: "entity_not_found", message}`; 429 `{message}` with `Retry-After`; 5xx
//!   `{message}` or empty.
//!
//! # Control (`/_sim`, no auth, no faults, not counted)
//! `GET /_sim/state`; `POST /_sim/users` `{email, first_name?, last_name?, idp_id?, state?,
//! custom_attributes?, job_title?, username?}` → 201 `{id, events}`; `PATCH /_sim/users/{id|email}`
//! `{fields}` (`{"state": "inactive"}` offboards) → `{events}`; `DELETE /_sim/users/{id|email}`;
//! `POST /_sim/groups` `{name}` → 201 `{id, events}`; `DELETE /_sim/groups/{id|name}`;
//! `PUT`/`DELETE /_sim/groups/{id|name}/users/{id|email}`. Each logs its Directory Sync event
//! (returned in `events`) unless `"silent": true`; `"delay_ms"` overrides the visibility delay.
//! `GET /_sim/events` (all, with `visible`), `POST /_sim/events` `{events: [{event, data}],
//! delay_ms?}`, `PUT /_sim/visibility` `{delay_ms}`, `GET`/`PUT /_sim/rate-limit` `{per_minute}`;
//! and the shared `GET`/`PUT /_sim/faults`, `GET /_sim/requests`, `GET /_sim/calls`,
//! `POST /_sim/reset-counters`.
//!
//! # Guesses
//! - Ids are `{prefix}_{ULID}` and sort by creation; `after` is compared as an id, so a cursor
//!   older than the 30-day retention still works (older events are left out silently).
//! - `list_metadata.after` is the last id of the page when more items follow, else null; a
//!   poller keeps the last event id it processed as its bookmark.
//! - Visibility delay: events show in order; one still invisible hides every later one (no
//!   event is ever revealed behind the bookmark).
//! - `after` with `range_start` → 422 (the old crate says they are exclusive); a malformed
//!   `after` → 422. An unknown event type in `events` is accepted (matches nothing).
//! - Deleting a user sends only `dsync.user.deleted` (its memberships go silently); deleting a
//!   group only `dsync.group.deleted`. One directory, one organization.
//! - Rate limit: a fixed 60 s window per key for every route (the per-directory 4 req/s of
//!   `/directory_users` is not simulated). The error bodies are guesses in WorkOS's style.

mod api;
mod config;
mod control;
mod world;

#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use chrono::Utc;
use serde_json::json;

pub use config::{DEFAULT_SEED, WorkosArgs, WorkosConfig};

use crate::shared::{Core, Provider, control as shared_control, pipeline};
use world::World;

/// A running WorkOS simulator. Cheap to clone: every clone sees the same environment.
#[derive(Clone)]
pub struct Simulator {
    inner: Arc<Inner>,
}

struct Inner {
    config: WorkosConfig,
    core: Core,
    state: Mutex<State>,
}

struct State {
    world: World,
    rate_limit: u64,
    window: (i64, u64),
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("workos::Simulator").finish_non_exhaustive()
    }
}

fn message(status: StatusCode, text: &str) -> Response {
    (status, Json(json!({"message": text}))).into_response()
}

impl Simulator {
    pub fn new(config: WorkosConfig) -> Self {
        let world = World::new(config.seed, config.visibility_delay_ms, Utc::now());
        let core = Core::new(config.faults.clone(), config.seed.wrapping_add(1));
        let rate_limit = config.rate_limit;
        Self {
            inner: Arc::new(Inner {
                config,
                core,
                state: Mutex::new(State {
                    world,
                    rate_limit,
                    window: (0, 0),
                }),
            }),
        }
    }

    /// The routes: the API (counted, rate-limited, faulted) and `/_sim/*`.
    pub fn router(&self) -> Router {
        let api = api::routes().route_layer(axum::middleware::from_fn_with_state(
            self.clone(),
            pipeline::around_api::<Self>,
        ));
        api.merge(shared_control::routes::<Self>())
            .merge(control::routes())
            .fallback(|| async { api::not_found("Route") })
            .with_state(self.clone())
    }

    pub fn config(&self) -> &WorkosConfig {
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

    fn too_many_requests(&self, _route: &str, retry_after_secs: Option<u64>) -> Response {
        let mut response = message(StatusCode::TOO_MANY_REQUESTS, "Too many requests");
        if let Some(secs) = retry_after_secs {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }

    fn server_error(&self, status: StatusCode, empty_body: bool) -> Response {
        if empty_body || status == StatusCode::BAD_GATEWAY {
            return status.into_response();
        }
        message(status, "Internal Server Error")
    }

    fn admit(&self, route: &str) -> Result<HeaderMap, Box<Response>> {
        let mut state = self.lock();
        let limit = state.rate_limit;
        if limit == 0 {
            return Ok(HeaderMap::new());
        }
        let now = Utc::now().timestamp();
        let window = now.div_euclid(60);
        if state.window.0 != window {
            state.window = (window, 0);
        }
        if state.window.1 >= limit {
            let wait = u64::try_from((window + 1) * 60 - now).unwrap_or(1).max(1);
            return Err(Box::new(self.too_many_requests(route, Some(wait))));
        }
        state.window.1 += 1;
        Ok(HeaderMap::new())
    }
}

/// `domo-group-sync workos-sim`: serves until Ctrl-C or SIGTERM.
pub async fn run(args: WorkosArgs) -> anyhow::Result<()> {
    let config = WorkosConfig::from_args(&args)?;
    let listen = config.listen;
    let router = Simulator::new(config).router();
    crate::shared::run_until_signal("workos-sim", listen, router, |addr| {
        format!("workos-sim listening on http://{addr} (API key {:?}); state at http://{addr}/_sim/state", args.api_key)
    })
    .await
}

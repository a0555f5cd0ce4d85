//! The Microsoft Entra ID simulator (`domo-group-sync entra-sim`): the Microsoft Graph delta
//! queries and the identity platform's client-credentials token, built from
//! `reference/backfill.md` §5. Real HTTP over TCP; no types shared with the connector.
//!
//! # Routes
//! - `POST /{tenant}/oauth2/v2.0/token`: form `grant_type=client_credentials`, `client_id`,
//!   `client_secret`, `scope=https://graph.microsoft.com/.default` → `{token_type: "Bearer",
//!   expires_in: 3599, ext_expires_in, access_token}`; errors `{error, error_description:
//!   "AADSTS…", error_codes, timestamp, trace_id, correlation_id}` (unknown tenant 400
//!   90002, unknown client 400 700016, bad secret 401 7000215, other scope 400 1002012).
//! - `GET /v1.0/users/delta`, `GET /v1.0/groups/delta` (Bearer; `User.Read.All`,
//!   `GroupMember.Read.All`): `$select`; follow `@odata.nextLink` (`$skiptoken`) until a page
//!   carries `@odata.deltaLink` (`$deltatoken`); `$deltatoken=latest` starts from now. Users
//!   carry `accountEnabled` only when selected; removed objects are `{"id", "@removed":
//!   {"reason": "changed"|"deleted"}}`; groups carry `members@delta` (when `members` is
//!   selected) with `{"@odata.type": "#microsoft.graph.user", "id"}` entries, a removed
//!   member with `"@removed": {"reason": "deleted"}`; a group with more members than
//!   `members_per_item` spans several items with the same id (merge them).
//!   `Prefer: odata.maxpagesize=N` sets the page size (default 100).
//! - `GET /v1.0/users`, `GET /v1.0/groups`, `GET /v1.0/groups/{id}/members` (Bearer; the
//!   same roles): `$select`, `$top` (1–999, default `page_size`), paged by `@odata.nextLink`
//!   (`$skiptoken`); live objects in their current state (no replication lag), members as
//!   `{"@odata.type": "#microsoft.graph.user", "id"}`; an unknown or deleted group → 404
//!   `Request_ResourceNotFound`.
//! - An expired (older than `delta_token_ttl_secs`, default 7 days), revoked or unknown
//!   delta or skip token → **410** `syncStateNotFound` with `Location:` the URL that starts a
//!   new round (same `$select`).
//! - Errors: `{"error": {code, message, innerError}}`; 401 `InvalidAuthenticationToken`, 403
//!   `Authorization_RequestDenied`, 400 for `$filter`/`$expand`/`$top`/`$orderby`/`$search`
//!   on a delta query.
//! - Throttling: `rate_limit_per_10s` requests per 10-second window → 429 `TooManyRequests`
//!   with `Retry-After` (seconds left in the window).
//!
//! # Control (`/_sim`, no auth, no faults, not counted)
//! `GET /_sim/state`; `POST /_sim/users` `{userPrincipalName, displayName?, accountEnabled?,
//! …}` → `{id}`; `PATCH /_sim/users/{id|upn}` `{property: value}`; `DELETE
//! /_sim/users/{id|upn}[?hard=true]`; `POST /_sim/users/{id|upn}/restore`; `POST
//! /_sim/groups` `{displayName}` → `{id}`; `DELETE /_sim/groups/{id|name}`; `PUT`/`DELETE
//! /_sim/groups/{id|name}/members/{id|upn}`; `PUT /_sim/visibility` `{delay_ms}`; `PUT
//! /_sim/rate-limit` `{per_10s}`; `POST /_sim/expire-delta-tokens`; `POST
//! /_sim/expire-tokens`; and the shared `GET`/`PUT /_sim/faults`, `GET /_sim/requests`,
//! `GET /_sim/calls`, `POST /_sim/reset-counters`.
//!
//! # Guesses
//! - 410 for every token the tenant does not honour (expired, revoked, malformed, from
//!   another run); Graph documents both 410 + `Location` and a 4xx `syncStateNotFound`.
//! - A round's end is fixed when it starts (changes after it go to the next round); objects
//!   are listed in their current state, each once per round, ordered by their last change.
//!   The initial round lists live objects only. Replays are not injected.
//! - Replication lag is one delay for all changes (`visibility_delay_ms`); a change is in a
//!   round only once it and every earlier change are visible.
//! - Only changes to selected properties bring a user back (Graph's rule); a group without
//!   `members` in `$select` gets no `members@delta`; `$select` names not known are served
//!   as `null`. Default group properties without `$select`: displayName, description,
//!   mailEnabled, securityEnabled. An updated group item repeats all selected properties.
//! - A deleted user leaves every group: its groups report it removed in `members@delta`.
//!   A restored user does not regain its memberships.
//! - Tokens are opaque (not JWTs whose `roles` a client could read); certificate
//!   credentials (`client_assertion`) are not simulated; every app has the configured roles.
//! - Listings read the current state, not the replicated one, and a deleted user is absent
//!   from them (Graph lists soft-deleted users only under `directory/deletedItems`);
//!   `$filter`, `$orderby`, `$search` and `$expand` are refused on them (Graph accepts some).
//! - Injected 429s and 503s always carry `Retry-After` (`retry_after_secs`); 500 bodies are
//!   `generalException`, 502 empty.

mod api;
mod config;
mod control;
mod delta;
mod error;
mod list;
mod world;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_list;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};

pub use api::GRAPH_DEFAULT_SCOPE;
pub use config::{EntraArgs, EntraConfig};

use crate::shared::{Core, Provider, control as shared_control, pipeline};
use error::{GraphError, Throttle};
use world::World;

/// A running Entra simulator. Cheap to clone.
#[derive(Clone)]
pub struct Simulator {
    inner: Arc<Inner>,
}

struct Inner {
    config: EntraConfig,
    core: Core,
    state: Mutex<State>,
}

struct State {
    world: World,
    /// Access token → expiry.
    tokens: BTreeMap<String, DateTime<Utc>>,
    throttle: Throttle,
    /// Delta tokens issued before this are revoked.
    tokens_valid_from_ms: i64,
    /// Distinguishes this run's tokens from another's.
    nonce: u64,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("entra::Simulator").finish_non_exhaustive()
    }
}

impl Simulator {
    pub fn new(config: EntraConfig) -> Self {
        let mut world = World::new(config.seed, config.visibility_delay_ms);
        let now = Utc::now();
        let mut groups = Vec::new();
        for g in 1..=config.generate_groups {
            let mut props = serde_json::Map::new();
            props.insert("displayName".into(), format!("Group {g}").into());
            groups.extend(world.create_group(props, now).ok());
        }
        for i in 1..=config.generate_users {
            let mut props = serde_json::Map::new();
            props.insert(
                "userPrincipalName".into(),
                format!("user{i}@example.com").into(),
            );
            props.insert("displayName".into(), format!("User {i}").into());
            if let (Ok(id), Some(group)) = (
                world.create_user(props, now),
                groups.get(i % groups.len().max(1)),
            ) {
                let _ = world.set_member(group, &id, true, now);
            }
        }
        let core = Core::new(config.faults.clone(), config.seed.wrapping_add(1));
        let throttle = Throttle::new(config.rate_limit_per_10s);
        Self {
            inner: Arc::new(Inner {
                config,
                core,
                state: Mutex::new(State {
                    world,
                    tokens: BTreeMap::new(),
                    throttle,
                    tokens_valid_from_ms: 0,
                    nonce: fastrand::u64(..),
                }),
            }),
        }
    }

    /// The routes: the API (counted, throttled, faulted) and `/_sim/*`.
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
            .fallback(|| async {
                GraphError::new(
                    StatusCode::NOT_FOUND,
                    "Request_ResourceNotFound",
                    "Resource not found.",
                )
            })
            .with_state(self.clone())
    }

    pub fn config(&self) -> &EntraConfig {
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
        let secs = retry_after_secs.unwrap_or_else(|| self.core().faults().retry_after_secs);
        GraphError::throttled(secs.max(1)).into_response()
    }

    fn server_error(&self, status: StatusCode, _empty_body: bool) -> Response {
        match status {
            StatusCode::SERVICE_UNAVAILABLE => GraphError {
                headers: vec![(
                    "retry-after",
                    self.core().faults().retry_after_secs.to_string(),
                )],
                ..GraphError::new(
                    status,
                    "serviceNotAvailable",
                    "The service is temporarily unavailable.",
                )
            }
            .into_response(),
            StatusCode::BAD_GATEWAY => status.into_response(),
            _ => GraphError::new(status, "generalException", "An unexpected error occurred.")
                .into_response(),
        }
    }

    fn admit(&self, route: &str) -> Result<HeaderMap, Box<Response>> {
        if route.contains("/oauth2/") {
            return Ok(HeaderMap::new());
        }
        self.lock().throttle.take(Utc::now().timestamp_millis())
    }
}

/// `domo-group-sync entra-sim`: serves until Ctrl-C or SIGTERM.
pub async fn run(args: EntraArgs) -> anyhow::Result<()> {
    let config = EntraConfig::from_args(&args)?;
    let listen = config.listen;
    let sim = Simulator::new(config);
    crate::shared::run_until_signal("entra-sim", listen, sim.router(), |addr| {
        format!(
            "entra-sim listening on http://{addr} (token URL http://{addr}/{}/oauth2/v2.0/token, client id {:?}); state at http://{addr}/_sim/state",
            args.tenant_id, args.client_id
        )
    })
    .await
}

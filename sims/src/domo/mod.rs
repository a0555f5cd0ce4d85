//! The Domo simulator (`domo-group-sync domo-sim`): a stateful stand-in for the Domo
//! Platform API endpoints the service calls, built from `reference/domo-api.md`. The
//! end-to-end tests run the real service against it over real TCP; users run it to try the
//! service without a Domo account. It owns its own wire types and shares none with the Domo
//! client (`crate::domo`), so that a misunderstanding in one is not copied into the other.
//!
//! Surface:
//! - `GET`/`POST /oauth/token`: client credentials (HTTP Basic; `grant_type`, `scope` from the
//!   query or a form body); JWT-shaped tokens whose payload has `exp`.
//! - `/v1/groups…` and `/v1/users…` as in the reference §3–§4: bare-array lists with
//!   `limit`/`offset` (default 50, max 500), 201/204 statuses, per-endpoint field subsets,
//!   lenient bodies (unknown keys ignored, `"true"`/`"false"` strings), trailing slashes.
//! - Faults on `/oauth/token` and `/v1/*` only: latency, 429 (± `Retry-After`), 500/502/503
//!   (some with empty bodies) and dropped connections; a faulted request changes nothing.
//! - Control endpoints (no auth, no faults, not counted): `GET /_sim/state`, `GET`/`PUT
//!   /_sim/faults`, `POST /_sim/users`, `POST /_sim/groups`, `PUT`/`DELETE
//!   /_sim/groups/{g}/users/{u}`, `POST /_sim/expire-tokens`, `GET /_sim/requests`,
//!   `POST /_sim/reset-counters`.
//!
//! Module map: `config` (CLI args), `world` + `model` (the instance and its rules), `auth`
//! (tokens), `groups`, `users`, `control` (handlers), `pipeline` (counting and faults),
//! `faults`, `net` (killable connections), `state` (shared state and snapshots), `params`
//! (lenient parsing), `error` (Domo's error bodies).
//!
//! # Guesses
//!
//! Where the reference says [UNK] or [INF], the simulator does this:
//! - Token endpoint: wrong or missing client credentials → 401
//!   `{"error":"unauthorized","error_description":"Bad credentials"}` (or "Full authentication
//!   is required…" when absent); missing `grant_type` → 400 `invalid_request`; another grant →
//!   400 `unsupported_grant_type`; a scope the client lacks → 400 `invalid_scope`. Form body
//!   parameters win over query parameters. `expires_in` is exactly the configured TTL.
//!   `customer` is `domo-sim`, `role` is `Admin`. Tokens issued before
//!   `POST /_sim/expire-tokens` stay expired; new ones work.
//! - Expired token → 401 `{"error":"invalid_token","error_description":"Access token expired"}`;
//!   an unknown token → 401 `invalid_token` "Cannot convert access token to JSON" [OBS text].
//!   The missing-header 401 uses the observed bedrock body with `statusReason` "Internal
//!   Server Error" and `path`. 401s carry `WWW-Authenticate`.
//! - The API client acts as a real Admin user (`api-owner@example.com`, "API Client Owner"),
//!   created first and listed by `GET /v1/users`; it is a member of every group it creates
//!   [INF], with `creatorId` set to it.
//! - Ids: random integers from 100000000 to 2147483647 drawn from the seed (default
//!   `0x5EEDD0D0`), unique across groups and users. Lists are in creation order; group
//!   members are listed by ascending user id.
//! - `limit` above 500 is clamped to 500 (the cap "silently truncates", reference §5);
//!   `limit` < 1, a negative `offset` or a non-integer value → 400 bedrock; an empty value
//!   takes the default; an offset past the end gives `[]`.
//! - Group names are unique case-insensitively and trimmed; a duplicate on create or rename
//!   → 400 bedrock; an empty name → 400. `PUT /v1/groups/{id}` answers 200 with
//!   `{id, name, active, default, memberCount}`. `default` may be set on create and update;
//!   new users join every group flagged `default`.
//! - `DELETE /v1/groups/{id}` on a group with members → 400; on a default group → 400.
//! - `PUT /v1/groups/{g}/users/{u}`: unknown group or user → 404 (group checked first);
//!   deleted user → 400; inactive group → 400; already a member → 204. Any body is ignored.
//! - `DELETE /v1/groups/{g}/users/{u}`: not a member → 204; unknown group or user → 404;
//!   removing a member of the default group → 400 (hand edits through `/_sim` may).
//! - Non-numeric ids in paths → 400 bedrock; unknown paths → 404 bedrock with `path`; a
//!   known path with another method → 405 bedrock; invalid JSON → 400 bedrock; an empty body
//!   counts as `{}`. `isActive` (the Java SDK's key) is read as `active`.
//! - Hand edits (`/_sim/*`) act like an admin in the Domo UI: hand-made groups have no
//!   creator and no members, members may be added to inactive groups and removed from the
//!   default group; `POST /_sim/users` creates all of its users or none.
//! - Users: `role` must be one of Admin, Privileged, Editor, Participant, Social (exact
//!   case) else 400; email needs an `@` and is unique case-insensitively; duplicate → 400
//!   unless that user is deleted, in which case they are revived with the same id, new
//!   name/role, and rejoin the default group (reference §4.4, rdomo). `sendInvite` must be
//!   `true`/`false` in any case (or absent); no email is sent.
//! - Deleted users leave every group, are left out of `GET /v1/users`, cannot be added to
//!   groups, and `GET /v1/users/{id}` shows `{id, email, name, role, deleted: true}`.
//!   Deleting a deleted user is a 204. `roleId` is the role's position in the list above,
//!   as a string ("1" for Admin, as in the sample).
//! - Faults: per request, latency first (`latency_ms` + uniform 0..=`latency_jitter_ms`), then
//!   at most one fault, checked in the order drop, 429, 5xx. 5xx statuses are uniform over
//!   500/502/503; 502 always has an empty body, 500 and 503 half of the time (else bedrock).
//!   The 429 body is bedrock. `drop_rate` closes the TCP connection with no bytes written.
//!   `drop_after_write_rate` (writes only: `POST /v1/groups`, `PUT`/`DELETE
//!   /v1/groups/{g}/users/{u}`) applies the write, then closes the connection before any
//!   byte of the answer, drawn after the 5xx; the request log shows status 0 and the
//!   `applied_status`, and the call counts it as `ok` when that status was a 2xx.
//!   `omit_user_groups` leaves `groups` out of `GET /v1/users/{id}` [guess: a field Domo
//!   documents but that a tenant's answer may lack].
//!   No real rate limit is enforced and no `X-RateLimit-*` headers are sent [3P only]: 429s
//!   come from `rate_429` alone. On the command line `--retry-after-share` defaults to 0.5
//!   and `--retry-after-secs` to 1; `Faults::default()` (tests, `PUT /_sim/faults`) is all 0.
//! - Not simulated (the service does not call them): `PUT /v1/users/{id}`,
//!   `POST /v1/users/bulk/emails`, other scopes' APIs.
//! - Counting: every `/oauth/token` and `/v1/*` request is counted on arrival under
//!   `"<METHOD> <template>"` (path parameters named `{id}`, trailing slash removed), and
//!   `ok` when answered 2xx; unknown paths count as `"<METHOD> (unmatched)"`. `/_sim/*` is
//!   not counted. `reset-counters` also clears the request log and `tokens_issued`.

mod auth;
mod config;
mod control;
mod demo;
mod error;
mod faults;
mod groups;
mod model;
mod params;
mod pipeline;
mod state;
mod users;
mod world;

#[cfg(test)]
mod tests;

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use axum::Router;
use axum::routing::MethodRouter;

pub use config::{DEFAULT_SEED, SeedUser, SimArgs, SimConfig};
pub use demo::{DEMO_USERS, Demo};
pub use error::SimError;
pub use faults::Faults;
pub use state::{CallCount, RequestRecord, SimGroup, SimState, SimUser};

use crate::shared::net::{ConnKill, SimListener};
use crate::shared::shutdown_signal;
use auth::{Grant, Tokens};
use state::Shared;
use world::World;

/// A running simulator's shared state. Cheap to clone: every clone sees the same instance.
#[derive(Clone)]
pub struct Simulator {
    inner: Arc<Inner>,
}

struct Inner {
    config: SimConfig,
    started: Instant,
    state: Mutex<Shared>,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field("client_id", &self.inner.config.client_id)
            .finish_non_exhaustive()
    }
}

impl Simulator {
    /// A fresh instance: the default group, the API client's user and the configured users.
    pub fn new(config: SimConfig) -> Self {
        let world = World::new(config.seed, &config.owner_email, &config.users);
        // Independent generators per concern, so that faults and tokens never shift ids.
        let shared = Shared {
            world,
            tokens: Tokens::new(config.seed.wrapping_add(1)),
            faults: config.faults.clone(),
            fault_rng: fastrand::Rng::with_seed(config.seed.wrapping_add(2)),
            calls: Default::default(),
            requests: Default::default(),
            tokens_issued: 0,
        };
        Self {
            inner: Arc::new(Inner {
                config,
                started: Instant::now(),
                state: Mutex::new(shared),
            }),
        }
    }

    /// The HTTP routes: the API (with counting and faults) and `/_sim/*` (without).
    pub fn router(&self) -> Router {
        let mut api = Router::new();
        let token = axum::routing::get(auth::issue_token).post(auth::issue_token);
        for (path, handlers) in [("/oauth/token", token)]
            .into_iter()
            .chain(groups::routes())
            .chain(users::routes())
        {
            api = with_trailing_slash(api, path, handlers);
        }
        // `route_layer` runs only for matched routes, so the layer sees `MatchedPath`.
        let api = api.route_layer(axum::middleware::from_fn_with_state(
            self.clone(),
            pipeline::around_api,
        ));
        let mut control = Router::new();
        for (path, handlers) in control::routes() {
            control = with_trailing_slash(control, path, handlers);
        }
        // Caution: `method_not_allowed_fallback` only reaches routes added before it.
        api.merge(control)
            .method_not_allowed_fallback(pipeline::method_not_allowed)
            .fallback(pipeline::unmatched)
            .with_state(self.clone())
    }

    /// Serves on `listener` until `shutdown` completes, then drains open connections.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let app = self
            .router()
            .into_make_service_with_connect_info::<ConnKill>();
        axum::serve(SimListener::new(listener), app)
            .with_graceful_shutdown(shutdown)
            .await
    }

    /// The state, as `GET /_sim/state` shows it.
    pub fn snapshot(&self) -> SimState {
        self.lock().snapshot()
    }

    /// Replaces the faults in force.
    pub fn set_faults(&self, faults: Faults) {
        self.lock().faults = faults;
    }

    /// The faults in force.
    pub fn faults(&self) -> Faults {
        self.lock().faults.clone()
    }

    /// The request log, oldest first (as `GET /_sim/requests`).
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.lock().requests.iter().cloned().collect()
    }

    /// Makes every issued token expire now; returns how many were live.
    pub fn expire_tokens(&self) -> usize {
        self.lock().tokens.expire_all(Instant::now())
    }

    /// The id of the Domo user the API client acts as (`userId` of its tokens).
    pub fn owner_id(&self) -> u64 {
        self.lock().world.owner_id()
    }

    pub fn config(&self) -> &SimConfig {
        &self.inner.config
    }

    /// Locks the shared state. A poisoned lock is taken over: every change to `Shared` is
    /// made in one step, so a panic elsewhere cannot leave it half-changed.
    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.inner.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn issue_token(&self, scopes: &[String]) -> (Grant, u64) {
        let mut state = self.lock();
        let user_id = state.world.owner_id();
        let ttl = self.inner.config.token_ttl_secs;
        let grant = state.tokens.issue(Instant::now(), ttl, scopes, user_id);
        state.tokens_issued += 1;
        (grant, user_id)
    }

    fn record(&self, key: &str, record: RequestRecord) {
        self.lock().record_outcome(key, record);
    }
}

/// Registers `path` and `path/` with the same handlers (pydomo calls `/v1/groups/`).
fn with_trailing_slash(
    router: Router<Simulator>,
    path: &str,
    handlers: MethodRouter<Simulator>,
) -> Router<Simulator> {
    router
        .route(path, handlers.clone())
        .route(&format!("{path}/"), handlers)
}

/// `domo-group-sync domo-sim`: binds, prints the address, serves until Ctrl-C or SIGTERM.
pub async fn run(args: SimArgs) -> anyhow::Result<()> {
    let config = SimConfig::from_args(&args)?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| anyhow::anyhow!("binding {}: {e}", config.listen))?;
    let addr = listener.local_addr()?;
    let simulator = Simulator::new(config);
    let users = simulator.snapshot().users.len();
    println!(
        "domo-sim listening on http://{addr} (client id {:?}, {users} users); state at http://{addr}/_sim/state",
        simulator.config().client_id
    );
    tracing::info!(%addr, "domo-sim listening");
    simulator.serve(listener, shutdown_signal()).await?;
    Ok(())
}

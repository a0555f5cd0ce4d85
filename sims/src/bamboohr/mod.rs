//! The BambooHR simulator (`domo-group-sync bamboohr-sim`): a stateful stand-in for the
//! BambooHR API the service's pull connector reads, built from `reference/backfill.md` §4.
//!
//! # Routes (under `/api/gateway.php/{company}/v1`; HTTP Basic, the API key as user, any password)
//! - `GET …/employees/changed?since=<ISO 8601>[&type=inserted|updated|deleted]` →
//!   `{latest, employees: {"<id>": {id, action: "Inserted"|"Updated"|"Deleted", lastChanged}}}`,
//!   one entry per employee (its last change after `since`); `since` missing or bad → 400.
//! - `GET …/employees/directory` → `{fields: [...], employees: [...]}`, Active employees only;
//!   403 when sharing is off (`PUT /_sim/directory {enabled: false}`), 404 when empty.
//! - `GET …/employees/{id}?fields=a,b` → `{id, <fields>}` (any employee, Inactive too); 404.
//! - Employee fields: `firstName, lastName, displayName, workEmail, status (Active|Inactive),
//!   employmentHistoryStatus, hireDate, terminationDate, department, division, location,
//!   jobTitle`.
//! - Errors: status with the message in `X-BambooHR-Error-Message` and an empty body. Bad or
//!   missing key → 401; after 5 bad keys the company answers 403 for 60 s. Unknown company
//!   → 404. Throttling and injected 429s are 503 with `Retry-After` (as integrators report).
//!
//! # Control (`/_sim`, no auth, no faults, not counted)
//! `GET /_sim/state`; `POST /_sim/employees` `{firstName, lastName, workEmail, …fields}` →
//! 201 `{id}` (logs Inserted); `PATCH /_sim/employees/{id}` `{fields}` (Updated;
//! `{"status": "Inactive", "terminationDate": "2026-12-01"}` offboards); `DELETE
//! /_sim/employees/{id}` (Deleted); each takes `"at"` (ISO 8601) to back-date the change;
//! `PUT /_sim/directory` `{enabled}`; and the shared `/_sim/faults`, `/_sim/requests`,
//! `/_sim/calls`, `/_sim/reset-counters`.
//!
//! # Guesses
//! - JSON only (the real API answers XML unless `Accept: application/json`).
//! - `lastChanged` and `latest` are whole seconds, `+00:00` offsets; `since` is exclusive.
//! - A deleted employee keeps only its `Deleted` entry; `type` filters by the last action.
//! - The directory's field list is fixed; rate limits are unpublished, so `--rate-limit` is a
//!   fixed 60 s window answered 503 + `Retry-After`.

mod api;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::shared::faults::{FaultArgs, Faults};
use crate::shared::{Core, Provider, control as shared_control, pipeline};

/// Arguments of the `bamboohr-sim` subcommand.
#[derive(Debug, Clone, clap::Args)]
pub struct BambooArgs {
    /// Address to listen on.
    #[arg(long, env = "BAMBOOHR_SIM_LISTEN", default_value = "127.0.0.1:8094")]
    pub listen: SocketAddr,
    /// The company subdomain in `/api/gateway.php/{company}/v1`.
    #[arg(long, default_value = "simco")]
    pub company: String,
    /// The API key (the Basic auth user name).
    #[arg(long, env = "BAMBOOHR_SIM_API_KEY", default_value = "sim-bamboo-key")]
    pub api_key: String,
    /// Requests per 60 s (0: unlimited).
    #[arg(long, default_value_t = 0)]
    pub rate_limit: u64,
    #[arg(long)]
    pub seed: Option<u64>,
    #[command(flatten)]
    pub faults: FaultArgs,
}

/// What a BambooHR [`Simulator`] is built from.
#[derive(Debug, Clone)]
pub struct BambooConfig {
    pub company: String,
    pub api_key: String,
    pub rate_limit: u64,
    pub seed: u64,
    pub faults: Faults,
}

impl Default for BambooConfig {
    fn default() -> Self {
        Self {
            company: "simco".to_owned(),
            api_key: "sim-bamboo-key".to_owned(),
            rate_limit: 0,
            seed: 0xBA3B_0000,
            faults: Faults::default(),
        }
    }
}

/// One change: employee, action, when.
#[derive(Debug, Clone)]
pub struct Change {
    pub id: u64,
    pub action: &'static str,
    pub at: DateTime<Utc>,
}

struct State {
    employees: BTreeMap<u64, Map<String, Value>>,
    changes: Vec<Change>,
    next_id: u64,
    directory_enabled: bool,
    bad_keys: (u32, Option<DateTime<Utc>>),
    window: (i64, u64),
}

/// A running BambooHR simulator.
#[derive(Clone)]
pub struct Simulator {
    inner: Arc<(BambooConfig, Core, Mutex<State>)>,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("bamboohr::Simulator")
            .finish_non_exhaustive()
    }
}

/// A BambooHR error: the status and `X-BambooHR-Error-Message`.
pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    let mut response = status.into_response();
    if let Ok(v) = HeaderValue::from_str(message) {
        response.headers_mut().insert("x-bamboohr-error-message", v);
    }
    response
}

impl Simulator {
    pub fn new(config: BambooConfig) -> Self {
        let core = Core::new(config.faults.clone(), config.seed);
        let state = State {
            employees: BTreeMap::new(),
            changes: Vec::new(),
            next_id: 100,
            directory_enabled: true,
            bad_keys: (0, None),
            window: (0, 0),
        };
        Self {
            inner: Arc::new((config, core, Mutex::new(state))),
        }
    }

    pub fn router(&self) -> Router {
        let api = api::routes().route_layer(axum::middleware::from_fn_with_state(
            self.clone(),
            pipeline::around_api::<Self>,
        ));
        api.merge(shared_control::routes::<Self>())
            .merge(api::control_routes())
            .fallback(|| async { error(StatusCode::NOT_FOUND, "Not found") })
            .with_state(self.clone())
    }

    pub fn config(&self) -> &BambooConfig {
        &self.inner.0
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner.2.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Provider for Simulator {
    fn core(&self) -> &Core {
        &self.inner.1
    }

    fn too_many_requests(&self, _route: &str, retry_after_secs: Option<u64>) -> Response {
        let mut response = error(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable");
        if let Some(secs) = retry_after_secs {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }

    fn server_error(&self, status: StatusCode, empty_body: bool) -> Response {
        let _ = empty_body;
        error(status, "Internal Server Error")
    }

    fn admit(&self, route: &str) -> Result<HeaderMap, Box<Response>> {
        let limit = self.config().rate_limit;
        if limit == 0 {
            return Ok(HeaderMap::new());
        }
        let now = Utc::now().timestamp();
        let mut state = self.lock();
        if state.window.0 != now.div_euclid(60) {
            state.window = (now.div_euclid(60), 0);
        }
        if state.window.1 >= limit {
            let wait = u64::try_from((now.div_euclid(60) + 1) * 60 - now)
                .unwrap_or(1)
                .max(1);
            return Err(Box::new(self.too_many_requests(route, Some(wait))));
        }
        state.window.1 += 1;
        Ok(HeaderMap::new())
    }
}

/// `domo-group-sync bamboohr-sim`: serves until Ctrl-C or SIGTERM.
pub async fn run(args: BambooArgs) -> anyhow::Result<()> {
    let config = BambooConfig {
        company: args.company.clone(),
        api_key: args.api_key.clone(),
        rate_limit: args.rate_limit,
        seed: args.seed.unwrap_or(0xBA3B_0000),
        faults: args.faults.faults()?,
    };
    let router = Simulator::new(config).router();
    crate::shared::run_until_signal("bamboohr-sim", args.listen, router, |addr| {
        format!(
            "bamboohr-sim listening on http://{addr}/api/gateway.php/{}/v1 (API key {:?})",
            args.company, args.api_key
        )
    })
    .await
}

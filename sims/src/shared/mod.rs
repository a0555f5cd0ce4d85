//! What every simulator shares: the killable connections (`net`), the fault draw (`faults`),
//! the API middleware that counts, logs, rate-limits and faults requests (`pipeline`), the
//! common control endpoints (`control`), and serving until a shutdown signal.
//!
//! A simulator is a [`Provider`]: it owns a [`Core`] (faults, counters, request log) and says
//! how its provider answers a 429 or a 5xx, and whether a request is within its rate limit.

pub mod control;
pub mod faults;
pub mod net;
pub mod pipeline;

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde::{Deserialize, Serialize};

use faults::Faults;
use net::{ConnKill, SimListener};

/// How many request records a simulator keeps; older ones are dropped first.
pub const REQUEST_LOG_CAPACITY: usize = 100_000;

/// One simulated provider, as the shared middleware and control endpoints see it.
pub trait Provider: Clone + Send + Sync + 'static {
    /// The faults, counters and request log.
    fn core(&self) -> &Core;
    /// The provider's answer to an injected 429.
    fn too_many_requests(&self, route: &str, retry_after_secs: Option<u64>) -> Response;
    /// The provider's answer to an injected 500, 502 or 503.
    fn server_error(&self, status: StatusCode, empty_body: bool) -> Response;
    /// The provider's own rate limit for one request to `route` (`"<METHOD> <template>"`):
    /// `Ok` with the headers to add to the answer, or `Err` with its 429. Default: no limit.
    fn admit(&self, route: &str) -> Result<HeaderMap, Box<Response>> {
        let _ = route;
        Ok(HeaderMap::new())
    }
}

/// Faults in force, call counters and the request log of one simulator.
#[derive(Debug)]
pub struct Core {
    started: Instant,
    state: Mutex<CoreState>,
}

/// The mutable part of a [`Core`].
#[derive(Debug)]
pub struct CoreState {
    /// Faults in force.
    pub faults: Faults,
    /// Generator for fault draws only, so that faults never shift a simulator's ids.
    pub fault_rng: fastrand::Rng,
    /// Per-route counters, keyed `"<METHOD> <route template>"`.
    pub calls: BTreeMap<String, CallCount>,
    /// The most recent API requests, oldest first.
    pub requests: VecDeque<ApiRequest>,
}

impl Core {
    /// A core with these faults; `seed` drives the fault draws.
    pub fn new(faults: Faults, seed: u64) -> Self {
        Self {
            started: Instant::now(),
            state: Mutex::new(CoreState {
                faults,
                fault_rng: fastrand::Rng::with_seed(seed),
                calls: BTreeMap::new(),
                requests: VecDeque::new(),
            }),
        }
    }

    /// Locks the state; a poisoned lock is taken over (every change is made in one step).
    pub fn lock(&self) -> MutexGuard<'_, CoreState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Milliseconds since the simulator started.
    pub fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// The faults in force.
    pub fn faults(&self) -> Faults {
        self.lock().faults.clone()
    }

    /// Replaces the faults in force.
    pub fn set_faults(&self, faults: Faults) {
        self.lock().faults = faults;
    }

    /// The request log, oldest first.
    pub fn requests(&self) -> Vec<ApiRequest> {
        self.lock().requests.iter().cloned().collect()
    }

    /// The call counters.
    pub fn calls(&self) -> BTreeMap<String, CallCount> {
        self.lock().calls.clone()
    }

    /// The counters of one `"<METHOD> <template>"` key, zero when never called.
    pub fn calls_to(&self, key: &str) -> CallCount {
        self.lock().calls.get(key).copied().unwrap_or_default()
    }

    /// Clears the counters and the request log.
    pub fn reset_counters(&self) {
        let mut state = self.lock();
        state.calls.clear();
        state.requests.clear();
    }

    fn record(&self, key: &str, record: ApiRequest) {
        let mut state = self.lock();
        if (200..300).contains(&record.status) {
            state.calls.entry(key.to_owned()).or_default().ok += 1;
        }
        if state.requests.len() >= REQUEST_LOG_CAPACITY {
            state.requests.pop_front();
        }
        state.requests.push_back(record);
    }
}

/// Counters of one route.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallCount {
    /// Requests received, faulted ones included.
    pub total: u64,
    /// Requests that succeeded: answered with a 2xx status, or (Domo) applied with a 2xx
    /// outcome and then dropped before the answer (`drop_after_write_rate`).
    pub ok: u64,
}

/// One API request in a provider simulator's log (`GET /_sim/requests`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiRequest {
    /// Arrival, in milliseconds since the simulator started.
    pub at_ms: u64,
    /// When the answer was sent (or the connection dropped), same clock.
    pub done_ms: u64,
    /// HTTP method.
    pub method: String,
    /// Route template with path parameters named `{id}`, or `(unmatched)`.
    pub route: String,
    /// The path and query as sent (the APIs simulated carry no secret in the query).
    pub target: String,
    /// The `Authorization` scheme used (`SSWS`, `Bearer`, `Basic`), never the credential.
    pub auth_scheme: Option<String>,
    /// Answer status; 0 when the connection was dropped without an answer.
    pub status: u16,
    /// The `Retry-After` seconds sent, if any.
    pub retry_after_secs: Option<u64>,
}

/// `http://{Host}`: the simulator's own address as the client reached it, for the links a
/// provider puts in its answers (Okta's `Link`, Graph's `@odata.nextLink`).
pub fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}")
}

/// Serves `router` on `listener` with killable connections until `shutdown` completes.
pub async fn serve(
    router: Router,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router.into_make_service_with_connect_info::<ConnKill>();
    axum::serve(SimListener::new(listener), app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Binds `listen` with an error that names the address.
pub async fn bind(listen: SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("binding {listen}: {e}"))
}

/// The `*-sim` subcommands: binds, prints `banner` with the address, serves until Ctrl-C or
/// SIGTERM.
pub async fn run_until_signal(
    name: &str,
    listen: SocketAddr,
    router: Router,
    banner: impl FnOnce(SocketAddr) -> String,
) -> anyhow::Result<()> {
    let listener = bind(listen).await?;
    let addr = listener.local_addr()?;
    println!("{}", banner(addr));
    tracing::info!(%addr, "{name} listening");
    serve(router, listener, shutdown_signal()).await?;
    Ok(())
}

/// Completes on Ctrl-C, or SIGTERM on Unix.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

#[cfg(test)]
pub mod testing;

//! The layer every API request (`/oauth/token`, `/v1/*`) passes through, in this order:
//! count the arrival, draw the faults, wait the latency, then either fault (drop, 429, 5xx)
//! or run the handler (and, for a write drawn to be dropped after it, drop the connection
//! instead of answering), and finally record the outcome. Control endpoints (`/_sim/*`) never
//! pass through it.

use axum::extract::connect_info::ConnectInfo;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::Simulator;
use super::error::SimError;
use super::faults::{self, FaultAction};
use super::state::RequestRecord;
use crate::shared::net::ConnKill;
use crate::shared::pipeline::{drop_connection, normalize_template, route_key};

/// Route name used for requests that match no route.
pub const UNMATCHED: &str = "(unmatched)";

/// The API middleware (installed with `route_layer`, so it sees the matched route).
pub async fn around_api(State(sim): State<Simulator>, request: Request, next: Next) -> Response {
    let template = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED, MatchedPath::as_str);
    let route = normalize_template(template);
    let method = request.method().clone();
    let key = route_key(&method, &route);

    let at_ms = sim.elapsed_ms();
    let plan = {
        let mut guard = sim.lock();
        let state = &mut *guard;
        state.count_arrival(&key);
        state.faults.draw(&mut state.fault_rng)
    };
    if !plan.delay.is_zero() {
        tokio::time::sleep(plan.delay).await;
    }

    let mut applied_status = None;
    let (response, status) = match plan.action {
        FaultAction::DropAfterWrite if faults::is_write(&key) => {
            let kill = request.extensions().get::<ConnectInfo<ConnKill>>().cloned();
            let response = next.run(request).await;
            applied_status = Some(response.status().as_u16());
            match kill {
                Some(ConnectInfo(kill)) => kill.kill(),
                None => std::panic::resume_unwind(Box::new(())),
            }
            (StatusCode::INTERNAL_SERVER_ERROR.into_response(), 0)
        }
        FaultAction::None | FaultAction::DropAfterWrite => {
            let response = next.run(request).await;
            let status = response.status().as_u16();
            (response, status)
        }
        FaultAction::Drop => {
            drop_connection(&request);
            (StatusCode::INTERNAL_SERVER_ERROR.into_response(), 0)
        }
        FaultAction::TooManyRequests { retry_after_secs } => {
            let response = faults::too_many_requests(retry_after_secs);
            (response, StatusCode::TOO_MANY_REQUESTS.as_u16())
        }
        FaultAction::ServerError { status, empty_body } => {
            (faults::server_error(status, empty_body), status.as_u16())
        }
    };
    let retry_after_secs = response
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    sim.record(
        &key,
        RequestRecord {
            at_ms,
            done_ms: sim.elapsed_ms(),
            method: method.to_string(),
            route,
            status,
            retry_after_secs,
            applied_status,
        },
    );
    response
}

/// Answer to a request that matches no route: a 404 bedrock body. Counted and logged under
/// `"<METHOD> (unmatched)"`, but never faulted.
pub async fn unmatched(State(sim): State<Simulator>, method: Method, uri: Uri) -> Response {
    let key = route_key(&method, UNMATCHED);
    let at_ms = sim.elapsed_ms();
    sim.lock().count_arrival(&key);
    let error = SimError::Bedrock {
        status: StatusCode::NOT_FOUND,
        reason: "Not Found".to_owned(),
        message: "No handler found".to_owned(),
        path: Some(uri.path().to_owned()),
    };
    sim.record(
        &key,
        RequestRecord {
            at_ms,
            done_ms: sim.elapsed_ms(),
            method: method.to_string(),
            route: UNMATCHED.to_owned(),
            status: error.status().as_u16(),
            retry_after_secs: None,
            applied_status: None,
        },
    );
    error.into_response()
}

/// Answer to a known path with a method it does not serve: a 405 bedrock body (not counted).
pub async fn method_not_allowed(uri: Uri) -> SimError {
    SimError::Bedrock {
        status: StatusCode::METHOD_NOT_ALLOWED,
        reason: "Method Not Allowed".to_owned(),
        message: "Request method not supported".to_owned(),
        path: Some(uri.path().to_owned()),
    }
}

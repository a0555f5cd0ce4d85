//! The layer every provider API request passes through, in this order: count the arrival,
//! draw the faults, wait the latency, apply the provider's own rate limit, then either fault
//! (drop, 429, 5xx) or run the handler, add the provider's rate-limit headers, and record the
//! outcome. Control endpoints (`/_sim/*`) never pass through it.

use axum::extract::connect_info::ConnectInfo;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::faults::FaultAction;
use super::net::ConnKill;
use super::{ApiRequest, Provider};

/// Route name used for requests that match no route.
pub const UNMATCHED: &str = "(unmatched)";

/// The API middleware, installed with `route_layer` so that it sees the matched route.
pub async fn around_api<S: Provider>(
    State(sim): State<S>,
    request: Request,
    next: Next,
) -> Response {
    let template = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED, MatchedPath::as_str);
    let route = normalize_template(template);
    let method = request.method().clone();
    let key = route_key(&method, &route);
    let target = request
        .uri()
        .path_and_query()
        .map_or_else(|| request.uri().path().to_owned(), ToString::to_string);
    let auth_scheme = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_whitespace().next())
        .map(str::to_owned);

    let core = sim.core();
    let at_ms = core.elapsed_ms();
    let plan = {
        let mut guard = core.lock();
        let state = &mut *guard;
        let count = state.calls.entry(key.clone()).or_default();
        count.total += 1;
        let call = count.total;
        let mut plan = state.faults.draw(&mut state.fault_rng);
        if state.faults.fails_call(&key, call) {
            plan.action = FaultAction::ServerError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                empty_body: false,
            };
        }
        plan
    };
    if !plan.delay.is_zero() {
        tokio::time::sleep(plan.delay).await;
    }

    let response = match (plan.action, sim.admit(&key)) {
        (FaultAction::Drop, _) => {
            drop_connection(&request);
            None
        }
        (_, Err(limited)) => Some(*limited),
        (FaultAction::TooManyRequests { retry_after_secs }, Ok(_)) => {
            Some(sim.too_many_requests(&key, retry_after_secs))
        }
        (FaultAction::ServerError { status, empty_body }, Ok(_)) => {
            Some(sim.server_error(status, empty_body))
        }
        // The identity-provider simulators have no writes of the service's: no fault there.
        (FaultAction::None | FaultAction::DropAfterWrite, Ok(headers)) => {
            let mut response = next.run(request).await;
            response.headers_mut().extend(headers);
            Some(response)
        }
    };
    let status = response.as_ref().map_or(0, |r| r.status().as_u16());
    let retry_after_secs = response
        .as_ref()
        .and_then(|r| r.headers().get(header::RETRY_AFTER))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    core.record(
        &key,
        ApiRequest {
            at_ms,
            done_ms: core.elapsed_ms(),
            method: method.to_string(),
            route,
            target,
            auth_scheme,
            status,
            retry_after_secs,
        },
    );
    response.unwrap_or_else(|| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// Throws the connection's kill switch. Served without [`SimListener`](super::net::SimListener)
/// (for example the bare router under another server) there is no switch, and the handler
/// task is unwound instead: hyper then drops that connection, and the panic hook is not run.
pub fn drop_connection(request: &Request) {
    match request.extensions().get::<ConnectInfo<ConnKill>>() {
        Some(ConnectInfo(kill)) => kill.kill(),
        None => std::panic::resume_unwind(Box::new(())),
    }
}

/// `"<METHOD> <template>"`, the key of the call counters.
pub fn route_key(method: &Method, template: &str) -> String {
    format!("{method} {template}")
}

/// Drops a trailing slash and names every path parameter `{id}`:
/// `/v1/groups/{group}/users/{user}/` → `/v1/groups/{id}/users/{id}`.
pub fn normalize_template(template: &str) -> String {
    let trimmed = template.strip_suffix('/').filter(|t| !t.is_empty());
    trimmed
        .unwrap_or(template)
        .split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                "{id}"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_are_normalised() {
        assert_eq!(
            normalize_template("/v1/groups/{group_id}/users/{user_id}/"),
            "/v1/groups/{id}/users/{id}"
        );
        assert_eq!(normalize_template("/v1/groups/"), "/v1/groups");
        assert_eq!(normalize_template("/oauth/token"), "/oauth/token");
        assert_eq!(normalize_template("/"), "/");
        assert_eq!(
            route_key(&Method::PUT, "/v1/groups/{id}"),
            "PUT /v1/groups/{id}"
        );
    }
}

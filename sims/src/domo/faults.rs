//! The responses Domo's faults produce. Which faults are configured and what one request
//! suffers is shared by every simulator (`crate::shared::faults`); faults apply to
//! `/oauth/token` and `/v1/*` only, never to `/_sim/*`.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::error::SimError;
pub use crate::shared::faults::{FaultAction, Faults};

/// Whether a request (`"<METHOD> <normalised route>"`) is one of the writes that
/// `drop_after_write_rate` applies to.
pub fn is_write(route_key: &str) -> bool {
    matches!(
        route_key,
        "POST /v1/groups" | "PUT /v1/groups/{id}/users/{id}" | "DELETE /v1/groups/{id}/users/{id}"
    )
}

/// The 429 answer.
pub fn too_many_requests(retry_after_secs: Option<u64>) -> Response {
    let mut response = SimError::bedrock(
        StatusCode::TOO_MANY_REQUESTS,
        "Rate limit exceeded, slow down",
    )
    .into_response();
    if let Some(secs) = retry_after_secs {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

/// A 5xx answer, with an empty or a bedrock body.
pub fn server_error(status: StatusCode, empty_body: bool) -> Response {
    if empty_body {
        (status, Body::empty()).into_response()
    } else {
        SimError::bedrock(
            status,
            "The service is temporarily unable to handle the request",
        )
        .into_response()
    }
}

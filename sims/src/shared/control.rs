//! The control endpoints every provider simulator has, under `/_sim` (no auth, no faults,
//! not counted):
//! - `GET /_sim/faults`, `PUT /_sim/faults`: the faults in force (`Faults` as JSON; absent
//!   fields are 0; a rate outside 0..=1 → 400).
//! - `GET /_sim/requests`: the request log, oldest first (`ApiRequest` objects).
//! - `GET /_sim/calls`: `{"<METHOD> <template>": {"total", "ok"}}`.
//! - `POST /_sim/reset-counters`: clears the counters and the log → 204.
//!
//! Errors of the control API (here and in each simulator) are `400`/`404`
//! `{"error": "<what is wrong>"}`.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde_json::json;

use super::faults::Faults;
use super::{ApiRequest, CallCount, Provider};

/// An error of the control API: `{"error": message}` with its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlError {
    /// 400 or 404.
    pub status: StatusCode,
    /// What is wrong.
    pub message: String,
}

impl ControlError {
    /// 400.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
        }
    }
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": self.message }))).into_response()
    }
}

/// Parses a JSON control body; an empty body is `{}`.
pub fn json_body<T: DeserializeOwned>(body: &Bytes) -> Result<T, ControlError> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| ControlError::bad_request(format!("body: {e}")))
}

/// The shared control routes, to merge into a simulator's router.
pub fn routes<S: Provider>() -> Router<S> {
    Router::new()
        .route("/_sim/faults", get(get_faults::<S>).put(put_faults::<S>))
        .route("/_sim/requests", get(get_requests::<S>))
        .route("/_sim/calls", get(get_calls::<S>))
        .route("/_sim/reset-counters", post(reset_counters::<S>))
}

async fn get_faults<S: Provider>(State(sim): State<S>) -> Json<Faults> {
    Json(sim.core().faults())
}

async fn put_faults<S: Provider>(
    State(sim): State<S>,
    body: Bytes,
) -> Result<Json<Faults>, ControlError> {
    let faults: Faults = json_body(&body)?;
    faults.validate().map_err(ControlError::bad_request)?;
    sim.core().set_faults(faults.clone());
    Ok(Json(faults))
}

async fn get_requests<S: Provider>(State(sim): State<S>) -> Json<Vec<ApiRequest>> {
    Json(sim.core().requests())
}

async fn get_calls<S: Provider>(State(sim): State<S>) -> Json<BTreeMap<String, CallCount>> {
    Json(sim.core().calls())
}

async fn reset_counters<S: Provider>(State(sim): State<S>) -> StatusCode {
    sim.core().reset_counters();
    StatusCode::NO_CONTENT
}

//! The WorkOS simulator's control endpoints under `/_sim` (no auth, no faults, not counted).
//! Each directory change logs its event (returned in `events`) unless `"silent": true`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post, put};
use axum::{Json, Router};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::Simulator;
use super::world::{LogOptions, stamp};
use crate::shared::control::{ControlError, json_body};

pub fn routes() -> Router<Simulator> {
    Router::new()
        .route("/_sim/state", get(state))
        .route("/_sim/users", post(add_user))
        .route("/_sim/users/{user}", patch(update_user).delete(delete_user))
        .route("/_sim/groups", post(add_group))
        .route("/_sim/groups/{group}", delete(delete_group))
        .route(
            "/_sim/groups/{group}/users/{user}",
            put(add_member).delete(remove_member),
        )
        .route("/_sim/events", get(events).post(append_events))
        .route("/_sim/visibility", put(set_visibility))
        .route("/_sim/rate-limit", get(rate_limit).put(set_rate_limit))
}

/// Splits `silent` and `delay_ms` off a body; the rest are the fields.
fn split(body: &Bytes) -> Result<(Map<String, Value>, LogOptions), ControlError> {
    let mut fields: Map<String, Value> = json_body(body)?;
    let silent = fields
        .remove("silent")
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    let delay_ms = fields.remove("delay_ms").and_then(|v| v.as_u64());
    Ok((fields, LogOptions { silent, delay_ms }))
}

fn events_of(event: Option<Value>) -> Value {
    json!(event.into_iter().collect::<Vec<_>>())
}

async fn state(State(sim): State<Simulator>) -> Json<Value> {
    let state = sim.lock();
    let w = &state.world;
    let groups: Vec<Value> = w
        .groups
        .values()
        .map(|g| json!({"group": g.body, "members": g.members}))
        .collect();
    Json(
        json!({"directory": w.directory, "users": w.users.values().collect::<Vec<_>>(), "groups": groups,
                "events": w.events.len(), "visible_events": w.visible(Utc::now()).len(),
                "visibility_delay_ms": w.delay_ms}),
    )
}

async fn add_user(State(sim): State<Simulator>, body: Bytes) -> Result<Response, ControlError> {
    let (fields, opts) = split(&body)?;
    let (id, event) = sim.lock().world.add_user(&fields, Utc::now(), opts)?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": id, "events": events_of(event)})),
    )
        .into_response())
}

async fn update_user(
    State(sim): State<Simulator>,
    Path(user): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ControlError> {
    let (fields, opts) = split(&body)?;
    let event = sim
        .lock()
        .world
        .update_user(&user, &fields, Utc::now(), opts)?;
    Ok(Json(json!({"events": events_of(event)})))
}

async fn delete_user(
    State(sim): State<Simulator>,
    Path(user): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ControlError> {
    let (_, opts) = split(&body)?;
    let event = sim.lock().world.delete_user(&user, Utc::now(), opts)?;
    Ok(Json(json!({"events": events_of(event)})))
}

async fn add_group(State(sim): State<Simulator>, body: Bytes) -> Result<Response, ControlError> {
    let (fields, opts) = split(&body)?;
    let name = fields
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| ControlError::bad_request("name is required"))?;
    let (id, event) = sim.lock().world.add_group(name, Utc::now(), opts)?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": id, "events": events_of(event)})),
    )
        .into_response())
}

async fn delete_group(
    State(sim): State<Simulator>,
    Path(group): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ControlError> {
    let (_, opts) = split(&body)?;
    let event = sim.lock().world.delete_group(&group, Utc::now(), opts)?;
    Ok(Json(json!({"events": events_of(event)})))
}

async fn member(
    sim: &Simulator,
    group: &str,
    user: &str,
    add: bool,
    body: &Bytes,
) -> Result<Json<Value>, ControlError> {
    let (_, opts) = split(body)?;
    let event = sim
        .lock()
        .world
        .set_member(group, user, add, Utc::now(), opts)?;
    Ok(Json(json!({"events": events_of(event)})))
}

async fn add_member(
    State(sim): State<Simulator>,
    Path((g, u)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<Value>, ControlError> {
    member(&sim, &g, &u, true, &body).await
}

async fn remove_member(
    State(sim): State<Simulator>,
    Path((g, u)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<Value>, ControlError> {
    member(&sim, &g, &u, false, &body).await
}

/// `GET /_sim/events`: `[{event, visible_at, visible}]`, oldest first.
async fn events(State(sim): State<Simulator>) -> Json<Vec<Value>> {
    let now = Utc::now();
    let state = sim.lock();
    Json(state.world.events.iter()
        .map(|e| json!({"event": e.body, "visible_at": stamp(e.visible_at), "visible": e.visible_at <= now}))
        .collect())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEvent {
    event: String,
    data: Value,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AppendEvents {
    events: Vec<RawEvent>,
    #[serde(default)]
    delay_ms: Option<u64>,
}

/// `POST /_sim/events` `{events: [{event, data}], delay_ms?}`: appends raw events (ids and
/// `created_at` assigned) → 201 `{events}`.
async fn append_events(
    State(sim): State<Simulator>,
    body: Bytes,
) -> Result<Response, ControlError> {
    let body: AppendEvents = json_body(&body)?;
    let now = Utc::now();
    let opts = LogOptions {
        silent: false,
        delay_ms: body.delay_ms,
    };
    let mut state = sim.lock();
    let out: Vec<Value> = body
        .events
        .into_iter()
        .filter_map(|e| state.world.log(&e.event, e.data, now, opts))
        .collect();
    Ok((StatusCode::CREATED, Json(json!({"events": out}))).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Visibility {
    delay_ms: u64,
}

async fn set_visibility(
    State(sim): State<Simulator>,
    body: Bytes,
) -> Result<Json<Value>, ControlError> {
    let body: Visibility = json_body(&body)?;
    sim.lock().world.delay_ms = body.delay_ms;
    Ok(Json(json!({"delay_ms": body.delay_ms})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RateLimit {
    per_minute: u64,
}

async fn rate_limit(State(sim): State<Simulator>) -> Json<Value> {
    Json(json!({"per_minute": sim.lock().rate_limit}))
}

async fn set_rate_limit(
    State(sim): State<Simulator>,
    body: Bytes,
) -> Result<Json<Value>, ControlError> {
    let body: RateLimit = json_body(&body)?;
    let mut state = sim.lock();
    state.rate_limit = body.per_minute;
    state.window = (0, 0);
    Ok(Json(json!({"per_minute": body.per_minute})))
}

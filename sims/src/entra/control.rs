//! The Entra simulator's control endpoints under `/_sim` (no auth, no faults, not counted).
//! Changes are seen by delta queries after the visibility delay (replication lag).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post, put};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::Simulator;
use crate::shared::control::{ControlError, json_body};

pub fn routes() -> Vec<(&'static str, MethodRouter<Simulator>)> {
    vec![
        ("/_sim/state", get(state)),
        ("/_sim/users", post(add_user)),
        (
            "/_sim/users/{user}",
            axum::routing::patch(update_user).delete(delete_user),
        ),
        ("/_sim/users/{user}/restore", post(restore_user)),
        ("/_sim/groups", post(add_group)),
        ("/_sim/groups/{group}", axum::routing::delete(delete_group)),
        (
            "/_sim/groups/{group}/members/{user}",
            put(add_member).delete(remove_member),
        ),
        ("/_sim/visibility", put(set_visibility)),
        ("/_sim/rate-limit", put(set_rate_limit)),
        ("/_sim/expire-delta-tokens", post(expire_delta_tokens)),
        ("/_sim/expire-tokens", post(expire_tokens)),
    ]
}

/// `GET /_sim/state`: users (with `removed`), groups (with member ids), the change count.
async fn state(State(sim): State<Simulator>) -> Json<Value> {
    let state = sim.lock();
    let w = &state.world;
    let users: Vec<Value> = w
        .users
        .iter()
        .map(|u| json!({"id": u.id, "properties": u.props, "removed": u.removed}))
        .collect();
    let groups: Vec<Value> = w
        .groups
        .iter()
        .map(|g| json!({"id": g.id, "properties": g.props, "members": g.members, "removed": g.removed}))
        .collect();
    Json(
        json!({"users": users, "groups": groups, "changes": w.log.len(),
                "visible_changes": w.visible_seq(Utc::now()), "visibility_delay_ms": w.delay_ms}),
    )
}

/// `POST /_sim/users` `{userPrincipalName, displayName?, mail?, accountEnabled?, jobTitle?,
/// department?, …}` → 201 `{id}`.
async fn add_user(State(sim): State<Simulator>, body: Bytes) -> Result<Response, ControlError> {
    let props: Map<String, Value> = json_body(&body)?;
    let id = sim.lock().world.create_user(props, Utc::now())?;
    Ok((StatusCode::CREATED, Json(json!({"id": id}))).into_response())
}

/// `PATCH /_sim/users/{id|upn}` `{property: value, …}` (e.g. `{"accountEnabled": false}`).
async fn update_user(
    State(sim): State<Simulator>,
    Path(user): Path<String>,
    body: Bytes,
) -> Result<StatusCode, ControlError> {
    let changes: Map<String, Value> = json_body(&body)?;
    sim.lock().world.update_user(&user, changes, Utc::now())?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize)]
struct DeleteQuery {
    #[serde(default)]
    hard: bool,
}

/// `DELETE /_sim/users/{id|upn}[?hard=true]`: soft delete (`@removed.reason` `changed`) or
/// permanent (`deleted`); the user leaves every group.
async fn delete_user(
    State(sim): State<Simulator>,
    Path(user): Path<String>,
    Query(q): Query<DeleteQuery>,
) -> Result<StatusCode, ControlError> {
    sim.lock().world.delete_user(&user, q.hard, Utc::now())?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /_sim/users/{id|upn}/restore`: undoes a soft delete.
async fn restore_user(
    State(sim): State<Simulator>,
    Path(user): Path<String>,
) -> Result<StatusCode, ControlError> {
    sim.lock().world.restore_user(&user, Utc::now())?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /_sim/groups` `{displayName, description?}` → 201 `{id}`.
async fn add_group(State(sim): State<Simulator>, body: Bytes) -> Result<Response, ControlError> {
    let props: Map<String, Value> = json_body(&body)?;
    let id = sim.lock().world.create_group(props, Utc::now())?;
    Ok((StatusCode::CREATED, Json(json!({"id": id}))).into_response())
}

/// `DELETE /_sim/groups/{id|name}`.
async fn delete_group(
    State(sim): State<Simulator>,
    Path(group): Path<String>,
) -> Result<StatusCode, ControlError> {
    sim.lock().world.delete_group(&group, Utc::now())?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /_sim/groups/{id|name}/members/{id|upn}`.
async fn add_member(
    State(sim): State<Simulator>,
    Path((group, user)): Path<(String, String)>,
) -> Result<StatusCode, ControlError> {
    sim.lock()
        .world
        .set_member(&group, &user, true, Utc::now())?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /_sim/groups/{id|name}/members/{id|upn}`.
async fn remove_member(
    State(sim): State<Simulator>,
    Path((group, user)): Path<(String, String)>,
) -> Result<StatusCode, ControlError> {
    sim.lock()
        .world
        .set_member(&group, &user, false, Utc::now())?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Visibility {
    delay_ms: u64,
}

/// `PUT /_sim/visibility` `{delay_ms}`: the replication lag.
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
    per_10s: u64,
}

/// `PUT /_sim/rate-limit` `{per_10s}` (0: unlimited).
async fn set_rate_limit(
    State(sim): State<Simulator>,
    body: Bytes,
) -> Result<Json<Value>, ControlError> {
    let body: RateLimit = json_body(&body)?;
    sim.lock().throttle = super::error::Throttle::new(body.per_10s);
    Ok(Json(json!({"per_10s": body.per_10s})))
}

/// `POST /_sim/expire-delta-tokens`: every delta token issued so far answers 410.
async fn expire_delta_tokens(State(sim): State<Simulator>) -> StatusCode {
    sim.lock().tokens_valid_from_ms = Utc::now().timestamp_millis() + 1;
    StatusCode::NO_CONTENT
}

/// `POST /_sim/expire-tokens`: every access token expires → `{"expired": n}`.
async fn expire_tokens(State(sim): State<Simulator>) -> Json<Value> {
    let mut state = sim.lock();
    let n = state.tokens.len();
    state.tokens.clear();
    Json(json!({"expired": n}))
}

//! Control endpoints under `/_sim`, for tests and for people trying the service: read the
//! state and the request log, change faults, edit groups and users by hand (as an admin in
//! the Domo UI would), expire tokens and reset counters. No auth, no faults, not counted.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post, put};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Simulator;
use super::error::SimError;
use super::faults::Faults;
use super::params::{json_body, lenient_bool, parse_id};
use super::state::{RequestRecord, SimState};
use super::users::CreateUserBody;
use super::world::{Actor, NewGroup};

/// The routes of this module, `(path, handlers)`; trailing-slash twins are added by the caller.
pub fn routes() -> Vec<(&'static str, MethodRouter<Simulator>)> {
    vec![
        ("/_sim/state", get(get_state)),
        ("/_sim/faults", get(get_faults).put(put_faults)),
        ("/_sim/users", post(add_users)),
        ("/_sim/groups", post(add_group)),
        (
            "/_sim/groups/{group_id}/users/{user_id}",
            put(add_member).delete(remove_member),
        ),
        ("/_sim/expire-tokens", post(expire_tokens)),
        ("/_sim/requests", get(get_requests)),
        ("/_sim/reset-counters", post(reset_counters)),
    ]
}

/// `GET /_sim/state`.
async fn get_state(State(sim): State<Simulator>) -> Json<SimState> {
    Json(sim.snapshot())
}

/// `GET /_sim/faults`.
async fn get_faults(State(sim): State<Simulator>) -> Json<Faults> {
    Json(sim.faults())
}

/// `PUT /_sim/faults`: replaces the faults; absent fields are 0. Rates outside 0..=1 → 400.
async fn put_faults(State(sim): State<Simulator>, body: Bytes) -> Result<Json<Faults>, SimError> {
    let faults: Faults = json_body(&body)?;
    faults.validate().map_err(SimError::bad_request)?;
    sim.set_faults(faults.clone());
    Ok(Json(faults))
}

/// `POST /_sim/users`: `[{email, name, role}]` → 201 with the created users (full objects).
/// All or nothing: one bad entry creates none.
async fn add_users(State(sim): State<Simulator>, body: Bytes) -> Result<Response, SimError> {
    let batch: Vec<CreateUserBody> = json_body(&body)?;
    let batch = batch
        .into_iter()
        .map(CreateUserBody::into_new_user)
        .collect::<Result<Vec<_>, _>>()?;
    let mut state = sim.lock();
    let ids = state.world.create_users(batch)?;
    let mut created = Vec::with_capacity(ids.len());
    for id in ids {
        created.push(state.world.user(id)?.full_view(&state.world.groups_of(id)));
    }
    Ok((StatusCode::CREATED, Json(Value::Array(created))).into_response())
}

/// Body of `POST /_sim/groups`.
#[derive(Debug, Deserialize)]
struct AddGroupBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    active: Option<bool>,
    #[serde(default, deserialize_with = "lenient_bool")]
    default: Option<bool>,
}

/// `POST /_sim/groups`: `{name[, active, default]}` → 201 `{id, name, active, default, members}`.
/// A hand-made group has no creator and no members.
async fn add_group(State(sim): State<Simulator>, body: Bytes) -> Result<Response, SimError> {
    let body: AddGroupBody = json_body(&body)?;
    let new = NewGroup {
        name: body.name.unwrap_or_default(),
        default: body.default,
        active: body.active,
    };
    let mut state = sim.lock();
    let group = state.world.create_group(new, None)?;
    let view = json!({
        "id": group.id,
        "name": group.name,
        "active": group.active,
        "default": group.default,
        "members": group.members,
    });
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// `PUT /_sim/groups/{g}/users/{u}`: 204; works on inactive groups too.
async fn add_member(
    State(sim): State<Simulator>,
    Path((group, user)): Path<(String, String)>,
) -> Result<StatusCode, SimError> {
    let (group, user) = (parse_id("group", &group)?, parse_id("user", &user)?);
    sim.lock().world.add_member(group, user, Actor::Admin)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /_sim/groups/{g}/users/{u}`: 204; works on the default group too.
async fn remove_member(
    State(sim): State<Simulator>,
    Path((group, user)): Path<(String, String)>,
) -> Result<StatusCode, SimError> {
    let (group, user) = (parse_id("group", &group)?, parse_id("user", &user)?);
    sim.lock().world.remove_member(group, user, Actor::Admin)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /_sim/expire-tokens`: every issued token expires now → `{"expired": n}` (n were live).
async fn expire_tokens(State(sim): State<Simulator>) -> Json<Value> {
    Json(json!({ "expired": sim.expire_tokens() }))
}

/// `GET /_sim/requests`: the request log, oldest first.
async fn get_requests(State(sim): State<Simulator>) -> Json<Vec<RequestRecord>> {
    Json(sim.requests())
}

/// `POST /_sim/reset-counters`: clears call counters, the request log and `tokens_issued`.
async fn reset_counters(State(sim): State<Simulator>) -> StatusCode {
    sim.lock().reset_counters();
    StatusCode::NO_CONTENT
}

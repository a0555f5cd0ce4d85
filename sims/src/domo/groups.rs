//! The Groups API, `/v1/groups` (reference §3): list, create, retrieve, update, delete, and
//! membership. Handlers parse leniently, take the lock once, and leave the rules to `world`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, put};
use serde::Deserialize;
use serde_json::Value;

use super::Simulator;
use super::auth::Caller;
use super::error::SimError;
use super::params::{Page, json_body, lenient_bool, parse_id};
use super::world::{Actor, GroupUpdate, NewGroup};

/// The routes of this module, `(path, handlers)`; trailing-slash twins are added by the caller.
pub fn routes() -> Vec<(&'static str, MethodRouter<Simulator>)> {
    vec![
        ("/v1/groups", get(list_groups).post(create_group)),
        (
            "/v1/groups/{id}",
            get(get_group).put(update_group).delete(delete_group),
        ),
        ("/v1/groups/{id}/users", get(list_group_users)),
        (
            "/v1/groups/{group_id}/users/{user_id}",
            put(add_group_user).delete(remove_group_user),
        ),
    ]
}

/// Body of `POST /v1/groups`; unknown keys are ignored.
#[derive(Debug, Deserialize)]
struct CreateGroupBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    default: Option<bool>,
    /// The Java SDK sends `isActive` (reference §6.2).
    #[serde(default, alias = "isActive", deserialize_with = "lenient_bool")]
    active: Option<bool>,
}

/// Body of `PUT /v1/groups/{id}`; absent fields keep their value, `memberCount` is ignored.
#[derive(Debug, Deserialize)]
struct UpdateGroupBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    default: Option<bool>,
    #[serde(default, alias = "isActive", deserialize_with = "lenient_bool")]
    active: Option<bool>,
}

/// `GET /v1/groups?limit&offset`: a bare array of `{id, name, default, memberCount}`.
async fn list_groups(
    State(sim): State<Simulator>,
    _caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<Vec<Value>>, SimError> {
    let page = Page::from_query(query.as_deref())?;
    let state = sim.lock();
    Ok(Json(
        state
            .world
            .groups_page(page)
            .map(|g| g.list_view())
            .collect(),
    ))
}

/// `POST /v1/groups`: 201 with `{id, name, active, creatorId, default}`; the caller's user
/// becomes the first member.
async fn create_group(
    State(sim): State<Simulator>,
    caller: Caller,
    body: Bytes,
) -> Result<Response, SimError> {
    let body: CreateGroupBody = json_body(&body)?;
    let new = NewGroup {
        name: body.name.unwrap_or_default(),
        default: body.default,
        active: body.active,
    };
    let mut state = sim.lock();
    let group = state.world.create_group(new, Some(caller.user_id))?;
    Ok((StatusCode::CREATED, Json(group.create_view())).into_response())
}

/// `GET /v1/groups/{id}`: `{id, name, active, memberCount}`.
async fn get_group(
    State(sim): State<Simulator>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, SimError> {
    let id = parse_id("group", &id)?;
    let state = sim.lock();
    Ok(Json(state.world.group(id)?.get_view()))
}

/// `PUT /v1/groups/{id}`: 200 with the updated group.
async fn update_group(
    State(sim): State<Simulator>,
    _caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, SimError> {
    let id = parse_id("group", &id)?;
    let body: UpdateGroupBody = json_body(&body)?;
    let update = GroupUpdate {
        name: body.name,
        active: body.active,
        default: body.default,
    };
    let mut state = sim.lock();
    Ok(Json(state.world.update_group(id, update)?.update_view()))
}

/// `DELETE /v1/groups/{id}`: 204; 400 while the group has members.
async fn delete_group(
    State(sim): State<Simulator>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, SimError> {
    let id = parse_id("group", &id)?;
    sim.lock().world.delete_group(id)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/groups/{id}/users?limit&offset`: a bare array of user ids.
async fn list_group_users(
    State(sim): State<Simulator>,
    _caller: Caller,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<Vec<u64>>, SimError> {
    let id = parse_id("group", &id)?;
    let page = Page::from_query(query.as_deref())?;
    let state = sim.lock();
    let group = state.world.group(id)?;
    Ok(Json(
        group
            .members
            .iter()
            .skip(page.offset)
            .take(page.limit)
            .copied()
            .collect(),
    ))
}

/// `PUT /v1/groups/{g}/users/{u}`: 204, also when already a member; any body is ignored.
async fn add_group_user(
    State(sim): State<Simulator>,
    _caller: Caller,
    Path((group, user)): Path<(String, String)>,
) -> Result<StatusCode, SimError> {
    let (group, user) = (parse_id("group", &group)?, parse_id("user", &user)?);
    sim.lock().world.add_member(group, user, Actor::Api)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /v1/groups/{g}/users/{u}`: 204, also when not a member.
async fn remove_group_user(
    State(sim): State<Simulator>,
    _caller: Caller,
    Path((group, user)): Path<(String, String)>,
) -> Result<StatusCode, SimError> {
    let (group, user) = (parse_id("group", &group)?, parse_id("user", &user)?);
    sim.lock().world.remove_member(group, user, Actor::Api)?;
    Ok(StatusCode::NO_CONTENT)
}

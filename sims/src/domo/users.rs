//! The Users API, `/v1/users` (reference §4): list, create (with `sendInvite`), retrieve and
//! delete. Users are never removed, only marked deleted, so a retrieve of a deleted user is
//! a 200 with `deleted: true`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use serde::Deserialize;
use serde_json::Value;

use super::Simulator;
use super::auth::Caller;
use super::error::SimError;
use super::model::UserDetails;
use super::params::{Page, json_body, parse_bool, parse_id, query_pairs};
use super::world::NewUser;

/// The routes of this module, `(path, handlers)`; trailing-slash twins are added by the caller.
pub fn routes() -> Vec<(&'static str, MethodRouter<Simulator>)> {
    vec![
        ("/v1/users", get(list_users).post(create_user)),
        ("/v1/users/{id}", get(get_user).delete(delete_user)),
    ]
}

/// Body of `POST /v1/users` (and entries of `POST /_sim/users`); unknown keys are ignored.
#[derive(Debug, Default, Deserialize)]
pub struct CreateUserBody {
    /// Email (required).
    #[serde(default)]
    pub email: Option<String>,
    /// Name (required).
    #[serde(default)]
    pub name: Option<String>,
    /// Role (required).
    #[serde(default)]
    pub role: Option<String>,
    /// Optional attributes.
    #[serde(flatten)]
    pub details: UserDetails,
}

impl CreateUserBody {
    /// The creation request; a missing required field is a 400.
    pub fn into_new_user(self) -> Result<NewUser, SimError> {
        let required = |value: Option<String>, name: &str| {
            value
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| SimError::bad_request(format!("{name} is required")))
        };
        Ok(NewUser {
            email: required(self.email, "email")?,
            name: required(self.name, "name")?,
            role: required(self.role, "role")?,
            details: self.details,
        })
    }
}

/// `GET /v1/users?limit&offset`: a bare array of users that are not deleted, without groups.
async fn list_users(
    State(sim): State<Simulator>,
    _caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<Vec<Value>>, SimError> {
    let page = Page::from_query(query.as_deref())?;
    let state = sim.lock();
    Ok(Json(
        state
            .world
            .users_page(page)
            .map(|u| u.list_view())
            .collect(),
    ))
}

/// `POST /v1/users?sendInvite=true|false`: 201 with the full user, in the default group.
/// A deleted user with the same email is revived under the same id.
async fn create_user(
    State(sim): State<Simulator>,
    _caller: Caller,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, SimError> {
    for (key, value) in query_pairs(query.as_deref()) {
        if key == "sendInvite" && !value.is_empty() {
            // The simulator sends no email; the flag is only checked for shape.
            parse_bool("sendInvite", &value)?;
        }
    }
    let new = json_body::<CreateUserBody>(&body)?.into_new_user()?;
    let mut state = sim.lock();
    let id = state.world.create_user(new)?;
    let view = state.world.user(id)?.full_view(&state.world.groups_of(id));
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// `GET /v1/users/{id}`: the full user with `groups: [{id, name}]`; a deleted user is a 200
/// with a subset and `deleted: true`.
async fn get_user(
    State(sim): State<Simulator>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, SimError> {
    let id = parse_id("user", &id)?;
    let state = sim.lock();
    let user = state.world.user(id)?;
    let mut view = user.full_view(&state.world.groups_of(id));
    if state.faults.omit_user_groups
        && let Some(map) = view.as_object_mut()
    {
        map.remove("groups");
    }
    Ok(Json(view))
}

/// `DELETE /v1/users/{id}`: 204; the user is marked deleted and leaves every group.
async fn delete_user(
    State(sim): State<Simulator>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, SimError> {
    let id = parse_id("user", &id)?;
    sim.lock().world.delete_user(id)?;
    Ok(StatusCode::NO_CONTENT)
}

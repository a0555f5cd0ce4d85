//! The Okta simulator's control endpoints under `/_sim` (no auth, no faults, not counted).
//! Every directory change logs its System Log event (returned in `events`) unless the body
//! says `"silent": true`; `"published"` back-dates the event and `"delay_ms"` overrides the
//! visibility delay for it.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, patch, post, put};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::Simulator;
use super::log::LogEvent;
use super::world::{LogOptions, stamp};
use crate::shared::base_url;
use crate::shared::control::{ControlError, json_body};

pub fn routes() -> Vec<(&'static str, MethodRouter<Simulator>)> {
    vec![
        ("/_sim/state", get(state)),
        ("/_sim/users", post(add_user)),
        ("/_sim/users/{user}", patch(update_user)),
        ("/_sim/users/{user}/lifecycle/{action}", post(lifecycle)),
        ("/_sim/groups", post(add_group)),
        (
            "/_sim/groups/{group}/users/{user}",
            put(add_member).delete(remove_member),
        ),
        ("/_sim/events", get(events).post(append_events)),
        ("/_sim/visibility", put(set_visibility)),
        ("/_sim/rate-limits", get(rate_limits).put(set_rate_limits)),
        ("/_sim/expire-tokens", post(expire_tokens)),
    ]
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Opts {
    silent: bool,
    published: Option<DateTime<Utc>>,
    delay_ms: Option<u64>,
}

impl From<&Opts> for LogOptions {
    fn from(o: &Opts) -> Self {
        Self {
            silent: o.silent,
            published: o.published,
            delay_ms: o.delay_ms,
        }
    }
}

fn bodies(events: &[LogEvent]) -> Vec<Value> {
    events.iter().map(|e| e.body.clone()).collect()
}

/// `GET /_sim/state`: users (with status and group names), groups (with member ids), the
/// number of events stored and visible, the visibility delay.
async fn state(State(sim): State<Simulator>) -> Json<Value> {
    let state = sim.lock();
    let world = &state.world;
    let now = Utc::now();
    let users: Vec<Value> = world
        .users()
        .iter()
        .map(|u| {
            let groups: Vec<&str> = world
                .groups()
                .iter()
                .filter(|g| g.members.contains(&u.id))
                .map(|g| g.name.as_str())
                .collect();
            json!({"id": u.id, "login": u.login(), "status": u.status, "profile": u.profile, "groups": groups})
        })
        .collect();
    let groups: Vec<Value> = world
        .groups()
        .iter()
        .map(|g| json!({"id": g.id, "name": g.name, "members": g.members}))
        .collect();
    let visible = world
        .log
        .all()
        .iter()
        .filter(|e| e.visible_at <= now)
        .count();
    Json(json!({
        "users": users,
        "groups": groups,
        "events": world.log.all().len(),
        "visible_events": visible,
        "visibility_delay_ms": world.log.delay_ms,
    }))
}

#[derive(Debug, Deserialize)]
struct AddUser {
    /// Profile attributes; `login` is required, `email` defaults to it.
    profile: Map<String, Value>,
    #[serde(default)]
    status: Option<String>,
    #[serde(flatten)]
    opts: Opts,
}

/// `POST /_sim/users` `{profile: {login, firstName, lastName, …}, status?}` → 201
/// `{user, events}`.
async fn add_user(
    State(sim): State<Simulator>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Result<Response, ControlError> {
    let body: AddUser = json_body(&body)?;
    let mut state = sim.lock();
    let (id, events) = state.world.create_user(
        body.profile,
        body.status.as_deref(),
        Utc::now(),
        (&body.opts).into(),
    )?;
    let user = state.world.user(&id)?.to_json(&base_url(&headers));
    Ok((
        StatusCode::CREATED,
        Json(json!({"user": user, "events": bodies(&events)})),
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
struct UpdateUser {
    profile: Map<String, Value>,
    #[serde(flatten)]
    opts: Opts,
}

/// `PATCH /_sim/users/{id or login}` `{profile: {…changes}}` → `{events}`.
async fn update_user(
    State(sim): State<Simulator>,
    Path(user): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ControlError> {
    let body: UpdateUser = json_body(&body)?;
    let events =
        sim.lock()
            .world
            .update_profile(&user, body.profile, Utc::now(), (&body.opts).into())?;
    Ok(Json(json!({"events": bodies(&events)})))
}

/// `POST /_sim/users/{id or login}/lifecycle/{activate|deactivate|suspend|unsuspend|delete}`.
async fn lifecycle(
    State(sim): State<Simulator>,
    Path((user, action)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<Value>, ControlError> {
    let opts: Opts = json_body(&body)?;
    let events = sim
        .lock()
        .world
        .lifecycle(&user, &action, Utc::now(), (&opts).into())?;
    Ok(Json(json!({"events": bodies(&events)})))
}

#[derive(Debug, Deserialize)]
struct AddGroup {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(flatten)]
    opts: Opts,
}

/// `POST /_sim/groups` `{name, description?}` → 201 `{group, events}`.
async fn add_group(
    State(sim): State<Simulator>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Result<Response, ControlError> {
    let body: AddGroup = json_body(&body)?;
    let mut state = sim.lock();
    let (id, events) = state.world.create_group(
        &body.name,
        &body.description,
        Utc::now(),
        (&body.opts).into(),
    )?;
    let group = state.world.group(&id)?.to_json(&base_url(&headers));
    Ok((
        StatusCode::CREATED,
        Json(json!({"group": group, "events": bodies(&events)})),
    )
        .into_response())
}

async fn member(
    sim: &Simulator,
    group: &str,
    user: &str,
    add: bool,
    body: &Bytes,
) -> Result<Json<Value>, ControlError> {
    let opts: Opts = json_body(body)?;
    let events = sim
        .lock()
        .world
        .set_member(group, user, add, Utc::now(), (&opts).into())?;
    Ok(Json(json!({"events": bodies(&events)})))
}

/// `PUT /_sim/groups/{id or name}/users/{id or login}` → `{events}` (none if already a member).
async fn add_member(
    State(sim): State<Simulator>,
    Path((group, user)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<Value>, ControlError> {
    member(&sim, &group, &user, true, &body).await
}

/// `DELETE /_sim/groups/{id or name}/users/{id or login}` → `{events}`.
async fn remove_member(
    State(sim): State<Simulator>,
    Path((group, user)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<Value>, ControlError> {
    member(&sim, &group, &user, false, &body).await
}

/// `GET /_sim/events`: every stored event, visible or not:
/// `[{seq, published, visible_at, visible, event}]`.
async fn events(State(sim): State<Simulator>) -> Json<Vec<Value>> {
    let now = Utc::now();
    Json(
        sim.lock()
            .world
            .log
            .all()
            .iter()
            .map(|e| {
                json!({"seq": e.seq, "published": stamp(e.published), "visible_at": stamp(e.visible_at),
                       "visible": e.visible_at <= now, "event": e.body})
            })
            .collect(),
    )
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AppendEvents {
    events: Vec<Map<String, Value>>,
    #[serde(default)]
    delay_ms: Option<u64>,
}

/// `POST /_sim/events` `{events: [LogEvent…], delay_ms?}`: appends raw LogEvents (`uuid`
/// and `published` filled when absent) → 201 `{events}`. All or nothing.
async fn append_events(
    State(sim): State<Simulator>,
    body: Bytes,
) -> Result<Response, ControlError> {
    let body: AppendEvents = json_body(&body)?;
    if let Some(bad) = body
        .events
        .iter()
        .position(|e| !e.get("eventType").is_some_and(Value::is_string))
    {
        return Err(ControlError::bad_request(format!(
            "events[{bad}].eventType is required"
        )));
    }
    let now = Utc::now();
    let mut state = sim.lock();
    let mut out = Vec::new();
    for event in body.events {
        out.push(state.world.append_raw(event, now, body.delay_ms)?);
    }
    Ok((StatusCode::CREATED, Json(json!({"events": bodies(&out)}))).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Visibility {
    delay_ms: u64,
}

/// `PUT /_sim/visibility` `{delay_ms}`: the delay for events appended from now on.
async fn set_visibility(
    State(sim): State<Simulator>,
    body: Bytes,
) -> Result<Json<Value>, ControlError> {
    let body: Visibility = json_body(&body)?;
    sim.lock().world.log.delay_ms = body.delay_ms;
    Ok(Json(json!({"delay_ms": body.delay_ms})))
}

/// `GET /_sim/rate-limits`: requests per minute per bucket (`logs`, `users`, `groups`, `token`).
async fn rate_limits(State(sim): State<Simulator>) -> Json<Value> {
    Json(json!(sim.lock().limits.limits))
}

/// `PUT /_sim/rate-limits` `{logs?, users?, groups?, token?}` (0: unlimited).
async fn set_rate_limits(
    State(sim): State<Simulator>,
    body: Bytes,
) -> Result<Json<Value>, ControlError> {
    let body: std::collections::BTreeMap<String, u64> = json_body(&body)?;
    let mut state = sim.lock();
    for (bucket, limit) in body {
        let key = ["logs", "users", "groups", "token"]
            .into_iter()
            .find(|b| *b == bucket)
            .ok_or_else(|| ControlError::bad_request(format!("unknown bucket {bucket:?}")))?;
        state.limits.limits.insert(key, limit);
    }
    Ok(Json(json!(state.limits.limits)))
}

/// `POST /_sim/expire-tokens` → `{"expired": n}`.
async fn expire_tokens(State(sim): State<Simulator>) -> Json<Value> {
    Json(json!({"expired": sim.lock().tokens.expire_all(Utc::now())}))
}

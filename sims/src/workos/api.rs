//! WorkOS's read API: `GET /events`, `/directories`, `/directory_users`, `/directory_groups`
//! and their `/{id}`. Handlers check the key, parse the query and page by id cursors.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::{Simulator, message};

pub fn routes() -> Router<Simulator> {
    Router::new()
        .route("/events", get(events))
        .route("/directories", get(directories))
        .route("/directory_users", get(users))
        .route("/directory_users/{id}", get(user))
        .route("/directory_groups", get(groups))
        .route("/directory_groups/{id}", get(group))
}

type Params = Vec<(String, String)>;
type Answer = Result<Response, Box<Response>>;

pub fn not_found(what: &str) -> Response {
    let body = json!({"code": "entity_not_found", "message": format!("{what} not found.")});
    (StatusCode::NOT_FOUND, Json(body)).into_response()
}

fn invalid(field: &str, code: &str) -> Box<Response> {
    let body = json!({"code": "invalid_request_parameters", "message": "Validation failed",
                      "errors": [{"field": field, "code": code}]});
    Box::new((StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response())
}

fn check(
    sim: &Simulator,
    headers: &HeaderMap,
    raw: Option<String>,
) -> Result<Params, Box<Response>> {
    let key = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if key != Some(sim.config().api_key.as_str()) {
        return Err(Box::new(message(StatusCode::UNAUTHORIZED, "Unauthorized")));
    }
    Ok(
        url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
            .into_owned()
            .collect(),
    )
}

fn param<'a>(p: &'a Params, key: &str) -> Option<&'a str> {
    p.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

fn limit(p: &Params) -> Result<usize, Box<Response>> {
    match param(p, "limit") {
        None => Ok(10),
        Some(t) => t
            .parse()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| invalid("limit", "must be between 1 and 100")),
    }
}

fn cursor(p: &Params, key: &str, prefix: &str) -> Result<Option<String>, Box<Response>> {
    match param(p, key) {
        Some(c) if !c.starts_with(prefix) || c.len() != prefix.len() + 26 => {
            Err(invalid(key, "invalid_cursor"))
        }
        c => Ok(c.map(str::to_owned)),
    }
}

/// One page of `items` (ascending by id) in `order`, with `before`/`after` cursors.
fn page(mut items: Vec<(String, Value)>, p: &Params, prefix: &str, asc_only: bool) -> Answer {
    let n = limit(p)?;
    let desc = !asc_only && param(p, "order") != Some("asc");
    if desc {
        items.reverse();
    }
    let ahead = |a: &str, b: &str| if desc { a < b } else { a > b };
    let (after, before) = (cursor(p, "after", prefix)?, cursor(p, "before", prefix)?);
    let slice: Vec<(String, Value)> = if let Some(b) = before {
        let kept: Vec<_> = items
            .iter()
            .filter(|(id, _)| ahead(&b, id))
            .cloned()
            .collect();
        kept[kept.len().saturating_sub(n)..].to_vec()
    } else {
        let start = after.map_or(0, |a| {
            items
                .iter()
                .position(|(id, _)| ahead(id, &a))
                .unwrap_or(items.len())
        });
        items[start..].iter().take(n).cloned().collect()
    };
    let first_pos = slice
        .first()
        .and_then(|(f, _)| items.iter().position(|(id, _)| id == f));
    let before = first_pos
        .filter(|pos| *pos > 0)
        .and(slice.first())
        .map(|(id, _)| id.clone());
    let last_pos = slice
        .last()
        .and_then(|(l, _)| items.iter().position(|(id, _)| id == l));
    let after = last_pos
        .filter(|pos| pos + 1 < items.len())
        .and(slice.last())
        .map(|(id, _)| id.clone());
    let data: Vec<Value> = slice.into_iter().map(|(_, v)| v).collect();
    Ok(Json(json!({"object": "list", "data": data, "list_metadata": {"before": before, "after": after}})).into_response())
}

fn time(p: &Params, key: &str) -> Result<Option<DateTime<Utc>>, Box<Response>> {
    param(p, key)
        .map(|t| {
            DateTime::parse_from_rfc3339(t)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| invalid(key, "must be an ISO 8601 date"))
        })
        .transpose()
}

async fn events(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    events_page(&sim, &headers, raw).unwrap_or_else(|e| *e)
}

fn events_page(sim: &Simulator, headers: &HeaderMap, raw: Option<String>) -> Answer {
    let p = check(sim, headers, raw)?;
    let types: Vec<String> = p
        .iter()
        .filter(|(k, _)| k == "events" || k == "events[]")
        .flat_map(|(_, v)| v.split(',').map(|t| t.trim().to_owned()))
        .filter(|t| !t.is_empty())
        .collect();
    if types.is_empty() {
        return Err(invalid("events", "required"));
    }
    let (start, end) = (time(&p, "range_start")?, time(&p, "range_end")?);
    if start.is_some() && param(&p, "after").is_some() {
        return Err(invalid("after", "cannot be combined with range_start"));
    }
    let org = param(&p, "organization_id");
    let now = Utc::now();
    let retained = now - Duration::days(30);
    let state = sim.lock();
    let items = state
        .world
        .visible(now)
        .iter()
        .filter(|e| {
            e.created_at >= retained
                && start.is_none_or(|s| e.created_at >= s)
                && end.is_none_or(|x| e.created_at < x)
        })
        .filter(|e| org.is_none_or(|o| o == e.organization_id))
        .filter(|e| {
            e.body["event"]
                .as_str()
                .is_some_and(|t| types.iter().any(|x| x == t))
        })
        .map(|e| (e.id.clone(), e.body.clone()))
        .collect();
    page(items, &p, "event_", true)
}

async fn directories(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let run = || -> Answer {
        let p = check(&sim, &headers, raw)?;
        let w = &sim.lock().world;
        let matches = param(&p, "organization_id").is_none_or(|o| o == w.organization_id);
        let items = if matches {
            vec![(w.directory_id.clone(), w.directory.clone())]
        } else {
            Vec::new()
        };
        page(items, &p, "directory_", false)
    };
    run().unwrap_or_else(|e| *e)
}

async fn users(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let run = || -> Answer {
        let p = check(&sim, &headers, raw)?;
        let w = &sim.lock().world;
        let (dir, group) = (param(&p, "directory"), param(&p, "group"));
        if dir.is_none() && group.is_none() {
            return Err(invalid("directory", "directory or group is required"));
        }
        let email = param(&p, "email");
        if email.is_some() && dir.is_none() {
            return Err(invalid("email", "requires directory"));
        }
        let members = group.map(|g| {
            w.groups
                .get(g)
                .map(|g| g.members.clone())
                .unwrap_or_default()
        });
        let items = w
            .users
            .iter()
            .filter(|(_, u)| {
                dir.is_none_or(|d| d == w.directory_id)
                    && email.is_none_or(|e| u.get("email") == Some(&json!(e)))
            })
            .filter(|(id, _)| members.as_ref().is_none_or(|m| m.contains(*id)))
            .map(|(id, u)| (id.clone(), Value::Object(u.clone())))
            .collect();
        page(items, &p, "directory_user_", false)
    };
    run().unwrap_or_else(|e| *e)
}

async fn groups(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let run = || -> Answer {
        let p = check(&sim, &headers, raw)?;
        let w = &sim.lock().world;
        let (dir, user) = (param(&p, "directory"), param(&p, "user"));
        if dir.is_none() && user.is_none() {
            return Err(invalid("directory", "directory or user is required"));
        }
        let items = w
            .groups
            .iter()
            .filter(|(_, g)| {
                dir.is_none_or(|d| d == w.directory_id)
                    && user.is_none_or(|u| g.members.contains(u))
            })
            .map(|(id, g)| (id.clone(), Value::Object(g.body.clone())))
            .collect();
        page(items, &p, "directory_group_", false)
    };
    run().unwrap_or_else(|e| *e)
}

async fn user(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(e) = check(&sim, &headers, None) {
        return *e;
    }
    match sim.lock().world.users.get(&id) {
        Some(u) => Json(u.clone()).into_response(),
        None => not_found("Directory User"),
    }
}

async fn group(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(e) = check(&sim, &headers, None) {
        return *e;
    }
    match sim.lock().world.groups.get(&id) {
        Some(g) => Json(g.body.clone()).into_response(),
        None => not_found("Directory Group"),
    }
}

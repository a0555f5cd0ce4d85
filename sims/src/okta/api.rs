//! Okta's read API: `GET /api/v1/logs`, `/api/v1/users`, `/api/v1/users/{id}`,
//! `/api/v1/users/{id}/groups`, `/api/v1/groups`, `/api/v1/groups/{id}/users`. Handlers
//! parse the query, check auth, and page; paging is by `Link: <…>; rel="next"` headers.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use super::Simulator;
use super::auth::{self, authorize};
use super::error::OktaError;
use super::filter::{self, Expr, Op};
use super::log::{Bookmark, LogQuery};
use super::model::{self, User};
use crate::shared::base_url;

pub fn routes() -> Vec<(&'static str, MethodRouter<Simulator>)> {
    vec![
        ("/oauth2/v1/token", post(auth::issue_token)),
        ("/api/v1/logs", get(logs)),
        ("/api/v1/users", get(users)),
        ("/api/v1/users/{id}", get(user)),
        ("/api/v1/users/{id}/groups", get(user_groups)),
        ("/api/v1/groups", get(groups)),
        ("/api/v1/groups/{id}/users", get(group_users)),
    ]
}

type Params = BTreeMap<String, String>;

fn params(raw: Option<String>) -> Params {
    url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

fn limit(p: &Params, default: usize, max: usize, clamp: bool) -> Result<usize, OktaError> {
    let Some(text) = p.get("limit").filter(|t| !t.is_empty()) else {
        return Ok(default);
    };
    match text.parse::<usize>() {
        Ok(n) if n <= max => Ok(n),
        Ok(_) if clamp => Ok(max),
        _ => Err(OktaError::validation(
            "limit",
            format!("limit: must be an integer from 0 to {max}"),
        )),
    }
}

fn time(p: &Params, key: &str) -> Result<Option<DateTime<Utc>>, OktaError> {
    p.get(key)
        .filter(|t| !t.is_empty())
        .map(|t| {
            DateTime::parse_from_rfc3339(t)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| OktaError::validation(key, format!("{key}: not an ISO 8601 time")))
        })
        .transpose()
}

/// `Link` headers: `self`, and `next` with `after` replacing any cursor in the query.
fn links(headers: &HeaderMap, path: &str, p: &Params, next: Option<String>) -> HeaderMap {
    let base = base_url(headers);
    let url = |p: &Params| {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(p.iter())
            .finish();
        if query.is_empty() {
            format!("{base}{path}")
        } else {
            format!("{base}{path}?{query}")
        }
    };
    let mut out = HeaderMap::new();
    let mut add = |target: String, rel: &str| {
        if let Ok(v) = HeaderValue::from_str(&format!("<{target}>; rel=\"{rel}\"")) {
            out.append(header::LINK, v);
        }
    };
    add(url(p), "self");
    if let Some(after) = next {
        let mut next_params = p.clone();
        next_params.remove("since");
        next_params.insert("after".to_owned(), after);
        add(url(&next_params), "next");
    }
    out
}

/// `GET /api/v1/logs`.
async fn logs(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, OktaError> {
    authorize(&sim, &headers, "okta.logs.read")?;
    let p = params(raw);
    let now = Utc::now();
    let since = time(&p, "since")?;
    if since.is_some_and(|s| s < now - Duration::days(180)) {
        return Err(OktaError::validation(
            "since",
            "since: must be within the last 180 days",
        ));
    }
    let after = match p.get("after") {
        None => None,
        Some(_) if since.is_some() => {
            return Err(OktaError::validation(
                "after",
                "after: cannot be combined with since",
            ));
        }
        Some(text) => Some(Bookmark::decode(text).ok_or_else(|| {
            OktaError::validation("after", "after: not a bookmark this server issued")
        })?),
    };
    let descending = match p.get("sortOrder").map(String::as_str) {
        None | Some("ASCENDING") => false,
        Some("DESCENDING") => true,
        Some(_) => {
            return Err(OktaError::validation(
                "sortOrder",
                "sortOrder: ASCENDING or DESCENDING",
            ));
        }
    };
    let filter = p
        .get("filter")
        .filter(|f| !f.trim().is_empty())
        .map(|f| filter::parse(f, &|path, _| path != "published"))
        .transpose()
        .map_err(OktaError::invalid_filter)?;
    let keywords: Vec<String> = p
        .get("q")
        .map(|q| q.split_whitespace().map(str::to_lowercase).collect())
        .unwrap_or_default();
    if keywords.len() > 10 || keywords.iter().any(|k| k.chars().count() > 40) {
        return Err(OktaError::validation(
            "q",
            "q: at most 10 keywords of at most 40 characters",
        ));
    }
    let query = LogQuery {
        since,
        until: time(&p, "until")?,
        after,
        limit: limit(&p, 100, 1000, false)?,
        descending,
        filter,
        keywords,
    };
    let page = sim.lock().world.log.query(&query, now);
    let links = links(
        &headers,
        "/api/v1/logs",
        &p,
        page.next.map(Bookmark::encode),
    );
    Ok((StatusCode::OK, links, Json(page.events)).into_response())
}

/// Users' filterable attributes (`filter`: `eq` only, `lastUpdated` also ordered).
fn user_filter(path: &str, op: Op) -> bool {
    const EQ: [&str; 7] = [
        "status",
        "lastUpdated",
        "id",
        "profile.login",
        "profile.email",
        "profile.firstName",
        "profile.lastName",
    ];
    EQ.contains(&path)
        && (op == Op::Eq || (path == "lastUpdated" && op != Op::Sw && op != Op::Co && op != Op::Ew))
}

/// Users' searchable attributes (`search`: `eq`, `sw`, `co`, ordered comparisons on times).
fn user_search(path: &str, op: Op) -> bool {
    let known = path.starts_with("profile.")
        || [
            "id",
            "status",
            "created",
            "activated",
            "statusChanged",
            "lastUpdated",
        ]
        .contains(&path);
    known && op != Op::Ew
}

/// Sorted by id, from the one after `after`, at most `limit`; the next cursor when more remain.
fn page<'a, T>(
    mut items: Vec<&'a T>,
    id: impl Fn(&T) -> &str,
    after: Option<&String>,
    limit: usize,
) -> (Vec<&'a T>, Option<String>) {
    items.sort_by(|a, b| id(a).cmp(id(b)));
    let rest: Vec<&T> = items
        .into_iter()
        .filter(|i| after.is_none_or(|a| id(i) > a.as_str()))
        .collect();
    let more = rest.len() > limit;
    let page: Vec<&T> = rest.into_iter().take(limit).collect();
    let next = if more {
        page.last().map(|i| id(i).to_owned())
    } else {
        None
    };
    (page, next)
}

fn expr(p: &Params, key: &str, allowed: fn(&str, Op) -> bool) -> Result<Option<Expr>, OktaError> {
    p.get(key)
        .filter(|f| !f.trim().is_empty())
        .map(|f| filter::parse(f, &allowed))
        .transpose()
        .map_err(|e| OktaError::validation(key, format!("{key}: {e}")))
}

/// `GET /api/v1/users`: `DEPROVISIONED` users only with `filter` or `search`.
async fn users(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, OktaError> {
    authorize(&sim, &headers, "okta.users.read")?;
    let p = params(raw);
    let limit = limit(&p, 200, 200, true)?;
    let filter = expr(&p, "filter", user_filter)?;
    let search = expr(&p, "search", user_search)?;
    let q = p.get("q").map(|q| q.to_lowercase());
    let base = base_url(&headers);
    let state = sim.lock();
    let views: Vec<(String, Value)> = state
        .world
        .users()
        .iter()
        .map(|u| (u.id.clone(), u.to_json(&base)))
        .collect();
    drop(state);
    let plain = filter.is_none() && search.is_none();
    let selected: Vec<&(String, Value)> = views
        .iter()
        .filter(|(_, v)| !plain || v["status"] != "DEPROVISIONED")
        .filter(|(_, v)| filter.as_ref().is_none_or(|f| f.matches(v)))
        .filter(|(_, v)| search.as_ref().is_none_or(|f| f.matches(v)))
        .filter(|(_, v)| {
            q.as_ref().is_none_or(|q| {
                ["firstName", "lastName", "email", "login"].iter().any(|k| {
                    v["profile"][k]
                        .as_str()
                        .is_some_and(|s| s.to_lowercase().starts_with(q.as_str()))
                })
            })
        })
        .collect();
    let (page, next) = page(selected, |(id, _)| id.as_str(), p.get("after"), limit);
    // `q` has no paging.
    let next = if q.is_some() { None } else { next };
    let body: Vec<&Value> = page.iter().map(|(_, v)| v).collect();
    let links = links(&headers, "/api/v1/users", &p, next);
    Ok((links, Json(body)).into_response())
}

fn find_user<'a>(users: &'a [User], key: &str) -> Result<&'a User, OktaError> {
    users
        .iter()
        .find(|u| u.id == key || u.login().eq_ignore_ascii_case(key))
        .ok_or_else(|| OktaError::not_found(key, "User"))
}

/// `GET /api/v1/users/{id or login}` (deprovisioned users included).
async fn user(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, OktaError> {
    authorize(&sim, &headers, "okta.users.read")?;
    let state = sim.lock();
    Ok(Json(
        find_user(state.world.users(), &id)?.to_json(&base_url(&headers)),
    ))
}

/// `GET /api/v1/users/{id}/groups` (no paging).
async fn user_groups(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Vec<Value>>, OktaError> {
    authorize(&sim, &headers, "okta.users.read")?;
    let state = sim.lock();
    let user = find_user(state.world.users(), &id)?;
    let base = base_url(&headers);
    let groups = state.world.groups_of(&user.id);
    Ok(Json(
        state
            .world
            .groups()
            .iter()
            .filter(|g| groups.contains(&g.id))
            .map(|g| g.to_json(&base))
            .collect(),
    ))
}

fn group_filter(path: &str, op: Op) -> bool {
    match path {
        "id" | "type" => op == Op::Eq,
        "lastUpdated" | "lastMembershipUpdated" => !matches!(op, Op::Sw | Op::Co | Op::Ew),
        _ => false,
    }
}

fn group_search(path: &str, op: Op) -> bool {
    (path.starts_with("profile.")
        || [
            "id",
            "type",
            "created",
            "lastUpdated",
            "lastMembershipUpdated",
        ]
        .contains(&path))
        && op != Op::Ew
}

/// `GET /api/v1/groups`.
async fn groups(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, OktaError> {
    authorize(&sim, &headers, "okta.groups.read")?;
    let p = params(raw);
    let limit = limit(&p, 10_000, 10_000, true)?;
    let filter = expr(&p, "filter", group_filter)?;
    let search = expr(&p, "search", group_search)?;
    let q = p.get("q").map(|q| q.to_lowercase());
    let base = base_url(&headers);
    let views: Vec<(String, Value)> = sim
        .lock()
        .world
        .groups()
        .iter()
        .map(|g| (g.id.clone(), g.to_json(&base)))
        .collect();
    let selected: Vec<&(String, Value)> = views
        .iter()
        .filter(|(_, v)| filter.as_ref().is_none_or(|f| f.matches(v)))
        .filter(|(_, v)| search.as_ref().is_none_or(|f| f.matches(v)))
        .filter(|(_, v)| {
            q.as_ref().is_none_or(|q| {
                v["profile"]["name"]
                    .as_str()
                    .is_some_and(|n| n.to_lowercase().starts_with(q.as_str()))
            })
        })
        .collect();
    let (page, next) = page(selected, |(id, _)| id.as_str(), p.get("after"), limit);
    let next = if q.is_some() { None } else { next };
    let body: Vec<&Value> = page.iter().map(|(_, v)| v).collect();
    let links = links(&headers, "/api/v1/groups", &p, next);
    Ok((links, Json(body)).into_response())
}

/// `GET /api/v1/groups/{id}/users`: members, whatever their status.
async fn group_users(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, OktaError> {
    authorize(&sim, &headers, "okta.groups.read")?;
    let p = params(raw);
    let limit = limit(&p, 1000, 1000, true)?;
    let base = base_url(&headers);
    let state = sim.lock();
    let group = state
        .world
        .groups()
        .iter()
        .find(|g| g.id == id)
        .ok_or_else(|| OktaError::not_found(&id, "UserGroup"))?;
    let by_id = model::by_id(state.world.users());
    let members: Vec<&User> = group
        .members
        .iter()
        .filter_map(|m| by_id.get(m.as_str()).copied())
        .collect();
    let (page, next) = page(members, |u| u.id.as_str(), p.get("after"), limit);
    let body: Vec<Value> = page.iter().map(|u| u.to_json(&base)).collect();
    drop(state);
    let links = links(&headers, &format!("/api/v1/groups/{id}/users"), &p, next);
    Ok((links, Json(body)).into_response())
}

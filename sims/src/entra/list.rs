//! Graph's plain listings, for a directory pass: `GET /v1.0/users`, `GET /v1.0/groups` and
//! `GET /v1.0/groups/{id}/members`, each paged with `$top` (default `page_size`, at most 999)
//! and an opaque `$skiptoken` in `@odata.nextLink`. They read the tenant's current state
//! (no replication lag): live users (soft-deleted ones are only in `deletedItems`), live
//! groups, and a group's current members as `#microsoft.graph.user` directory objects.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use super::Simulator;
use super::api::authorize;
use super::delta::{GROUP_DEFAULT, Kind, USER_DEFAULT};
use super::error::GraphError;
use crate::shared::base_url;

/// Graph's largest `$top` for users and groups.
const MAX_TOP: usize = 999;

/// The query of a listing request.
struct Query {
    select: Option<Vec<String>>,
    top: usize,
    offset: usize,
    raw: BTreeMap<String, String>,
}

fn query(raw: Option<String>, default_top: usize) -> Result<Query, GraphError> {
    let raw: BTreeMap<String, String> =
        url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    for unsupported in ["$expand", "$orderby", "$filter", "$search"] {
        if raw.contains_key(unsupported) {
            return Err(GraphError::bad_request(format!(
                "The simulator does not support '{unsupported}' on a listing."
            )));
        }
    }
    let top = match raw.get("$top") {
        None => default_top,
        Some(t) => t
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_TOP).contains(n))
            .ok_or_else(|| {
                GraphError::bad_request(format!(
                    "Invalid page size specified: '{t}'. Must be between 1 and {MAX_TOP} inclusive."
                ))
            })?,
    };
    let offset = match raw.get("$skiptoken") {
        None => 0,
        Some(t) => URL_SAFE_NO_PAD
            .decode(t)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.strip_prefix("offset:")?.parse::<usize>().ok())
            .ok_or_else(|| GraphError::bad_request("Invalid $skiptoken."))?,
    };
    let select = raw.get("$select").map(|s| {
        s.split(',')
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
            .collect()
    });
    Ok(Query {
        select,
        top,
        offset,
        raw,
    })
}

/// One page of `all` as a Graph collection, with `@odata.nextLink` when more follow (the same
/// query, `$skiptoken` replaced).
fn page(headers: &HeaderMap, path: &str, q: &Query, all: Vec<Value>, context: &str) -> Response {
    let end = (q.offset + q.top).min(all.len());
    let value: Vec<Value> = all
        .get(q.offset..end)
        .map(<[Value]>::to_vec)
        .unwrap_or_default();
    let mut body = json!({
        "@odata.context": format!("https://graph.microsoft.com/v1.0/$metadata#{context}"),
        "value": value,
    });
    if end < all.len() {
        let mut next = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in q.raw.iter().filter(|(k, _)| *k != "$skiptoken") {
            next.append_pair(k, v);
        }
        next.append_pair(
            "$skiptoken",
            &URL_SAFE_NO_PAD.encode(format!("offset:{end}")),
        );
        body["@odata.nextLink"] = json!(format!("{}{path}?{}", base_url(headers), next.finish()));
    }
    Json(body).into_response()
}

/// The selected properties of an object (default ones without `$select`), with its `id`.
fn shaped(
    id: &str,
    props: &Map<String, Value>,
    select: Option<&Vec<String>>,
    defaults: &[&str],
) -> Value {
    let names: Vec<String> = select
        .cloned()
        .unwrap_or_else(|| defaults.iter().map(|s| (*s).to_owned()).collect());
    let mut out: Map<String, Value> = names
        .iter()
        .filter(|n| *n != "id")
        .map(|n| (n.clone(), props.get(n).cloned().unwrap_or(Value::Null)))
        .collect();
    out.insert("id".into(), json!(id));
    Value::Object(out)
}

/// `GET /v1.0/users`: live users.
pub async fn users(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, GraphError> {
    authorize(&sim, &headers, Kind::Users)?;
    let q = query(raw, sim.config().page_size)?;
    let all: Vec<Value> = sim
        .lock()
        .world
        .users
        .iter()
        .filter(|u| u.removed.is_none())
        .map(|u| shaped(&u.id, &u.props, q.select.as_ref(), &USER_DEFAULT))
        .collect();
    Ok(page(&headers, "/v1.0/users", &q, all, "users"))
}

/// `GET /v1.0/groups`: live groups.
pub async fn groups(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, GraphError> {
    authorize(&sim, &headers, Kind::Groups)?;
    let q = query(raw, sim.config().page_size)?;
    let all: Vec<Value> = sim
        .lock()
        .world
        .groups
        .iter()
        .filter(|g| g.removed.is_none())
        .map(|g| shaped(&g.id, &g.props, q.select.as_ref(), &GROUP_DEFAULT))
        .collect();
    Ok(page(&headers, "/v1.0/groups", &q, all, "groups"))
}

/// `GET /v1.0/groups/{id}/members`: the group's current members (users only; the simulator
/// has no nested groups), `{"@odata.type": "#microsoft.graph.user", "id", …selected}`.
pub async fn members(
    State(sim): State<Simulator>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, GraphError> {
    authorize(&sim, &headers, Kind::Groups)?;
    let q = query(raw, sim.config().page_size)?;
    let all: Vec<Value> = {
        let state = sim.lock();
        let world = &state.world;
        let group = world
            .groups
            .iter()
            .find(|g| g.id == id && g.removed.is_none())
            .ok_or_else(|| {
                GraphError::new(
                    axum::http::StatusCode::NOT_FOUND,
                    "Request_ResourceNotFound",
                    format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present."),
                )
            })?;
        group
            .members
            .iter()
            .filter_map(|m| world.users.iter().find(|u| u.id == *m))
            .map(|u| {
                let mut v = shaped(&u.id, &u.props, q.select.as_ref(), &USER_DEFAULT);
                v["@odata.type"] = json!("#microsoft.graph.user");
                v
            })
            .collect()
    };
    let path = format!("/v1.0/groups/{id}/members");
    Ok(page(&headers, &path, &q, all, "directoryObjects"))
}

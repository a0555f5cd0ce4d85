//! BambooHR's read API and the simulator's control endpoints.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use super::{Change, Simulator, error};
use crate::shared::control::{ControlError, json_body};

const BASE: &str = "/api/gateway.php/{company}/v1";
const FIELDS: &[&str] = &[
    "firstName",
    "lastName",
    "displayName",
    "workEmail",
    "status",
    "employmentHistoryStatus",
    "hireDate",
    "terminationDate",
    "department",
    "division",
    "location",
    "jobTitle",
];

pub fn routes() -> Router<Simulator> {
    Router::new()
        .route(&format!("{BASE}/employees/changed"), get(changed))
        .route(&format!("{BASE}/employees/directory"), get(directory))
        .route(&format!("{BASE}/employees/{{id}}"), get(employee))
}

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, false)
}

fn check(sim: &Simulator, company: &str, headers: &HeaderMap) -> Result<(), Box<Response>> {
    if company != sim.config().company {
        return Err(Box::new(error(StatusCode::NOT_FOUND, "Company not found")));
    }
    let now = Utc::now();
    let mut state = sim.lock();
    if state.bad_keys.1.is_some_and(|until| until > now) {
        return Err(Box::new(error(
            StatusCode::FORBIDDEN,
            "Too many failed authentication attempts",
        )));
    }
    let user = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok()?.strip_prefix("Basic ").map(str::to_owned))
        .and_then(|b| STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.split_once(':').map(|(u, _)| u.to_owned()));
    if user.as_deref() != Some(sim.config().api_key.as_str()) {
        state.bad_keys.0 += 1;
        if state.bad_keys.0 >= 5 {
            state.bad_keys = (0, Some(now + Duration::seconds(60)));
        }
        return Err(Box::new(error(StatusCode::UNAUTHORIZED, "Invalid API key")));
    }
    Ok(())
}

async fn changed(
    State(sim): State<Simulator>,
    Path(company): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    if let Err(e) = check(&sim, &company, &headers) {
        return *e;
    }
    let p: Vec<(String, String)> = url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .into_owned()
        .collect();
    let get = |k: &str| p.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let Some(since) = get("since").and_then(|s| DateTime::parse_from_rfc3339(&s).ok()) else {
        return error(
            StatusCode::BAD_REQUEST,
            "Invalid or missing since parameter (ISO 8601)",
        );
    };
    let kind = get("type").map(|t| t.to_ascii_lowercase());
    if kind
        .as_deref()
        .is_some_and(|t| !["inserted", "updated", "deleted"].contains(&t))
    {
        return error(
            StatusCode::BAD_REQUEST,
            "type must be inserted, updated or deleted",
        );
    }
    let state = sim.lock();
    let mut last: std::collections::BTreeMap<u64, &Change> = std::collections::BTreeMap::new();
    for c in state.changes.iter().filter(|c| c.at > since) {
        last.insert(c.id, c);
    }
    let employees: Map<String, Value> = last
        .values()
        .filter(|c| {
            kind.as_deref()
                .is_none_or(|k| c.action.eq_ignore_ascii_case(k))
        })
        .map(|c| {
            (
                c.id.to_string(),
                json!({"id": c.id.to_string(), "action": c.action, "lastChanged": stamp(c.at)}),
            )
        })
        .collect();
    let latest = state
        .changes
        .iter()
        .map(|c| c.at)
        .max()
        .map_or(Value::Null, |t| json!(stamp(t)));
    Json(json!({"latest": latest, "employees": employees})).into_response()
}

async fn directory(
    State(sim): State<Simulator>,
    Path(company): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(e) = check(&sim, &company, &headers) {
        return *e;
    }
    let state = sim.lock();
    if !state.directory_enabled {
        return error(StatusCode::FORBIDDEN, "Directory sharing is disabled");
    }
    let employees: Vec<Value> = state
        .employees
        .iter()
        .filter(|(_, e)| e.get("status") == Some(&json!("Active")))
        .map(|(id, e)| {
            let mut out = json!({"id": id.to_string()});
            for f in [
                "displayName",
                "firstName",
                "lastName",
                "jobTitle",
                "workEmail",
                "department",
                "division",
                "location",
            ] {
                out[f] = e.get(f).cloned().unwrap_or(Value::Null);
            }
            out
        })
        .collect();
    if employees.is_empty() {
        return error(StatusCode::NOT_FOUND, "No employees");
    }
    let fields: Vec<Value> = [
        "displayName",
        "firstName",
        "lastName",
        "jobTitle",
        "workEmail",
        "department",
        "division",
        "location",
    ]
    .iter()
    .map(|f| json!({"id": f, "type": if *f == "workEmail" { "email" } else { "text" }, "name": f}))
    .collect();
    Json(json!({"fields": fields, "employees": employees})).into_response()
}

async fn employee(
    State(sim): State<Simulator>,
    Path((company, id)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    if let Err(e) = check(&sim, &company, &headers) {
        return *e;
    }
    let fields: Vec<String> = url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "fields")
        .map(|(_, v)| v.split(',').map(str::to_owned).collect())
        .unwrap_or_else(|| ["firstName", "lastName"].map(str::to_owned).to_vec());
    let state = sim.lock();
    let Some(e) = id.parse::<u64>().ok().and_then(|n| state.employees.get(&n)) else {
        return error(StatusCode::NOT_FOUND, "Employee not found");
    };
    let mut out = json!({"id": id});
    for f in fields {
        out[&f] = e.get(&f).cloned().unwrap_or(Value::Null);
    }
    Json(out).into_response()
}

pub fn control_routes() -> Router<Simulator> {
    Router::new()
        .route("/_sim/state", get(state))
        .route("/_sim/employees", post(add))
        .route("/_sim/employees/{id}", patch(update).delete(remove))
        .route("/_sim/directory", put(set_directory))
}

async fn state(State(sim): State<Simulator>) -> Json<Value> {
    let s = sim.lock();
    let changes: Vec<Value> = s
        .changes
        .iter()
        .map(|c| json!({"id": c.id, "action": c.action, "at": stamp(c.at)}))
        .collect();
    Json(
        json!({"employees": s.employees, "changes": changes, "directory_enabled": s.directory_enabled}),
    )
}

/// Splits `at` off a body and checks the fields.
fn fields(body: &Bytes) -> Result<(Map<String, Value>, DateTime<Utc>), ControlError> {
    let mut f: Map<String, Value> = json_body(body)?;
    let at = match f.remove("at") {
        Some(v) => v
            .as_str()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc))
            .ok_or_else(|| ControlError::bad_request("at must be ISO 8601"))?,
        None => Utc::now(),
    };
    if let Some(bad) = f.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(ControlError::bad_request(format!(
            "unknown field {bad:?}; known: {}",
            FIELDS.join(", ")
        )));
    }
    if f.get("status")
        .is_some_and(|s| s != "Active" && s != "Inactive")
    {
        return Err(ControlError::bad_request(
            "status must be Active or Inactive",
        ));
    }
    Ok((f, at))
}

async fn add(State(sim): State<Simulator>, body: Bytes) -> Result<Response, ControlError> {
    let (mut f, at) = fields(&body)?;
    f.entry("status").or_insert(json!("Active"));
    f.entry("employmentHistoryStatus")
        .or_insert(json!("Full-Time"));
    f.entry("terminationDate").or_insert(json!("0000-00-00"));
    let name = format!(
        "{} {}",
        f.get("firstName").and_then(Value::as_str).unwrap_or(""),
        f.get("lastName").and_then(Value::as_str).unwrap_or("")
    );
    f.entry("displayName").or_insert(json!(name.trim()));
    let mut s = sim.lock();
    let id = s.next_id;
    s.next_id += 1;
    s.employees.insert(id, f);
    s.changes.push(Change {
        id,
        action: "Inserted",
        at,
    });
    Ok((StatusCode::CREATED, Json(json!({"id": id.to_string()}))).into_response())
}

async fn update(
    State(sim): State<Simulator>,
    Path(id): Path<u64>,
    body: Bytes,
) -> Result<StatusCode, ControlError> {
    let (f, at) = fields(&body)?;
    let mut s = sim.lock();
    let e = s
        .employees
        .get_mut(&id)
        .ok_or_else(|| ControlError::not_found(format!("no employee {id}")))?;
    e.extend(f);
    s.changes.push(Change {
        id,
        action: "Updated",
        at,
    });
    Ok(StatusCode::NO_CONTENT)
}

async fn remove(
    State(sim): State<Simulator>,
    Path(id): Path<u64>,
    body: Bytes,
) -> Result<StatusCode, ControlError> {
    let (_, at) = fields(&body)?;
    let mut s = sim.lock();
    s.employees
        .remove(&id)
        .ok_or_else(|| ControlError::not_found(format!("no employee {id}")))?;
    s.changes.push(Change {
        id,
        action: "Deleted",
        at,
    });
    Ok(StatusCode::NO_CONTENT)
}

async fn set_directory(
    State(sim): State<Simulator>,
    body: Bytes,
) -> Result<Json<Value>, ControlError> {
    let f: Map<String, Value> = json_body(&body)?;
    let enabled = f
        .get("enabled")
        .and_then(Value::as_bool)
        .ok_or_else(|| ControlError::bad_request("enabled: bool"))?;
    sim.lock().directory_enabled = enabled;
    Ok(Json(json!({"enabled": enabled})))
}

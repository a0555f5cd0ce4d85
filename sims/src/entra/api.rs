//! Entra's API as the connector reads it: `POST /{tenant}/oauth2/v2.0/token` (client
//! credentials) and `GET /v1.0/users/delta`, `GET /v1.0/groups/delta` (the listings of a
//! directory pass are in `list`).

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use chrono::Utc;
use serde_json::{Value, json};

use super::Simulator;
use super::delta::{self, Kind, Token};
use super::error::{GraphError, aad_error};
use crate::shared::base_url;

/// The only scope a client-credentials request for Graph may ask for.
pub const GRAPH_DEFAULT_SCOPE: &str = "https://graph.microsoft.com/.default";

pub fn routes() -> Vec<(&'static str, MethodRouter<Simulator>)> {
    vec![
        ("/{tenant}/oauth2/v2.0/token", post(token)),
        ("/v1.0/users/delta", get(users_delta)),
        ("/v1.0/groups/delta", get(groups_delta)),
        ("/v1.0/users", get(super::list::users)),
        ("/v1.0/groups", get(super::list::groups)),
        ("/v1.0/groups/{id}/members", get(super::list::members)),
    ]
}

/// `POST /{tenant}/oauth2/v2.0/token`, form `client_id`, `client_secret`, `scope`,
/// `grant_type=client_credentials`.
async fn token(State(sim): State<Simulator>, Path(tenant): Path<String>, body: Bytes) -> Response {
    let form: BTreeMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    let config = sim.config();
    if tenant != config.tenant_id {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90002,
            &format!("Tenant '{tenant}' not found."),
        );
    }
    if get("grant_type") != "client_credentials" {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type.",
        );
    }
    if get("client_id") != config.client_id {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            "Application not found in the directory.",
        );
    }
    if get("client_secret") != config.client_secret {
        return aad_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000215,
            "Invalid client secret provided.",
        );
    }
    if get("scope") != GRAPH_DEFAULT_SCOPE {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            1002012,
            "The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.",
        );
    }
    let ttl = config.token_ttl_secs;
    let token = format!(
        "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.{}.sim",
        uuid::Uuid::new_v4().simple()
    );
    let expires = Utc::now() + chrono::Duration::seconds(i64::try_from(ttl).unwrap_or(3599));
    sim.lock().tokens.insert(token.clone(), expires);
    Json(json!({"token_type": "Bearer", "expires_in": ttl, "ext_expires_in": ttl, "access_token": token})).into_response()
}

pub(super) fn authorize(
    sim: &Simulator,
    headers: &HeaderMap,
    kind: Kind,
) -> Result<(), GraphError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Some((_, token)) = value
        .split_once(' ')
        .filter(|(s, _)| s.eq_ignore_ascii_case("bearer"))
    else {
        return Err(GraphError::unauthorized("Access token is empty."));
    };
    match sim.lock().tokens.get(token.trim()) {
        Some(exp) if *exp > Utc::now() => {}
        Some(_) => {
            return Err(GraphError::unauthorized(
                "Access token has expired or is not yet valid.",
            ));
        }
        None => return Err(GraphError::unauthorized("Invalid token.")),
    }
    let needed: &[&str] = match kind {
        Kind::Users => &["User.Read.All", "Directory.Read.All"],
        Kind::Groups => &[
            "GroupMember.Read.All",
            "Group.Read.All",
            "Directory.Read.All",
        ],
    };
    if sim
        .config()
        .roles
        .iter()
        .any(|r| needed.contains(&r.as_str()))
    {
        Ok(())
    } else {
        Err(GraphError::forbidden())
    }
}

fn page_size(headers: &HeaderMap, default: usize) -> usize {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|p| {
            p.trim()
                .strip_prefix("odata.maxpagesize=")?
                .trim()
                .parse::<usize>()
                .ok()
        })
        .filter(|n| *n > 0)
        .unwrap_or(default)
}

async fn users_delta(
    sim: State<Simulator>,
    headers: HeaderMap,
    raw: RawQuery,
) -> Result<Response, GraphError> {
    delta(sim, headers, raw, Kind::Users).await
}

async fn groups_delta(
    sim: State<Simulator>,
    headers: HeaderMap,
    raw: RawQuery,
) -> Result<Response, GraphError> {
    delta(sim, headers, raw, Kind::Groups).await
}

/// `GET /v1.0/{users|groups}/delta` with `$select`, `$skiptoken` or `$deltatoken`.
async fn delta(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    kind: Kind,
) -> Result<Response, GraphError> {
    authorize(&sim, &headers, kind)?;
    let q: BTreeMap<String, String> =
        url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    for unsupported in ["$expand", "$top", "$orderby", "$filter", "$search"] {
        if q.contains_key(unsupported) {
            return Err(GraphError::bad_request(format!(
                "Unsupported query option '{unsupported}' on a delta query."
            )));
        }
    }
    let path = match kind {
        Kind::Users => "/v1.0/users/delta",
        Kind::Groups => "/v1.0/groups/delta",
    };
    let base = format!("{}{path}", base_url(&headers));
    let select: Option<Vec<String>> = q.get("$select").map(|s| {
        s.split(',')
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
            .collect()
    });
    let now = Utc::now();
    let now_ms = now.timestamp_millis();
    let size = page_size(&headers, sim.config().page_size);
    let ttl_ms = i64::try_from(sim.config().delta_token_ttl_secs)
        .unwrap_or(i64::MAX / 2_000)
        .saturating_mul(1000);
    let state = sim.lock();
    // A refused token's round restarts with the `$select` it carried.
    let carried = q
        .get("$skiptoken")
        .or_else(|| q.get("$deltatoken"))
        .and_then(|t| Token::decode(t))
        .and_then(|t| t.select);
    let restart = |select: &Option<Vec<String>>| match carried.as_ref().or(select.as_ref()) {
        Some(s) => format!("{base}?$select={}", s.join(",")),
        None => base.clone(),
    };
    let valid = |t: &Token| t.nonce == state.nonce && t.kind == kind;
    let visible = state.world.visible_seq(now);
    let round = if let Some(skip) = q.get("$skiptoken") {
        Token::decode(skip)
            .filter(valid)
            .ok_or_else(|| GraphError::sync_state_gone(restart(&select)))?
    } else if let Some(text) = q.get("$deltatoken") {
        let from = if text == "latest" {
            Some(Token {
                from: visible,
                to: visible,
                initial: false,
                offset: 0,
                select: select.clone(),
                issued_ms: now_ms,
                nonce: state.nonce,
                kind,
            })
        } else {
            Token::decode(text).filter(valid).filter(|t| {
                t.issued_ms >= state.tokens_valid_from_ms && now_ms - t.issued_ms <= ttl_ms
            })
        };
        let from = from.ok_or_else(|| GraphError::sync_state_gone(restart(&select)))?;
        Token {
            to: if text == "latest" {
                visible
            } else {
                visible.max(from.from)
            },
            initial: false,
            offset: 0,
            ..from
        }
    } else {
        Token {
            kind,
            from: 0,
            to: visible,
            initial: true,
            offset: 0,
            select,
            issued_ms: now_ms,
            nonce: state.nonce,
        }
    };
    let items = delta::items(&state.world, kind, &round, sim.config().members_per_item);
    drop(state);
    let end = (round.offset + size).min(items.len());
    let page: Vec<Value> = items
        .get(round.offset..end)
        .map(<[Value]>::to_vec)
        .unwrap_or_default();
    let mut body = json!({
        "@odata.context": format!("https://graph.microsoft.com/v1.0/$metadata#{}", match kind { Kind::Users => "users", Kind::Groups => "groups" }),
        "value": page,
    });
    if end < items.len() {
        let next = Token {
            offset: end,
            issued_ms: now_ms,
            ..round
        };
        body["@odata.nextLink"] = json!(format!("{base}?$skiptoken={}", next.encode()));
    } else {
        let next = Token {
            from: round.to,
            to: 0,
            initial: false,
            offset: 0,
            issued_ms: now_ms,
            ..round
        };
        body["@odata.deltaLink"] = json!(format!("{base}?$deltatoken={}", next.encode()));
    }
    let mut response = Json(body).into_response();
    if size != sim.config().page_size
        && let Ok(v) = format!("odata.maxpagesize={size}").parse()
    {
        response.headers_mut().insert("preference-applied", v);
    }
    Ok(response)
}

//! What the Users and Groups handlers read of a request, and the reads they answer alike.
//! [`ScimCall`] authenticates (it extracts [`ScimSource`] first) and carries what
//! `crate::scim` needs; the list parameters come from the query string or a SearchRequest
//! body; `list`, `search` and `get` differ between the two resource types only by the kind.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::FromRequestParts;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde_json::Value;

use super::{Scim, ScimRejection, ScimSource};
use crate::api::AppState;
use crate::scim::filter::get_ci;
use crate::scim::read::{ListQuery, join_list};
use crate::scim::{ResourceKind, ScimContext, ScimError};

/// An authenticated request to a SCIM resource endpoint: its source, the state, and its
/// `x-request-id` (which links the events it stores to its logs).
pub struct ScimCall {
    src: ScimSource,
    state: AppState,
    request_id: Option<String>,
}

impl FromRequestParts<AppState> for ScimCall {
    type Rejection = ScimRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let src = ScimSource::from_request_parts(parts, state).await?;
        let request_id = parts
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty() && v.len() <= 128)
            .map(str::to_owned);
        Ok(ScimCall {
            src,
            state: state.clone(),
            request_id,
        })
    }
}

impl ScimCall {
    /// The request's context for `crate::scim`.
    pub fn cx(&self) -> ScimContext<'_> {
        ScimContext {
            store: &self.state.store,
            ingestor: &self.state.ingestor,
            source: &self.src.name,
            base: self.src.base.clone(),
            request_id: self.request_id.clone(),
        }
    }

    /// `GET /{Users|Groups}`: a list or filter from the query string.
    pub async fn list(
        &self,
        kind: ResourceKind,
        q: HashMap<String, String>,
    ) -> Result<Scim, ScimError> {
        let q = list_query(q)?;
        Ok(Scim::ok(self.cx().list(kind, &q).await?))
    }

    /// `POST /{Users|Groups}/.search`: a list or filter from a SearchRequest body.
    pub async fn search(
        &self,
        kind: ResourceKind,
        body: Result<Bytes, BytesRejection>,
    ) -> Result<Scim, ScimError> {
        let q = search_query(&json_body(body)?)?;
        Ok(Scim::ok(self.cx().list(kind, &q).await?))
    }

    /// `GET /{Users|Groups}/{id}`, with `attributes` / `excludedAttributes`.
    pub async fn get(
        &self,
        kind: ResourceKind,
        id: &str,
        q: HashMap<String, String>,
    ) -> Result<Scim, ScimError> {
        let mut q = query_map(q);
        let (attributes, excluded) = (q.remove("attributes"), q.remove("excludedattributes"));
        Ok(Scim::ok(
            self.cx()
                .get(kind, id, attributes.as_deref(), excluded.as_deref())
                .await?,
        ))
    }
}

/// A request body as JSON (any content type: IdPs send `application/scim+json` or
/// `application/json`).
pub fn json_body(body: Result<Bytes, BytesRejection>) -> Result<Value, ScimError> {
    let bytes = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ScimError::status(
                StatusCode::PAYLOAD_TOO_LARGE,
                "the body is larger than server.max_body_bytes",
            )
        } else {
            ScimError::invalid_syntax("the body could not be read")
        }
    })?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ScimError::invalid_syntax(format!("the body is not JSON: {e}")))
}

/// Query parameters by lower-cased name (SCIM's names ignore case).
fn query_map(q: HashMap<String, String>) -> HashMap<String, String> {
    q.into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect()
}

/// A list query from the query string.
fn list_query(q: HashMap<String, String>) -> Result<ListQuery, ScimError> {
    let mut q = query_map(q);
    let int = |q: &mut HashMap<String, String>, k: &str| -> Result<Option<i64>, ScimError> {
        q.remove(k)
            .map(|v| {
                v.trim().parse::<i64>().map_err(|_| {
                    ScimError::invalid_value(format!("`{k}` must be an integer, not `{v}`"))
                })
            })
            .transpose()
    };
    Ok(ListQuery {
        start_index: int(&mut q, "startindex")?,
        count: int(&mut q, "count")?,
        filter: q.remove("filter"),
        attributes: q.remove("attributes"),
        excluded_attributes: q.remove("excludedattributes"),
    })
}

/// A list query from a SearchRequest body (RFC 7644 §3.4.3).
fn search_query(body: &Value) -> Result<ListQuery, ScimError> {
    let int = |k: &str| -> Result<Option<i64>, ScimError> {
        get_ci(body, k)
            .filter(|v| !v.is_null())
            .map(|v| {
                v.as_i64()
                    .ok_or_else(|| ScimError::invalid_value(format!("`{k}` must be an integer")))
            })
            .transpose()
    };
    Ok(ListQuery {
        filter: get_ci(body, "filter")
            .and_then(|v| v.as_str())
            .map(str::to_owned),
        start_index: int("startIndex")?,
        count: int("count")?,
        attributes: join_list(get_ci(body, "attributes")),
        excluded_attributes: join_list(get_ci(body, "excludedAttributes")),
    })
}

//! `/scim/{source}/v2/Users`.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;

use super::doc::{ScimErrorDoc, ScimListDoc, ScimPatchDoc, ScimSearchDoc, ScimUserDoc};
use super::{Scim, ScimSource, TAG, context, json_body, query_map};
use crate::api::AppState;
use crate::scim::read::{ListQuery, join_list};
use crate::scim::{ResourceKind, ScimError};

/// A list query from the query string.
pub(super) fn list_query(q: HashMap<String, String>) -> Result<ListQuery, ScimError> {
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
pub(super) fn search_query(body: &serde_json::Value) -> Result<ListQuery, ScimError> {
    use crate::scim::filter::get_ci;
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

/// One resource's `attributes` / `excludedAttributes`.
pub(super) fn projection(q: HashMap<String, String>) -> (Option<String>, Option<String>) {
    let mut q = query_map(q);
    (q.remove("attributes"), q.remove("excludedattributes"))
}

/// List or filter Users.
///
/// Filters: every operator, `and`/`or`/`not`, value paths; the IdPs' `userName eq "…"`,
/// `externalId eq "…"` and `emails[type eq "work"].value eq "…"` are answered from an index.
/// A filter that matches nothing answers 200 with an empty list (Entra's Test Connection).
#[utoipa::path(get, path = "/scim/{source}/v2/Users", tag = TAG, security(("scim" = [])),
    params(("source" = String, Path, description = "The SCIM source's configured name"),
        ("filter" = Option<String>, Query, description = "A SCIM filter", example = "userName eq \"ada@example.com\""),
        ("startIndex" = Option<i64>, Query, description = "1-based index of the first result"),
        ("count" = Option<i64>, Query, description = "Most results (clamped to filter.maxResults)"),
        ("attributes" = Option<String>, Query, description = "Comma-separated attributes to return"),
        ("excludedAttributes" = Option<String>, Query, description = "Comma-separated attributes to leave out")),
    responses((status = 200, description = "A ListResponse", body = ScimListDoc, content_type = "application/scim+json"),
        (status = 400, description = "A bad filter or parameter", body = ScimErrorDoc, content_type = "application/scim+json"),
        (status = 401, description = "No or a wrong bearer token", body = ScimErrorDoc, content_type = "application/scim+json"),
        (status = 404, description = "No SCIM source of that name", body = ScimErrorDoc, content_type = "application/scim+json")))]
pub async fn list_users(
    src: ScimSource,
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Scim, ScimError> {
    let q = list_query(q)?;
    Ok(Scim::ok(
        context(&state, &src, &headers)
            .list(ResourceKind::User, &q)
            .await?,
    ))
}

/// Search Users with a SearchRequest body.
#[utoipa::path(post, path = "/scim/{source}/v2/Users/.search", tag = TAG, security(("scim" = [])),
    params(("source" = String, Path, description = "The SCIM source's configured name")),
    request_body(content = ScimSearchDoc, content_type = "application/scim+json"),
    responses((status = 200, description = "A ListResponse", body = ScimListDoc, content_type = "application/scim+json"),
        (status = 400, description = "A bad filter or body", body = ScimErrorDoc, content_type = "application/scim+json"),
        (status = 401, description = "No or a wrong bearer token", body = ScimErrorDoc, content_type = "application/scim+json"),
        (status = 404, description = "No SCIM source of that name", body = ScimErrorDoc, content_type = "application/scim+json")))]
pub async fn search_users(
    src: ScimSource,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Scim, ScimError> {
    let q = search_query(&json_body(body)?)?;
    Ok(Scim::ok(
        context(&state, &src, &headers)
            .list(ResourceKind::User, &q)
            .await?,
    ))
}

/// Create a User.
///
/// `userName` is required, unique without regard to case, and must not begin or end with
/// whitespace. Unknown and read-only attributes are ignored. Answered once the user and its
/// `user.onboarded` event are stored.
#[utoipa::path(post, path = "/scim/{source}/v2/Users", tag = TAG, security(("scim" = [])),
    params(("source" = String, Path, description = "The SCIM source's configured name")),
    request_body(content = ScimUserDoc, content_type = "application/scim+json"),
    responses((status = 201, description = "Created; `Location` is its URL", body = ScimUserDoc, content_type = "application/scim+json"),
        (status = 400, description = "A missing or invalid attribute", body = ScimErrorDoc, content_type = "application/scim+json"),
        (status = 401, description = "No or a wrong bearer token", body = ScimErrorDoc, content_type = "application/scim+json"),
        (status = 404, description = "No SCIM source of that name", body = ScimErrorDoc, content_type = "application/scim+json"),
        (status = 409, description = "The userName (or an active user's email) is taken", body = ScimErrorDoc, content_type = "application/scim+json"),
        (status = 503, description = "The store cannot commit; nothing changed", body = ScimErrorDoc, content_type = "application/scim+json")))]
pub async fn create_user(
    src: ScimSource,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Scim, ScimError> {
    let body = json_body(body)?;
    Ok(Scim::created(
        context(&state, &src, &headers).create_user(&body).await?,
    ))
}

/// Get a User.
#[utoipa::path(get, path = "/scim/{source}/v2/Users/{id}", tag = TAG, security(("scim" = [])),
    params(("source" = String, Path, description = "The SCIM source's configured name"),
        ("id" = String, Path, description = "The User's id"),
        ("attributes" = Option<String>, Query, description = "Comma-separated attributes to return"),
        ("excludedAttributes" = Option<String>, Query, description = "Comma-separated attributes to leave out")),
    responses((status = 200, description = "The User", body = ScimUserDoc, content_type = "application/scim+json"),
        (status = 401, description = "No or a wrong bearer token", body = ScimErrorDoc, content_type = "application/scim+json"),
        (status = 404, description = "No such User (or source)", body = ScimErrorDoc, content_type = "application/scim+json")))]
pub async fn get_user(
    src: ScimSource,
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(path): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Scim, ScimError> {
    let id = path.1;
    let (attributes, excluded) = projection(q);
    let cx = context(&state, &src, &headers);
    Ok(Scim::ok(
        cx.get(
            ResourceKind::User,
            &id,
            attributes.as_deref(),
            excluded.as_deref(),
        )
        .await?,
    ))
}

/// Replace a User (Okta's updates and `active: false` deactivation).
#[utoipa::path(put, path = "/scim/{source}/v2/Users/{id}", tag = TAG, security(("scim" = [])),
    params(("source" = String, Path, description = "The SCIM source's configured name"),
        ("id" = String, Path, description = "The User's id")),
    request_body(content = ScimUserDoc, content_type = "application/scim+json"),
    responses((status = 200, description = "The User as replaced", body = ScimUserDoc, content_type = "application/scim+json"),
        (status = 400, description = "A missing or invalid attribute", body = ScimErrorDoc, content_type = "application/scim+json"),
        (status = 401, description = "No or a wrong bearer token", body = ScimErrorDoc, content_type = "application/scim+json"),
        (status = 404, description = "No such User (or source)", body = ScimErrorDoc, content_type = "application/scim+json"),
        (status = 409, description = "The userName (or an active user's email) is taken", body = ScimErrorDoc, content_type = "application/scim+json"),
        (status = 503, description = "The store cannot commit; nothing changed", body = ScimErrorDoc, content_type = "application/scim+json")))]
pub async fn replace_user(
    src: ScimSource,
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(path): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Scim, ScimError> {
    let id = path.1;
    let body = json_body(body)?;
    Ok(Scim::ok(
        context(&state, &src, &headers)
            .replace_user(&id, &body)
            .await?,
    ))
}

/// Patch a User (Entra's forms: `Replace`, string booleans, path-less value objects).
#[utoipa::path(patch, path = "/scim/{source}/v2/Users/{id}", tag = TAG, security(("scim" = [])),
    params(("source" = String, Path, description = "The SCIM source's configured name"),
        ("id" = String, Path, description = "The User's id")),
    request_body(content = ScimPatchDoc, content_type = "application/scim+json"),
    responses((status = 200, description = "The User as patched", body = ScimUserDoc, content_type = "application/scim+json"),
        (status = 400, description = "A bad operation; nothing changed", body = ScimErrorDoc, content_type = "application/scim+json"),
        (status = 401, description = "No or a wrong bearer token", body = ScimErrorDoc, content_type = "application/scim+json"),
        (status = 404, description = "No such User (or source)", body = ScimErrorDoc, content_type = "application/scim+json"),
        (status = 409, description = "The userName (or an active user's email) is taken", body = ScimErrorDoc, content_type = "application/scim+json"),
        (status = 503, description = "The store cannot commit; nothing changed", body = ScimErrorDoc, content_type = "application/scim+json")))]
pub async fn patch_user(
    src: ScimSource,
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(path): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Scim, ScimError> {
    let id = path.1;
    let body = json_body(body)?;
    Ok(Scim::ok(
        context(&state, &src, &headers)
            .patch_user(&id, &body)
            .await?,
    ))
}

/// Delete a User: an active one is offboarded; the id answers 404 from then on.
#[utoipa::path(delete, path = "/scim/{source}/v2/Users/{id}", tag = TAG, security(("scim" = [])),
    params(("source" = String, Path, description = "The SCIM source's configured name"),
        ("id" = String, Path, description = "The User's id")),
    responses((status = 204, description = "Deleted"),
        (status = 401, description = "No or a wrong bearer token", body = ScimErrorDoc, content_type = "application/scim+json"),
        (status = 404, description = "No such User (or source)", body = ScimErrorDoc, content_type = "application/scim+json"),
        (status = 503, description = "The store cannot commit; nothing changed", body = ScimErrorDoc, content_type = "application/scim+json")))]
pub async fn delete_user(
    src: ScimSource,
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(path): Path<(String, String)>,
) -> Result<Scim, ScimError> {
    let id = path.1;
    context(&state, &src, &headers).delete_user(&id).await?;
    Ok(Scim::no_content())
}

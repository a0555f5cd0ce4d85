//! `/scim/{source}/v2/Users`.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query};

use super::doc::{ScimErrorDoc, ScimListDoc, ScimPatchDoc, ScimSearchDoc, ScimUserDoc};
use super::request::{ScimCall, json_body};
use super::{Scim, TAG};
use crate::scim::{ResourceKind, ScimError};

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
    call: ScimCall,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Scim, ScimError> {
    call.list(ResourceKind::User, q).await
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
    call: ScimCall,
    body: Result<Bytes, BytesRejection>,
) -> Result<Scim, ScimError> {
    call.search(ResourceKind::User, body).await
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
    call: ScimCall,
    body: Result<Bytes, BytesRejection>,
) -> Result<Scim, ScimError> {
    let body = json_body(body)?;
    Ok(Scim::created(call.cx().create_user(&body).await?))
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
    call: ScimCall,
    Path(path): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Scim, ScimError> {
    call.get(ResourceKind::User, &path.1, q).await
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
    call: ScimCall,
    Path(path): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Scim, ScimError> {
    let body = json_body(body)?;
    Ok(Scim::ok(call.cx().replace_user(&path.1, &body).await?))
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
    call: ScimCall,
    Path(path): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Scim, ScimError> {
    let body = json_body(body)?;
    Ok(Scim::ok(call.cx().patch_user(&path.1, &body).await?))
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
    call: ScimCall,
    Path(path): Path<(String, String)>,
) -> Result<Scim, ScimError> {
    call.cx().delete_user(&path.1).await?;
    Ok(Scim::no_content())
}

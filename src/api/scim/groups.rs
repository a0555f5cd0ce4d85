//! `/scim/{source}/v2/Groups`.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query};

use super::doc::{ScimErrorDoc, ScimGroupDoc, ScimListDoc, ScimPatchDoc, ScimSearchDoc};
use super::request::{ScimCall, json_body};
use super::{Scim, TAG};
use crate::scim::{ResourceKind, ScimError};

/// List or filter Groups.
///
/// `excludedAttributes=members` is answered without reading members; `displayName eq "…"`,
/// `externalId eq "…"`, `id eq "…"` and membership tests (`members[value eq "…"]`,
/// `members eq "…"`) are answered from indexes.
#[utoipa::path(get, path = "/scim/{source}/v2/Groups", tag = TAG, security(("scim" = [])),
    params(("source" = String, Path, description = "The SCIM source's configured name"),
        ("filter" = Option<String>, Query, description = "A SCIM filter", example = "displayName eq \"Marketing\""),
        ("startIndex" = Option<i64>, Query, description = "1-based index of the first result"),
        ("count" = Option<i64>, Query, description = "Most results (clamped to filter.maxResults)"),
        ("attributes" = Option<String>, Query, description = "Comma-separated attributes to return"),
        ("excludedAttributes" = Option<String>, Query, description = "Comma-separated attributes to leave out")),
    responses((status = 200, description = "A ListResponse", body = ScimListDoc, content_type = "application/scim+json"),
        (status = 400, description = "A bad filter or parameter", body = ScimErrorDoc, content_type = "application/scim+json"),
        (status = 401, description = "No or a wrong bearer token", body = ScimErrorDoc, content_type = "application/scim+json"),
        (status = 404, description = "No SCIM source of that name", body = ScimErrorDoc, content_type = "application/scim+json")))]
pub async fn list_groups(
    call: ScimCall,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Scim, ScimError> {
    call.list(ResourceKind::Group, q).await
}

/// Search Groups with a SearchRequest body.
#[utoipa::path(post, path = "/scim/{source}/v2/Groups/.search", tag = TAG, security(("scim" = [])),
    params(("source" = String, Path, description = "The SCIM source's configured name")),
    request_body(content = ScimSearchDoc, content_type = "application/scim+json"),
    responses((status = 200, description = "A ListResponse", body = ScimListDoc, content_type = "application/scim+json"),
        (status = 400, description = "A bad filter or body", body = ScimErrorDoc, content_type = "application/scim+json"),
        (status = 401, description = "No or a wrong bearer token", body = ScimErrorDoc, content_type = "application/scim+json"),
        (status = 404, description = "No SCIM source of that name", body = ScimErrorDoc, content_type = "application/scim+json")))]
pub async fn search_groups(
    call: ScimCall,
    body: Result<Bytes, BytesRejection>,
) -> Result<Scim, ScimError> {
    call.search(ResourceKind::Group, body).await
}

/// Create a Group, with or without members.
///
/// `displayName` is required, unique without regard to case (the rules match it). Members must
/// be Users of this source. Answered once the group and its events are stored.
#[utoipa::path(post, path = "/scim/{source}/v2/Groups", tag = TAG, security(("scim" = [])),
    params(("source" = String, Path, description = "The SCIM source's configured name")),
    request_body(content = ScimGroupDoc, content_type = "application/scim+json"),
    responses((status = 201, description = "Created; `Location` is its URL", body = ScimGroupDoc, content_type = "application/scim+json"),
        (status = 400, description = "A missing or invalid attribute, or a member that is not a User", body = ScimErrorDoc, content_type = "application/scim+json"),
        (status = 401, description = "No or a wrong bearer token", body = ScimErrorDoc, content_type = "application/scim+json"),
        (status = 404, description = "No SCIM source of that name", body = ScimErrorDoc, content_type = "application/scim+json"),
        (status = 409, description = "The displayName is taken", body = ScimErrorDoc, content_type = "application/scim+json"),
        (status = 503, description = "The store cannot commit; nothing changed", body = ScimErrorDoc, content_type = "application/scim+json")))]
pub async fn create_group(
    call: ScimCall,
    body: Result<Bytes, BytesRejection>,
) -> Result<Scim, ScimError> {
    let body = json_body(body)?;
    Ok(Scim::created(call.cx().create_group(&body).await?))
}

/// Get a Group (`excludedAttributes=members` reads one row).
#[utoipa::path(get, path = "/scim/{source}/v2/Groups/{id}", tag = TAG, security(("scim" = [])),
    params(("source" = String, Path, description = "The SCIM source's configured name"),
        ("id" = String, Path, description = "The Group's id"),
        ("attributes" = Option<String>, Query, description = "Comma-separated attributes to return"),
        ("excludedAttributes" = Option<String>, Query, description = "Comma-separated attributes to leave out")),
    responses((status = 200, description = "The Group", body = ScimGroupDoc, content_type = "application/scim+json"),
        (status = 401, description = "No or a wrong bearer token", body = ScimErrorDoc, content_type = "application/scim+json"),
        (status = 404, description = "No such Group (or source)", body = ScimErrorDoc, content_type = "application/scim+json")))]
pub async fn get_group(
    call: ScimCall,
    Path(path): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Scim, ScimError> {
    call.get(ResourceKind::Group, &path.1, q).await
}

/// Replace a Group: `members` absent keeps the members, a list replaces them, `[]` clears them.
#[utoipa::path(put, path = "/scim/{source}/v2/Groups/{id}", tag = TAG, security(("scim" = [])),
    params(("source" = String, Path, description = "The SCIM source's configured name"),
        ("id" = String, Path, description = "The Group's id")),
    request_body(content = ScimGroupDoc, content_type = "application/scim+json"),
    responses((status = 200, description = "The Group as replaced", body = ScimGroupDoc, content_type = "application/scim+json"),
        (status = 400, description = "A missing or invalid attribute, or a member that is not a User", body = ScimErrorDoc, content_type = "application/scim+json"),
        (status = 401, description = "No or a wrong bearer token", body = ScimErrorDoc, content_type = "application/scim+json"),
        (status = 404, description = "No such Group (or source)", body = ScimErrorDoc, content_type = "application/scim+json"),
        (status = 409, description = "The displayName is taken", body = ScimErrorDoc, content_type = "application/scim+json"),
        (status = 503, description = "The store cannot commit; nothing changed", body = ScimErrorDoc, content_type = "application/scim+json")))]
pub async fn replace_group(
    call: ScimCall,
    Path(path): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Scim, ScimError> {
    let body = json_body(body)?;
    Ok(Scim::ok(call.cx().replace_group(&path.1, &body).await?))
}

/// Patch a Group: members added and removed in batches, renames; answered 204.
#[utoipa::path(patch, path = "/scim/{source}/v2/Groups/{id}", tag = TAG, security(("scim" = [])),
    params(("source" = String, Path, description = "The SCIM source's configured name"),
        ("id" = String, Path, description = "The Group's id")),
    request_body(content = ScimPatchDoc, content_type = "application/scim+json"),
    responses((status = 204, description = "Patched"),
        (status = 400, description = "A bad operation; nothing changed", body = ScimErrorDoc, content_type = "application/scim+json"),
        (status = 401, description = "No or a wrong bearer token", body = ScimErrorDoc, content_type = "application/scim+json"),
        (status = 404, description = "No such Group (or source)", body = ScimErrorDoc, content_type = "application/scim+json"),
        (status = 409, description = "The displayName is taken", body = ScimErrorDoc, content_type = "application/scim+json"),
        (status = 503, description = "The store cannot commit; nothing changed", body = ScimErrorDoc, content_type = "application/scim+json")))]
pub async fn patch_group(
    call: ScimCall,
    Path(path): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Scim, ScimError> {
    let body = json_body(body)?;
    call.cx().patch_group(&path.1, &body).await?;
    Ok(Scim::no_content())
}

/// Delete a Group: its active members are removed from it (the Domo group stays).
#[utoipa::path(delete, path = "/scim/{source}/v2/Groups/{id}", tag = TAG, security(("scim" = [])),
    params(("source" = String, Path, description = "The SCIM source's configured name"),
        ("id" = String, Path, description = "The Group's id")),
    responses((status = 204, description = "Deleted"),
        (status = 401, description = "No or a wrong bearer token", body = ScimErrorDoc, content_type = "application/scim+json"),
        (status = 404, description = "No such Group (or source)", body = ScimErrorDoc, content_type = "application/scim+json"),
        (status = 503, description = "The store cannot commit; nothing changed", body = ScimErrorDoc, content_type = "application/scim+json")))]
pub async fn delete_group(
    call: ScimCall,
    Path(path): Path<(String, String)>,
) -> Result<Scim, ScimError> {
    call.cx().delete_group(&path.1).await?;
    Ok(Scim::no_content())
}

//! Discovery: `/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas` (RFC 7644 §4). Behind the
//! source's token like the rest (the IdPs and scim2-tester send it). Other methods answer 405.

use axum::extract::Path;

use super::doc::ScimErrorDoc;
use super::{Scim, ScimSource, TAG};
use crate::scim::{ScimError, discovery};

/// What the service provider supports: PATCH and filters; not bulk, sort, ETags or password
/// changes; bearer tokens.
#[utoipa::path(get, path = "/scim/{source}/v2/ServiceProviderConfig", tag = TAG, security(("scim" = [])),
    params(("source" = String, Path, description = "The SCIM source's configured name")),
    responses((status = 200, description = "The configuration", body = serde_json::Value, content_type = "application/scim+json"),
        (status = 401, description = "No or a wrong bearer token", body = ScimErrorDoc, content_type = "application/scim+json"),
        (status = 404, description = "No SCIM source of that name", body = ScimErrorDoc, content_type = "application/scim+json")))]
pub async fn service_provider_config(src: ScimSource) -> Scim {
    Scim::ok(discovery::service_provider_config(&src.base))
}

/// The resource types: User (with the enterprise extension) and Group.
#[utoipa::path(get, path = "/scim/{source}/v2/ResourceTypes", tag = TAG, security(("scim" = [])),
    params(("source" = String, Path, description = "The SCIM source's configured name")),
    responses((status = 200, description = "A ListResponse of ResourceTypes", body = serde_json::Value, content_type = "application/scim+json"),
        (status = 401, description = "No or a wrong bearer token", body = ScimErrorDoc, content_type = "application/scim+json"),
        (status = 404, description = "No SCIM source of that name", body = ScimErrorDoc, content_type = "application/scim+json")))]
pub async fn resource_types(src: ScimSource) -> Scim {
    Scim::ok(discovery::resource_types(&src.base))
}

/// One resource type: `User` or `Group`.
#[utoipa::path(get, path = "/scim/{source}/v2/ResourceTypes/{id}", tag = TAG, security(("scim" = [])),
    params(("source" = String, Path, description = "The SCIM source's configured name"),
        ("id" = String, Path, description = "`User` or `Group`")),
    responses((status = 200, description = "The ResourceType", body = serde_json::Value, content_type = "application/scim+json"),
        (status = 401, description = "No or a wrong bearer token", body = ScimErrorDoc, content_type = "application/scim+json"),
        (status = 404, description = "No such resource type (or source)", body = ScimErrorDoc, content_type = "application/scim+json")))]
pub async fn resource_type(
    src: ScimSource,
    Path(path): Path<(String, String)>,
) -> Result<Scim, ScimError> {
    let id = path.1;
    Ok(Scim::ok(discovery::resource_type_by_id(&id, &src.base)?))
}

/// The schemas served: User, the enterprise extension, Group, and the discovery schemas.
#[utoipa::path(get, path = "/scim/{source}/v2/Schemas", tag = TAG, security(("scim" = [])),
    params(("source" = String, Path, description = "The SCIM source's configured name")),
    responses((status = 200, description = "A ListResponse of Schemas", body = serde_json::Value, content_type = "application/scim+json"),
        (status = 401, description = "No or a wrong bearer token", body = ScimErrorDoc, content_type = "application/scim+json"),
        (status = 404, description = "No SCIM source of that name", body = ScimErrorDoc, content_type = "application/scim+json")))]
pub async fn schemas(src: ScimSource) -> Scim {
    Scim::ok(discovery::schemas(&src.base))
}

/// One schema, by its URN.
#[utoipa::path(get, path = "/scim/{source}/v2/Schemas/{id}", tag = TAG, security(("scim" = [])),
    params(("source" = String, Path, description = "The SCIM source's configured name"),
        ("id" = String, Path, description = "The schema's URN", example = "urn:ietf:params:scim:schemas:core:2.0:User")),
    responses((status = 200, description = "The Schema", body = serde_json::Value, content_type = "application/scim+json"),
        (status = 401, description = "No or a wrong bearer token", body = ScimErrorDoc, content_type = "application/scim+json"),
        (status = 404, description = "No such schema (or source)", body = ScimErrorDoc, content_type = "application/scim+json")))]
pub async fn schema(
    src: ScimSource,
    Path(path): Path<(String, String)>,
) -> Result<Scim, ScimError> {
    let id = path.1;
    Ok(Scim::ok(discovery::schema_by_id(&id, &src.base)?))
}

//! `/scim/{source}/v2`: the SCIM 2.0 endpoints of each `scim` source (issue 18). Handlers are
//! thin: authenticate ([`ScimSource`], first), read the query or body, call `crate::scim`,
//! answer `application/scim+json`. Every error, including axum's own rejections (405, 413, a
//! path that matches nothing), leaves as a SCIM error document, and every request is counted
//! in `dgs_scim_requests_total{source, operation, status}`.

mod auth;
mod doc;
mod groups;
mod meta;
mod request;
mod users;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use auth::{ScimSource, matching_secret};
pub use doc::{ScimErrorDoc, ScimGroupDoc, ScimListDoc, ScimPatchDoc, ScimSearchDoc, ScimUserDoc};

use super::AppState;
use crate::config::Format;
use crate::scim::ScimError;

/// The media type of every SCIM answer (RFC 7644 §8.1).
pub const SCIM_JSON: &str = "application/scim+json";

/// The OpenAPI tag.
pub const TAG: &str = "scim";

/// A SCIM answer: a status, a JSON body (none for 204) and, after a create, `Location`.
pub struct Scim {
    pub status: StatusCode,
    pub body: Option<Value>,
    pub location: Option<String>,
}

impl Scim {
    /// `200` with a body.
    pub fn ok(body: Value) -> Self {
        Scim {
            status: StatusCode::OK,
            body: Some(body),
            location: None,
        }
    }
    /// `201` with the resource and `Location` = its `meta.location`.
    pub fn created(body: Value) -> Self {
        let location = body["meta"]["location"].as_str().map(str::to_owned);
        Scim {
            status: StatusCode::CREATED,
            body: Some(body),
            location,
        }
    }
    /// `204`.
    pub fn no_content() -> Self {
        Scim {
            status: StatusCode::NO_CONTENT,
            body: None,
            location: None,
        }
    }
}

fn scim_json(status: StatusCode, body: &Value) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    resp
}

impl IntoResponse for Scim {
    fn into_response(self) -> Response {
        let mut resp = match &self.body {
            Some(b) => scim_json(self.status, b),
            None => self.status.into_response(),
        };
        if let Some(l) = self.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
            resp.headers_mut().insert(header::LOCATION, l);
        }
        resp
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        scim_json(self.status, &self.body())
    }
}

/// An authentication failure: a SCIM error, with `WWW-Authenticate: Bearer` on a 401.
pub struct ScimRejection(ScimError);

impl ScimRejection {
    fn unauthorized(detail: &str) -> Self {
        ScimRejection(ScimError::status(StatusCode::UNAUTHORIZED, detail))
    }
}

impl From<ScimError> for ScimRejection {
    fn from(e: ScimError) -> Self {
        ScimRejection(e)
    }
}

impl IntoResponse for ScimRejection {
    fn into_response(self) -> Response {
        let unauthorized = self.0.status == StatusCode::UNAUTHORIZED;
        let mut resp = self.0.into_response();
        if unauthorized {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}

/// Every SCIM route with its OpenAPI description, and the fallback of the SCIM paths. The
/// stack adds [`scim_layer`] (it needs the state).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(users::list_users, users::create_user))
        .routes(routes!(
            users::get_user,
            users::replace_user,
            users::patch_user,
            users::delete_user
        ))
        .routes(routes!(users::search_users))
        .routes(routes!(groups::list_groups, groups::create_group))
        .routes(routes!(
            groups::get_group,
            groups::replace_group,
            groups::patch_group,
            groups::delete_group
        ))
        .routes(routes!(groups::search_groups))
        .routes(routes!(meta::service_provider_config))
        .routes(routes!(meta::resource_types))
        .routes(routes!(meta::resource_type))
        .routes(routes!(meta::schemas))
        .routes(routes!(meta::schema))
        .route("/scim/{source}/v2", axum::routing::any(not_found))
        .route("/scim/{source}/v2/", axum::routing::any(not_found))
        .route("/scim/{source}/v2/{*rest}", axum::routing::any(not_found))
}

/// Anything else under `/scim/{source}/v2`: `/Bulk` and root `/.search` are not implemented
/// (501, as ServiceProviderConfig says), the rest does not exist (404). Authenticated first.
async fn not_found(_src: ScimSource, req: Request) -> ScimError {
    let last = req
        .uri()
        .path()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    if ["Bulk", ".search", "Me"]
        .iter()
        .any(|p| last.eq_ignore_ascii_case(p))
    {
        return ScimError::status(
            StatusCode::NOT_IMPLEMENTED,
            format!("/{last} is not supported"),
        );
    }
    ScimError::not_found(format!("{} is not a SCIM endpoint", req.uri().path()))
}

/// The operation label of a request (bounded: route templates and methods only).
fn operation(method: &Method, route: &str) -> &'static str {
    let tail = route.split("/v2").nth(1).unwrap_or_default();
    match (method.as_str(), tail) {
        ("GET", "/Users") => "list_users",
        ("POST", "/Users") => "create_user",
        ("POST", "/Users/.search") => "search_users",
        ("GET", "/Users/{id}") => "get_user",
        ("PUT", "/Users/{id}") => "replace_user",
        ("PATCH", "/Users/{id}") => "patch_user",
        ("DELETE", "/Users/{id}") => "delete_user",
        ("GET", "/Groups") => "list_groups",
        ("POST", "/Groups") => "create_group",
        ("POST", "/Groups/.search") => "search_groups",
        ("GET", "/Groups/{id}") => "get_group",
        ("PUT", "/Groups/{id}") => "replace_group",
        ("PATCH", "/Groups/{id}") => "patch_group",
        ("DELETE", "/Groups/{id}") => "delete_group",
        ("GET", "/ServiceProviderConfig") => "service_provider_config",
        ("GET", "/ResourceTypes" | "/ResourceTypes/{id}") => "resource_types",
        ("GET", "/Schemas" | "/Schemas/{id}") => "schemas",
        _ => "other",
    }
}

/// For `/scim/…` requests: makes every error a SCIM error document (axum answers 405 and some
/// rejections in plain text or with no body) and counts the request. Other paths pass through.
pub(crate) async fn scim_layer(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    if !req.uri().path().starts_with("/scim/") {
        return next.run(req).await;
    }
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_default();
    let source = req
        .uri()
        .path()
        .split('/')
        .nth(2)
        .unwrap_or_default()
        .to_owned();
    let resp = next.run(req).await;
    let status = resp.status();
    let is_scim = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(SCIM_JSON.as_bytes()));
    let resp = if (status.is_client_error() || status.is_server_error()) && !is_scim {
        let detail = status.canonical_reason().unwrap_or("error").to_owned();
        let mut fixed = ScimError::status(status, detail).into_response();
        for (k, v) in resp.headers() {
            if k == header::ALLOW || k == header::WWW_AUTHENTICATE || k == header::RETRY_AFTER {
                fixed.headers_mut().insert(k.clone(), v.clone());
            }
        }
        fixed
    } else {
        resp
    };
    // Only configured names become labels: the path is the client's to choose.
    let known = state
        .live
        .load()
        .sources
        .get(&source)
        .is_some_and(|s| s.format == Format::Scim);
    let label = if known { source } else { "unknown".to_owned() };
    crate::prometheus::record_scim(label, operation(&method, &route), status.as_u16());
    resp
}

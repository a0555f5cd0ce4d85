//! The configured webhook sources, never their secrets.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::CommonErrors;
use crate::api::AppState;
use crate::api::auth::{Auth, Read};
use crate::error::ApiError;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_sources))
}

/// One configured webhook source.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SourceView {
    #[schema(example = "workos")]
    pub name: String,
    /// Where it posts.
    #[schema(example = "/webhooks/workos")]
    pub path: String,
    /// The payload format: `canonical`, `workos`, `okta`, `clerk` or `bamboohr`.
    #[schema(example = "workos")]
    pub format: String,
    /// The signature scheme.
    #[schema(example = "workos")]
    pub scheme: String,
    /// Allowed clock difference for timestamped schemes, in seconds.
    pub tolerance_secs: u64,
    /// How many secrets are configured (rotation); the secrets are never shown.
    pub secret_count: usize,
}

/// The configured sources, by name.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SourceList {
    pub sources: Vec<SourceView>,
}

fn wire_name<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// List the configured webhook sources (name, format, scheme, tolerance; never secrets).
#[utoipa::path(get, path = "/api/v1/sources", tag = "sources",
    security(("bearer" = ["read"])),
    responses((status = 200, description = "The sources", body = SourceList), CommonErrors))]
pub async fn list_sources(
    _auth: Auth<Read>,
    State(state): State<AppState>,
) -> Result<Json<SourceList>, ApiError> {
    Ok(Json(SourceList {
        sources: source_views(&state.live.load()),
    }))
}

/// The configured sources as the API lists them, by name (never a secret).
pub(crate) fn source_views(live: &crate::reload::Snapshot) -> Vec<SourceView> {
    let mut sources: Vec<SourceView> = live
        .sources
        .values()
        .map(|s| SourceView {
            name: s.name.clone(),
            path: if s.format == crate::config::Format::Scim {
                format!("/scim/{}/v2", s.name)
            } else {
                format!("/webhooks/{}", s.name)
            },
            format: wire_name(&s.format),
            scheme: wire_name(&s.scheme),
            tolerance_secs: s.tolerance_secs,
            secret_count: s.secrets.len(),
        })
        .collect();
    sources.sort_by(|a, b| a.name.cmp(&b.name));
    sources
}

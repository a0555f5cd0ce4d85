//! `POST /api/v1/admin/reload`: reload the sources, API tokens and trusted proxies from the
//! configuration file, as SIGHUP does (see `crate::reload`).

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::{Admin, Auth};
use super::v1::{CommonErrors, Unprocessable};
use crate::error::{ApiError, ProblemKind};
use crate::reload::Trigger;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(reload_config))
}

/// What a reload put in place.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReloadResult {
    /// Always `reloaded`.
    #[schema(example = "reloaded")]
    pub status: &'static str,
    /// Webhook sources now configured.
    pub sources: usize,
    /// API tokens now configured.
    pub api_tokens: usize,
}

/// Reload the configuration file's sources, API tokens and trusted proxies.
///
/// The file is read again and validated as `check-config` does. When it is valid, requests
/// that start from now on use it (requests in flight finish with the configuration they
/// started with); when it is not, nothing changes, the answer is 422 and every problem is in
/// the service's log. Other sections (store, Domo, workers, rules, listen address) take effect
/// at the next restart. SIGHUP does the same.
#[utoipa::path(post, path = "/api/v1/admin/reload", tag = "admin",
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The new configuration is in force", body = ReloadResult),
        Unprocessable, CommonErrors))]
pub async fn reload_config(
    auth: Auth<Admin>,
    State(state): State<AppState>,
) -> Result<Json<ReloadResult>, ApiError> {
    tracing::info!(api.token = %auth.token_name, "api: configuration reload requested");
    match state.reloader.reload(Trigger::Api).await {
        Ok(done) => Ok(Json(ReloadResult {
            status: "reloaded",
            sources: done.sources,
            api_tokens: done.api_tokens,
        })),
        Err(errors) => Err(ApiError::with_detail(
            ProblemKind::InvalidRequest,
            format!(
                "the configuration has {} problem(s); nothing changed (they are in the service log; \
                 check-config prints them too)",
                errors.0.len()
            ),
        )),
    }
}

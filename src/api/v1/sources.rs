//! The configured sources (never their secrets nor their pull credentials), the state of
//! their pulls, and "pull now".

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiPath, ApiQuery, CommonErrors, NotFound, Unprocessable};
use crate::api::AppState;
use crate::api::auth::{Admin, Auth, Read};
use crate::config::Scheme;
use crate::error::{ApiError, Problem, ProblemKind};
use crate::pull::status::{PullStatus, view};
use crate::pull::{PullReport, RunNowError};
use crate::store::StoreError;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_sources))
        .routes(routes!(run_pull))
}

/// One configured source.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SourceView {
    #[schema(example = "workos")]
    pub name: String,
    /// Where it is reached: `/webhooks/{name}`, `/scim/{name}/v2` for a SCIM source, `null`
    /// for a pull-only source (scheme `none`).
    #[schema(example = "/webhooks/workos")]
    pub path: Option<String>,
    /// The payload format: `canonical`, `workos`, `okta`, `clerk`, `bamboohr`, `entra` or `scim`.
    #[schema(example = "workos")]
    pub format: String,
    /// The signature scheme (`none`: no webhook; `graph`: Microsoft Graph change notifications,
    /// which make the source's next pull due now).
    #[schema(example = "workos")]
    pub scheme: String,
    /// Allowed clock difference for timestamped schemes, in seconds.
    pub tolerance_secs: u64,
    /// How many secrets are configured (rotation); the secrets are never shown.
    pub secret_count: usize,
    /// The pull of the provider's API, when the source has `[sources.pull]` (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pull: Option<PullStatus>,
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

/// List the configured sources and the state of their pulls.
///
/// Each source's name, format, scheme and tolerance (never a secret nor a credential), and
/// for a source that pulls, its pull: cursor age, lag, last success, last error, events
/// pulled, next run, the directory pass, and whether a run is in progress.
#[utoipa::path(get, path = "/api/v1/sources", tag = "sources",
    security(("bearer" = ["read"])),
    responses((status = 200, description = "The sources", body = SourceList), CommonErrors))]
pub async fn list_sources(
    _auth: Auth<Read>,
    State(state): State<AppState>,
) -> Result<Json<SourceList>, ApiError> {
    Ok(Json(SourceList {
        sources: source_views(&state).await?,
    }))
}

/// The configured sources as the API lists them, by name, with their pull state (never a
/// secret nor a credential).
pub(crate) async fn source_views(state: &AppState) -> Result<Vec<SourceView>, StoreError> {
    let live = state.live.load();
    let pulled = if live.sources.values().any(|s| s.pull.is_some()) {
        state.store.pull_states().await?
    } else {
        Vec::new()
    };
    let now = chrono::Utc::now().timestamp_millis();
    let mut sources = Vec::with_capacity(live.sources.len());
    for s in live.sources.values() {
        let pull = match &s.pull {
            None => None,
            Some(p) => {
                let row = pulled.iter().find(|r| r.source == s.name);
                let lease = state
                    .store
                    .lease_holder(&format!("pull:{}", s.name))
                    .await?;
                let running = lease.is_some_and(|(_, until)| until > now);
                Some(view(p, row, running, now))
            }
        };
        let path = match s.scheme {
            Scheme::PullOnly => None,
            Scheme::Scim => Some(format!("/scim/{}/v2", s.name)),
            _ => Some(format!("/webhooks/{}", s.name)),
        };
        sources.push(SourceView {
            name: s.name.clone(),
            path,
            format: wire_name(&s.format),
            scheme: wire_name(&s.scheme),
            tolerance_secs: s.tolerance_secs,
            secret_count: s.secrets.len(),
            pull,
        });
    }
    sources.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(sources)
}

/// What to pull.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PullQuery {
    /// Also run a directory pass (users and mapped groups listed; differences queued as
    /// events; removals pass the reconcile caps).
    pub full: Option<bool>,
}

/// Run a source's pull now (with `full=true`, a directory pass too).
///
/// The events its webhooks may have missed are pulled, and with `full=true` the directory is
/// listed and compared with the service's state.
/// The pull runs while the request waits, under the source's lease (one run at a time across
/// replicas: a run in progress is waited for a few seconds, then 409); a run that outlasts
/// `server.request_timeout_secs` is answered 408 but goes on, and its outcome shows in
/// `GET /api/v1/sources`. What it finds is queued like any event and applied by the workers. A directory pass is recorded as a
/// reconcile run scoped to the source (`directory`); one over the removal caps is `held`
/// until approved. A provider failure is answered 200 with `ok: false` and the `error`.
#[utoipa::path(post, path = "/api/v1/sources/{name}/pull", tag = "sources",
    security(("bearer" = ["admin"])),
    params(("name" = String, Path, description = "The source's name"), PullQuery),
    responses(
        (status = 200, description = "The run's outcome", body = PullReport),
        CommonErrors, NotFound, Unprocessable,
        (status = 409, description = "A pull of this source is running", body = Problem, content_type = "application/problem+json")))]
pub async fn run_pull(
    auth: Auth<Admin>,
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    ApiQuery(q): ApiQuery<PullQuery>,
) -> Result<Json<PullReport>, ApiError> {
    let Some(pulls) = &state.pulls else {
        return Err(ApiError::with_detail(
            ProblemKind::NotFound,
            format!("no source `{name}` with a [sources.pull] table"),
        ));
    };
    let started_by = format!("api:{}", auth.token_name);
    // In a task of its own: a run that outlasts the request (answered 408 by the timeout
    // layer) is not cut off half-way; its outcome shows in GET /api/v1/sources.
    let (pulls, source, full) = (pulls.clone(), name.clone(), q.full.unwrap_or(false));
    let run = tokio::spawn(async move { pulls.run_now(&source, full, &started_by, &|_| {}).await });
    let outcome = run.await.map_err(|e| {
        tracing::error!(error = %e, "the pull task failed");
        ApiError::new(ProblemKind::Internal)
    })?;
    match outcome {
        Ok(report) => Ok(Json(report)),
        Err(RunNowError::NotFound(_)) => Err(ApiError::with_detail(
            ProblemKind::NotFound,
            format!("no source `{name}` with a [sources.pull] table"),
        )),
        Err(e @ RunNowError::Busy(_)) => {
            Err(ApiError::with_detail(ProblemKind::Conflict, e.to_string()))
        }
        Err(e @ RunNowError::Connector(_)) => Err(ApiError::with_detail(
            ProblemKind::InvalidRequest,
            e.to_string(),
        )),
        Err(RunNowError::Store(e)) => Err(e.into()),
    }
}

//! Reconcile runs: start one (a dry run, or applied), list them, show one (the dry run's plan
//! is the same object), and approve a plan held by the removal cap.
//!
//! A run reads Domo and plans inside the request; applying queues repair jobs that the
//! workers run (the run's `jobs` show their progress). One run at a time across replicas: a
//! second request while one runs is answered 409.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiJson, ApiPath, ApiQuery, CommonErrors, NotFound};
use crate::api::AppState;
use crate::api::auth::{Admin, Auth, Read};
use crate::error::{ApiError, Problem, ProblemKind};
use crate::reconcile::{Explanation, ReconcileError, RunReport};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(start_run, list_runs))
        .routes(routes!(get_run))
        .routes(routes!(approve_run))
        .routes(routes!(explain_user))
}

/// Whether to read Domo live.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExplainQuery {
    /// Read the user's groups from Domo now (one call) instead of using the last run's read.
    pub live: Option<bool>,
}

/// Explain a user: per managed group, whether the rules want them in it and why (the event
/// and the rule), whether Domo has them in it (as of the last reconcile, or live), and the
/// last Domo call that touched the membership.
#[utoipa::path(get, path = "/api/v1/users/{email}/explain", tag = "reconcile",
    security(("bearer" = ["read"])),
    params(("email" = String, Path, description = "The user's email"), ExplainQuery),
    responses((status = 200, description = "The explanation", body = Explanation), CommonErrors, NotFound))]
pub async fn explain_user(
    _auth: Auth<Read>,
    State(state): State<AppState>,
    ApiPath(email): ApiPath<String>,
    ApiQuery(q): ApiQuery<ExplainQuery>,
) -> Result<Json<Explanation>, ApiError> {
    Ok(Json(
        explain(&state, &email, q.live.unwrap_or(false)).await?,
    ))
}

/// Explains one user (the API's explain and the console's user page); `live` reads Domo now.
pub(crate) async fn explain(
    state: &AppState,
    email: &str,
    live: bool,
) -> Result<Explanation, ApiError> {
    let email = crate::event::normalize_email(email);
    state
        .reconciler
        .explain(&email, live)
        .await
        .map_err(failed)?
        .ok_or_else(|| ApiError::with_detail(ProblemKind::NotFound, format!("no user {email}")))
}

/// What run to start.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartRun {
    /// Queue the repairs (under the removal cap); false (the default) plans only.
    #[serde(default)]
    pub apply: bool,
}

/// Runs, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RunList {
    pub runs: Vec<RunReport>,
}

/// How many runs to list.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunListQuery {
    /// 1–100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

fn busy() -> ApiError {
    ApiError::with_detail(
        ProblemKind::Conflict,
        "a reconcile is already running (here or on another replica); try again when it ends",
    )
}

fn failed(e: ReconcileError) -> ApiError {
    match e {
        ReconcileError::Busy => busy(),
        ReconcileError::Store(s) => s.into(),
        ReconcileError::Domo(d) => {
            tracing::warn!(error = %d, "reconcile: Domo failed");
            ApiError::new(ProblemKind::Internal)
        }
    }
}

/// Start a reconcile: read every managed group's members from Domo, compare with the desired
/// membership of every user the service has seen, and store the plan.
///
/// With `apply`, a plan under the removal cap queues its repairs (status `queued`); a plan
/// over the cap is stored as `held` and waits for approval. Without, the run is a dry run
/// (status `planned`). A run whose Domo reads fail is stored as `failed` and changes nothing.
#[utoipa::path(post, path = "/api/v1/reconcile/runs", tag = "reconcile",
    security(("bearer" = ["admin"])),
    request_body(content = StartRun, description = "`{}` is a dry run; `{\"apply\": true}` applies"),
    responses(
        (status = 201, description = "The run, planned (and queued or held)", body = RunReport),
        CommonErrors,
        (status = 409, description = "A reconcile is already running", body = Problem, content_type = "application/problem+json")))]
pub async fn start_run(
    auth: Auth<Admin>,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<StartRun>,
) -> Result<(StatusCode, Json<RunReport>), ApiError> {
    let by = format!("api:{}", auth.token_name);
    Ok((
        StatusCode::CREATED,
        Json(start(&state, &by, req.apply).await?),
    ))
}

/// Starts a run for `by` (the API's and the console's).
pub(crate) async fn start(state: &AppState, by: &str, apply: bool) -> Result<RunReport, ApiError> {
    state
        .reconciler
        .run(by, apply, &|_| {})
        .await
        .map_err(failed)
}

/// List reconcile runs, newest first, each with its plan and the state of its repairs.
#[utoipa::path(get, path = "/api/v1/reconcile/runs", tag = "reconcile",
    security(("bearer" = ["read"])),
    params(RunListQuery),
    responses((status = 200, description = "The runs", body = RunList), CommonErrors))]
pub async fn list_runs(
    _auth: Auth<Read>,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<RunListQuery>,
) -> Result<Json<RunList>, ApiError> {
    let limit = super::paging::bounded_limit(q.limit, 20, 100)?;
    let runs = state.reconciler.list(limit).await?;
    Ok(Json(RunList { runs }))
}

/// One reconcile run: when, who, the plan (per group: members, adds, removals, unknown
/// members, and members skipped because they are the Domo API client's own user), what was
/// queued and what failed.
#[utoipa::path(get, path = "/api/v1/reconcile/runs/{id}", tag = "reconcile",
    security(("bearer" = ["read"])),
    params(("id" = i64, Path, description = "The run's number")),
    responses((status = 200, description = "The run", body = RunReport), CommonErrors, NotFound))]
pub async fn get_run(
    _auth: Auth<Read>,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<RunReport>, ApiError> {
    state
        .reconciler
        .report(id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::with_detail(ProblemKind::NotFound, format!("no run {id}")))
}

/// Approve a plan held by the removal cap: its repairs are queued (status `queued`).
#[utoipa::path(post, path = "/api/v1/reconcile/runs/{id}/approve", tag = "reconcile",
    security(("bearer" = ["admin"])),
    params(("id" = i64, Path, description = "The run's number")),
    responses(
        (status = 200, description = "Approved; the repairs are queued", body = RunReport),
        CommonErrors, NotFound,
        (status = 409, description = "The run is not held", body = Problem, content_type = "application/problem+json")))]
pub async fn approve_run(
    auth: Auth<Admin>,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<RunReport>, ApiError> {
    let by = format!("api:{}", auth.token_name);
    Ok(Json(approve(&state, id, &by).await?))
}

/// Approves held run `id` for `by` (the API's and the console's): 404 when there is no such
/// run, 409 when it is not held.
pub(crate) async fn approve(state: &AppState, id: i64, by: &str) -> Result<RunReport, ApiError> {
    let Some(run) = state.reconciler.report(id).await? else {
        return Err(ApiError::with_detail(
            ProblemKind::NotFound,
            format!("no run {id}"),
        ));
    };
    if run.status != "held" {
        return Err(ApiError::with_detail(
            ProblemKind::Conflict,
            format!("run {id} is `{}`, not `held`", run.status),
        ));
    }
    match state.reconciler.approve(id, by).await.map_err(failed)? {
        Some(r) => Ok(r),
        None => Err(ApiError::with_detail(
            ProblemKind::Conflict,
            format!("run {id} is no longer held"),
        )),
    }
}

//! Reconcile: the runs with their totals, one run's plan per group, Approve for a held plan,
//! and starting a dry run or an apply (scope `admin`), through the API's functions.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;

use crate::api::AppState;
use crate::config::ApiScope;
use crate::console::actions;
use crate::console::error::{ConsoleError, render, see_other};
use crate::console::forms::Posted;
use crate::console::session::ConsoleUser;
use crate::console::view::Chrome;
use crate::reconcile::RunReport;

/// Runs listed.
const RUNS: i64 = 25;

#[derive(Template)]
#[template(path = "console/reconcile.html")]
struct RunsPage {
    chrome: Chrome,
    runs: Vec<RunReport>,
}

/// `GET /console/reconcile`.
pub async fn list(
    user: ConsoleUser,
    State(state): State<AppState>,
) -> Result<Response, ConsoleError> {
    let runs = state.reconciler.list(RUNS).await?;
    Ok(render(&RunsPage {
        chrome: Chrome::new(&user, "Reconcile", "reconcile"),
        runs,
    }))
}

#[derive(Template)]
#[template(path = "console/run.html")]
struct RunPage {
    chrome: Chrome,
    r: RunReport,
}

/// `GET /console/reconcile/{id}`.
pub async fn show(
    user: ConsoleUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ConsoleError::bad_input("A run's number is a whole number."))?;
    let r = state.reconciler.report(id).await?.ok_or_else(|| {
        crate::error::ApiError::with_detail(
            crate::error::ProblemKind::NotFound,
            format!("no run {id}"),
        )
    })?;
    let pending = r.jobs.queued + r.jobs.running > 0 || r.status == "running";
    Ok(render(&RunPage {
        chrome: Chrome::new(&user, format!("Reconcile run {id}"), "reconcile").live(pending),
        r,
    }))
}

/// Dry run (`apply` blank or 0) or apply (1).
#[derive(Deserialize)]
pub struct StartForm {
    #[serde(default)]
    apply: String,
}

/// `POST /console/reconcile` (scope `admin`): starts a run and shows it.
pub async fn start(
    State(state): State<AppState>,
    posted: Posted<StartForm>,
) -> Result<Response, ConsoleError> {
    let Posted { user, form } = posted;
    let apply = form.apply == "1";
    let action = if apply {
        "reconcile_apply"
    } else {
        "reconcile_dry_run"
    };
    actions::authorize(&user, ApiScope::Admin, action)?;
    let by = format!("console:{}", user.token_name);
    let r = actions::counted(
        action,
        crate::api::v1::reconcile::start(&state, &by, apply).await,
    )?;
    Ok(see_other(&format!("/console/reconcile/{}", r.id)))
}

/// The approve form (the CSRF token only).
#[derive(Deserialize)]
pub struct ApproveForm {}

/// `POST /console/reconcile/{id}/approve` (scope `admin`): approves a held plan.
pub async fn approve(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    posted: Posted<ApproveForm>,
) -> Result<Response, ConsoleError> {
    let user = posted.user;
    actions::authorize(&user, ApiScope::Admin, "approve")?;
    let by = format!("console:{}", user.token_name);
    actions::counted(
        "approve",
        crate::api::v1::reconcile::approve(&state, id, &by).await,
    )?;
    tracing::info!(console.token = %user.token_name, run = id, "console: plan approved");
    Ok(see_other(&format!("/console/reconcile/{id}")))
}

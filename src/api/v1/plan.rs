//! Plan: what an event would do under the current rules, computed from what the service knows
//! (the user's stored state and memberships, the known Domo groups). Nothing is stored, queued
//! or sent to Domo.

use std::collections::{BTreeMap, BTreeSet};

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::users::DesiredGroup;
use super::{API_SOURCE, ApiJson, CommonErrors, Unprocessable};
use crate::api::AppState;
use crate::api::auth::{Auth, Read};
use crate::error::{ApiError, ProblemKind};
use crate::event::{CanonicalEvent, EventType};
use crate::rules::name_key;
use crate::state::{Applied, UserState};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(plan_event))
}

/// What an event would do.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlanView {
    /// The user concerned (absent for `group.created`).
    #[schema(example = "ada@example.com")]
    pub user_email: Option<String>,
    /// False when a newer event already decided everything this one touches (it would change
    /// nothing in the user's state).
    pub changes_state: bool,
    /// Whether the user would be offboarded afterwards.
    pub offboarded: bool,
    /// The user's IdP groups afterwards.
    pub desired_idp_groups: Vec<String>,
    /// The Domo groups the rules would want afterwards, each with its rule.
    pub desired_domo_groups: Vec<DesiredGroup>,
    /// The Domo groups the service knows the user to be in now.
    pub current_domo_groups: Vec<String>,
    /// Groups the user would be added to.
    pub add: Vec<String>,
    /// Managed groups the user would be removed from.
    pub remove: Vec<String>,
    /// Groups that would be created first (not known in Domo yet).
    pub create: Vec<String>,
}

/// What an event would do under the current rules, with no side effects.
///
/// Folds the event into a copy of the user's stored state (latest wins, as the worker does)
/// and compares the Domo groups the rules then want with the memberships the service knows.
/// The worker re-reads Domo before acting, so the real calls may be fewer.
#[utoipa::path(post, path = "/api/v1/plan", tag = "plan",
    security(("bearer" = ["read"])),
    request_body = CanonicalEvent,
    responses((status = 200, description = "The plan", body = PlanView), CommonErrors, Unprocessable))]
pub async fn plan_event(
    _auth: Auth<Read>,
    State(state): State<AppState>,
    ApiJson(ev): ApiJson<CanonicalEvent>,
) -> Result<Json<PlanView>, ApiError> {
    ev.validate()
        .map_err(|e| ApiError::with_detail(ProblemKind::InvalidRequest, e.to_string()))?;
    let known = state.store.domo_groups().await?;
    let statics: BTreeSet<String> = state
        .rules
        .static_targets()
        .iter()
        .map(|n| name_key(n))
        .collect();
    let exists: BTreeSet<String> = known.iter().map(|g| name_key(&g.name)).collect();
    let managed: BTreeSet<String> = known
        .iter()
        .filter(|g| g.managed && !g.is_default)
        .map(|g| name_key(&g.name))
        .chain(statics)
        .collect();
    let protected: BTreeSet<String> = known
        .iter()
        .filter(|g| g.is_default)
        .map(|g| name_key(&g.name))
        .collect();
    let missing = |names: &mut dyn Iterator<Item = &String>| -> Vec<String> {
        names
            .filter(|n| !exists.contains(&name_key(n)))
            .cloned()
            .collect()
    };

    if ev.event_type == EventType::GroupCreated {
        let idp: BTreeSet<String> = ev.groups.iter().flatten().cloned().collect();
        let derived = state.rules.evaluate(&idp, &BTreeMap::new());
        let names: Vec<String> = derived.iter().map(|d| d.domo_group.clone()).collect();
        return Ok(Json(PlanView {
            user_email: None,
            changes_state: false,
            offboarded: false,
            desired_idp_groups: Vec::new(),
            desired_domo_groups: derived
                .into_iter()
                .map(|d| DesiredGroup {
                    name: d.domo_group,
                    rule: d.rule,
                })
                .collect(),
            current_domo_groups: Vec::new(),
            add: Vec::new(),
            remove: Vec::new(),
            create: missing(&mut names.iter().filter(|n| !protected.contains(&name_key(n)))),
        }));
    }

    let Some(key) = ev.user_key() else {
        return Err(ApiError::with_detail(
            ProblemKind::InvalidRequest,
            "a plan needs `user.email` to find the user's state",
        ));
    };
    let mut us = match state.store.load_user(&key).await? {
        Some(row) => serde_json::from_str::<UserState>(&row.state).map_err(|e| {
            tracing::error!(error = %e, "api: a stored user state does not parse");
            ApiError::new(ProblemKind::Internal)
        })?,
        None => UserState::default(),
    };
    let changes_state = us.apply(&ev, &format!("{API_SOURCE}:{}", ev.id)) == Applied::Changed;
    let derived = us.desired_domo_groups(&state.rules);
    let desired: BTreeSet<String> = derived.iter().map(|d| d.domo_group.clone()).collect();
    let current: BTreeSet<String> = state
        .store
        .memberships(&key)
        .await?
        .into_iter()
        .map(|(_, name)| name)
        .collect();
    let plan = crate::plan::plan(
        &desired,
        &current,
        |n| managed.contains(&name_key(n)),
        |n| protected.contains(&name_key(n)),
    );
    Ok(Json(PlanView {
        user_email: Some(key),
        changes_state,
        offboarded: us.is_offboarded(),
        desired_idp_groups: us.desired_idp_groups().into_iter().collect(),
        desired_domo_groups: derived
            .into_iter()
            .map(|d| DesiredGroup {
                name: d.domo_group,
                rule: d.rule,
            })
            .collect(),
        current_domo_groups: current.into_iter().collect(),
        create: missing(&mut plan.add.iter()),
        add: plan.add,
        remove: plan.remove,
    }))
}

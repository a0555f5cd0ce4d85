//! Managed Domo groups: list them with their Domo ids; make sure one exists.
//!
//! Ensuring a group goes through the queue as a canonical `group.created` event: the worker
//! maps the name through the rules and creates each missing Domo group once, under the same
//! create-once lock as every other creation (looked up by name again under the lock). The
//! handler never calls Domo, and the managed set stays "what the rules name or the service
//! created": an API caller cannot make the service take over an unrelated Domo group.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{API_SOURCE, ApiJson, CommonErrors, QueuedChange, Unprocessable, fresh_id, submit};
use crate::api::AppState;
use crate::api::auth::{Admin, Auth, Read};
use crate::error::{ApiError, ProblemKind};
use crate::event::{CanonicalEvent, EventType};
use crate::rules::name_key;
use crate::sources::Parsed;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_groups, ensure_group))
}

/// A Domo group the service manages.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GroupView {
    #[schema(example = "Marketing")]
    pub name: String,
    /// Domo's id; absent while a group a rule names has not been seen in Domo yet.
    #[schema(example = 1_200_345)]
    pub domo_id: Option<i64>,
    /// The service created it.
    pub created_by_service: bool,
    /// A rule names it without placeholders.
    pub named_by_rule: bool,
}

/// The managed groups, by name.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GroupList {
    pub groups: Vec<GroupView>,
}

/// A group to make sure of.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnsureGroupRequest {
    /// An IdP group name; the rules map it to the Domo group(s) to create if missing (with a
    /// rule like `{ group = "*" }` → `["{group}"]`, the same name).
    #[schema(example = "Marketing", min_length = 1)]
    pub name: String,
}

/// List the managed Domo groups (named by a rule, or created by the service) with their ids.
#[utoipa::path(get, path = "/api/v1/groups", tag = "groups",
    security(("bearer" = ["read"])),
    responses((status = 200, description = "The managed groups", body = GroupList), CommonErrors))]
pub async fn list_groups(
    _auth: Auth<Read>,
    State(state): State<AppState>,
) -> Result<Json<GroupList>, ApiError> {
    let statics = state.rules.static_targets();
    let mut by_key: BTreeMap<String, GroupView> = BTreeMap::new();
    for name in &statics {
        by_key.insert(
            name_key(name),
            GroupView {
                name: name.clone(),
                domo_id: None,
                created_by_service: false,
                named_by_rule: true,
            },
        );
    }
    for g in state.store.domo_groups().await? {
        let key = name_key(&g.name);
        if g.is_default || !(g.managed || by_key.contains_key(&key)) {
            continue;
        }
        let named_by_rule = by_key.contains_key(&key);
        by_key.insert(
            key,
            GroupView {
                name: g.name,
                domo_id: Some(g.domo_id),
                created_by_service: g.created,
                named_by_rule,
            },
        );
    }
    Ok(Json(GroupList {
        groups: by_key.into_values().collect(),
    }))
}

/// Make sure the Domo group(s) for a name exist: queues a `group.created` event stamped now.
///
/// The worker creates each missing group once (under the create-once lock) and records it as
/// managed. Answered 422 when no rule maps the name to a Domo group.
#[utoipa::path(post, path = "/api/v1/groups", tag = "groups",
    security(("bearer" = ["admin"])),
    request_body = EnsureGroupRequest,
    responses((status = 202, description = "Queued", body = QueuedChange), CommonErrors, Unprocessable))]
pub async fn ensure_group(
    _auth: Auth<Admin>,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<EnsureGroupRequest>,
) -> Result<(StatusCode, Json<QueuedChange>), ApiError> {
    let name = req.name.trim().to_owned();
    if name.is_empty() {
        return Err(ApiError::with_detail(
            ProblemKind::InvalidRequest,
            "`name` is empty",
        ));
    }
    let domo_groups: Vec<String> = state
        .rules
        .evaluate(&[name.clone()].into(), &BTreeMap::new())
        .into_iter()
        .map(|d| d.domo_group)
        .collect();
    if domo_groups.is_empty() {
        return Err(ApiError::with_detail(
            ProblemKind::InvalidRequest,
            format!("no rule maps `{name}` to a Domo group"),
        ));
    }
    let ev = CanonicalEvent {
        id: fresh_id("group"),
        event_type: EventType::GroupCreated,
        occurred_at: Utc::now(),
        user: None,
        groups: Some(vec![name]),
    };
    let mut events = submit(&state, API_SOURCE, vec![Parsed::Event(ev)], None).await?;
    let event = events
        .pop()
        .ok_or_else(|| ApiError::new(ProblemKind::Internal))?;
    Ok((
        StatusCode::ACCEPTED,
        Json(QueuedChange { event, domo_groups }),
    ))
}

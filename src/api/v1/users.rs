//! Users: one user as the service sees them; onboard and offboard by email; add or remove one
//! IdP group membership. Every change is a canonical event with `occurred_at` = now, queued
//! under the source `api` like any other, so it is applied in the user's order.

use std::collections::{BTreeMap, BTreeSet};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{
    API_SOURCE, ApiJson, ApiPath, CommonErrors, NotFound, QueuedChange, Submitted, Unprocessable,
    fresh_id, submit,
};
use crate::api::AppState;
use crate::api::auth::{Auth, Read, Write};
use crate::error::{ApiError, ProblemKind};
use crate::event::{CanonicalEvent, EventType, EventUser, normalize_email};
use crate::sources::Parsed;
use crate::state::UserState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_user))
        .routes(routes!(onboard_user))
        .routes(routes!(offboard_user))
        .routes(routes!(add_user_group, remove_user_group))
}

/// A Domo group the user should be in, and why.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DesiredGroup {
    #[schema(example = "Marketing")]
    pub name: String,
    /// Index (0-based) of the configured rule that derives it.
    pub rule: usize,
}

/// A Domo group membership the service knows of.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KnownMembership {
    pub domo_group_id: i64,
    pub name: String,
}

/// The newest event folded into the user's state.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LastApplied {
    pub occurred_at: DateTime<Utc>,
    /// The event as `source:id`.
    #[schema(example = "workos:evt_01JD8Q3")]
    pub event: String,
}

/// One user as the service sees them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserView {
    #[schema(example = "ada@example.com")]
    pub email: String,
    pub name: Option<String>,
    /// The sender's id for the user, when stated.
    pub idp_id: Option<String>,
    pub attributes: BTreeMap<String, String>,
    /// True after a `user.offboarded` newer than any onboarding.
    pub offboarded: bool,
    /// The IdP groups the user is in, as the service folded them.
    pub desired_idp_groups: Vec<String>,
    /// The Domo groups the rules derive from those (none while offboarded).
    pub desired_domo_groups: Vec<DesiredGroup>,
    pub domo_user_id: Option<i64>,
    /// The Domo group memberships the service believes Domo has.
    pub memberships: Vec<KnownMembership>,
    pub last_applied: Option<LastApplied>,
    /// The number of the last event a worker applied for the user.
    pub last_event: Option<i64>,
    pub updated_at: DateTime<Utc>,
}

/// What to onboard a user with.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OnboardRequest {
    /// Display name (used if the Domo user is created).
    #[schema(example = "Ada Lovelace")]
    pub name: Option<String>,
    /// Attributes the rules match (department, location, …).
    #[schema(example = json!({"department": "Sales", "location": "Paris"}))]
    pub attributes: Option<BTreeMap<String, String>>,
    /// The user's full list of IdP groups; leave out to keep the groups already known.
    #[schema(example = json!(["Marketing"]))]
    pub groups: Option<Vec<String>>,
}

fn email_path(email: &str) -> Result<String, ApiError> {
    let key = normalize_email(email);
    match key.split_once('@') {
        Some((l, d)) if !l.is_empty() && !d.is_empty() && !d.contains('@') => Ok(key),
        _ => Err(ApiError::with_detail(
            ProblemKind::InvalidRequest,
            "the path must name an email address",
        )),
    }
}

async fn queue(state: &AppState, ev: CanonicalEvent) -> Result<Submitted, ApiError> {
    ev.validate()
        .map_err(|e| ApiError::with_detail(ProblemKind::InvalidRequest, e.to_string()))?;
    let events = submit(state, API_SOURCE, vec![Parsed::Event(ev)], None).await?;
    Ok(Submitted { events })
}

/// One user as the service sees them: desired groups (and the rule behind each), attributes,
/// Domo user id, known memberships and the last event applied.
#[utoipa::path(get, path = "/api/v1/users/{email}", tag = "users",
    security(("bearer" = ["read"])),
    params(("email" = String, Path, description = "The user's email (case-insensitive)", example = "ada@example.com", pattern = r"^[^@\s]+@[^@\s]+$")),
    responses((status = 200, description = "The user", body = UserView), CommonErrors, NotFound, Unprocessable))]
pub async fn get_user(
    _auth: Auth<Read>,
    State(state): State<AppState>,
    ApiPath(email): ApiPath<String>,
) -> Result<Json<UserView>, ApiError> {
    Ok(Json(user_view(&state, &email).await?))
}

/// One user as the service sees them (the API's `GET /api/v1/users/{email}` and the console's
/// user page).
pub(crate) async fn user_view(state: &AppState, email: &str) -> Result<UserView, ApiError> {
    let key = email_path(email)?;
    let not_found = || {
        ApiError::with_detail(
            ProblemKind::NotFound,
            "the service has not applied an event for this user yet",
        )
    };
    let row = state.store.load_user(&key).await?.ok_or_else(not_found)?;
    let us: UserState = serde_json::from_str(&row.state).map_err(|e| {
        tracing::error!(error = %e, "api: a stored user state does not parse");
        ApiError::new(ProblemKind::Internal)
    })?;
    let memberships = state.store.memberships(&key).await?;
    let profile = us.profile().map(|p| p.value.clone()).unwrap_or_default();
    Ok(UserView {
        email: key,
        name: profile.name,
        idp_id: profile.id,
        attributes: profile.attributes,
        offboarded: us.is_offboarded(),
        desired_idp_groups: us.desired_idp_groups().into_iter().collect(),
        desired_domo_groups: us
            .desired_domo_groups(&state.rules)
            .into_iter()
            .map(|d| DesiredGroup {
                name: d.domo_group,
                rule: d.rule,
            })
            .collect(),
        domo_user_id: row.domo_user_id,
        memberships: memberships
            .into_iter()
            .map(|(domo_group_id, name)| KnownMembership {
                domo_group_id,
                name,
            })
            .collect(),
        last_applied: us.last_applied().map(|s| LastApplied {
            occurred_at: s.at,
            event: s.tiebreak.clone(),
        }),
        last_event: row.last_event,
        updated_at: Utc
            .timestamp_millis_opt(row.updated_ms)
            .single()
            .unwrap_or_default(),
    })
}

/// Onboard (or update) a user by email: queues a `user.onboarded` event stamped now.
///
/// With `groups`, the user's Domo groups among the managed ones become exactly what the rules
/// derive; without, the groups already known are kept.
#[utoipa::path(post, path = "/api/v1/users/{email}/onboard", tag = "users",
    security(("bearer" = ["write"])),
    params(("email" = String, Path, description = "The user's email", example = "ada@example.com", pattern = r"^[^@\s]+@[^@\s]+$")),
    request_body = OnboardRequest,
    responses((status = 202, description = "Queued", body = Submitted), CommonErrors, Unprocessable))]
pub async fn onboard_user(
    _auth: Auth<Write>,
    State(state): State<AppState>,
    ApiPath(email): ApiPath<String>,
    ApiJson(req): ApiJson<OnboardRequest>,
) -> Result<(StatusCode, Json<Submitted>), ApiError> {
    let key = email_path(&email)?;
    let ev = CanonicalEvent {
        id: fresh_id("onboard"),
        event_type: EventType::UserOnboarded,
        occurred_at: Utc::now(),
        user: Some(EventUser {
            email: Some(key),
            id: None,
            name: req.name,
            attributes: req.attributes.unwrap_or_default(),
        }),
        // Blank names carry no group: drop them rather than refuse the onboarding.
        groups: req
            .groups
            .map(|g| g.into_iter().filter(|n| !n.trim().is_empty()).collect()),
    };
    Ok((StatusCode::ACCEPTED, Json(queue(&state, ev).await?)))
}

/// Offboard a user by email: queues a `user.offboarded` event stamped now; the user leaves
/// every managed group.
#[utoipa::path(post, path = "/api/v1/users/{email}/offboard", tag = "users",
    security(("bearer" = ["write"])),
    params(("email" = String, Path, description = "The user's email", example = "ada@example.com", pattern = r"^[^@\s]+@[^@\s]+$")),
    responses((status = 202, description = "Queued", body = Submitted), CommonErrors, Unprocessable))]
pub async fn offboard_user(
    _auth: Auth<Write>,
    State(state): State<AppState>,
    ApiPath(email): ApiPath<String>,
) -> Result<(StatusCode, Json<Submitted>), ApiError> {
    let key = email_path(&email)?;
    let ev = CanonicalEvent {
        id: fresh_id("offboard"),
        event_type: EventType::UserOffboarded,
        occurred_at: Utc::now(),
        user: Some(EventUser {
            email: Some(key),
            ..EventUser::default()
        }),
        groups: None,
    };
    Ok((StatusCode::ACCEPTED, Json(queue(&state, ev).await?)))
}

/// The Domo groups the rules map IdP group `group` to, for a user with the attributes the
/// service knows (templates such as `{location}` take them).
async fn mapped(state: &AppState, key: &str, group: &str) -> Result<Vec<String>, ApiError> {
    let attrs = match state.store.load_user(key).await? {
        Some(row) => serde_json::from_str::<UserState>(&row.state)
            .map(|s| s.attributes().clone())
            .unwrap_or_default(),
        None => BTreeMap::new(),
    };
    // What the group brings: leave out what attribute rules derive anyway.
    let from_attrs: BTreeSet<usize> = state
        .rules
        .evaluate(&BTreeSet::new(), &attrs)
        .into_iter()
        .map(|d| d.rule)
        .collect();
    let names: Vec<String> = state
        .rules
        .evaluate(&BTreeSet::from([group.to_owned()]), &attrs)
        .into_iter()
        .filter(|d| !from_attrs.contains(&d.rule))
        .map(|d| d.domo_group)
        .collect();
    if names.is_empty() {
        return Err(ApiError::with_detail(
            ProblemKind::InvalidRequest,
            format!(
                "no rule maps the IdP group `{group}` to a Domo group: the change would do nothing"
            ),
        ));
    }
    Ok(names)
}

async fn membership(
    state: &AppState,
    email: &str,
    group: &str,
    event_type: EventType,
) -> Result<(StatusCode, Json<QueuedChange>), ApiError> {
    let key = email_path(email)?;
    let group = group.trim();
    if group.is_empty() {
        return Err(ApiError::with_detail(
            ProblemKind::InvalidRequest,
            "the group name is empty",
        ));
    }
    let domo_groups = mapped(state, &key, group).await?;
    let kind = if event_type == EventType::GroupMemberAdded {
        "add"
    } else {
        "remove"
    };
    let ev = CanonicalEvent {
        id: fresh_id(kind),
        event_type,
        occurred_at: Utc::now(),
        user: Some(EventUser {
            email: Some(key),
            ..EventUser::default()
        }),
        groups: Some(vec![group.to_owned()]),
    };
    let mut s = queue(state, ev).await?;
    let event = s
        .events
        .pop()
        .ok_or_else(|| ApiError::new(ProblemKind::Internal))?;
    Ok((
        StatusCode::ACCEPTED,
        Json(QueuedChange { event, domo_groups }),
    ))
}

/// Add a user to an IdP group: queues `group.member_added` stamped now. The user joins the
/// managed Domo group(s) the rules map the group to.
#[utoipa::path(put, path = "/api/v1/users/{email}/groups/{group}", tag = "users",
    security(("bearer" = ["write"])),
    params(
        ("email" = String, Path, description = "The user's email", example = "ada@example.com", pattern = r"^[^@\s]+@[^@\s]+$"),
        ("group" = String, Path, description = "The IdP group name, as the rules match it", example = "Marketing", pattern = r"\S")),
    responses((status = 202, description = "Queued", body = QueuedChange), CommonErrors, Unprocessable))]
pub async fn add_user_group(
    _auth: Auth<Write>,
    State(state): State<AppState>,
    ApiPath((email, group)): ApiPath<(String, String)>,
) -> Result<(StatusCode, Json<QueuedChange>), ApiError> {
    membership(&state, &email, &group, EventType::GroupMemberAdded).await
}

/// Remove a user from an IdP group: queues `group.member_removed` stamped now. The user
/// leaves the Domo group(s) the rules map the group to.
#[utoipa::path(delete, path = "/api/v1/users/{email}/groups/{group}", tag = "users",
    security(("bearer" = ["write"])),
    params(
        ("email" = String, Path, description = "The user's email", example = "ada@example.com", pattern = r"^[^@\s]+@[^@\s]+$"),
        ("group" = String, Path, description = "The IdP group name, as the rules match it", example = "Marketing", pattern = r"\S")),
    responses((status = 202, description = "Queued", body = QueuedChange), CommonErrors, Unprocessable))]
pub async fn remove_user_group(
    _auth: Auth<Write>,
    State(state): State<AppState>,
    ApiPath((email, group)): ApiPath<(String, String)>,
) -> Result<(StatusCode, Json<QueuedChange>), ApiError> {
    membership(&state, &email, &group, EventType::GroupMemberRemoved).await
}

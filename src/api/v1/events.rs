//! Events: submit canonical events, list and filter the inbox, look at one event (its Domo
//! operations and errors), replay one, and the dead-letter queue.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::paging::page;
use super::{
    API_SOURCE, ApiPath, ApiQuery, CommonErrors, NotFound, Submitted, Unprocessable, submit,
};
use crate::api::AppState;
use crate::api::auth::{Auth, Read, Write};
use crate::config::Format;
use crate::error::{ApiError, Problem, ProblemKind};
use crate::event::CanonicalEvent;
use crate::sources::AdapterError;
use crate::store::{AuditEntry, EventFilter, EventRow, IngestItem};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(submit_events, list_events))
        .routes(routes!(get_event))
        .routes(routes!(replay_event))
}

/// The state of an event in the queue.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum EventStatus {
    Queued,
    Running,
    Done,
    Dead,
    Ignored,
}

impl EventStatus {
    /// The stored (and wire) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Done => "done",
            Self::Dead => "dead",
            Self::Ignored => "ignored",
        }
    }
}

/// One stored event.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventView {
    /// The event's number in this service (stable; use it in `/api/v1/events/{id}`).
    #[schema(example = 42)]
    pub id: i64,
    /// The webhook source it came from, or `api`.
    #[schema(example = "workos")]
    pub source: String,
    /// The sender's id for the event.
    #[schema(example = "evt_01JD8Q3")]
    pub event_id: String,
    /// The canonical type, or the sender's own type for an ignored event.
    #[serde(rename = "type")]
    #[schema(example = "user.onboarded")]
    pub event_type: String,
    /// `queued`, `running`, `done`, `dead` or `ignored`.
    #[schema(example = "done")]
    pub status: String,
    /// How many times a worker took it up.
    pub attempts: i64,
    /// The user's (lower-cased) email, when the event names one.
    #[schema(example = "ada@example.com")]
    pub user_email: Option<String>,
    /// When it happened at the sender.
    pub occurred_at: Option<DateTime<Utc>>,
    /// When the service stored it.
    pub received_at: DateTime<Utc>,
    /// When it last changed state.
    pub updated_at: DateTime<Utc>,
    /// While queued: when it is due (a retry waits for this).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The last failure (a retry's cause, or why it is dead).
    pub last_error: Option<String>,
    /// The event this one replays.
    pub replay_of: Option<i64>,
}

/// One Domo call made for an event, with Domo's answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Operation {
    pub at: DateTime<Utc>,
    /// `create_group`, `add_member`, `remove_member`, `list_groups`, `get_user`, …
    #[schema(example = "add_member")]
    pub op: String,
    pub group: Option<String>,
    pub domo_group_id: Option<i64>,
    pub domo_user_id: Option<i64>,
    /// The index (0-based) of the configured rule that asked for this group.
    pub rule: Option<i64>,
    /// Domo's HTTP status.
    pub http_status: Option<i64>,
    /// `ok`, `error` or `dry_run` (planned, not called).
    #[schema(example = "ok")]
    pub outcome: String,
    pub error: Option<String>,
    pub duration_ms: i64,
}

/// One event with what was done for it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventDetail {
    #[serde(flatten)]
    pub event: EventView,
    /// The canonical event as stored (absent for ignored events).
    #[schema(value_type = Option<Object>)]
    pub payload: Option<serde_json::Value>,
    /// Every Domo call made (or planned, in dry run) for it, oldest first.
    pub operations: Vec<Operation>,
    /// Events that replay this one.
    pub replays: Vec<i64>,
}

/// A page of events, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventPage {
    pub events: Vec<EventView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Filters and paging of an event list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListEventsQuery {
    /// Only events in this state.
    #[param(inline)]
    pub status: Option<EventStatus>,
    /// Only events of this source (`api` for the API's own); empty = any.
    pub source: Option<String>,
    /// Only events about this user (case-insensitive); empty = any.
    pub email: Option<String>,
    /// Only events received at or after this time (RFC 3339).
    pub received_after: Option<DateTime<Utc>>,
    /// Only events received before this time (RFC 3339).
    pub received_before: Option<DateTime<Utc>>,
    /// Page size, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page (empty or absent: the first page).
    pub cursor: Option<String>,
}

pub(crate) fn ms(t: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(t).single().unwrap_or_default()
}

pub(crate) fn view(r: EventRow) -> EventView {
    EventView {
        id: r.id,
        event_type: r.event_type,
        attempts: r.attempts,
        user_email: r.user_key,
        occurred_at: r
            .occurred_at
            .and_then(|us| Utc.timestamp_micros(us).single()),
        received_at: ms(r.received_ms),
        updated_at: ms(r.updated_ms),
        next_attempt_at: (r.status == "queued").then(|| ms(r.run_at_ms)),
        last_error: r.last_error,
        replay_of: r.replay_of,
        status: r.status,
        source: r.source,
        event_id: r.event_id,
    }
}

fn operation(a: AuditEntry) -> Operation {
    Operation {
        at: ms(a.at_ms),
        op: a.op,
        group: a.group_name,
        domo_group_id: a.domo_group_id,
        domo_user_id: a.domo_user_id,
        rule: a.rule,
        http_status: a.http_status,
        outcome: a.outcome,
        error: a.error,
        duration_ms: a.duration_ms,
    }
}

/// Submit canonical events.
///
/// The body is one canonical event, an array of them, or `{"events": [...]}`: the same shape
/// as a `canonical` webhook source, with the same dedup (on the event `id`, under the source
/// `api`) and the same queue. Answered 202 once stored durably.
#[utoipa::path(post, path = "/api/v1/events", tag = "events",
    security(("bearer" = ["write"])),
    request_body(content = CanonicalEvent, description = "One canonical event (an array, or `{\"events\": [...]}`, is also accepted)"),
    responses(
        (status = 202, description = "Stored durably; will be applied", body = Submitted),
        CommonErrors, Unprocessable,
        (status = 413, description = "Body over `server.max_body_bytes`", body = Problem, content_type = "application/problem+json")))]
pub async fn submit_events(
    _auth: Auth<Write>,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Submitted>), ApiError> {
    let body = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(ProblemKind::PayloadTooLarge)
        } else {
            ApiError::with_detail(ProblemKind::BadRequest, "the body could not be read")
        }
    })?;
    let parsed = crate::sources::parse(Format::Canonical, &headers, &body).map_err(|e| {
        let kind = match e {
            AdapterError::Json(_) => ProblemKind::BadRequest,
            _ => ProblemKind::InvalidRequest,
        };
        ApiError::with_detail(kind, e.to_string())
    })?;
    let events = submit(&state, API_SOURCE, parsed, None).await?;
    Ok((StatusCode::ACCEPTED, Json(Submitted { events })))
}

/// List events, newest first.
///
/// Filters combine with AND. Pages are stable while new events arrive: follow `next_cursor`
/// until it is absent.
#[utoipa::path(get, path = "/api/v1/events", tag = "events",
    security(("bearer" = ["read"])),
    params(ListEventsQuery),
    responses((status = 200, description = "A page of events", body = EventPage), CommonErrors, Unprocessable))]
pub async fn list_events(
    _auth: Auth<Read>,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ListEventsQuery>,
) -> Result<Json<EventPage>, ApiError> {
    let filter = EventFilter {
        status: q.status.map(|s| s.as_str().to_owned()),
        source: q.source.filter(|s| !s.is_empty()),
        user_key: q
            .email
            .as_deref()
            .map(crate::event::normalize_email)
            .filter(|e| !e.is_empty()),
        received_from_ms: q.received_after.map(|t| t.timestamp_millis()),
        received_to_ms: q.received_before.map(|t| t.timestamp_millis()),
        ..EventFilter::default()
    };
    Ok(Json(
        page(&state, &filter, q.limit, q.cursor.as_deref()).await?,
    ))
}

/// One event: its state, errors, and every Domo call made for it with Domo's answer.
#[utoipa::path(get, path = "/api/v1/events/{id}", tag = "events",
    security(("bearer" = ["read"])),
    params(("id" = i64, Path, description = "The event's number")),
    responses((status = 200, description = "The event", body = EventDetail), CommonErrors, NotFound))]
pub async fn get_event(
    _auth: Auth<Read>,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<EventDetail>, ApiError> {
    Ok(Json(event_detail(&state, id).await?))
}

/// One event with its Domo calls and replays (the API's `GET /api/v1/events/{id}` and the
/// console's event page).
pub(crate) async fn event_detail(state: &AppState, id: i64) -> Result<EventDetail, ApiError> {
    let row =
        state.store.get_event(id).await?.ok_or_else(|| {
            ApiError::with_detail(ProblemKind::NotFound, format!("no event {id}"))
        })?;
    let operations = state.store.audit_for_event(id).await?;
    let replays = state.store.replays_of(id).await?;
    let payload = row
        .payload
        .as_deref()
        .and_then(|p| serde_json::from_str(p).ok());
    Ok(EventDetail {
        event: view(row),
        payload,
        operations: operations.into_iter().map(operation).collect(),
        replays,
    })
}

/// Replay a dead or finished event.
///
/// Stores a copy under a fresh id (so dedup lets it through), linked to the original by
/// `replay_of`, and queues it like any event: it runs in the user's order and keeps the
/// original `occurred_at`, so it cannot undo a newer event.
#[utoipa::path(post, path = "/api/v1/events/{id}/replay", tag = "events",
    security(("bearer" = ["write"])),
    params(("id" = i64, Path, description = "The event's number")),
    responses(
        (status = 202, description = "The replay, queued", body = EventView),
        CommonErrors, NotFound,
        (status = 409, description = "Only `dead` or `done` events with a payload can be replayed", body = Problem, content_type = "application/problem+json")))]
pub async fn replay_event(
    _auth: Auth<Write>,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<(StatusCode, Json<EventView>), ApiError> {
    Ok((StatusCode::ACCEPTED, Json(replay(&state, id).await?)))
}

/// Replays event `id` (see [`replay_event`]): the API's and the console's replay.
pub(crate) async fn replay(state: &AppState, id: i64) -> Result<EventView, ApiError> {
    let row =
        state.store.get_event(id).await?.ok_or_else(|| {
            ApiError::with_detail(ProblemKind::NotFound, format!("no event {id}"))
        })?;
    let replayable = matches!(row.status.as_str(), "dead" | "done");
    let (Some(payload), true) = (row.payload, replayable) else {
        return Err(ApiError::with_detail(
            ProblemKind::Conflict,
            format!(
                "event {id} is `{}`; only dead or done events can be replayed",
                row.status
            ),
        ));
    };
    let item = IngestItem {
        event_id: format!("{}#replay-{}", row.event_id, uuid::Uuid::now_v7().simple()),
        event_type: row.event_type,
        job_key: row.job_key,
        user_key: row.user_key,
        occurred_at: row.occurred_at,
        payload: Some(payload),
        replay_of: Some(id),
        request_id: None,
        trace_context: crate::telemetry::traceparent(),
    };
    let outcomes = state.ingestor.submit(&row.source, vec![item]).await?;
    let pk = outcomes
        .first()
        .and_then(|o| o.pk)
        .ok_or_else(|| ApiError::new(ProblemKind::Internal))?;
    let replay = state
        .store
        .get_event(pk)
        .await?
        .ok_or_else(|| ApiError::new(ProblemKind::Internal))?;
    tracing::info!(event = id, replay = pk, "event replayed");
    Ok(view(replay))
}

//! Outgoing events: the configured subscribers, the outbox (pending, delivered and dead
//! messages, newest first), one message with its body, and replays: one message, or every
//! dead message of a subscriber (after an outage). Replays keep the message's `webhook-id`,
//! so a receiver that did get it can drop the copy.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::paging::bounded_limit;
use super::{ApiJson, ApiPath, ApiQuery, CommonErrors, NotFound};
use crate::api::AppState;
use crate::api::auth::{Admin, Auth, Read};
use crate::error::{ApiError, Problem, ProblemKind};
use crate::notify::NoticeType;
use crate::notify::event::rfc3339_ms;
use crate::store::{OutboxFilter, OutboxRow};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_subscribers))
        .routes(routes!(replay_subscriber))
        .routes(routes!(list_deliveries))
        .routes(routes!(get_delivery))
        .routes(routes!(replay_delivery))
}

/// The state of an outgoing message.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Not delivered yet: due at `next_attempt_at`.
    Pending,
    /// A 2xx answer was received.
    Delivered,
    /// Will not be retried without a replay (`last_error` says why).
    Dead,
}

impl DeliveryStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Dead => "dead",
        }
    }
}

/// One outgoing message to one subscriber.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeliveryView {
    #[schema(example = 12)]
    pub id: i64,
    #[schema(example = "it-webhooks")]
    pub subscriber: String,
    /// The `webhook-id` header: the same for every attempt and replay.
    #[schema(example = "msg_0193a1b2c3d4e5f6a7b8c9d0e1f2a3b4")]
    pub msg_id: String,
    #[serde(rename = "type")]
    pub event_type: NoticeType,
    #[schema(value_type = String, example = "pending")]
    pub status: DeliveryStatus,
    pub attempts: i64,
    /// When it was written (RFC 3339).
    pub created_at: String,
    /// Pending only: when the next attempt is due.
    pub next_attempt_at: Option<String>,
    pub delivered_at: Option<String>,
    /// The subscriber's last HTTP status.
    pub last_status: Option<i64>,
    /// Why the last attempt failed (the start of the subscriber's answer, or the transport
    /// error).
    pub last_error: Option<String>,
    /// The body sent (only in `GET /api/v1/deliveries/{id}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<serde_json::Value>,
}

fn view(r: OutboxRow, with_body: bool) -> DeliveryView {
    let status = match r.status.as_str() {
        "delivered" => DeliveryStatus::Delivered,
        "dead" => DeliveryStatus::Dead,
        _ => DeliveryStatus::Pending,
    };
    DeliveryView {
        id: r.id,
        subscriber: r.subscriber,
        msg_id: r.msg_id,
        event_type: NoticeType::parse(&r.event_type).unwrap_or(NoticeType::EventDead),
        status,
        attempts: r.attempts,
        created_at: rfc3339_ms(r.created_ms),
        next_attempt_at: (status == DeliveryStatus::Pending).then(|| rfc3339_ms(r.next_ms)),
        delivered_at: r.delivered_ms.map(rfc3339_ms),
        last_status: r.last_status,
        last_error: r.last_error,
        body: with_body.then(|| serde_json::from_str(&r.body).unwrap_or_default()),
    }
}

/// A page of messages.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeliveryPage {
    pub deliveries: Vec<DeliveryView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Which messages to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// Only this subscriber's.
    pub subscriber: Option<String>,
    /// Only in this state.
    #[param(inline)]
    pub status: Option<DeliveryStatus>,
    /// Only of this type.
    #[serde(rename = "type")]
    #[param(rename = "type", inline)]
    pub event_type: Option<NoticeType>,
    /// Page size, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

fn decode_cursor(c: &str) -> Result<i64, ApiError> {
    URL_SAFE_NO_PAD
        .decode(c)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix("d:").and_then(|n| n.parse().ok()))
        .ok_or_else(|| {
            ApiError::with_detail(
                ProblemKind::InvalidRequest,
                "`cursor` is not one this service gave out",
            )
        })
}

/// The outbox of outgoing events, newest first: what was sent to whom, what waits for a
/// retry, and the dead letters (`status=dead`).
#[utoipa::path(get, path = "/api/v1/deliveries", tag = "notify",
    security(("bearer" = ["read"])),
    params(DeliveryQuery),
    responses((status = 200, description = "A page of messages", body = DeliveryPage), CommonErrors,
        (status = 422, description = "A cursor this service did not give out", body = Problem, content_type = "application/problem+json")))]
pub async fn list_deliveries(
    _auth: Auth<Read>,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<DeliveryQuery>,
) -> Result<Json<DeliveryPage>, ApiError> {
    let limit = bounded_limit(q.limit, 50, 500)?;
    let before_id = q
        .cursor
        .as_deref()
        .filter(|c| !c.is_empty())
        .map(decode_cursor)
        .transpose()?;
    let filter = OutboxFilter {
        subscriber: q.subscriber,
        status: q.status.map(|s| s.as_str().to_owned()),
        event_type: q.event_type.map(|t| t.as_str().to_owned()),
        before_id,
    };
    let mut rows = state.store.outbox_list(&filter, limit + 1).await?;
    let more = rows.len() > usize::try_from(limit).unwrap_or(usize::MAX);
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let next_cursor = more
        .then(|| {
            rows.last()
                .map(|r| URL_SAFE_NO_PAD.encode(format!("d:{}", r.id)))
        })
        .flatten();
    Ok(Json(DeliveryPage {
        deliveries: rows.into_iter().map(|r| view(r, false)).collect(),
        next_cursor,
    }))
}

/// One message, with the body it carries.
#[utoipa::path(get, path = "/api/v1/deliveries/{id}", tag = "notify",
    security(("bearer" = ["read"])),
    params(("id" = i64, Path, description = "The message's id")),
    responses((status = 200, description = "The message", body = DeliveryView), CommonErrors, NotFound))]
pub async fn get_delivery(
    _auth: Auth<Read>,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<DeliveryView>, ApiError> {
    let row =
        state.store.outbox_get(id).await?.ok_or_else(|| {
            ApiError::with_detail(ProblemKind::NotFound, format!("no delivery {id}"))
        })?;
    Ok(Json(view(row, true)))
}

/// Send a dead (or delivered) message again: pending, due now, attempts from zero, the same
/// `webhook-id`.
#[utoipa::path(post, path = "/api/v1/deliveries/{id}/replay", tag = "notify",
    security(("bearer" = ["admin"])),
    params(("id" = i64, Path, description = "The message's id")),
    responses((status = 202, description = "Queued again", body = DeliveryView), CommonErrors, NotFound,
        (status = 409, description = "The message is still pending", body = Problem, content_type = "application/problem+json")))]
pub async fn replay_delivery(
    _auth: Auth<Admin>,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<(StatusCode, Json<DeliveryView>), ApiError> {
    let now = Utc::now().timestamp_millis();
    if !state.store.outbox_replay(id, now).await? {
        return Err(match state.store.outbox_get(id).await? {
            None => ApiError::with_detail(ProblemKind::NotFound, format!("no delivery {id}")),
            Some(_) => ApiError::with_detail(
                ProblemKind::Conflict,
                "the message is pending: it will be sent (or retried) anyway",
            ),
        });
    }
    state.notifier.ring();
    let row =
        state.store.outbox_get(id).await?.ok_or_else(|| {
            ApiError::with_detail(ProblemKind::NotFound, format!("no delivery {id}"))
        })?;
    Ok((StatusCode::ACCEPTED, Json(view(row, false))))
}

/// A configured subscriber (never its URL or secret) and its outbox.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SubscriberView {
    #[schema(example = "it-webhooks")]
    pub name: String,
    /// `webhook` (Standard Webhooks signed JSON) or `slack`.
    #[schema(example = "webhook")]
    pub kind: String,
    /// The event types it gets.
    pub events: Vec<NoticeType>,
    pub pending: i64,
    pub delivered: i64,
    pub dead: i64,
    /// When its oldest undelivered message was written.
    pub oldest_pending_at: Option<String>,
}

/// The subscribers.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SubscriberList {
    pub subscribers: Vec<SubscriberView>,
}

/// The configured subscribers of outgoing events, with their outbox counts.
#[utoipa::path(get, path = "/api/v1/subscribers", tag = "notify",
    security(("bearer" = ["read"])),
    responses((status = 200, description = "The subscribers", body = SubscriberList), CommonErrors))]
pub async fn list_subscribers(
    _auth: Auth<Read>,
    State(state): State<AppState>,
) -> Result<Json<SubscriberList>, ApiError> {
    let counts = state.store.outbox_counts().await?;
    let subscribers = state
        .subscribers
        .iter()
        .map(|s| {
            let mine = || counts.iter().filter(|c| c.subscriber == s.name);
            let count = |status: &str| mine().find(|c| c.status == status).map_or(0, |c| c.count);
            SubscriberView {
                name: s.name.clone(),
                kind: s.kind.as_str().to_owned(),
                events: s.events.clone(),
                pending: count("pending"),
                delivered: count("delivered"),
                dead: count("dead"),
                oldest_pending_at: mine()
                    .filter_map(|c| c.oldest_created_ms)
                    .min()
                    .map(rfc3339_ms),
            }
        })
        .collect();
    Ok(Json(SubscriberList { subscribers }))
}

/// Which dead messages to replay.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplaySubscriber {
    /// Only messages written at or after this time (RFC 3339); default: every dead message.
    #[schema(example = "2026-12-05T00:00:00Z")]
    pub since: Option<DateTime<Utc>>,
}

/// How many messages were queued again.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Replayed {
    pub replayed: u64,
}

/// Send every dead message of a subscriber again (after an outage, once it answers): each
/// keeps its `webhook-id`; they go out in the order they were written.
#[utoipa::path(post, path = "/api/v1/subscribers/{name}/replay", tag = "notify",
    security(("bearer" = ["admin"])),
    params(("name" = String, Path, description = "The subscriber's name")),
    request_body(content = ReplaySubscriber, description = "`{}` replays every dead message"),
    responses((status = 202, description = "Queued again", body = Replayed), CommonErrors, NotFound))]
pub async fn replay_subscriber(
    _auth: Auth<Admin>,
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    ApiJson(req): ApiJson<ReplaySubscriber>,
) -> Result<(StatusCode, Json<Replayed>), ApiError> {
    if !state.subscribers.iter().any(|s| s.name == name) {
        return Err(ApiError::with_detail(
            ProblemKind::NotFound,
            format!("no subscriber {name}"),
        ));
    }
    let since = req.since.map_or(i64::MIN, |t| t.timestamp_millis());
    let replayed = state
        .store
        .outbox_replay_dead(&name, since, Utc::now().timestamp_millis())
        .await?;
    if replayed > 0 {
        state.notifier.ring();
    }
    Ok((StatusCode::ACCEPTED, Json(Replayed { replayed })))
}

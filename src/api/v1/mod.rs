//! The internal REST API under `/api/v1`: bearer tokens with scopes (see [`super::auth`]),
//! the same canonical events and the same inbox as the webhooks. No handler calls Domo: what
//! changes Domo is queued as a canonical event and applied by the workers, in per-user order.

pub mod dead_letters;
pub mod deliveries;
pub mod events;
pub mod groups;
pub(crate) mod paging;
pub mod plan;
pub mod reconcile;
pub mod sources;
pub mod users;

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::Instrument as _;
use utoipa::{IntoResponses, ToSchema};
use utoipa_axum::router::OpenApiRouter;

use super::AppState;
use crate::error::{ApiError, Problem, ProblemKind};
use crate::ingest::to_item;
use crate::sources::Parsed;
use crate::store::{IngestOutcome, IngestStatus};

/// The source name under which API-submitted events are stored (and deduplicated).
pub const API_SOURCE: &str = "api";

/// Every `/api/v1` route.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(events::router())
        .merge(dead_letters::router())
        .merge(users::router())
        .merge(groups::router())
        .merge(plan::router())
        .merge(sources::router())
        .merge(reconcile::router())
        .merge(deliveries::router())
}

/// Errors every `/api/v1` operation may answer.
#[derive(IntoResponses)]
pub enum CommonErrors {
    /// A path, query or body that cannot be read.
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(#[to_schema] Problem),
    /// No bearer token, or an unknown one.
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(#[to_schema] Problem),
    /// The token lacks the operation's scope.
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(#[to_schema] Problem),
    /// The store cannot be reached; retry later.
    #[response(status = 503, content_type = "application/problem+json")]
    Unavailable(#[to_schema] Problem),
}

/// No such resource.
#[derive(IntoResponses)]
#[response(status = 404, content_type = "application/problem+json")]
pub struct NotFound(#[to_schema] pub Problem);

/// Well-formed but not acceptable (the detail says why).
#[derive(IntoResponses)]
#[response(status = 422, content_type = "application/problem+json")]
pub struct Unprocessable(#[to_schema] pub Problem);

/// What became of one submitted event.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SubmittedEvent {
    /// The stored event's number (for `GET /api/v1/events/{id}`); for a duplicate, the one
    /// stored first.
    #[schema(example = 42)]
    pub id: i64,
    /// The event's own id (with the source, the dedup key).
    #[schema(example = "evt_01JD8Q3")]
    pub event_id: String,
    /// `queued` (stored; a worker will apply it), `duplicate` (an event with this id was
    /// stored before; nothing was done) or `ignored`.
    #[schema(value_type = String, example = "queued")]
    pub status: IngestStatus,
}

/// The answer to a submission: one entry per event, in order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Submitted {
    pub events: Vec<SubmittedEvent>,
}

/// A queued change that the rules map to Domo groups.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QueuedChange {
    pub event: SubmittedEvent,
    /// The Domo groups the change concerns under the current rules.
    #[schema(example = json!(["Marketing"]))]
    pub domo_groups: Vec<String>,
}

/// Stores parsed events under `source` through the ingestor (group commit, dedup) and says
/// what became of each, with the stored row's number.
pub(crate) async fn submit(
    state: &AppState,
    source: &str,
    parsed: Vec<Parsed>,
    replay_of: Option<i64>,
) -> Result<Vec<SubmittedEvent>, ApiError> {
    let items = parsed
        .into_iter()
        .map(|p| to_item(source, p, replay_of))
        .collect();
    let outcomes = state
        .ingestor
        .submit(source, items)
        .instrument(tracing::info_span!("ingest", webhook.source = %source))
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "api: could not store events");
            ApiError::from(e)
        })?;
    outcomes_to_view(state, source, outcomes).await
}

pub(crate) async fn outcomes_to_view(
    state: &AppState,
    source: &str,
    outcomes: Vec<IngestOutcome>,
) -> Result<Vec<SubmittedEvent>, ApiError> {
    let mut out = Vec::with_capacity(outcomes.len());
    for o in outcomes {
        let id = match o.pk {
            Some(pk) => Some(pk),
            None => state.store.find_event(source, &o.event_id).await?,
        };
        let id = id.ok_or_else(|| {
            tracing::error!(event_id = %o.event_id, "api: a stored event cannot be found");
            ApiError::new(ProblemKind::Internal)
        })?;
        out.push(SubmittedEvent {
            id,
            event_id: o.event_id,
            status: o.status,
        });
    }
    Ok(out)
}

/// A fresh event id for events the API makes on the caller's behalf.
pub(crate) fn fresh_id(kind: &str) -> String {
    format!("api-{kind}-{}", uuid::Uuid::now_v7().simple())
}

/// `Path` whose rejection is a problem document.
pub struct ApiPath<T>(pub T);
/// `Query` whose rejection is a problem document.
pub struct ApiQuery<T>(pub T);
/// `Json` whose rejection is a problem document.
pub struct ApiJson<T>(pub T);

fn bad_request(detail: String) -> ApiError {
    ApiError::with_detail(ProblemKind::BadRequest, detail)
}

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for ApiPath<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(v)| ApiPath(v))
            .map_err(|e: PathRejection| bad_request(e.body_text()))
    }
}

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for ApiQuery<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| ApiQuery(v))
            .map_err(|e: QueryRejection| bad_request(e.body_text()))
    }
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let axum::Json(value) = axum::Json::<serde_json::Value>::from_request(req, state)
            .await
            .map_err(|e: JsonRejection| bad_request(e.body_text()))?;
        // Every body of this API is an object: serde would also read a struct from an array
        // of its fields in order, which the document does not allow.
        if !value.is_object() {
            return Err(bad_request("the body must be a JSON object".to_owned()));
        }
        serde_json::from_value::<T>(value)
            .map(ApiJson)
            .map_err(|e| bad_request(format!("invalid body: {e}")))
    }
}

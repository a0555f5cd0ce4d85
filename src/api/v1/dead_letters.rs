//! The dead-letter queue: events that will not be retried, with the reason.

use axum::Json;
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::events::EventPage;
use super::paging::{PageQuery, page};
use super::{ApiQuery, CommonErrors, Unprocessable};
use crate::api::AppState;
use crate::api::auth::{Auth, Read};
use crate::error::ApiError;
use crate::store::EventFilter;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_dead_letters))
}

/// The dead-letter queue: events that will not be retried, newest first, each with the
/// reason (`last_error`). Replay one with `POST /api/v1/events/{id}/replay`.
#[utoipa::path(get, path = "/api/v1/dead-letters", tag = "events",
    security(("bearer" = ["read"])),
    params(PageQuery),
    responses((status = 200, description = "A page of dead events", body = EventPage), CommonErrors, Unprocessable))]
pub async fn list_dead_letters(
    _auth: Auth<Read>,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<EventPage>, ApiError> {
    let filter = EventFilter {
        status: Some("dead".to_owned()),
        ..EventFilter::default()
    };
    Ok(Json(
        page(&state, &filter, q.limit, q.cursor.as_deref()).await?,
    ))
}

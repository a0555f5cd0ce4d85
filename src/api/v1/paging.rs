//! Keyset pagination of event lists: newest first by row id, with an opaque cursor (the last
//! row id of the page, base64url-encoded), so pages are stable while new events arrive.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use utoipa::IntoParams;

use super::events::{EventPage, view};
use crate::api::AppState;
use crate::error::{ApiError, ProblemKind};
use crate::store::EventFilter;

/// Paging of a list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page (empty or absent: the first page).
    pub cursor: Option<String>,
}

fn encode_cursor(id: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("e:{id}"))
}

fn decode_cursor(c: &str) -> Result<i64, ApiError> {
    URL_SAFE_NO_PAD
        .decode(c)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix("e:").and_then(|n| n.parse().ok()))
        .ok_or_else(|| {
            ApiError::with_detail(
                ProblemKind::InvalidRequest,
                "`cursor` is not one this service gave out",
            )
        })
}

fn page_limit(limit: Option<i64>) -> Result<i64, ApiError> {
    bounded_limit(limit, 50, 500)
}

/// A `limit` query parameter: `default` when absent, else between 1 and `max` (a 400 says so:
/// the document promises these bounds).
pub(super) fn bounded_limit(limit: Option<i64>, default: i64, max: i64) -> Result<i64, ApiError> {
    match limit.unwrap_or(default) {
        n if (1..=max).contains(&n) => Ok(n),
        _ => Err(ApiError::with_detail(
            ProblemKind::BadRequest,
            format!("`limit` must be between 1 and {max}"),
        )),
    }
}

pub(crate) async fn page(
    state: &AppState,
    filter: &EventFilter,
    limit: Option<i64>,
    cursor: Option<&str>,
) -> Result<EventPage, ApiError> {
    let limit = page_limit(limit)?;
    let before = cursor
        .filter(|c| !c.is_empty())
        .map(decode_cursor)
        .transpose()?;
    let mut rows = state.store.list_events(filter, before, limit + 1).await?;
    let more = rows.len() > usize::try_from(limit).unwrap_or(usize::MAX);
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let next_cursor = if more {
        rows.last().map(|r| encode_cursor(r.id))
    } else {
        None
    };
    Ok(EventPage {
        events: rows.into_iter().map(view).collect(),
        next_cursor,
    })
}

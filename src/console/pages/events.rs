//! Events: the inbox newest first, filtered and paged by cursor (every view is a permalink);
//! one event with its payload, its Domo calls and the rule behind each, and replay.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;

pub use super::filters::{Choices, Filters};
use super::given;
use crate::api::AppState;
use crate::api::v1::events::{EventView, Operation};
use crate::config::ApiScope;
use crate::console::actions;
use crate::console::error::{ConsoleError, render, see_other};
use crate::console::forms::Posted;
use crate::console::session::ConsoleUser;
use crate::console::view::{Chrome, cut, when};
use crate::store::EventFilter;

/// Events per page.
pub const PAGE: i64 = 50;
/// The largest payload shown in the page; a larger one is cut (and downloadable whole).
pub const PAYLOAD_CAP: usize = 64 * 1024;

/// An event as a table row shows it.
pub struct Row {
    pub id: i64,
    pub received: String,
    pub source: String,
    /// The sender's id, cut for the table.
    pub event_id: String,
    pub event_type: String,
    pub email: String,
    pub status: String,
    pub attempts: i64,
    pub error: String,
}

impl From<EventView> for Row {
    fn from(e: EventView) -> Row {
        Row {
            id: e.id,
            received: when(&e.received_at),
            source: e.source,
            event_id: cut(&e.event_id, 40),
            event_type: e.event_type,
            email: e.user_email.unwrap_or_default(),
            status: e.status,
            attempts: e.attempts,
            error: cut(e.last_error.as_deref().unwrap_or(""), 140),
        }
    }
}

/// One page of the inbox as the Events and Dead letters tables show it, newest first, with
/// the links (same filters, at the page's `path`) to the next, older page and back to the
/// newest.
pub struct Listing {
    pub rows: Vec<Row>,
    pub next: Option<String>,
    pub first: Option<String>,
}

impl Listing {
    /// The page of `filter` that `f.cursor` names (the first without one).
    pub async fn read(
        state: &AppState,
        filter: &EventFilter,
        f: &Filters,
        path: &str,
    ) -> Result<Listing, ConsoleError> {
        let page = crate::api::v1::paging::page(state, filter, Some(PAGE), f.cursor.as_deref())
            .await
            .map_err(|_| {
                ConsoleError::bad_input(
                    "This page link is not one the console gave out; start from the first page.",
                )
            })?;
        Ok(Listing {
            rows: page.events.into_iter().map(Row::from).collect(),
            next: page
                .next_cursor
                .map(|c| format!("{path}?{}", f.query(&[("cursor", &c)]))),
            first: given(&f.cursor).map(|_| format!("{path}?{}", f.query(&[]))),
        })
    }
}

#[derive(Template)]
#[template(path = "console/events.html")]
struct EventsPage {
    chrome: Chrome,
    form_action: &'static str,
    show_status: bool,
    f: Filters,
    choices: Choices,
    rows: Vec<Row>,
    next: Option<String>,
    first: Option<String>,
    permalink: String,
}

/// `GET /console/events`.
pub async fn list(
    user: ConsoleUser,
    State(state): State<AppState>,
    Query(f): Query<Filters>,
) -> Result<Response, ConsoleError> {
    let now = Utc::now().timestamp_millis();
    let filter = f.to_filter(now)?;
    let listing = Listing::read(&state, &filter, &f, "/console/events").await?;
    let page = EventsPage {
        chrome: Chrome::new(&user, "Events", "events").live(f.live()),
        form_action: "/console/events",
        show_status: true,
        permalink: format!("/console/events?{}", f.query(&[])),
        choices: Choices::of(&state),
        rows: listing.rows,
        next: listing.next,
        first: listing.first,
        f,
    };
    Ok(render(&page))
}

/// A Domo call as the event page shows it.
pub struct CallRow {
    pub at: String,
    pub op: String,
    pub group: String,
    pub rule: String,
    pub http_status: String,
    pub outcome: String,
    pub answer: String,
    pub duration_ms: i64,
}

#[derive(Template)]
#[template(path = "console/event.html")]
struct EventPage {
    chrome: Chrome,
    e: EventView,
    occurred: String,
    received: String,
    updated: String,
    next_attempt: String,
    payload: String,
    payload_cut: bool,
    payload_bytes: usize,
    calls: Vec<CallRow>,
    replays: Vec<i64>,
    replayable: bool,
    just_replayed: bool,
}

/// `?replayed=1` after a replay, `?live=1`.
#[derive(Debug, Default, Deserialize)]
pub struct EventQuery {
    replayed: Option<String>,
    live: Option<String>,
}

/// `GET /console/events/{id}`.
pub async fn show(
    user: ConsoleUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<EventQuery>,
) -> Result<Response, ConsoleError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ConsoleError::bad_input("An event's number is a whole number."))?;
    let d = crate::api::v1::events::event_detail(&state, id).await?;
    let pretty = d
        .payload
        .as_ref()
        .and_then(|p| serde_json::to_string_pretty(p).ok())
        .unwrap_or_default();
    let payload_bytes = pretty.len();
    let payload_cut = payload_bytes > PAYLOAD_CAP;
    let payload = if payload_cut {
        let mut end = PAYLOAD_CAP;
        while !pretty.is_char_boundary(end) {
            end -= 1;
        }
        pretty[..end].to_owned()
    } else {
        pretty
    };
    let calls = d
        .operations
        .into_iter()
        .map(|o: Operation| CallRow {
            at: when(&o.at),
            rule: o.rule.map(|r| state.console.rule(r)).unwrap_or_default(),
            group: o.group.unwrap_or_default(),
            http_status: o.http_status.map(|s| s.to_string()).unwrap_or_default(),
            answer: o.error.unwrap_or_default(),
            op: o.op,
            outcome: o.outcome,
            duration_ms: o.duration_ms,
        })
        .collect();
    let e = d.event;
    let live = matches!(q.live.as_deref(), Some("1")) || q.replayed.is_some();
    let page = EventPage {
        chrome: Chrome::new(&user, format!("Event {}", e.id), "events")
            .live(live && matches!(e.status.as_str(), "queued" | "running")),
        occurred: e.occurred_at.as_ref().map(when).unwrap_or_default(),
        received: when(&e.received_at),
        updated: when(&e.updated_at),
        next_attempt: e.next_attempt_at.as_ref().map(when).unwrap_or_default(),
        payload,
        payload_cut,
        payload_bytes,
        calls,
        replays: d.replays,
        replayable: d.payload.is_some() && matches!(e.status.as_str(), "dead" | "done"),
        just_replayed: q.replayed.is_some(),
        e,
    };
    Ok(render(&page))
}

/// `GET /console/events/{id}/payload`: the stored payload whole, as a JSON download.
pub async fn payload(
    _user: ConsoleUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, ConsoleError> {
    let row = state.store.get_event(id).await?.ok_or_else(|| {
        crate::error::ApiError::with_detail(
            crate::error::ProblemKind::NotFound,
            format!("no event {id}"),
        )
    })?;
    let mut resp = row
        .payload
        .unwrap_or_else(|| "null".to_owned())
        .into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"event-{id}.json\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

/// The replay form (the CSRF token only).
#[derive(Deserialize)]
pub struct ReplayForm {}

/// `POST /console/events/{id}/replay` (scope `write`): queues a replay through the API's
/// replay and shows it.
pub async fn replay(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    posted: Posted<ReplayForm>,
) -> Result<Response, ConsoleError> {
    let user = posted.user;
    actions::authorize(&user, ApiScope::Write, "replay")?;
    let r = actions::counted("replay", crate::api::v1::events::replay(&state, id).await)?;
    tracing::info!(console.token = %user.token_name, event = id, replay = r.id, "console: event replayed");
    Ok(see_other(&format!("/console/events/{}?replayed=1", r.id)))
}

//! Events: the inbox newest first, filtered and paged by cursor (every view is a permalink);
//! one event with its payload, its Domo calls and the rule behind each, and replay.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{Duration, NaiveDateTime, Utc};
use serde::Deserialize;

use super::given;
use crate::api::AppState;
use crate::api::v1::events::{EventStatus, EventView, Operation};
use crate::config::ApiScope;
use crate::console::error::{ConsoleError, render, see_other};
use crate::console::forms::Posted;
use crate::console::session::ConsoleUser;
use crate::console::view::{Chrome, cut, query, when};
use crate::event::EventType;
use crate::prometheus::CONSOLE_ACTIONS;
use crate::store::EventFilter;

/// Events per page.
pub const PAGE: i64 = 50;
/// The largest payload shown in the page; a larger one is cut (and downloadable whole).
pub const PAYLOAD_CAP: usize = 64 * 1024;

/// The filters of the Events and Dead letters pages, as the URL carries them.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct Filters {
    pub status: Option<String>,
    pub source: Option<String>,
    #[serde(rename = "type")]
    pub event_type: Option<String>,
    pub email: Option<String>,
    pub event_id: Option<String>,
    /// Dead letters only: the exact reason.
    pub reason: Option<String>,
    /// `1h`, `24h`, `7d` or `30d`: received since then.
    pub since: Option<String>,
    /// Received at or after (`YYYY-MM-DDTHH:MM`, UTC).
    pub from: Option<String>,
    /// Received before (same form).
    pub to: Option<String>,
    pub cursor: Option<String>,
    pub live: Option<String>,
}

fn parse_time(v: &str, what: &str) -> Result<i64, ConsoleError> {
    let v = v.trim();
    let t = chrono::DateTime::parse_from_rfc3339(v)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| {
            NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M")
                .or_else(|_| NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S"))
                .map(|n| n.and_utc())
        })
        .map_err(|_| {
            ConsoleError::bad_input(format!(
                "`{what}` must be a time such as 2026-12-04T10:00 (UTC)"
            ))
        })?;
    Ok(t.timestamp_millis())
}

impl Filters {
    /// The store filter, or a page saying which field cannot be read.
    pub fn to_filter(&self, now_ms: i64) -> Result<EventFilter, ConsoleError> {
        let status = match given(&self.status) {
            None => None,
            Some(s) => Some(
                [
                    EventStatus::Queued,
                    EventStatus::Running,
                    EventStatus::Done,
                    EventStatus::Dead,
                    EventStatus::Ignored,
                ]
                .into_iter()
                .map(EventStatus::as_str)
                .find(|k| *k == s)
                .ok_or_else(|| ConsoleError::bad_input(format!("`{s}` is not a status")))?
                .to_owned(),
            ),
        };
        let since = match given(&self.since).as_deref() {
            None => None,
            Some("1h") => Some(now_ms - Duration::hours(1).num_milliseconds()),
            Some("24h") => Some(now_ms - Duration::hours(24).num_milliseconds()),
            Some("7d") => Some(now_ms - Duration::days(7).num_milliseconds()),
            Some("30d") => Some(now_ms - Duration::days(30).num_milliseconds()),
            Some(other) => {
                return Err(ConsoleError::bad_input(format!(
                    "`{other}` is not a time range (1h, 24h, 7d, 30d)"
                )));
            }
        };
        let from = given(&self.from)
            .map(|v| parse_time(&v, "from"))
            .transpose()?;
        Ok(EventFilter {
            status,
            source: given(&self.source),
            user_key: given(&self.email).map(|e| crate::event::normalize_email(&e)),
            received_from_ms: match (since, from) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            },
            received_to_ms: given(&self.to).map(|v| parse_time(&v, "to")).transpose()?,
            event_type: given(&self.event_type),
            event_id: given(&self.event_id),
            last_error: given(&self.reason),
            not_replayed: false,
        })
    }

    /// The filters as a query string (no cursor), plus `extra` pairs.
    pub fn query(&self, extra: &[(&str, &str)]) -> String {
        let v = |o: &Option<String>| o.clone().unwrap_or_default();
        let (status, source, ty, email, id, reason, since, from, to, live) = (
            v(&self.status),
            v(&self.source),
            v(&self.event_type),
            v(&self.email),
            v(&self.event_id),
            v(&self.reason),
            v(&self.since),
            v(&self.from),
            v(&self.to),
            v(&self.live),
        );
        let mut pairs = vec![
            ("status", status.as_str()),
            ("source", &source),
            ("type", &ty),
            ("email", &email),
            ("event_id", &id),
            ("reason", &reason),
            ("since", &since),
            ("from", &from),
            ("to", &to),
            ("live", &live),
        ];
        pairs.extend_from_slice(extra);
        query(&pairs)
    }

    pub fn live(&self) -> bool {
        matches!(self.live.as_deref(), Some("1" | "on" | "true"))
    }

    /// Whether field `field` has the value `v` (for the selects).
    pub fn is(&self, field: &str, v: &str) -> bool {
        self.val(field) == v
    }

    /// The value of a field for the form (blank when absent).
    pub fn val(&self, field: &str) -> String {
        match field {
            "status" => &self.status,
            "source" => &self.source,
            "type" => &self.event_type,
            "email" => &self.email,
            "event_id" => &self.event_id,
            "reason" => &self.reason,
            "since" => &self.since,
            "from" => &self.from,
            "to" => &self.to,
            _ => &None,
        }
        .clone()
        .unwrap_or_default()
    }
}

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

/// The choices of the filter form's selects.
pub struct Choices {
    pub statuses: Vec<&'static str>,
    pub sources: Vec<String>,
    pub types: Vec<&'static str>,
    pub ranges: Vec<(&'static str, &'static str)>,
}

impl Choices {
    pub fn of(state: &AppState) -> Choices {
        let mut sources: Vec<String> = state.live.load().sources.keys().cloned().collect();
        sources.push(crate::api::v1::API_SOURCE.to_owned());
        sources.push(crate::store::RECONCILE_SOURCE.to_owned());
        sources.sort();
        Choices {
            statuses: vec!["queued", "running", "done", "dead", "ignored"],
            sources,
            types: EventType::ALL.into_iter().map(EventType::as_str).collect(),
            ranges: vec![
                ("1h", "last hour"),
                ("24h", "last 24 hours"),
                ("7d", "last 7 days"),
                ("30d", "last 30 days"),
            ],
        }
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
    let page = crate::api::v1::paging::page(&state, &filter, Some(PAGE), f.cursor.as_deref())
        .await
        .map_err(|_| {
            ConsoleError::bad_input(
                "This page link is not one the console gave out; start from the first page.",
            )
        })?;
    let next = page
        .next_cursor
        .map(|c| format!("/console/events?{}", f.query(&[("cursor", &c)])));
    let first = given(&f.cursor).map(|_| format!("/console/events?{}", f.query(&[])));
    let page = EventsPage {
        chrome: Chrome::new(&user, "Events", "events").live(f.live()),
        form_action: "/console/events",
        show_status: true,
        permalink: format!("/console/events?{}", f.query(&[])),
        choices: Choices::of(&state),
        rows: page.events.into_iter().map(Row::from).collect(),
        next,
        first,
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
    if let Err(e) = user.require(ApiScope::Write) {
        metrics::counter!(CONSOLE_ACTIONS, "action" => "replay", "result" => "refused")
            .increment(1);
        return Err(e);
    }
    match crate::api::v1::events::replay(&state, id).await {
        Ok(r) => {
            metrics::counter!(CONSOLE_ACTIONS, "action" => "replay", "result" => "ok").increment(1);
            tracing::info!(console.token = %user.token_name, event = id, replay = r.id, "console: event replayed");
            Ok(see_other(&format!("/console/events/{}?replayed=1", r.id)))
        }
        Err(e) => {
            metrics::counter!(CONSOLE_ACTIONS, "action" => "replay", "result" => "failed")
                .increment(1);
            Err(e.into())
        }
    }
}

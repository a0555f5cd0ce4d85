//! The filters of the Events and Dead letters pages: read from the URL (so every view is a
//! permalink), turned into the store's filter, written back into links, and the choices of
//! the form's selects.

use chrono::{Duration, NaiveDateTime, Utc};
use serde::Deserialize;

use super::given;
use crate::api::AppState;
use crate::api::v1::events::EventStatus;
use crate::console::error::ConsoleError;
use crate::console::view::query;
use crate::event::EventType;
use crate::store::EventFilter;

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

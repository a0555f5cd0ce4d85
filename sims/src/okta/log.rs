//! The System Log store and its query semantics (reference §1.1). Pure: `now` is passed in.
//!
//! Every event has a `published` time (what the event says) and a *persistence* time: when it
//! becomes visible to `GET /api/v1/logs`, which is its append time plus the visibility delay.
//! A **polling** request (no `until`, ascending) orders by persistence time, `since` bounds
//! the persistence time, and pages never end: a `next` bookmark comes back even on an empty
//! page. A **bounded** request (`until`, or `sortOrder=DESCENDING`) filters and orders by
//! `published` over the events visible now and has a last page (no `next`).

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use super::filter::Expr;

/// One stored event.
#[derive(Debug, Clone)]
pub struct LogEvent {
    /// Append order, from 1.
    pub seq: u64,
    /// `published`.
    pub published: DateTime<Utc>,
    /// When it becomes visible (its persistence time).
    pub visible_at: DateTime<Utc>,
    /// The LogEvent as served.
    pub body: Value,
}

/// A position in the log: "after the event with this time and sequence number". Encoded as
/// `{micros}_{seq}`, in the spirit of Okta's `1627500044869_1`; clients treat it as opaque.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Bookmark {
    pub micros: i64,
    pub seq: u64,
}

impl Bookmark {
    pub fn encode(self) -> String {
        format!("{}_{}", self.micros, self.seq)
    }

    pub fn decode(text: &str) -> Option<Self> {
        let (micros, seq) = text.split_once('_')?;
        Some(Self {
            micros: micros.parse().ok()?,
            seq: seq.parse().ok()?,
        })
    }

    fn before(t: DateTime<Utc>) -> Self {
        Self {
            micros: t.timestamp_micros(),
            seq: 0,
        }
    }
}

/// A query, already validated.
#[derive(Debug, Default)]
pub struct LogQuery {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub after: Option<Bookmark>,
    pub limit: usize,
    pub descending: bool,
    pub filter: Option<Expr>,
    /// Lower-case keywords, all of which must appear in the event.
    pub keywords: Vec<String>,
}

/// One page: the events, and the bookmark for the `next` link (none on a bounded last page).
#[derive(Debug)]
pub struct LogPage {
    pub events: Vec<Value>,
    pub next: Option<Bookmark>,
}

/// The log.
#[derive(Debug)]
pub struct SystemLog {
    events: Vec<LogEvent>,
    next_seq: u64,
    /// Default visibility delay, in milliseconds.
    pub delay_ms: u64,
    /// Events whose `published` is older than this are gone (90 days at Okta).
    pub retention: Duration,
}

impl SystemLog {
    pub fn new(delay_ms: u64) -> Self {
        Self {
            events: Vec::new(),
            next_seq: 1,
            delay_ms,
            retention: Duration::days(90),
        }
    }

    /// Stores an event; it becomes visible after `delay_ms` (or the default delay).
    pub fn append(
        &mut self,
        body: Value,
        published: DateTime<Utc>,
        now: DateTime<Utc>,
        delay_ms: Option<u64>,
    ) -> LogEvent {
        let delay = i64::try_from(delay_ms.unwrap_or(self.delay_ms)).unwrap_or(i64::MAX);
        let event = LogEvent {
            seq: self.next_seq,
            published,
            visible_at: now + Duration::milliseconds(delay),
            body,
        };
        self.next_seq += 1;
        self.events.push(event.clone());
        event
    }

    /// Every stored event, visible or not, in append order.
    pub fn all(&self) -> &[LogEvent] {
        &self.events
    }

    /// Answers a query at `now`.
    pub fn query(&self, q: &LogQuery, now: DateTime<Utc>) -> LogPage {
        let horizon = now - self.retention;
        let kept = |e: &&LogEvent| e.visible_at <= now && e.published >= horizon;
        let wanted = |e: &LogEvent| {
            q.filter.as_ref().is_none_or(|f| f.matches(&e.body))
                && (q.keywords.is_empty() || {
                    let text = e.body.to_string().to_lowercase();
                    q.keywords.iter().all(|k| text.contains(k))
                })
        };
        if q.until.is_none() && !q.descending {
            // Polling: by persistence time, endless.
            let mut visible: Vec<&LogEvent> = self.events.iter().filter(kept).collect();
            visible.sort_by_key(|e| (e.visible_at, e.seq));
            let start = q
                .after
                .unwrap_or_else(|| Bookmark::before(q.since.unwrap_or(now - Duration::days(7))));
            let mut next = start;
            let mut events = Vec::new();
            for e in visible {
                let key = Bookmark {
                    micros: e.visible_at.timestamp_micros(),
                    seq: e.seq,
                };
                if key <= start {
                    continue;
                }
                if events.len() == q.limit {
                    break;
                }
                next = key;
                if wanted(e) {
                    events.push(e.body.clone());
                }
            }
            return LogPage {
                events,
                next: Some(next),
            };
        }
        // Bounded: by `published`, finite.
        let since = q.since.unwrap_or(now - Duration::days(7));
        let until = q.until.unwrap_or(now);
        let mut matching: Vec<&LogEvent> = self
            .events
            .iter()
            .filter(kept)
            .filter(|e| e.published >= since && e.published < until && wanted(e))
            .collect();
        matching.sort_by_key(|e| (e.published, e.seq));
        if q.descending {
            matching.reverse();
        }
        let key = |e: &LogEvent| Bookmark {
            micros: e.published.timestamp_micros(),
            seq: e.seq,
        };
        let rest: Vec<&LogEvent> = matching
            .into_iter()
            .filter(|e| match q.after {
                None => true,
                Some(after) if q.descending => key(e) < after,
                Some(after) => key(e) > after,
            })
            .collect();
        let page: Vec<&LogEvent> = rest.iter().take(q.limit).copied().collect();
        let next = (rest.len() > page.len())
            .then(|| page.last().map(|e| key(e)))
            .flatten();
        LogPage {
            events: page.iter().map(|e| e.body.clone()).collect(),
            next,
        }
    }
}

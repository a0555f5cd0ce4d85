//! Sources: each configured source's scheme, format, last delivery, refused deliveries by
//! reason (since this process started) and dead letters by reason; never a secret. The pull
//! state of a source is shown when it has one (`[sources.pull]`).

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::PullState;
use crate::api::AppState;
use crate::api::v1::sources::SourceView;
use crate::console::error::{ConsoleError, render};
use crate::console::session::ConsoleUser;
use crate::console::view::{Chrome, age, cut, query, when_ms};
use crate::pull::status::PullStatus;

/// Dead-letter reasons shown per source.
const REASONS: i64 = 5;

pub struct RefusalRow {
    pub reason: &'static str,
    pub count: u64,
    pub last: String,
}

pub struct DeadRow {
    pub reason: String,
    pub count: i64,
    pub link: String,
}

pub struct SourceCard {
    pub s: SourceView,
    pub last: Option<(i64, String, String)>,
    pub refusals: Vec<RefusalRow>,
    pub dead: Vec<DeadRow>,
    pub pull: Option<PullState>,
}

#[derive(Template)]
#[template(path = "console/sources.html")]
struct SourcesPage {
    chrome: Chrome,
    cards: Vec<SourceCard>,
}

/// A source's pull as the console shows it, from the status `GET /api/v1/sources` lists.
pub fn pull_state(p: &PullStatus, now_ms: i64) -> PullState {
    let at = |t: &Option<String>| {
        t.as_deref()
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
            .map(|t| {
                let ms = t.timestamp_millis();
                format!("{} ({} ago)", when_ms(ms), age(ms, now_ms))
            })
    };
    let status = if p.running {
        "running"
    } else if p.failures > 0 {
        "failing"
    } else if p.last_success_at.is_some() {
        "ok"
    } else {
        "not run yet"
    };
    let mut detail = Vec::new();
    if p.failures > 0
        && let Some(e) = &p.last_error
    {
        detail.push(format!(
            "{} failure(s) in a row, last: {}",
            p.failures,
            cut(e, 200)
        ));
    }
    if let Some(lag) = p.lag_secs {
        detail.push(format!("newest pulled event {lag} s old"));
    }
    detail.push(format!(
        "{} event(s) pulled from {}",
        p.events_pulled, p.provider
    ));
    PullState {
        last_pull: at(&p.last_success_at).unwrap_or_else(|| "never".to_owned()),
        status: status.to_owned(),
        detail: Some(detail.join("; ")),
        last_directory_pass: match (at(&p.last_directory_at), &p.directory_error) {
            (Some(when), Some(e)) => Some(format!("{when}: {}", cut(e, 200))),
            (Some(when), None) => Some(when),
            (None, Some(e)) => Some(cut(e, 200)),
            (None, None) => None,
        },
    }
}

/// `GET /console/sources`.
pub async fn list(
    user: ConsoleUser,
    State(state): State<AppState>,
) -> Result<Response, ConsoleError> {
    let now = chrono::Utc::now().timestamp_millis();
    let mut cards = Vec::new();
    for s in crate::api::v1::sources::source_views(&state).await? {
        let last = state.store.last_delivery(&s.name).await?;
        let refusals = state
            .refusals
            .of(&s.name)
            .into_iter()
            .map(|(reason, r)| RefusalRow {
                reason,
                count: r.count,
                last: format!("{} ago", age(r.last_ms, now)),
            })
            .collect();
        let dead = state
            .store
            .dead_reasons(Some(&s.name), REASONS)
            .await?
            .into_iter()
            .map(|g| {
                let reason = g.reason.unwrap_or_default();
                DeadRow {
                    link: format!(
                        "/console/dead-letters?{}",
                        query(&[("source", &s.name), ("reason", &reason)])
                    ),
                    reason: cut(&reason, 160),
                    count: g.count,
                }
            })
            .collect();
        cards.push(SourceCard {
            pull: s.pull.as_ref().map(|p| pull_state(p, now)),
            last: last.map(|l| (l.id, when_ms(l.received_ms), age(l.received_ms, now))),
            refusals,
            dead,
            s,
        });
    }
    Ok(render(&SourcesPage {
        chrome: Chrome::new(&user, "Sources", "sources"),
        cards,
    }))
}

//! Sources: each configured source's scheme, format, last delivery, refused deliveries by
//! reason (since this process started) and dead letters by reason; never a secret. The pull
//! state of a source is shown when it has one (see [`pull_state`]).

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::PullState;
use crate::api::AppState;
use crate::api::v1::sources::SourceView;
use crate::console::error::{ConsoleError, render};
use crate::console::session::ConsoleUser;
use crate::console::view::{Chrome, age, cut, query, when_ms};

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

/// The pull state of `source`. LEAD: wire issue 13 here: read the source's pull state (last
/// pull, status, cursor or error, last directory pass) from the pull connectors' store and
/// return it for sources with `[sources.pull]`; the Overview and Sources pages then render it.
pub fn pull_state(_state: &AppState, _source: &str) -> Option<PullState> {
    None
}

/// `GET /console/sources`.
pub async fn list(
    user: ConsoleUser,
    State(state): State<AppState>,
) -> Result<Response, ConsoleError> {
    let now = chrono::Utc::now().timestamp_millis();
    let mut cards = Vec::new();
    for s in crate::api::v1::sources::source_views(&state.live.load()) {
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
            pull: pull_state(&state, &s.name),
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

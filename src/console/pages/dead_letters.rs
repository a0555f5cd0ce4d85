//! Dead letters: reasons grouped, the list (filtered like Events), replay one, and replay all
//! that match a filter after a preview of how many.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use chrono::Utc;
use serde::Deserialize;

use super::events::{Choices, Filters, Listing, Row};
use crate::api::AppState;
use crate::config::ApiScope;
use crate::console::actions;
use crate::console::error::{ConsoleError, render, see_other};
use crate::console::forms::Posted;
use crate::console::session::ConsoleUser;
use crate::console::view::{Chrome, cut};
use crate::store::EventFilter;

/// Most dead letters one bulk replay replays (click again for the rest).
pub const BULK_CAP: i64 = 500;
/// Reason groups shown.
const REASONS: i64 = 20;

pub struct ReasonRow {
    pub reason: String,
    pub full: String,
    pub count: i64,
    pub newest: i64,
}

/// The dead-letter filter: the page's filters with the status fixed to `dead`.
fn dead_filter(f: &Filters) -> Result<EventFilter, ConsoleError> {
    let mut filter = f.to_filter(Utc::now().timestamp_millis())?;
    filter.status = Some("dead".to_owned());
    Ok(filter)
}

#[derive(Template)]
#[template(path = "console/dead_letters.html")]
struct DeadLettersPage {
    chrome: Chrome,
    form_action: &'static str,
    show_status: bool,
    f: Filters,
    choices: Choices,
    reasons: Vec<ReasonRow>,
    rows: Vec<Row>,
    next: Option<String>,
    first: Option<String>,
    replay_link: String,
    replayed: Option<String>,
}

/// The dead-letter page's query: its filters, and what the last bulk replay did.
#[derive(Debug, Default, Deserialize)]
pub struct Notice {
    replayed: Option<u32>,
    failed: Option<u32>,
}

/// `GET /console/dead-letters`.
pub async fn list(
    user: ConsoleUser,
    State(state): State<AppState>,
    Query(f): Query<Filters>,
    Query(n): Query<Notice>,
) -> Result<Response, ConsoleError> {
    let filter = dead_filter(&f)?;
    let listing = Listing::read(&state, &filter, &f, "/console/dead-letters").await?;
    let reasons = state
        .store
        .dead_reasons(super::given(&f.source).as_deref(), REASONS)
        .await?
        .into_iter()
        .map(|g| {
            let full = g.reason.unwrap_or_default();
            ReasonRow {
                reason: cut(&full, 200),
                full,
                count: g.count,
                newest: g.newest,
            }
        })
        .collect();
    let replayed = n.replayed.map(|r| match n.failed.unwrap_or(0) {
        0 => format!("{r} dead letter(s) replayed."),
        failed => format!("{r} dead letter(s) replayed; {failed} could not be (see the log)."),
    });
    let page = DeadLettersPage {
        chrome: Chrome::new(&user, "Dead letters", "dead").live(f.live()),
        form_action: "/console/dead-letters",
        show_status: false,
        replay_link: format!("/console/dead-letters/replay?{}", f.query(&[])),
        next: listing.next,
        first: listing.first,
        choices: Choices::of(&state),
        rows: listing.rows,
        reasons,
        replayed,
        f,
    };
    Ok(render(&page))
}

#[derive(Template)]
#[template(path = "console/replay_preview.html")]
struct PreviewPage {
    chrome: Chrome,
    f: Filters,
    matching: i64,
    already: i64,
    now: i64,
    cap: i64,
    back: String,
}

/// `GET /console/dead-letters/replay`: how many dead letters the filter matches, how many of
/// them a replay already covers, and a form to replay the rest (scope `write`).
pub async fn preview(
    user: ConsoleUser,
    State(state): State<AppState>,
    Query(f): Query<Filters>,
) -> Result<Response, ConsoleError> {
    user.require(ApiScope::Write)?;
    let mut filter = dead_filter(&f)?;
    let matching = state.store.count_matching(&filter).await?;
    filter.not_replayed = true;
    let todo = state.store.count_matching(&filter).await?;
    let page = PreviewPage {
        chrome: Chrome::new(&user, "Replay dead letters", "dead"),
        back: format!("/console/dead-letters?{}", f.query(&[])),
        matching,
        already: matching - todo,
        now: todo.min(BULK_CAP),
        cap: BULK_CAP,
        f,
    };
    Ok(render(&page))
}

/// `POST /console/dead-letters/replay` (scope `write`): replays up to `BULK_CAP` dead letters
/// that match the filter and have no live replay yet (so a second click does not replay the
/// same ones twice), each through the API's replay.
pub async fn replay_all(
    State(state): State<AppState>,
    posted: Posted<Filters>,
) -> Result<Response, ConsoleError> {
    let Posted { user, form: f } = posted;
    actions::authorize(&user, ApiScope::Write, "bulk_replay")?;
    let mut filter = dead_filter(&f)?;
    filter.not_replayed = true;
    let rows = state.store.list_events(&filter, None, BULK_CAP).await?;
    let (mut replayed, mut failed) = (0u32, 0u32);
    for row in rows {
        match crate::api::v1::events::replay(&state, row.id).await {
            Ok(_) => replayed += 1,
            Err(e) => {
                failed += 1;
                tracing::warn!(event = row.id, error = ?e.detail, "console: bulk replay skipped an event");
            }
        }
    }
    actions::count("bulk_replay", if failed == 0 { "ok" } else { "failed" });
    tracing::info!(console.token = %user.token_name, replayed, failed, "console: dead letters replayed");
    let (r, fl) = (replayed.to_string(), failed.to_string());
    Ok(see_other(&format!(
        "/console/dead-letters?{}",
        f.query(&[("replayed", &r), ("failed", &fl)])
    )))
}

//! Overview: the queue, events per outcome in the last hour and day, dead letters, Domo's
//! health, the last reconcile and each source's last delivery.

use std::time::Duration;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;

use super::{LiveQuery, PullState};
use crate::api::AppState;
use crate::console::error::{ConsoleError, render};
use crate::console::session::ConsoleUser;
use crate::console::view::{Chrome, age, cut, when_ms};
use crate::store::RecentCall;

/// Recent Domo calls the health figures are computed over.
const RECENT_CALLS: i64 = 200;

/// The statuses of the per-window table, in column order.
const STATUSES: [&str; 5] = ["queued", "running", "done", "dead", "ignored"];

/// One row of the per-window table: its name and a count per status of `STATUSES`.
pub struct WindowRow {
    pub name: &'static str,
    pub counts: Vec<i64>,
}

pub struct ReasonRow {
    pub reason: String,
    pub count: i64,
    pub link: String,
}

pub struct SourceRow {
    pub name: String,
    pub scheme: String,
    pub format: String,
    /// `(event id, when, age)` of the newest stored event.
    pub last: Option<(i64, String, String)>,
    pub pull: Option<PullState>,
}

pub struct DomoHealth {
    pub last_call: Option<String>,
    pub last_call_at: Option<String>,
    pub calls: usize,
    pub throttled: usize,
    pub errors: usize,
    pub token: String,
    pub token_ok: bool,
}

pub struct RunSummary {
    pub id: i64,
    pub status: String,
    pub started: String,
    pub by: String,
    pub add: usize,
    pub remove: usize,
}

#[derive(Template)]
#[template(path = "console/overview.html")]
struct OverviewPage {
    chrome: Chrome,
    queued: i64,
    running: i64,
    dead: i64,
    oldest: Option<String>,
    statuses: [&'static str; 5],
    windows: Vec<WindowRow>,
    reasons: Vec<ReasonRow>,
    domo: DomoHealth,
    last_run: Option<RunSummary>,
    sources: Vec<SourceRow>,
    dry_run: bool,
}

fn window(name: &'static str, rows: &[(String, i64)]) -> WindowRow {
    WindowRow {
        name,
        counts: STATUSES
            .iter()
            .map(|s| rows.iter().find(|(k, _)| k == s).map_or(0, |(_, n)| *n))
            .collect(),
    }
}

fn health(calls: &[RecentCall], now: i64) -> DomoHealth {
    let last = calls.first();
    DomoHealth {
        last_call: last.map(|c| {
            format!(
                "{} → {}",
                c.op,
                c.http_status
                    .map_or_else(|| c.outcome.clone(), |s| s.to_string())
            )
        }),
        last_call_at: last.map(|c| format!("{} ago", age(c.at_ms, now))),
        calls: calls.len(),
        throttled: calls.iter().filter(|c| c.http_status == Some(429)).count(),
        errors: calls.iter().filter(|c| c.outcome == "error").count(),
        token: String::new(),
        token_ok: false,
    }
}

/// The source rows (shared with nothing else: the Sources page shows more).
pub async fn source_rows(state: &AppState, now: i64) -> Result<Vec<SourceRow>, ConsoleError> {
    let mut rows = Vec::new();
    for s in crate::api::v1::sources::source_views(state).await? {
        let last = state.store.last_delivery(&s.name).await?;
        rows.push(SourceRow {
            pull: s.pull.as_ref().map(|p| super::sources::pull_state(p, now)),
            last: last.map(|l| (l.id, when_ms(l.received_ms), age(l.received_ms, now))),
            name: s.name,
            scheme: s.scheme,
            format: s.format,
        });
    }
    Ok(rows)
}

/// `GET /console`.
pub async fn show(
    user: ConsoleUser,
    State(state): State<AppState>,
    Query(q): Query<LiveQuery>,
) -> Result<Response, ConsoleError> {
    let now = chrono::Utc::now().timestamp_millis();
    let by_status = state.store.count_by_status().await?;
    let n = |s: &str| {
        by_status
            .iter()
            .find(|(k, _)| k == s)
            .map_or(0, |(_, n)| *n)
    };
    let oldest = state
        .store
        .oldest_queued_received_ms()
        .await?
        .map(|t| age(t, now));
    let windows = vec![
        window(
            "Last hour",
            &state.store.count_by_status_since(now - 3_600_000).await?,
        ),
        window(
            "Last day",
            &state.store.count_by_status_since(now - 86_400_000).await?,
        ),
    ];
    let reasons = state
        .store
        .dead_reasons(None, 5)
        .await?
        .into_iter()
        .map(|g| {
            let reason = g.reason.unwrap_or_default();
            ReasonRow {
                link: crate::console::view::query(&[("reason", &reason)]),
                reason: cut(&reason, 160),
                count: g.count,
            }
        })
        .collect();
    let mut domo = health(&state.store.recent_calls(RECENT_CALLS).await?, now);
    match &state.domo_ready {
        None => domo.token = "not checked (dry run)".to_owned(),
        Some(d) => match tokio::time::timeout(Duration::from_secs(3), d.check()).await {
            Ok(Ok(())) => {
                domo.token = "obtainable".to_owned();
                domo.token_ok = true;
            }
            Ok(Err(reason)) => domo.token = reason,
            Err(_) => domo.token = "no answer within 3 s".to_owned(),
        },
    }
    let last_run = state
        .reconciler
        .list(1)
        .await?
        .into_iter()
        .next()
        .map(|r| RunSummary {
            id: r.id,
            status: r.status,
            started: r.started_at,
            by: r.started_by,
            add: r.plan.as_ref().map_or(0, |p| p.totals.add),
            remove: r.plan.as_ref().map_or(0, |p| p.totals.remove),
        });
    let page = OverviewPage {
        chrome: Chrome::new(&user, "Overview", "overview").live(q.on()),
        queued: n("queued"),
        running: n("running"),
        dead: n("dead"),
        oldest,
        statuses: STATUSES,
        windows,
        reasons,
        domo,
        last_run,
        sources: source_rows(&state, now).await?,
        dry_run: state.console.dry_run,
    };
    Ok(render(&page))
}

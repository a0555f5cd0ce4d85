//! User (search by email): the desired groups with the rule and event that decided each, the
//! membership in Domo as the last reconcile read it or live on request (the API's explain),
//! and the user's latest events.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::events::Row;
use crate::api::AppState;
use crate::api::v1::users::UserView;
use crate::console::error::{ConsoleError, render};
use crate::console::session::ConsoleUser;
use crate::console::view::{Chrome, query, when};
use crate::error::ProblemKind;
use crate::reconcile::Explanation;
use crate::store::EventFilter;

/// The user's events shown on the page.
const EVENTS: i64 = 20;

#[derive(Debug, Default, Deserialize)]
pub struct UserQuery {
    email: Option<String>,
    live: Option<String>,
}

/// One managed group for the user, in words.
pub struct GroupRow {
    pub name: String,
    pub should: bool,
    pub rule: String,
    pub reason: String,
    pub decided_by: String,
    pub decided_at: String,
    pub in_domo: String,
    pub agrees: bool,
    pub last_call: String,
}

#[derive(Template)]
#[template(path = "console/user.html")]
struct UserPage {
    chrome: Chrome,
    email: String,
    live: bool,
    found: bool,
    user: Option<UserView>,
    updated: String,
    groups: Vec<GroupRow>,
    domo_user_id: String,
    source_note: String,
    rows: Vec<Row>,
    all_events: String,
    live_link: String,
}

fn group_rows(state: &AppState, x: &Explanation) -> Vec<GroupRow> {
    x.groups
        .iter()
        .map(|g| GroupRow {
            name: g.name.clone(),
            should: g.should_be_member,
            rule: g
                .rule
                .and_then(|r| i64::try_from(r).ok())
                .map(|r| state.console.rule(r))
                .unwrap_or_default(),
            reason: g.reason.clone(),
            decided_by: g
                .decided_by
                .as_ref()
                .map(|d| d.event.clone())
                .unwrap_or_default(),
            decided_at: g
                .decided_by
                .as_ref()
                .map(|d| d.occurred_at.clone())
                .unwrap_or_default(),
            in_domo: match g.in_domo {
                Some(true) => "member".to_owned(),
                Some(false) => "not a member".to_owned(),
                None => "unknown".to_owned(),
            },
            agrees: g.in_domo.is_none_or(|m| m == g.should_be_member),
            last_call: g
                .last_call
                .as_ref()
                .map(|c| {
                    format!(
                        "{} → {} ({})",
                        c.op,
                        c.http_status
                            .map_or_else(|| c.outcome.clone(), |s| s.to_string()),
                        crate::console::view::when_ms(c.at_ms)
                    )
                })
                .unwrap_or_default(),
        })
        .collect()
}

/// `GET /console/users?email=…[&live=1]`.
pub async fn show(
    user: ConsoleUser,
    State(state): State<AppState>,
    Query(q): Query<UserQuery>,
) -> Result<Response, ConsoleError> {
    let email = super::given(&q.email)
        .map(|e| crate::event::normalize_email(&e))
        .unwrap_or_default();
    let live = matches!(q.live.as_deref(), Some("1"));
    let mut page = UserPage {
        chrome: Chrome::new(&user, "Users", "users"),
        live,
        found: false,
        user: None,
        updated: String::new(),
        groups: Vec::new(),
        domo_user_id: String::new(),
        source_note: String::new(),
        rows: Vec::new(),
        all_events: format!("/console/events?{}", query(&[("email", &email)])),
        live_link: format!(
            "/console/users?{}",
            query(&[("email", &email), ("live", "1")])
        ),
        email: email.clone(),
    };
    if email.is_empty() {
        return Ok(render(&page));
    }
    page.chrome.title = format!("User {email}");
    match crate::api::v1::users::user_view(&state, &email).await {
        Ok(v) => {
            page.found = true;
            page.updated = when(&v.updated_at);
            page.user = Some(v);
        }
        Err(e) if e.kind == ProblemKind::NotFound => {}
        Err(e) if e.kind == ProblemKind::InvalidRequest => {
            return Err(ConsoleError::bad_input(
                "Give a whole email address, such as ada@example.com.",
            ));
        }
        Err(e) => return Err(e.into()),
    }
    if page.found {
        let x = crate::api::v1::reconcile::explain(&state, &email, live).await?;
        page.domo_user_id = x.domo_user_id.map(|i| i.to_string()).unwrap_or_default();
        page.source_note = if live {
            "read from Domo just now".to_owned()
        } else {
            match x.last_run {
                Some(r) => format!("as reconcile run {r} read it"),
                None => "not read yet (no reconcile has run)".to_owned(),
            }
        };
        page.groups = group_rows(&state, &x);
    }
    let filter = EventFilter {
        user_key: Some(email),
        ..EventFilter::default()
    };
    page.rows = state
        .store
        .list_events(&filter, None, EVENTS)
        .await?
        .into_iter()
        .map(|r| Row::from(crate::api::v1::events::view(r)))
        .collect();
    Ok(render(&page))
}

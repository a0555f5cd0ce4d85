//! The Events API: one page of `GET /events` after the stored event id, its events mapped by
//! the webhook adapter's own function.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::{KEY, LIMIT, Workos};
use crate::pull::connector::{EventPage, Progress, PullError, Step};
use crate::sources::Parsed;
use crate::sources::workos::{MAPPED_TYPES, map_event, unmappable};

/// Where a new (or reset) cursor starts: this far back, so that events logged while the
/// service started, and WorkOS's own delay, are covered (`backfill.md` §7.3 suggests a margin).
const START_BACK: chrono::Duration = chrono::Duration::minutes(15);

/// A WorkOS list answer.
#[derive(Deserialize)]
pub(super) struct List {
    pub data: Vec<Value>,
    #[serde(default)]
    pub list_metadata: Meta,
}

#[derive(Deserialize, Default)]
pub(super) struct Meta {
    #[serde(default)]
    pub after: Option<String>,
}

/// The request for the page after `cursor` (an event id), or the first one of a new feed.
pub(super) fn url(
    workos: &Workos,
    cursor: Option<&str>,
    now: DateTime<Utc>,
) -> Result<url::Url, PullError> {
    let mut url = workos.endpoint("events")?;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("events", &MAPPED_TYPES.join(","))
            .append_pair("limit", LIMIT)
            .append_pair("order", "asc");
        match cursor {
            Some(after) => q.append_pair("after", after),
            None => {
                let start = (now - START_BACK).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
                q.append_pair("range_start", &start)
            }
        };
    }
    Ok(url)
}

pub(super) async fn page(
    workos: &Workos,
    cursor: Option<&str>,
    progress: &Progress<'_>,
) -> Result<EventPage, PullError> {
    let url = url(workos, cursor, Utc::now())?;
    let answer = match workos.get(&url, KEY, progress).await {
        Ok(a) => a,
        // WorkOS refuses an `after` it does not know (422 `invalid_cursor`, or 400/404).
        Err(PullError::Provider {
            status: 400 | 404 | 422,
            detail,
        }) if cursor.is_some() => {
            return Err(PullError::CursorExpired(format!(
                "WorkOS refused it: {detail}"
            )));
        }
        Err(e) => return Err(e),
    };
    let list: List = answer.json()?;
    progress(Step::Page {
        what: "events".into(),
        items: list.data.len(),
    });
    let mut page = EventPage {
        more: !list.data.is_empty() && list.list_metadata.after.is_some(),
        ..EventPage::default()
    };
    for event in &list.data {
        if let Some(created) = event
            .get("created_at")
            .and_then(Value::as_str)
            .and_then(|t| t.parse::<DateTime<Utc>>().ok())
        {
            page.newest = page.newest.max(Some(created));
        }
        match map_event(event) {
            Ok(item) => page.items.push(item),
            Err(e) => {
                // The webhook would have been refused (and retried, then lost); the pull records
                // the event as ignored, so that it is seen and the feed goes on.
                let item = unmappable(event);
                tracing::warn!(error = %e, event.id = ?item.as_ref().map(Parsed::id),
                    "a WorkOS event cannot be mapped; recorded as ignored");
                page.unmappable += 1;
                page.items.extend(item);
            }
        }
    }
    // The bookmark is the last event read (oldest first): the next page starts after it.
    if !list.data.is_empty() {
        let last = list
            .data
            .iter()
            .rev()
            .find_map(|e| {
                e.get("id")
                    .and_then(Value::as_str)
                    .filter(|id| !id.is_empty())
            })
            .ok_or_else(|| PullError::BadResponse("a page of events without an `id`".into()))?;
        page.cursor = Some(last.to_owned());
    }
    Ok(page)
}

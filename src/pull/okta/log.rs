//! System Log polling: one page of `GET /api/v1/logs` after the stored `next` URL, its
//! LogEvents mapped by the event-hook adapter's own function.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::Okta;
use crate::pull::connector::{EventPage, Progress, PullError, Step};
use crate::sources::Parsed;
use crate::sources::okta::{MAPPED_TYPES, map_log_event, unmappable};

/// Page size: Okta's maximum for the System Log.
const LIMIT: &str = "1000";
/// Where a new (or reset) cursor starts: this far back, so that events published while the
/// service started, and Okta's own delivery delay, are covered (`backfill.md` §7.3).
const START_BACK: chrono::Duration = chrono::Duration::minutes(15);

/// `eventType eq "…" or …` over the mapped types.
pub(super) fn type_filter() -> String {
    MAPPED_TYPES
        .iter()
        .map(|t| format!("eventType eq \"{t}\""))
        .collect::<Vec<_>>()
        .join(" or ")
}

/// The first polling request of a feed: no `until`, ascending, `since` 15 minutes back.
pub(super) fn first_url(okta: &Okta, now: DateTime<Utc>) -> Result<url::Url, PullError> {
    let mut url = okta.endpoint("api/v1/logs")?;
    let since = (now - START_BACK).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    url.query_pairs_mut()
        .append_pair("since", &since)
        .append_pair("sortOrder", "ASCENDING")
        .append_pair("limit", LIMIT)
        .append_pair("filter", &type_filter());
    Ok(url)
}

pub(super) async fn page(
    okta: &Okta,
    cursor: Option<&str>,
    progress: &Progress<'_>,
) -> Result<EventPage, PullError> {
    let url = match cursor {
        Some(c) => {
            let url = url::Url::parse(c)
                .map_err(|_| PullError::CursorExpired("the stored cursor is not a URL".into()))?;
            if !okta.on_origin(&url) {
                // `api_base` changed since the cursor was stored: start over rather than send
                // the credentials to the old address.
                return Err(PullError::CursorExpired(
                    "the stored cursor is not on the configured api_base".into(),
                ));
            }
            url
        }
        None => first_url(okta, Utc::now())?,
    };
    let answer = match okta.get(&url, "logs", progress).await {
        Ok(a) => a,
        // Okta answers 400 (E0000001 on `after`) for a bookmark it does not honour.
        Err(PullError::Provider {
            status: 400,
            detail,
        }) if cursor.is_some() => {
            return Err(PullError::CursorExpired(format!(
                "Okta refused it: {detail}"
            )));
        }
        Err(e) => return Err(e),
    };
    let events: Vec<Value> = answer.json()?;
    progress(Step::Page {
        what: "events".into(),
        items: events.len(),
    });
    let next = answer.next_link();
    if let Some(next) = &next {
        let parsed = url::Url::parse(next)
            .map_err(|_| PullError::BadResponse("the `next` link is not a URL".into()))?;
        if !okta.on_origin(&parsed) {
            return Err(PullError::BadResponse(
                "the `next` link leaves api_base".into(),
            ));
        }
    }
    let mut page = EventPage {
        more: !events.is_empty(),
        // Okta always sends `next` on a polling page; without one, read this page again.
        cursor: Some(next.unwrap_or_else(|| url.to_string())),
        ..EventPage::default()
    };
    for (i, event) in events.iter().enumerate() {
        if let Some(published) = event
            .get("published")
            .and_then(Value::as_str)
            .and_then(|p| p.parse::<DateTime<Utc>>().ok())
        {
            page.newest = page.newest.max(Some(published));
        }
        match map_log_event(event, &format!("events[{i}]")) {
            Ok(item) => page.items.push(item),
            Err(e) => {
                // The hook would have refused the whole delivery (and lost it); the pull
                // records the event as ignored, so that it is seen and the feed goes on.
                let item = unmappable(event);
                tracing::warn!(error = %e, event.id = ?item.as_ref().map(Parsed::id),
                    "a System Log event cannot be mapped; recorded as ignored");
                page.unmappable += 1;
                page.items.extend(item);
            }
        }
    }
    Ok(page)
}

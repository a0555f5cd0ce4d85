//! Delta rounds: one call of `events` reads one page of the round in progress (users first,
//! then groups), keeping the round's progress in memory; the page that completes the round
//! returns the new cursor.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::Entra;
use super::cursor::{Cursor, round_key};
use super::map::{self, Mapped, RoundOf};
use crate::pull::connector::{EventPage, Progress, PullError, Step};

/// The user properties read (`accountEnabled` for offboardings, the rest for the snapshot).
pub(super) const USER_SELECT: &str = "id,userPrincipalName,mail,displayName,accountEnabled,department,jobTitle,officeLocation,companyName";
/// The group properties read: the name, and the member changes.
const GROUP_SELECT: &str = "displayName,members";

/// A round in progress.
pub(super) struct Round {
    /// The stored cursor it started from, verbatim.
    from: String,
    /// `round_key(from)`: in every event id of the round.
    key: String,
    /// When it started: every event's time.
    started: DateTime<Utc>,
    /// The cursor it started from, read.
    base: Cursor,
    /// The next request.
    next: url::Url,
    /// Whether `next` is a link of this round's answers (not its first request).
    resumed: bool,
    /// Reading groups (the users part is done).
    groups: bool,
    /// The users deltaLink, once read.
    users_delta: Option<String>,
    /// Group names: the cursor's, with this round's changes.
    names: std::collections::BTreeMap<String, String>,
}

impl Round {
    /// A round from the stored cursor `text`.
    fn start(entra: &Entra, text: &str) -> Result<Round, PullError> {
        let base = Cursor::parse(text).ok_or_else(|| {
            PullError::CursorExpired("the stored cursor is not an Entra cursor".into())
        })?;
        let next = match &base.users {
            Some(link) => stored_link(entra, link)?,
            None => start_url(entra, "v1.0/users/delta", USER_SELECT)?,
        };
        Ok(Round {
            from: text.to_owned(),
            key: round_key(text),
            started: Utc::now(),
            names: base.names.clone(),
            base,
            next,
            resumed: false,
            groups: false,
            users_delta: None,
        })
    }
}

/// A deltaLink of the stored cursor: on `api_base`, or the cursor is no longer usable.
fn stored_link(entra: &Entra, link: &str) -> Result<url::Url, PullError> {
    entra.link(link, "stored deltaLink").map_err(|_| {
        PullError::CursorExpired("the stored deltaLink is not on the configured api_base".into())
    })
}

/// The first request of a round without a deltaLink.
fn start_url(entra: &Entra, path: &str, select: &str) -> Result<url::Url, PullError> {
    let mut url = entra.endpoint(path)?;
    url.set_query(Some(&format!("$select={select}")));
    Ok(url)
}

/// One page of the delta feed after the stored `cursor`.
pub(super) async fn page(
    entra: &Entra,
    cursor: Option<&str>,
    progress: &Progress<'_>,
) -> Result<EventPage, PullError> {
    let Some(text) = cursor else {
        // A new (or reset) source: name its first round before reading it.
        *lock(entra) = None;
        let epoch = Cursor::epoch(uuid::Uuid::new_v4().simple().to_string());
        return Ok(EventPage {
            cursor: Some(epoch.to_text()),
            more: true,
            ..EventPage::default()
        });
    };
    let kept = lock(entra).take().filter(|r| r.from == text);
    let mut round = match kept {
        Some(r) => r,
        None => Round::start(entra, text)?,
    };
    let mut restarted = false;
    loop {
        match step(entra, &mut round, progress).await {
            Ok((page, done)) => {
                if !done {
                    *lock(entra) = Some(round);
                }
                return Ok(page);
            }
            // A link of the round in progress that Graph no longer honours: the round starts
            // again from the stored cursor (same ids), once.
            Err(PullError::CursorExpired(why)) if round.resumed && !restarted => {
                tracing::info!(reason = %why, "an Entra delta round was refused part way; it starts again");
                restarted = true;
                round = Round::start(entra, text)?;
            }
            Err(e @ PullError::CursorExpired(_)) => return Err(e),
            Err(e) => {
                // Kept: the next run goes on with the same link.
                *lock(entra) = Some(round);
                return Err(e);
            }
        }
    }
}

fn lock(entra: &Entra) -> std::sync::MutexGuard<'_, Option<Round>> {
    entra
        .round
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Whether Graph says the delta state is gone: 410, or a 4xx `syncStateNotFound` /
/// `resyncRequired`.
pub(super) fn expired(e: PullError) -> PullError {
    match e {
        PullError::Provider {
            status: 410,
            detail,
        } => PullError::CursorExpired(format!("Graph answered 410: {detail}")),
        PullError::Provider { status, detail }
            if (400..500).contains(&status)
                && (detail.contains("syncStateNotFound") || detail.contains("resyncRequired")) =>
        {
            PullError::CursorExpired(format!("Graph answered {status}: {detail}"))
        }
        other => other,
    }
}

/// Reads `round.next`; returns the page and whether the round is complete.
async fn step(
    entra: &Entra,
    round: &mut Round,
    progress: &Progress<'_>,
) -> Result<(EventPage, bool), PullError> {
    let answer = entra.get(&round.next, progress).await.map_err(expired)?;
    let body: Value = answer.json()?;
    let items = body
        .get("value")
        .and_then(Value::as_array)
        .ok_or_else(|| PullError::BadResponse("a delta page without `value`".into()))?;
    let what = if round.groups {
        "groups (delta)"
    } else {
        "users (delta)"
    };
    progress(Step::Page {
        what: what.into(),
        items: items.len(),
    });
    let of = RoundOf {
        key: &round.key,
        started: round.started,
    };
    let mut mapped = Mapped::default();
    for item in items {
        if round.groups {
            map::group(
                item,
                &of,
                &mut round.names,
                round.base.first_round(),
                &mut mapped,
            );
        } else {
            map::user(item, &of, &mut mapped);
        }
    }
    let next = body.get("@odata.nextLink").and_then(Value::as_str);
    let delta = body.get("@odata.deltaLink").and_then(Value::as_str);
    let mut cursor = None;
    match (next, delta) {
        (Some(next), _) => {
            round.next = entra.link(next, "nextLink")?;
            round.resumed = true;
        }
        (None, Some(delta)) if !round.groups => {
            entra.link(delta, "deltaLink")?;
            round.users_delta = Some(delta.to_owned());
            round.groups = true;
            round.resumed = false;
            round.next = match &round.base.groups {
                Some(link) => stored_link(entra, link)?,
                None => start_url(entra, "v1.0/groups/delta", GROUP_SELECT)?,
            };
        }
        (None, Some(delta)) => {
            entra.link(delta, "deltaLink")?;
            cursor = Some(
                Cursor {
                    v: 1,
                    epoch: None,
                    users: round.users_delta.clone(),
                    groups: Some(delta.to_owned()),
                    names: std::mem::take(&mut round.names),
                }
                .to_text(),
            );
        }
        (None, None) => {
            return Err(PullError::BadResponse(
                "a delta page with neither @odata.nextLink nor @odata.deltaLink".into(),
            ));
        }
    }
    let done = cursor.is_some();
    let page = EventPage {
        newest: (!mapped.items.is_empty()).then_some(round.started),
        items: mapped.items,
        cursor,
        more: !done,
        unmappable: mapped.unmappable,
        directory_due: mapped.directory_due,
    };
    Ok((page, done))
}

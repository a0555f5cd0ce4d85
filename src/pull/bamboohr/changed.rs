//! The changed-employees feed: one page of `employees/changed` after the stored `since`, each
//! change mapped, with the employee's fields, by the webhook adapter's own function; then the
//! termination dates the cursor holds that have been reached.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};

use super::Bamboohr;
use super::cursor::{Change, Cursor, OVERLAP, changes};
use crate::pull::connector::{EventPage, Progress, PullError, Step};
use crate::sources::Parsed;
use crate::sources::bamboohr::{employee, map_employee, unmappable};

/// Where a new (or reset) feed starts (as the other connectors: what came before is the
/// directory pass's job).
const START_BACK: chrono::Duration = chrono::Duration::minutes(15);
/// Employees read per page (one request each); the rest on the next page.
pub(super) const PAGE: usize = 200;

pub(super) async fn page(
    bamboo: &Bamboohr,
    cursor: Option<&str>,
    now: DateTime<Utc>,
    progress: &Progress<'_>,
) -> Result<EventPage, PullError> {
    let mut cur = match cursor {
        None => Cursor::from(now - START_BACK),
        Some(text) => Cursor::parse(text).map_err(PullError::CursorExpired)?,
    };
    let mut url = bamboo.endpoint("v1/employees/changed")?;
    // The form encoding sends the offset's `+` as `%2B`, as BambooHR asks.
    url.query_pairs_mut()
        .append_pair("since", &cur.since_param());
    let answer = bamboo.get(&url, progress).await?;
    let read = changes(&answer.json()?).map_err(PullError::BadResponse)?;
    for why in &read.unreadable {
        // Left for the directory pass, which reads every employee (and removes nobody while
        // an entry cannot be read); the feed goes on.
        tracing::warn!(problem = %why, "a BambooHR change cannot be read; skipped");
    }
    let (all, latest) = (read.list, read.latest);
    progress(Step::Page {
        what: "changed employees".into(),
        items: all.len(),
    });
    // Changes stored by an earlier page, listed again by the overlap: nothing to do.
    let fresh: Vec<&Change> = all
        .iter()
        .filter(|c| cur.seen.get(&c.id) != Some(&c.raw))
        .collect();
    let mut page = EventPage::default();
    let mut work = Work {
        bamboo,
        progress,
        page: &mut page,
        fetched: BTreeMap::new(),
    };
    let taken = fresh.len().min(PAGE);
    for change in &fresh[..taken] {
        work.change(change, &mut cur).await?;
    }
    // Termination dates reached since they were seen (after this page's changes, which may
    // have set, moved or cancelled some).
    let today = now.date_naive();
    let reached: Vec<String> = cur
        .due
        .iter()
        .filter(|(_, on)| **on <= today)
        .map(|(id, _)| id.clone())
        .collect();
    let room = PAGE.saturating_sub(taken).max(1);
    for id in reached.iter().take(room) {
        work.reached(id, today, &mut cur).await?;
    }
    page.more = taken < fresh.len() || reached.len() > room;
    // The next request starts before the first change not read yet, or before `latest`.
    let to = match fresh.get(taken) {
        Some(first_left) => first_left.at,
        None => latest
            .or_else(|| all.last().map(|c| c.at))
            .unwrap_or(cur.since + OVERLAP),
    };
    cur.advance(to - OVERLAP);
    page.cursor = Some(cur.text());
    Ok(page)
}

/// One page's work: the employees read, and the items made.
struct Work<'a> {
    bamboo: &'a Bamboohr,
    progress: &'a Progress<'a>,
    page: &'a mut EventPage,
    /// Fields read on this page, by employee id.
    fetched: BTreeMap<String, Value>,
}

impl Work<'_> {
    /// Maps one change (reading the employee's fields unless it was deleted), and records it
    /// as seen and its termination date if it lies ahead.
    async fn change(&mut self, change: &Change, cur: &mut Cursor) -> Result<(), PullError> {
        self.page.newest = self.page.newest.max(Some(change.at));
        let action = match change.action.to_ascii_lowercase().as_str() {
            "inserted" | "created" => "Created",
            "updated" => "Updated",
            "deleted" => "Deleted",
            _ => change.action.as_str(),
        };
        let fields = if action == "Deleted" {
            cur.due.remove(&change.id);
            Value::Null
        } else {
            match self.bamboo.fields(&change.id, self.progress).await? {
                // Gone since: its deletion is a change of its own, listed in time.
                None => {
                    cur.due.remove(&change.id);
                    cur.seen.insert(change.id.clone(), change.raw.clone());
                    return Ok(());
                }
                Some(f) => f,
            }
        };
        let item = json!({"id": change.id, "action": action, "timestamp": change.raw,
                          "fields": fields});
        self.push(&item);
        if action != "Deleted" {
            let e = employee(&fields, change.at);
            match e.leaves_on {
                Some(on) if !e.left && on > change.at.date_naive() => {
                    cur.due.insert(change.id.clone(), on);
                }
                _ => {
                    cur.due.remove(&change.id);
                }
            }
            self.fetched.insert(change.id.clone(), fields);
        }
        cur.seen.insert(change.id.clone(), change.raw.clone());
        Ok(())
    }

    /// A termination date reached by `today`: the offboarding it implies, if the date still
    /// stands (read again); a date moved later waits again, a cleared one is forgotten.
    async fn reached(
        &mut self,
        id: &str,
        today: NaiveDate,
        cur: &mut Cursor,
    ) -> Result<(), PullError> {
        let fields = match self.fetched.get(id) {
            Some(f) => f.clone(),
            None => match self.bamboo.fields(id, self.progress).await? {
                Some(f) => f,
                None => {
                    cur.due.remove(id);
                    return Ok(());
                }
            },
        };
        let leaves_on = employee(&fields, Utc::now()).leaves_on;
        match leaves_on {
            Some(date) if date > today => {
                cur.due.insert(id.to_owned(), date);
            }
            Some(date) => {
                cur.due.remove(id);
                // As a webhook item stamped at the start of the date: the termination wins over
                // what changed before it, and loses to what changes after.
                let item = json!({"id": id, "action": "Updated",
                                  "timestamp": format!("{date}T00:00:00+00:00"), "fields": fields});
                match map_employee(&item, "employee") {
                    Ok(Parsed::Event(e))
                        if e.event_type == crate::event::EventType::UserOffboarded =>
                    {
                        // Not `newest`: its time is the date's, not when BambooHR logged
                        // anything, so it says nothing about how late the feed is.
                        self.page.items.push(Parsed::Event(e));
                    }
                    other => {
                        tracing::warn!(employee = id, outcome = ?other.map(|p| p.id().to_owned()),
                        "a reached termination date did not map to an offboarding")
                    }
                }
            }
            None => {
                cur.due.remove(id);
            }
        }
        Ok(())
    }

    /// Maps an item as the webhook adapter does; one it cannot map is recorded as ignored.
    fn push(&mut self, item: &Value) {
        match map_employee(item, "employee") {
            Ok(parsed) => self.page.items.push(parsed),
            Err(e) => {
                let parsed = unmappable(item);
                tracing::warn!(error = %e, event.id = ?parsed.as_ref().map(Parsed::id),
                    "a BambooHR change cannot be mapped; recorded as ignored");
                self.page.unmappable += 1;
                self.page.items.extend(parsed);
            }
        }
    }
}

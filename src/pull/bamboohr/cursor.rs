//! The BambooHR cursor and the `employees/changed` answer. Pure.
//!
//! The cursor is JSON, stored verbatim by the poller with each page's events:
//! `{"since": "<RFC 3339>", "seen": {"<id>": "<lastChanged>"}, "due": {"<id>": "<YYYY-MM-DD>"}}`:
//! the next request's lower bound, the changes already stored that the overlap will list again
//! (so they cost no request), and the termination dates still ahead.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The next `since` is the answer's `latest` minus this (`backfill.md` §7.3: whole-second
/// stamps, many ties).
pub(super) const OVERLAP: chrono::Duration = chrono::Duration::minutes(5);

/// Where an event feed starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Cursor {
    /// The lower bound of the next `employees/changed` request.
    pub since: DateTime<Utc>,
    /// Changes already stored whose `lastChanged` is after `since`: id → `lastChanged` as sent.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub seen: BTreeMap<String, String>,
    /// Termination dates after the change that set them, not reached when last looked at.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub due: BTreeMap<String, NaiveDate>,
}

impl Cursor {
    /// A new feed from `since`.
    pub fn from(since: DateTime<Utc>) -> Cursor {
        Cursor {
            since,
            seen: BTreeMap::new(),
            due: BTreeMap::new(),
        }
    }

    /// Reads a stored cursor.
    pub fn parse(text: &str) -> Result<Cursor, String> {
        serde_json::from_str(text).map_err(|e| format!("not a BambooHR cursor: {e}"))
    }

    /// The stored form.
    pub fn text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// `since` as the request sends it: seconds and an explicit offset (`+00:00`).
    pub fn since_param(&self) -> String {
        self.since.to_rfc3339_opts(SecondsFormat::Secs, false)
    }

    /// Moves `since` to `to` (never back), and forgets the seen changes it leaves behind.
    pub fn advance(&mut self, to: DateTime<Utc>) {
        if to > self.since {
            self.since = to;
        }
        let since = self.since;
        self.seen
            .retain(|_, at| parse_time(at).is_some_and(|t| t > since));
    }
}

/// One entry of `employees/changed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Change {
    pub id: String,
    /// `Inserted`, `Updated` or `Deleted`.
    pub action: String,
    pub at: DateTime<Utc>,
    /// `lastChanged` as sent (the dedup id's second half).
    pub raw: String,
}

/// The `employees/changed` answer: its entries, oldest first (then by id), `latest`, and why
/// the entries that cannot be read were left out.
pub(super) struct Changes {
    pub list: Vec<Change>,
    pub latest: Option<DateTime<Utc>>,
    pub unreadable: Vec<String>,
}

/// Reads the `employees/changed` answer; an answer whose shape is wrong is an error, an entry
/// that cannot be read is left out and named in `unreadable`.
pub(super) fn changes(body: &Value) -> Result<Changes, String> {
    let latest = match body.get("latest") {
        None | Some(Value::Null) => None,
        Some(Value::String(t)) if t.is_empty() => None,
        Some(Value::String(t)) => {
            Some(parse_time(t).ok_or_else(|| format!("`latest` is not a time: {t:?}"))?)
        }
        Some(_) => return Err("`latest` is not a string".into()),
    };
    let entries: Vec<(&str, &Value)> = match body.get("employees") {
        Some(Value::Object(map)) => map.iter().map(|(k, v)| (k.as_str(), v)).collect(),
        // PHP writes an empty map as `[]`.
        Some(Value::Array(list)) if list.is_empty() => Vec::new(),
        None | Some(Value::Null) => Vec::new(),
        Some(_) => return Err("`employees` is not an object".into()),
    };
    let mut out = Changes {
        list: Vec::with_capacity(entries.len()),
        latest,
        unreadable: Vec::new(),
    };
    for (key, entry) in entries {
        let id = match entry.get("id") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => key.to_owned(),
        };
        match change(&id, entry) {
            Ok(c) => out.list.push(c),
            Err(why) => out.unreadable.push(why),
        }
    }
    out.list.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
    Ok(out)
}

fn change(id: &str, entry: &Value) -> Result<Change, String> {
    // The id goes into a request path: BambooHR's are numbers; nothing else is followed.
    if id.is_empty()
        || id.len() > 64
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!(
            "an employee id that is not one: {:?}",
            id.chars().take(64).collect::<String>()
        ));
    }
    let action = entry
        .get("action")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("employee {id}: no `action`"))?;
    let raw = entry
        .get("lastChanged")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("employee {id}: no `lastChanged`"))?;
    let at = parse_time(raw)
        .ok_or_else(|| format!("employee {id}: `lastChanged` is not a time: {raw:?}"))?;
    Ok(Change {
        id: id.to_owned(),
        action: action.to_owned(),
        at,
        raw: raw.to_owned(),
    })
}

/// An ISO 8601 time with an offset (`2026-12-01T10:00:00+00:00`, or `Z`).
pub(super) fn parse_time(raw: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(raw.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn t(raw: &str) -> DateTime<Utc> {
        parse_time(raw).expect("time")
    }

    #[test]
    fn a_cursor_round_trips_and_sends_since_with_an_explicit_offset() {
        let mut c = Cursor::from(t("2026-12-01T10:00:00Z"));
        c.seen
            .insert("7".into(), "2026-12-01T10:02:00+00:00".into());
        c.due.insert(
            "8".into(),
            NaiveDate::from_ymd_opt(2027, 1, 31).expect("date"),
        );
        let text = c.text();
        assert_eq!(
            text,
            r#"{"since":"2026-12-01T10:00:00Z","seen":{"7":"2026-12-01T10:02:00+00:00"},"due":{"8":"2027-01-31"}}"#
        );
        assert_eq!(Cursor::parse(&text), Ok(c.clone()));
        assert_eq!(c.since_param(), "2026-12-01T10:00:00+00:00");
        assert_eq!(
            Cursor::parse(r#"{"since":"2026-12-01T10:00:00Z"}"#).map(|c| c.seen.len()),
            Ok(0)
        );
        assert!(
            Cursor::parse("https://okta.example/api/v1/logs").is_err(),
            "another provider's cursor"
        );
    }

    #[test]
    fn advancing_never_goes_back_and_forgets_what_the_overlap_no_longer_lists() {
        let mut c = Cursor::from(t("2026-12-01T10:00:00Z"));
        c.seen
            .insert("1".into(), "2026-12-01T10:01:00+00:00".into());
        c.seen
            .insert("2".into(), "2026-12-01T10:05:00+00:00".into());
        c.seen.insert("3".into(), "not a time".into());
        c.advance(t("2026-12-01T10:01:00Z"));
        assert_eq!(c.since, t("2026-12-01T10:01:00Z"));
        assert_eq!(
            c.seen.keys().collect::<Vec<_>>(),
            ["2"],
            "`since` is exclusive: a change at it is not listed again"
        );
        c.advance(t("2026-12-01T09:00:00Z"));
        assert_eq!(c.since, t("2026-12-01T10:01:00Z"), "never back");
    }

    #[test]
    fn the_changed_answer_is_read_in_time_order_whatever_its_shape() {
        let body = json!({"latest": "2026-12-01T10:05:00+00:00", "employees": {
            "9": {"id": "9", "action": "Updated", "lastChanged": "2026-12-01T10:05:00+00:00"},
            "10": {"id": 10, "action": "Inserted", "lastChanged": "2026-12-01T10:01:00+00:00"},
            "3": {"action": "Deleted", "lastChanged": "2026-12-01T10:05:00Z"}
        }});
        let read = changes(&body).expect("reads");
        let (list, latest) = (read.list, read.latest);
        let ids: Vec<(&str, &str)> = list
            .iter()
            .map(|c| (c.id.as_str(), c.action.as_str()))
            .collect();
        assert_eq!(
            ids,
            [("10", "Inserted"), ("3", "Deleted"), ("9", "Updated")]
        );
        assert_eq!(latest, Some(t("2026-12-01T10:05:00Z")));
        assert_eq!(list[2].raw, "2026-12-01T10:05:00+00:00", "kept as sent");
        let empty = changes(&json!({"latest": null, "employees": []})).expect("PHP's empty map");
        assert!(empty.list.is_empty() && empty.latest.is_none() && empty.unreadable.is_empty());
        for (bad, why) in [
            (json!({"employees": "x"}), "`employees` is not an object"),
            (json!({"latest": 5}), "`latest` is not a string"),
        ] {
            assert_eq!(changes(&bad).err().as_deref(), Some(why));
        }
        let partly = changes(&json!({"employees": {
            "../../x": {"action": "Updated", "lastChanged": "2026-12-01T10:05:00+00:00"},
            "1": {"action": "Updated"},
            "2": {"action": "Updated", "lastChanged": "yesterday"},
            "3": {"action": "Updated", "lastChanged": "2026-12-01T10:05:00+00:00"}}}))
        .expect("an answer");
        assert_eq!(partly.list.len(), 1);
        assert_eq!(
            partly.unreadable,
            [
                "an employee id that is not one: \"../../x\"",
                "employee 1: no `lastChanged`",
                "employee 2: `lastChanged` is not a time: \"yesterday\""
            ]
        );
    }
}

//! Helpers shared by the adapters: reading the body, typed field lookups that say where a
//! field is missing, lenient time parsing, and the final check of each mapped event.
//!
//! Lookups trim strings and treat a blank string like an absent one: senders fill optional
//! fields with `""` (Clerk's `birthday`, BambooHR's empty dates).

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde_json::{Map, Value};

use super::{AdapterError, Parsed};
use crate::event::{CanonicalEvent, EventError, EventUser};

/// A JSON object.
pub(super) type Object = Map<String, Value>;

/// The most characters of sender-controlled text an error message quotes.
const MAX_QUOTE: usize = 120;

/// Parses the body. serde_json stops at 128 levels of nesting, so a hostile body of thousands
/// of `[` is an error here rather than a stack overflow.
pub(super) fn parse_body(body: &[u8]) -> Result<Value, AdapterError> {
    serde_json::from_slice(body).map_err(|e| AdapterError::Json(brief(&e.to_string())))
}

/// Cuts sender-controlled text to a length fit for an error message.
pub(super) fn brief(text: &str) -> String {
    match text.char_indices().nth(MAX_QUOTE) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// The value as an object, or an error naming `at`.
pub(super) fn object<'a>(value: &'a Value, at: &str) -> Result<&'a Object, AdapterError> {
    value
        .as_object()
        .ok_or_else(|| invalid(at, format!("expected an object, found {}", kind_of(value))))
}

/// A required array field.
pub(super) fn array<'a>(obj: &'a Object, key: &str, at: &str) -> Result<&'a [Value], AdapterError> {
    match obj.get(key) {
        None | Some(Value::Null) => Err(missing(at, key)),
        Some(Value::Array(items)) => Ok(items),
        Some(other) => Err(wrong_type(at, key, "an array", other)),
    }
}

/// A required object field.
pub(super) fn child<'a>(obj: &'a Object, key: &str, at: &str) -> Result<&'a Object, AdapterError> {
    match obj.get(key) {
        None | Some(Value::Null) => Err(missing(at, key)),
        Some(Value::Object(inner)) => Ok(inner),
        Some(other) => Err(wrong_type(at, key, "an object", other)),
    }
}

/// An optional object field; anything but an object counts as absent.
pub(super) fn opt_child<'a>(obj: &'a Object, key: &str) -> Option<&'a Object> {
    obj.get(key).and_then(Value::as_object)
}

/// An optional non-blank string field, trimmed; anything but a string counts as absent.
pub(super) fn text<'a>(obj: &'a Object, key: &str) -> Option<&'a str> {
    obj.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// A required non-blank string field, trimmed.
pub(super) fn req_text<'a>(obj: &'a Object, key: &str, at: &str) -> Result<&'a str, AdapterError> {
    match obj.get(key) {
        None | Some(Value::Null) => Err(missing(at, key)),
        Some(Value::String(s)) if s.trim().is_empty() => Err(missing(at, key)),
        Some(Value::String(s)) => Ok(s.trim()),
        Some(other) => Err(wrong_type(at, key, "a string", other)),
    }
}

/// A scalar as text: a non-blank string (trimmed), a number or a boolean.
pub(super) fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.trim()).filter(|s| !s.is_empty()).map(str::to_owned),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A required id that senders give as a string or a number.
pub(super) fn req_id(obj: &Object, key: &str, at: &str) -> Result<String, AdapterError> {
    match obj.get(key) {
        None | Some(Value::Null) => Err(missing(at, key)),
        Some(v @ (Value::String(_) | Value::Number(_))) => {
            scalar(v).ok_or_else(|| missing(at, key))
        }
        Some(other) => Err(wrong_type(at, key, "a string or a number", other)),
    }
}

/// A required time field in any form [`parse_time`] reads.
pub(super) fn req_time(obj: &Object, key: &str, at: &str) -> Result<DateTime<Utc>, AdapterError> {
    let raw = req_text(obj, key, at)?;
    parse_time(raw).ok_or_else(|| invalid(at, format!("`{key}` is not a time: {:?}", brief(raw))))
}

/// A required Unix time in milliseconds, as a number or a string of digits (Clerk's `timestamp`).
pub(super) fn req_millis(obj: &Object, key: &str, at: &str) -> Result<DateTime<Utc>, AdapterError> {
    let raw = req_id(obj, key, at)?;
    raw.parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_millis)
        .ok_or_else(|| {
            invalid(
                at,
                format!("`{key}` is not a time in milliseconds: {:?}", brief(&raw)),
            )
        })
}

/// Reads a time leniently: RFC 3339 (`2026-01-15T12:00:00.000Z`), the same with a space for
/// the `T`, or a date and time with no zone, which is taken as UTC (WorkOS documents
/// `2023-04-28 20:05:31.093`; OneLogin-style senders append ` UTC`).
pub(super) fn parse_time(raw: &str) -> Option<DateTime<Utc>> {
    let raw = raw.trim();
    let t_form = raw.replacen(' ', "T", 1);
    for candidate in [raw, t_form.as_str()] {
        if let Ok(t) = DateTime::parse_from_rfc3339(candidate) {
            return Some(t.with_timezone(&Utc));
        }
    }
    let naive = t_form
        .strip_suffix("UTC")
        .map_or(t_form.as_str(), str::trim_end);
    NaiveDateTime::parse_from_str(naive, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|t| t.and_utc())
}

/// Reads a calendar date (`2026-01-15`).
pub(super) fn parse_date(raw: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d").ok()
}

/// "First Last", or whichever part is present.
pub(super) fn full_name(first: Option<&str>, last: Option<&str>) -> Option<String> {
    match (first, last) {
        (Some(f), Some(l)) => Some(format!("{f} {l}")),
        (Some(one), None) | (None, Some(one)) => Some(one.to_owned()),
        (None, None) => None,
    }
}

/// Splits a sender's login into email or not: Okta logins and Clerk identifiers are usually
/// emails but may be user names or phone numbers, which must not be sent as `user.email`.
pub(super) fn email_like(login: Option<&str>) -> Option<String> {
    login.filter(|l| l.contains('@')).map(str::to_owned)
}

/// Checks the mapped event against the canonical rules and wraps it.
///
/// `email_field` names where the sender keeps the email, for the error when a snapshot that
/// needs one has none.
pub(super) fn finish(
    event: CanonicalEvent,
    at: &str,
    email_field: &str,
) -> Result<Parsed, AdapterError> {
    let has_email = event.user.as_ref().is_some_and(|u| u.email.is_some());
    if event.requires_email() && !has_email {
        return Err(missing(at, email_field));
    }
    event.validate().map_err(|reason| AdapterError::Rejected {
        at: at.to_owned(),
        reason,
    })?;
    Ok(Parsed::Event(event))
}

/// An item acknowledged but not acted on. Its id keys the inbox like an event's, so it must
/// meet the same length rule; the kind is only recorded, so an overlong one is cut.
pub(super) fn ignored(id: &str, kind: &str, at: &str) -> Result<Parsed, AdapterError> {
    if id.len() > 256 {
        return Err(AdapterError::Rejected {
            at: at.to_owned(),
            reason: EventError::IdTooLong,
        });
    }
    Ok(Parsed::Ignored {
        id: id.to_owned(),
        kind: brief(kind),
    })
}

/// A user named by email and/or the sender's id, with nothing else.
pub(super) fn bare_user(
    email: Option<String>,
    id: Option<String>,
    name: Option<String>,
) -> EventUser {
    EventUser {
        email,
        id,
        name,
        ..EventUser::default()
    }
}

/// The error for an absent field.
pub(super) fn missing(at: &str, field: &str) -> AdapterError {
    AdapterError::Missing {
        at: at.to_owned(),
        field: field.to_owned(),
    }
}

/// The error for an unusable field.
pub(super) fn invalid(at: &str, problem: String) -> AdapterError {
    AdapterError::Invalid {
        at: at.to_owned(),
        problem,
    }
}

fn wrong_type(at: &str, key: &str, expected: &str, found: &Value) -> AdapterError {
    invalid(
        at,
        format!("`{key}` must be {expected}, found {}", kind_of(found)),
    )
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_read_leniently() {
        let want = "2023-04-28T20:05:31.093Z"
            .parse::<DateTime<Utc>>()
            .expect("valid");
        for raw in [
            "2023-04-28T20:05:31.093Z",
            "2023-04-28T22:05:31.093+02:00",
            "2023-04-28 20:05:31.093",
            "2023-04-28 20:05:31.093Z",
            "2023-04-28T20:05:31.093",
            "2023-04-28 20:05:31.093 UTC",
        ] {
            assert_eq!(parse_time(raw), Some(want), "{raw}");
        }
        assert!(parse_time("2023-04-28 20:05:31").is_some(), "no fraction");
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(parse_time("2023-04-28"), None);
    }

    #[test]
    fn brief_cuts_long_text_on_a_char_boundary() {
        let long = "é".repeat(500);
        let cut = brief(&long);
        assert_eq!(cut.chars().count(), MAX_QUOTE + 1);
        assert!(cut.ends_with('…'));
        assert_eq!(brief("short"), "short");
    }
}

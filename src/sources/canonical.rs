//! The `canonical` format: the body is already in the canonical shape (DESIGN.md,
//! "Canonical event"): one event object, an array of them, or `{"events": [...]}`.
//!
//! The dedup id is each event's own `id`. Nothing is ignored: every item must be an event.

use serde_json::Value;

use super::json::{brief, finish, invalid};
use super::{AdapterError, Parsed};
use crate::event::CanonicalEvent;

/// Parses a canonical body into its events, in body order.
pub(super) fn parse(value: Value) -> Result<Vec<Parsed>, AdapterError> {
    let (items, base) = match value {
        Value::Array(items) => (items, "body"),
        Value::Object(mut map) if map.contains_key("events") => {
            if let Some(extra) = map.keys().find(|k| *k != "events") {
                return Err(invalid(
                    "body",
                    format!("unexpected field `{}` next to `events`", brief(extra)),
                ));
            }
            match map.remove("events") {
                Some(Value::Array(items)) => (items, "events"),
                _ => return Err(invalid("body", "`events` must be an array".to_owned())),
            }
        }
        single @ Value::Object(_) => return Ok(vec![event(single, "body")?]),
        _ => {
            return Err(invalid(
                "body",
                "expected an event object, an array of events or {\"events\": [...]}".to_owned(),
            ));
        }
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| event(item, &format!("{base}[{i}]")))
        .collect()
}

fn event(item: Value, at: &str) -> Result<Parsed, AdapterError> {
    let event: CanonicalEvent =
        serde_json::from_value(item).map_err(|e| invalid(at, brief(&e.to_string())))?;
    finish(event, at, "user.email")
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    use crate::config::Format;
    use crate::event::EventType;
    use crate::sources::{AdapterError, Parsed, parse};

    fn canonical(body: &str) -> Result<Vec<Parsed>, AdapterError> {
        parse(Format::Canonical, &HeaderMap::new(), body.as_bytes())
    }

    const ONBOARD: &str = r#"{"id":"evt_1","type":"user.onboarded","occurred_at":"2026-11-28T10:00:00Z",
        "user":{"email":"ada@example.com","attributes":{"department":"Sales"}},"groups":["Marketing"]}"#;
    const CREATED: &str = r#"{"id":"evt_2","type":"group.created","occurred_at":"2026-11-28T10:00:01Z","groups":["Ops"]}"#;

    fn ids(items: &[Parsed]) -> Vec<&str> {
        items.iter().map(Parsed::id).collect()
    }

    #[test]
    fn one_object_an_array_and_an_events_wrapper_are_all_accepted() {
        let single = canonical(ONBOARD).expect("single");
        assert_eq!(ids(&single), ["evt_1"]);
        let Parsed::Event(ev) = &single[0] else {
            panic!("an event")
        };
        assert_eq!(ev.event_type, EventType::UserOnboarded);
        assert_eq!(ev.groups.as_deref(), Some(&["Marketing".to_owned()][..]));

        let array = canonical(&format!("[{ONBOARD},{CREATED}]")).expect("array");
        assert_eq!(ids(&array), ["evt_1", "evt_2"]);
        let wrapped =
            canonical(&format!(r#"{{"events":[{ONBOARD},{CREATED}]}}"#)).expect("wrapper");
        assert_eq!(wrapped, array);
    }

    #[test]
    fn bad_items_are_named_by_position() {
        let no_id =
            r#"{"type":"group.created","occurred_at":"2026-11-28T10:00:00Z","groups":["x"]}"#;
        let err = canonical(&format!(r#"{{"events":[{ONBOARD},{no_id}]}}"#)).expect_err("no id");
        assert_eq!(err.to_string(), "events[1]: missing field `id`");

        let no_email = r#"{"id":"e","type":"user.updated","occurred_at":"2026-11-28T10:00:00Z","user":{"id":"u1"}}"#;
        let err = canonical(&format!("[{no_email}]")).expect_err("no email");
        assert_eq!(err.to_string(), "body[0]: missing `user.email`");

        let no_groups = r#"{"id":"e","type":"group.member_added","occurred_at":"2026-11-28T10:00:00Z","user":{"email":"a@b.c"}}"#;
        let err = canonical(no_groups).expect_err("no groups");
        assert!(
            matches!(err, AdapterError::Rejected { ref at, .. } if at == "body"),
            "{err}"
        );

        let unknown = r#"{"id":"e","type":"user.exploded","occurred_at":"2026-11-28T10:00:00Z"}"#;
        let err = canonical(unknown).expect_err("unknown type");
        assert!(
            err.to_string()
                .starts_with("body: unknown variant `user.exploded`"),
            "{err}"
        );
    }

    #[test]
    fn empty_and_misshapen_bodies_are_errors() {
        assert!(matches!(canonical("[]"), Err(AdapterError::NoEvents)));
        assert!(matches!(
            canonical(r#"{"events":[]}"#),
            Err(AdapterError::NoEvents)
        ));
        let err = canonical(r#"{"events":[],"more":1}"#).expect_err("extra key");
        assert_eq!(
            err.to_string(),
            "body: unexpected field `more` next to `events`"
        );
        assert!(canonical(r#"{"events":{}}"#).is_err());
        assert!(canonical("42").is_err());
    }
}

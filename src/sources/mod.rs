//! Format adapters: turn a *verified* request body into canonical events.
//!
//! One file per payload format (`canonical`, `workos`, `okta`, `clerk`, `bamboohr`), all behind
//! [`parse`]. Adapters are pure: no I/O, no clock, no store. They run after the signature check
//! and before the durable commit, so an [`AdapterError`] becomes a 400 and changes nothing.
//!
//! Every item of a request ends up either as an event we act on ([`Parsed::Event`], already
//! checked with [`CanonicalEvent::validate`]) or as one we acknowledge and record but do not act
//! on ([`Parsed::Ignored`]: event types we do not map, failed or preview Okta events). Unknown
//! types are never errors, because senders add types over time and a 4xx makes some of them
//! disable the endpoint; only bodies we cannot read, and known events we cannot map, are.

pub mod bamboohr;
mod canonical;
mod clerk;
mod json;
pub mod okta;
pub mod workos;

use axum::http::HeaderMap;

use crate::config::Format;
use crate::event::{CanonicalEvent, EventError};

/// One item of a request: an event we act on, or one we acknowledge and record as ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// An event to store and work.
    Event(CanonicalEvent),
    /// An item to acknowledge and record, but not to act on.
    Ignored {
        /// The sender's dedup id for the item, as for an event.
        id: String,
        /// The sender's own event type, e.g. `user.session.start` (BambooHR: the `action`),
        /// cut to 120 characters.
        kind: String,
    },
}

impl Parsed {
    /// The dedup id of the item (with the source name, the inbox key).
    pub fn id(&self) -> &str {
        match self {
            Self::Event(event) => &event.id,
            Self::Ignored { id, .. } => id,
        }
    }
}

/// Why a verified body cannot be turned into events; answered with HTTP 400.
///
/// Messages name the item and field at fault (``data.events[2]: missing `uuid` ``) and quote at
/// most a short fragment of the body, never a whole body, a header value or a secret.
#[derive(Debug, thiserror::Error)]
pub enum AdapterError {
    /// The body is not JSON, or is nested deeper than serde_json's limit of 128 levels.
    #[error("invalid JSON: {0}")]
    Json(String),
    /// A field the mapping needs is absent, `null` or empty.
    #[error("{at}: missing `{field}`")]
    Missing {
        /// Where in the body, e.g. `data.events[2]`.
        at: String,
        /// The field, relative to `at`.
        field: String,
    },
    /// A field is present but unusable (wrong JSON type, unreadable time, …).
    #[error("{at}: {problem}")]
    Invalid {
        /// Where in the body.
        at: String,
        /// What is wrong, in a few words.
        problem: String,
    },
    /// The mapped event breaks a rule every canonical event must meet.
    #[error("{at}: {reason}")]
    Rejected {
        /// Where in the body.
        at: String,
        /// The rule that failed.
        reason: EventError,
    },
    /// The header that carries this format's dedup id is absent, empty or not text. The
    /// value names the accepted header(s), quoted, e.g. `` `svix-id` (or `webhook-id`) ``.
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    /// The request holds no item at all.
    #[error("no events in the request")]
    NoEvents,
}

/// Parses a verified body of the given format into its items, in body order.
///
/// `headers` are read only by formats whose dedup id travels in a header (`clerk`: `svix-id`
/// or `webhook-id`). A request that yields no item is an error, as is any item of a known
/// type that cannot be mapped: the request is all or nothing.
pub fn parse(
    format: Format,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Vec<Parsed>, AdapterError> {
    let value = json::parse_body(body)?;
    let items = match format {
        Format::Canonical => canonical::parse(value)?,
        Format::Workos => vec![workos::parse(&value)?],
        Format::Okta => okta::parse(&value)?,
        Format::Clerk => vec![clerk::parse(headers, &value)?],
        Format::Bamboohr => bamboohr::parse(&value)?,
        // SCIM requests are resources, not events: `crate::scim` maps them.
        Format::Scim => {
            return Err(AdapterError::Invalid {
                at: "body".into(),
                problem: "a SCIM source is served at /scim/{source}/v2".into(),
            });
        }
        // Entra ID sends no signed lifecycle webhooks: its sources have scheme "none" (the
        // configuration refuses any other), so no request reaches this far.
        Format::Entra => {
            return Err(AdapterError::Invalid {
                at: "body".into(),
                problem: "the entra format has no webhook adapter (pull only)".into(),
            });
        }
    };
    if items.is_empty() {
        return Err(AdapterError::NoEvents);
    }
    Ok(items)
}

#[cfg(test)]
pub(super) mod tests {
    //! Shared test helpers, and the checks every format must pass.

    use std::path::{Path, PathBuf};

    use chrono::{DateTime, Utc};
    use serde_json::Value;

    use super::*;

    /// The real payloads shared by the team, read at test time and never copied:
    /// `../shared/vectors/payloads` from the crate, or from a folder above it (a worktree at
    /// `/work/wt/NAME` finds `/work/shared` this way).
    fn payloads_dir() -> PathBuf {
        let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        crate_dir
            .ancestors()
            .skip(1)
            .map(|dir| dir.join("shared/vectors/payloads"))
            .find(|dir| dir.is_dir())
            .unwrap_or_else(|| {
                panic!(
                    "no shared/vectors/payloads above {}: the tests need it",
                    crate_dir.display()
                )
            })
    }

    /// A payload file as JSON; fails loudly when it is missing.
    pub(crate) fn payload(name: &str) -> Value {
        let path = payloads_dir().join(name);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "payload {} is missing ({e}): the tests need it",
                path.display()
            )
        });
        serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("payload {}: {e}", path.display()))
    }

    /// Parses a JSON value as a body of `format`.
    pub(crate) fn run(
        format: Format,
        headers: &HeaderMap,
        body: &Value,
    ) -> Result<Vec<Parsed>, AdapterError> {
        parse(format, headers, body.to_string().as_bytes())
    }

    /// The event of an item that must be one.
    pub(crate) fn event(item: &Parsed) -> &CanonicalEvent {
        match item {
            Parsed::Event(event) => event,
            Parsed::Ignored { id, kind } => panic!("expected an event, got ignored {kind} ({id})"),
        }
    }

    /// The single event of a request.
    pub(crate) fn only_event(items: &[Parsed]) -> &CanonicalEvent {
        assert_eq!(items.len(), 1, "one item expected: {items:?}");
        event(&items[0])
    }

    /// The user of an event that must have one.
    pub(crate) fn user_of(event: &CanonicalEvent) -> &crate::event::EventUser {
        event.user.as_ref().expect("the event names a user")
    }

    /// The user's attributes as sorted pairs.
    pub(crate) fn attrs(event: &CanonicalEvent) -> Vec<(&str, &str)> {
        let attributes = &user_of(event).attributes;
        attributes
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    /// An RFC 3339 time.
    pub(crate) fn time(raw: &str) -> DateTime<Utc> {
        raw.parse().expect("test time is RFC 3339")
    }

    const FORMATS: [Format; 5] = [
        Format::Canonical,
        Format::Workos,
        Format::Okta,
        Format::Clerk,
        Format::Bamboohr,
    ];

    fn clerk_headers() -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("svix-id", "msg_1".parse().expect("header"));
        headers
    }

    #[test]
    fn every_shared_payload_of_a_known_format_parses_into_valid_items() {
        let mut seen = 0;
        for entry in std::fs::read_dir(payloads_dir()).expect("payloads folder is readable") {
            let name = entry
                .expect("directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned();
            let body = payload(&name);
            let (format, body) = match name.split('-').next() {
                Some("workos") => (Format::Workos, body),
                Some("clerk") => (Format::Clerk, body),
                // A bare LogEvent goes into an event-hook envelope, as Okta would send it.
                Some("okta") if name.starts_with("okta-logevent") => (
                    Format::Okta,
                    serde_json::json!({"data": {"events": [body]}}),
                ),
                Some("okta") => (Format::Okta, body),
                _ => continue,
            };
            let items =
                run(format, &clerk_headers(), &body).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(!items.is_empty(), "{name}");
            for item in &items {
                if let Parsed::Event(event) = item {
                    assert_eq!(event.validate(), Ok(()), "{name}");
                }
            }
            seen += 1;
        }
        assert!(seen >= 6, "only {seen} payload files of a known format");
    }

    #[test]
    fn ignored_items_keep_ids_within_the_inbox_limit_and_cut_long_kinds() {
        let long_id = "u".repeat(257);
        let body = serde_json::json!({"data": {"events": [{"uuid": long_id, "eventType": "x"}]}});
        let err = run(Format::Okta, &HeaderMap::new(), &body).expect_err("id too long");
        assert_eq!(
            err.to_string(),
            "data.events[0]: `id` is longer than 256 characters"
        );

        let body = serde_json::json!({"data": {"events": [{"uuid": "u1", "eventType": "k".repeat(5000)}]}});
        let items = run(Format::Okta, &HeaderMap::new(), &body).expect("acknowledged");
        let Parsed::Ignored { kind, .. } = &items[0] else {
            panic!("ignored")
        };
        assert!(
            kind.len() < 200 && kind.ends_with('…'),
            "{} bytes",
            kind.len()
        );
    }

    #[test]
    fn broken_json_is_an_error_with_its_position() {
        for format in FORMATS {
            let err = parse(format, &clerk_headers(), br#"{"id" 1}"#).expect_err("broken");
            assert_eq!(
                err.to_string(),
                "invalid JSON: expected `:` at line 1 column 7",
                "{format:?}"
            );
            let err = parse(format, &clerk_headers(), b"").expect_err("empty body");
            assert!(matches!(err, AdapterError::Json(_)), "{format:?}: {err}");
        }
    }

    #[test]
    fn deeply_nested_bodies_are_errors_not_stack_overflows() {
        let arrays = "[".repeat(100_000);
        let objects = r#"{"a":"#.repeat(50_000);
        let inside = format!(r#"{{"data":{{"events":[{}"#, "[".repeat(10_000));
        for format in FORMATS {
            for body in [&arrays, &objects, &inside] {
                let err = parse(format, &clerk_headers(), body.as_bytes()).expect_err("too deep");
                assert!(
                    err.to_string()
                        .starts_with("invalid JSON: recursion limit exceeded"),
                    "{format:?}: {err}"
                );
            }
        }
    }

    #[test]
    fn a_body_of_the_wrong_json_type_is_an_error() {
        for format in FORMATS {
            for body in ["42", "\"text\"", "null", "true"] {
                let err = parse(format, &clerk_headers(), body.as_bytes()).expect_err(body);
                assert!(
                    err.to_string().starts_with("body: "),
                    "{format:?} {body}: {err}"
                );
            }
        }
    }

    #[test]
    fn requests_without_items_are_errors() {
        let empty = [
            (Format::Canonical, "[]"),
            (Format::Okta, r#"{"data":{"events":[]}}"#),
            (Format::Bamboohr, r#"{"employees":[]}"#),
        ];
        for (format, body) in empty {
            let err = parse(format, &HeaderMap::new(), body.as_bytes()).expect_err(body);
            assert!(matches!(err, AdapterError::NoEvents), "{format:?}: {err}");
            assert_eq!(err.to_string(), "no events in the request");
        }
    }

    #[test]
    fn error_messages_never_quote_a_whole_body() {
        let huge = "x".repeat(10_000);
        let body = format!(r#"{{"id":"e","type":"{huge}","occurred_at":"2026-11-28T10:00:00Z"}}"#);
        let err =
            parse(Format::Canonical, &HeaderMap::new(), body.as_bytes()).expect_err("bad type");
        assert!(
            err.to_string().len() < 300,
            "{} characters",
            err.to_string().len()
        );
        let body =
            format!(r#"{{"employees":[{{"id":1,"action":"Updated","timestamp":"{huge}"}}]}}"#);
        let err =
            parse(Format::Bamboohr, &HeaderMap::new(), body.as_bytes()).expect_err("bad time");
        assert!(
            err.to_string().len() < 300,
            "{} characters",
            err.to_string().len()
        );
    }
}

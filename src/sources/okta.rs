//! The `okta` format: Okta event hooks, several LogEvents per request.
//!
//! Envelope `{eventType: "com.okta.event_hook", …, data: {events: [LogEvent, …]}}`. Each
//! LogEvent has its own dedup id `uuid`; `occurred_at` is its `published`. Targets are chosen
//! by `type` (`User`, `UserGroup`), never by position, since Okta's `target[]` order is not a
//! contract. Only events whose `outcome.result` is success (any case) or absent are acted on;
//! failed ones, and preview deliveries whose `target` is `null`, are acknowledged and ignored.
//!
//! The user's email is the `alternateId` (the Okta login) of the User target. A login that is
//! not an email is dropped from offboardings and membership deltas, which then name the user
//! by Okta id alone (the worker resolves it): rejecting the request instead would lose the
//! whole batch, since Okta does not retry a 4xx.
//!
//! The System Log pull (`crate::pull::okta`) maps each LogEvent it reads through
//! [`map_log_event`] too: a hook's `data.events[]` element is the same object as the System
//! Log's LogEvent, so a pulled event and its pushed copy map to the same canonical event with
//! the same dedup id (`uuid`), and are stored once.

use serde_json::Value;

use super::json::{
    Object, array, bare_user, child, email_like, finish, ignored, invalid, missing, object,
    req_text, req_time, text,
};
use super::{AdapterError, Parsed};
use crate::event::{CanonicalEvent, EventType};

/// Parses an event-hook delivery into its items, in `data.events[]` order.
pub(super) fn parse(value: &Value) -> Result<Vec<Parsed>, AdapterError> {
    let root = object(value, "body")?;
    let data = child(root, "data", "body")?;
    array(data, "events", "data")?
        .iter()
        .enumerate()
        .map(|(i, event)| map_log_event(event, &format!("data.events[{i}]")))
        .collect()
}

/// The LogEvent types this adapter maps; the System Log pull asks for these only.
pub const MAPPED_TYPES: [&str; 9] = [
    "user.lifecycle.create",
    "user.lifecycle.activate",
    "user.lifecycle.unsuspend",
    "user.lifecycle.deactivate",
    "user.lifecycle.suspend",
    "user.lifecycle.delete.initiated",
    "group.user_membership.add",
    "group.user_membership.remove",
    "group.lifecycle.create",
];

/// What a mapped Okta event type becomes.
fn event_type_of(kind: &str) -> Option<EventType> {
    Some(match kind {
        "user.lifecycle.create" | "user.lifecycle.activate" | "user.lifecycle.unsuspend" => {
            EventType::UserOnboarded
        }
        "user.lifecycle.deactivate"
        | "user.lifecycle.suspend"
        | "user.lifecycle.delete.initiated" => EventType::UserOffboarded,
        "group.user_membership.add" => EventType::GroupMemberAdded,
        "group.user_membership.remove" => EventType::GroupMemberRemoved,
        "group.lifecycle.create" => EventType::GroupCreated,
        _ => return None,
    })
}

/// Maps one LogEvent (from an event hook's `data.events[]` or from the System Log) to an
/// item; `at` names it in errors. The dedup id is the LogEvent's `uuid` either way.
pub fn map_log_event(value: &Value, at: &str) -> Result<Parsed, AdapterError> {
    let event = object(value, at)?;
    let id = req_text(event, "uuid", at)?;
    let kind = req_text(event, "eventType", at)?;
    let Some(event_type) = event_type_of(kind) else {
        return ignored(id, kind, at);
    };
    if !succeeded(event) {
        return ignored(id, kind, at);
    }
    let targets = match event.get("target") {
        // A preview delivery from the admin console.
        Some(Value::Null) => return ignored(id, kind, at),
        None => return Err(missing(at, "target")),
        Some(Value::Array(targets)) => targets,
        Some(_) => return Err(invalid(at, "`target` must be an array".to_owned())),
    };
    let occurred_at = req_time(event, "published", at)?;
    let group = || -> Result<Vec<String>, AdapterError> {
        let group =
            target(targets, "UserGroup").ok_or_else(|| missing(at, "target[type=UserGroup]"))?;
        let name = text(group, "displayName")
            .ok_or_else(|| missing(at, "target[type=UserGroup].displayName"))?;
        Ok(vec![name.to_owned()])
    };
    let (user, groups) = match event_type {
        EventType::GroupCreated => (None, Some(group()?)),
        _ => {
            let user = target(targets, "User").ok_or_else(|| missing(at, "target[type=User]"))?;
            let login = text(user, "alternateId");
            let email = match event_type {
                // Onboarding needs the email; let the check below reject a login that is not one.
                EventType::UserOnboarded => login.map(str::to_owned),
                _ => email_like(login),
            };
            let who = bare_user(
                email,
                text(user, "id").map(str::to_owned),
                text(user, "displayName").map(str::to_owned),
            );
            let groups = if event_type.is_snapshot() {
                None
            } else {
                Some(group()?)
            };
            (Some(who), groups)
        }
    };
    let mapped = CanonicalEvent {
        id: id.to_owned(),
        event_type,
        occurred_at,
        user,
        groups,
    };
    finish(mapped, at, "target[type=User].alternateId")
}

/// The email the adapter takes from an Okta login (a User target's `alternateId`, a user's
/// `profile.login`): the login itself when it is one.
pub fn login_email(login: &str) -> Option<String> {
    email_like(Some(login))
}

/// The item recorded for a LogEvent that cannot be mapped (the pull keeps reading past it):
/// ignored, under its `uuid` and `eventType`; `None` without a usable `uuid`.
pub fn unmappable(value: &Value) -> Option<Parsed> {
    let event = value.as_object()?;
    let id = text(event, "uuid")?;
    let kind = text(event, "eventType").unwrap_or("unknown");
    ignored(id, kind, "event").ok()
}

/// `outcome.result` is `SUCCESS` in any case, or not stated.
fn succeeded(event: &Object) -> bool {
    match event.get("outcome").and_then(Value::as_object) {
        None => true,
        Some(outcome) => match outcome.get("result") {
            None | Some(Value::Null) => true,
            Some(result) => result
                .as_str()
                .is_some_and(|r| r.trim().eq_ignore_ascii_case("success")),
        },
    }
}

/// The first target of the given `type`.
fn target<'a>(targets: &'a [Value], kind: &str) -> Option<&'a Object> {
    targets
        .iter()
        .filter_map(Value::as_object)
        .find(|t| text(t, "type").is_some_and(|k| k.eq_ignore_ascii_case(kind)))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;
    use serde_json::{Value, json};

    use crate::config::Format;
    use crate::event::EventType;
    use crate::sources::tests::{event, only_event, payload, run, time};
    use crate::sources::{AdapterError, Parsed};

    /// A change to a LogEvent, for table-driven cases.
    type Edit = fn(&mut Value);

    fn okta(body: &Value) -> Result<Vec<Parsed>, AdapterError> {
        run(Format::Okta, &HeaderMap::new(), body)
    }

    /// The docs' envelope carrying the given LogEvents.
    fn envelope(events: Vec<Value>) -> Value {
        let mut body = payload("okta-event-hook.docs-envelope.json");
        body["data"]["events"] = Value::Array(events);
        body
    }

    /// The docs' deactivation LogEvent, re-labelled and edited.
    fn log_event(kind: &str, uuid: &str, edit: impl FnOnce(&mut Value)) -> Value {
        let mut event = payload("okta-logevent.user.lifecycle.deactivate.docs.json");
        event["eventType"] = json!(kind);
        event["uuid"] = json!(uuid);
        edit(&mut event);
        event
    }

    /// Targets in the order Okta happens to send them for memberships: group first.
    fn membership_targets(event: &mut Value, group: &str) {
        event["target"] = json!([
            {"id": "00g1emaKYZTWRYYRRTSK", "type": "UserGroup", "alternateId": "unknown", "displayName": group},
            {"id": "00u1ab2cd3", "type": "User", "alternateId": "Ada.Lovelace@Example.com", "displayName": "Ada Lovelace"}
        ]);
    }

    #[test]
    fn the_mapped_types_are_exactly_those_the_adapter_maps() {
        for kind in super::MAPPED_TYPES {
            assert!(super::event_type_of(kind).is_some(), "{kind}");
        }
        for kind in [
            "user.session.start",
            "user.lifecycle.delete.completed",
            "user.lifecycle.reactivate",
            "user.account.update_profile",
        ] {
            assert!(super::event_type_of(kind).is_none(), "{kind}");
            assert!(!super::MAPPED_TYPES.contains(&kind), "{kind}");
        }
    }

    #[test]
    fn the_docs_envelope_is_a_session_event_and_is_ignored() {
        let items = okta(&payload("okta-event-hook.docs-envelope.json")).expect("acknowledged");
        assert_eq!(
            items,
            [Parsed::Ignored {
                id: "f790999f-fe87-467a-9880-6982a583986c".into(),
                kind: "user.session.start".into()
            }]
        );
    }

    #[test]
    fn the_docs_deactivation_is_an_offboarding() {
        let deactivate = payload("okta-logevent.user.lifecycle.deactivate.docs.json");
        let items = okta(&envelope(vec![deactivate])).expect("maps");
        let ev = only_event(&items);
        assert_eq!(
            ev.id, "ab62c0bc-2837-11eb-9823-9fb8f750c5a9",
            "dedup id is the uuid"
        );
        assert_eq!(ev.event_type, EventType::UserOffboarded);
        assert_eq!(ev.occurred_at, time("2020-11-16T18:15:12.862Z"));
        let user = ev.user.as_ref().expect("a user");
        assert_eq!(
            user.email.as_deref(),
            Some("john.doe@example.com"),
            "target, not actor"
        );
        assert_eq!(user.id.as_deref(), Some("00u3m90rxKjGQ0G6L1d6"));
        assert_eq!(user.name.as_deref(), Some("John Doe"));
        assert_eq!(ev.groups, None);
    }

    #[test]
    fn a_batch_maps_each_event_and_picks_targets_by_type() {
        let add = log_event("group.user_membership.add", "u-add", |e| {
            membership_targets(e, "Marketing")
        });
        let remove = log_event("group.user_membership.remove", "u-rm", |e| {
            membership_targets(e, "Finance");
            e["outcome"]["result"] = json!("Success");
        });
        let preview = log_event("group.user_membership.add", "u-preview", |e| {
            e["target"] = Value::Null;
            e["actor"] = Value::Null;
        });
        let failed = log_event("user.lifecycle.deactivate", "u-failed", |e| {
            e["outcome"] = json!({"result": "FAILURE", "reason": "no permission"});
        });
        let deactivate = log_event("user.lifecycle.deactivate", "u-off", |_| {});
        let login = log_event("user.session.start", "u-login", |_| {});
        let items = okta(&envelope(vec![
            add, remove, preview, failed, deactivate, login,
        ]))
        .expect("maps");

        let ids: Vec<&str> = items.iter().map(Parsed::id).collect();
        assert_eq!(
            ids,
            ["u-add", "u-rm", "u-preview", "u-failed", "u-off", "u-login"]
        );
        let added = event(&items[0]);
        assert_eq!(added.event_type, EventType::GroupMemberAdded);
        assert_eq!(added.groups, Some(vec!["Marketing".to_owned()]));
        let user = added.user.as_ref().expect("a user");
        assert_eq!(user.email.as_deref(), Some("Ada.Lovelace@Example.com"));
        assert_eq!(user.id.as_deref(), Some("00u1ab2cd3"));
        let removed = event(&items[1]);
        assert_eq!(
            removed.event_type,
            EventType::GroupMemberRemoved,
            "`Success` in any case"
        );
        assert_eq!(removed.groups, Some(vec!["Finance".to_owned()]));
        assert_eq!(
            items[2],
            Parsed::Ignored {
                id: "u-preview".into(),
                kind: "group.user_membership.add".into()
            }
        );
        assert_eq!(
            items[3],
            Parsed::Ignored {
                id: "u-failed".into(),
                kind: "user.lifecycle.deactivate".into()
            }
        );
        assert_eq!(event(&items[4]).event_type, EventType::UserOffboarded);
        assert!(matches!(&items[5], Parsed::Ignored { kind, .. } if kind == "user.session.start"));
    }

    #[test]
    fn lifecycle_types_map_to_onboarding_offboarding_and_group_creation() {
        let cases = [
            ("user.lifecycle.create", EventType::UserOnboarded),
            ("user.lifecycle.activate", EventType::UserOnboarded),
            ("user.lifecycle.unsuspend", EventType::UserOnboarded),
            ("user.lifecycle.suspend", EventType::UserOffboarded),
            ("user.lifecycle.delete.initiated", EventType::UserOffboarded),
        ];
        for (kind, want) in cases {
            let body = envelope(vec![log_event(kind, "u1", |e| e["outcome"] = Value::Null)]);
            let items = okta(&body).expect(kind);
            let ev = only_event(&items);
            assert_eq!(ev.event_type, want, "{kind}");
            assert_eq!(ev.groups, None, "{kind}: groups are not stated");
        }
        let create = log_event("group.lifecycle.create", "g1", |e| {
            e["target"] = json!([{"id": "00g9", "type": "UserGroup", "displayName": "Data Team"}]);
        });
        let items = okta(&envelope(vec![create])).expect("maps");
        let ev = only_event(&items);
        assert_eq!(ev.event_type, EventType::GroupCreated);
        assert_eq!(ev.groups, Some(vec!["Data Team".to_owned()]));
        assert_eq!(ev.user, None);
    }

    #[test]
    fn a_login_that_is_not_an_email_names_leavers_by_id_but_cannot_onboard() {
        let off = log_event("user.lifecycle.suspend", "u1", |e| {
            e["target"][0]["alternateId"] = json!("jdoe")
        });
        let items = okta(&envelope(vec![off])).expect("maps");
        let user = only_event(&items).user.as_ref().expect("a user");
        assert_eq!(user.email, None);
        assert_eq!(user.id.as_deref(), Some("00u3m90rxKjGQ0G6L1d6"));

        let on = log_event("user.lifecycle.activate", "u2", |e| {
            e["target"][0]["alternateId"] = json!("jdoe")
        });
        let err = okta(&envelope(vec![on])).expect_err("not an email");
        assert_eq!(
            err.to_string(),
            "data.events[0]: `user.email` `jdoe` is not an email address"
        );
    }

    #[test]
    fn unmappable_events_are_errors_naming_the_item() {
        let ok = log_event("user.lifecycle.deactivate", "u0", |_| {});
        let cases: [(Edit, &str, &str); 6] = [
            (
                |e| drop(e.as_object_mut().map(|o| o.remove("uuid"))),
                "user.lifecycle.deactivate",
                "data.events[1]: missing `uuid`",
            ),
            (
                |e| e["target"] = json!([]),
                "user.lifecycle.deactivate",
                "data.events[1]: missing `target[type=User]`",
            ),
            (
                |e| drop(e.as_object_mut().map(|o| o.remove("target"))),
                "user.lifecycle.deactivate",
                "data.events[1]: missing `target`",
            ),
            (
                |e| e["target"][0]["alternateId"] = Value::Null,
                "user.lifecycle.create",
                "data.events[1]: missing `target[type=User].alternateId`",
            ),
            (
                |_| {},
                "group.user_membership.add",
                "data.events[1]: missing `target[type=UserGroup]`",
            ),
            (
                |e| e["published"] = json!("soon"),
                "user.lifecycle.deactivate",
                r#"data.events[1]: `published` is not a time: "soon""#,
            ),
        ];
        for (edit, kind, want) in cases {
            let bad = log_event(kind, "u1", edit);
            let err = okta(&envelope(vec![ok.clone(), bad])).expect_err(want);
            assert_eq!(err.to_string(), want);
        }
        let err = okta(&json!({"data": {}})).expect_err("no events");
        assert_eq!(err.to_string(), "data: missing `events`");
        let err = okta(&json!({"eventType": "com.okta.event_hook"})).expect_err("no data");
        assert_eq!(err.to_string(), "body: missing `data`");
    }
}

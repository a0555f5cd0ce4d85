//! Tests of the okta adapter: hook envelopes, LogEvents mapped by type, targets picked by
//! type, and what is ignored or refused.

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

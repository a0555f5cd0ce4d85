//! Tests of the workos adapter.
use axum::http::HeaderMap;
use serde_json::{Value, json};

use crate::config::Format;
use crate::event::EventType;
use crate::sources::tests::{attrs, only_event, payload, run, time, user_of};
use crate::sources::{AdapterError, Parsed};

const USER_CREATED: &str = "workos-dsync.user.created.sdk-fixture.json";
const USER_ADDED: &str = "workos-dsync.group.user_added.sdk-fixture.json";
const FIXTURE_ID: &str = "event_01EHZNVPK3SFK441A1RGBFSHRT";

fn workos(body: &Value) -> Result<Vec<Parsed>, AdapterError> {
    run(Format::Workos, &HeaderMap::new(), body)
}

/// A real fixture, re-labelled and edited.
fn edited(file: &str, kind: &str, edit: impl FnOnce(&mut Value)) -> Value {
    let mut body = payload(file);
    body["event"] = json!(kind);
    edit(&mut body);
    body
}

fn without_email(body: &mut Value) {
    let data = body["data"].as_object_mut().expect("object");
    data.remove("email");
    data.remove("emails");
}

#[test]
fn user_created_fixture_is_an_onboarding_without_groups() {
    let items = workos(&payload(USER_CREATED)).expect("maps");
    let ev = only_event(&items);
    assert_eq!(ev.id, FIXTURE_ID, "dedup id is the envelope id");
    assert_eq!(ev.event_type, EventType::UserOnboarded);
    assert_eq!(ev.occurred_at, time("2026-01-15T12:00:00Z"));
    assert_eq!(ev.groups, None, "WorkOS user events do not state groups");
    let user = user_of(ev);
    assert_eq!(user.email.as_deref(), Some("marcelina.davis@example.com"));
    assert_eq!(
        user.id.as_deref(),
        Some("directory_user_01E1JG7J09H96KYP8HM9B0G5SJ")
    );
    assert_eq!(user.name.as_deref(), Some("Marcelina Davis"));
    let want = [
        ("department", "Engineering"),
        ("job_title", "Software Engineer"),
    ];
    assert_eq!(attrs(ev), [want[0], want[1], ("username", "mdavis")]);
}

#[test]
fn group_fixtures_map_to_group_created_and_member_deltas() {
    let items = workos(&payload("workos-dsync.group.created.sdk-fixture.json")).expect("maps");
    let ev = only_event(&items);
    assert_eq!(ev.event_type, EventType::GroupCreated);
    assert_eq!(ev.groups, Some(vec!["Developers".to_owned()]));
    assert_eq!(ev.user, None);

    let items = workos(&payload(USER_ADDED)).expect("maps");
    let ev = only_event(&items);
    assert_eq!(ev.event_type, EventType::GroupMemberAdded);
    assert_eq!(ev.groups, Some(vec!["Developers".to_owned()]));
    assert_eq!(
        user_of(ev).email.as_deref(),
        Some("marcelina.davis@example.com")
    );
    assert!(attrs(ev).is_empty(), "deltas carry no attributes");

    let removed = edited(USER_ADDED, "dsync.group.user_removed", |b| {
        b["data"]["group"]["name"] = json!("Alumni");
    });
    let items = workos(&removed).expect("maps");
    let ev = only_event(&items);
    assert_eq!(ev.event_type, EventType::GroupMemberRemoved);
    assert_eq!(ev.groups, Some(vec!["Alumni".to_owned()]));
}

#[test]
fn an_inactive_user_is_offboarded_and_dates_without_zone_are_utc() {
    let inactive = edited(USER_CREATED, "dsync.user.updated", |b| {
        b["data"]["state"] = json!("inactive");
        b["created_at"] = json!("2023-04-28 20:05:31.093");
    });
    let items = workos(&inactive).expect("maps");
    let ev = only_event(&items);
    assert_eq!(ev.event_type, EventType::UserOffboarded);
    assert_eq!(ev.occurred_at, time("2023-04-28T20:05:31.093Z"));

    let cases = [
        ("dsync.user.created", "suspended", EventType::UserOffboarded),
        ("dsync.user.updated", "active", EventType::UserUpdated),
        ("dsync.user.deleted", "active", EventType::UserOffboarded),
    ];
    for (kind, state, want) in cases {
        let body = edited(USER_CREATED, kind, |b| b["data"]["state"] = json!(state));
        let items = workos(&body).expect(kind);
        assert_eq!(only_event(&items).event_type, want, "{kind} {state}");
    }
}

#[test]
fn email_falls_back_to_the_primary_then_the_first_of_emails() {
    let cases = [
        (
            json!([{"primary": false, "value": "old@x.com"}, {"primary": true, "value": "main@x.com"}]),
            "main@x.com",
        ),
        (
            json!([{"value": "first@x.com"}, {"value": "second@x.com"}]),
            "first@x.com",
        ),
    ];
    for (emails, want) in cases {
        let body = edited(USER_CREATED, "dsync.user.created", |b| {
            without_email(b);
            b["data"]["emails"] = emails;
        });
        let items = workos(&body).expect("maps");
        assert_eq!(user_of(only_event(&items)).email.as_deref(), Some(want));
    }
}

#[test]
fn nested_custom_attributes_are_flattened() {
    let body = edited(USER_CREATED, "dsync.user.updated", |b| {
        b["data"]["custom_attributes"] = json!({
            "department": {"name": "Sales", "id": 7},
            "manager": {"email": "boss@example.com"},
            "cost_center": 4200,
            "addresses": [{"city": "Oslo"}],
            "job_title": "Seller"
        });
    });
    let items = workos(&body).expect("maps");
    let want = [
        ("cost_center", "4200"),
        ("department", "Sales"),
        ("department.id", "7"),
        ("department.name", "Sales"),
        ("job_title", "Seller"),
        ("manager.email", "boss@example.com"),
        ("username", "mdavis"),
    ];
    assert_eq!(
        attrs(only_event(&items)),
        want,
        "custom job_title wins; arrays are left out"
    );
}

#[test]
fn uninteresting_events_are_ignored_with_their_kind() {
    for kind in [
        "dsync.group.deleted",
        "dsync.group.updated",
        "dsync.activated",
        "connection.activated",
    ] {
        let body = edited("workos-dsync.group.created.sdk-fixture.json", kind, |_| {});
        let items = workos(&body).expect("acknowledged");
        assert_eq!(
            items,
            [Parsed::Ignored {
                id: FIXTURE_ID.into(),
                kind: kind.into()
            }]
        );
    }
}

#[test]
fn unmappable_events_are_errors_naming_the_field() {
    let created = "dsync.user.created";
    let cases = [
        (
            edited(USER_CREATED, created, without_email),
            "data: missing `email`",
        ),
        (
            edited(USER_CREATED, created, |b| {
                drop(b.as_object_mut().map(|o| o.remove("id")))
            }),
            "body: missing `id`",
        ),
        (
            edited(USER_CREATED, created, |b| {
                b["created_at"] = json!("last tuesday")
            }),
            r#"body: `created_at` is not a time: "last tuesday""#,
        ),
        (
            edited(USER_ADDED, "dsync.group.user_added", |b| {
                b["data"]["group"]["name"] = json!("")
            }),
            "data.group: missing `name`",
        ),
        (
            edited(USER_CREATED, created, |b| {
                b["data"]["email"] = json!("nobody")
            }),
            "data: `user.email` `nobody` is not an email address",
        ),
    ];
    for (body, want) in cases {
        assert_eq!(workos(&body).expect_err(want).to_string(), want);
    }
}

#[test]
fn a_deleted_user_without_email_is_offboarded_by_id() {
    let body = edited(USER_CREATED, "dsync.user.deleted", without_email);
    let items = workos(&body).expect("maps");
    let user = user_of(only_event(&items));
    assert_eq!(user.email, None);
    assert_eq!(
        user.id.as_deref(),
        Some("directory_user_01E1JG7J09H96KYP8HM9B0G5SJ")
    );
}

#[test]
fn every_type_the_pull_asks_for_is_mapped_and_the_others_are_ignored() {
    let user = payload(USER_CREATED)["data"].clone();
    let member = payload(USER_ADDED)["data"].clone();
    for kind in super::MAPPED_TYPES {
        let data = match kind {
            "dsync.group.created" => json!({"name": "Developers"}),
            k if k.starts_with("dsync.group.user_") => member.clone(),
            _ => user.clone(),
        };
        let body = json!({"id": "event_1", "event": kind, "data": data,
                          "created_at": "2026-01-15T12:00:00.000Z"});
        let item = super::map_event(&body).expect(kind);
        assert!(matches!(item, Parsed::Event(_)), "{kind}: {item:?}");
    }
    for kind in [
        "dsync.group.deleted",
        "dsync.group.updated",
        "connection.activated",
    ] {
        let body = json!({"id": "event_2", "event": kind, "data": {}});
        assert!(
            matches!(super::map_event(&body), Ok(Parsed::Ignored { .. })),
            "{kind}"
        );
    }
    assert_eq!(
        super::unmappable(&json!({"id": "event_3", "event": "dsync.user.created"})),
        Some(Parsed::Ignored {
            id: "event_3".into(),
            kind: "dsync.user.created".into()
        })
    );
    assert_eq!(super::unmappable(&json!({"event": "x"})), None);
}

#[test]
fn a_directory_user_is_read_by_the_rules_the_events_follow() {
    let mut user = payload(USER_CREATED)["data"].clone();
    assert_eq!(
        super::user_email(&user).as_deref(),
        Some("marcelina.davis@example.com")
    );
    assert_eq!(super::user_name(&user).as_deref(), Some("Marcelina Davis"));
    assert!(super::user_is_active(&user));
    for (state, active) in [("inactive", false), ("suspended", false), ("ACTIVE", true)] {
        user["state"] = json!(state);
        assert_eq!(super::user_is_active(&user), active, "{state}");
    }
    let data = user.as_object_mut().expect("object");
    data.remove("email");
    data.insert(
        "emails".into(),
        json!([{"primary": false, "value": "b@example.com"}, {"primary": true, "value": "p@example.com"}]),
    );
    assert_eq!(super::user_email(&user).as_deref(), Some("p@example.com"));
}

//! The mapping of Graph delta items (pure).

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use serde_json::{Value, json};

use super::cursor::{Cursor, event_id, round_key};
use super::map::{self, Mapped, RoundOf};
use crate::event::{CanonicalEvent, EventType};
use crate::sources::Parsed;

fn round(key: &str) -> RoundOf<'_> {
    RoundOf {
        key,
        started: Utc
            .with_ymd_and_hms(2026, 11, 28, 10, 0, 0)
            .single()
            .expect("time"),
    }
}

fn users(items: &[Value], key: &str) -> Mapped {
    let mut out = Mapped::default();
    for i in items {
        map::user(i, &round(key), &mut out);
    }
    out
}

fn events(m: &Mapped) -> Vec<&CanonicalEvent> {
    m.items
        .iter()
        .filter_map(|p| match p {
            Parsed::Event(e) => Some(e),
            Parsed::Ignored { .. } => None,
        })
        .collect()
}

#[test]
fn users_map_to_snapshots_and_offboardings() {
    let items = [
        json!({"id": "u1", "userPrincipalName": "ada@corp.example", "mail": "Ada@Example.com",
               "displayName": "Ada", "accountEnabled": true, "department": "Sales",
               "jobTitle": "AE", "officeLocation": "Paris", "companyName": "Corp", "mobilePhone": "1"}),
        json!({"id": "u2", "userPrincipalName": "bob@example.com", "mail": null, "accountEnabled": false}),
        json!({"id": "u3", "@removed": {"reason": "changed"}}),
        json!({"id": "u4", "@removed": {"reason": "deleted"}}),
        json!({"id": "u5", "userPrincipalName": "eve_other.com#EXT#@corp.onmicrosoft.com", "mail": null}),
        json!({"id": "u6", "userPrincipalName": "no-address", "accountEnabled": true}),
    ];
    let m = users(&items, "k");
    assert_eq!(
        m.unmappable, 2,
        "a guest without mail and a user without address"
    );
    assert_eq!(m.items.len(), 6, "ignored items are recorded too");
    let ev = events(&m);
    assert_eq!(ev.len(), 4);
    let ada = ev[0];
    assert_eq!(ada.event_type, EventType::UserUpdated);
    let user = ada.user.as_ref().expect("user");
    assert_eq!(
        user.email.as_deref(),
        Some("Ada@Example.com"),
        "mail before the UPN"
    );
    assert_eq!(user.id.as_deref(), Some("u1"));
    let attrs: Vec<(&str, &str)> = user
        .attributes
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        attrs,
        [
            ("company", "Corp"),
            ("department", "Sales"),
            ("job_title", "AE"),
            ("location", "Paris")
        ]
    );
    assert_eq!(ada.groups, None, "the known groups are kept");
    assert_eq!(
        ada.occurred_at,
        round("k").started,
        "stamped with the round's start"
    );
    let bob = ev[1];
    assert_eq!(bob.event_type, EventType::UserOffboarded);
    assert_eq!(
        bob.user.as_ref().and_then(|u| u.email.as_deref()),
        Some("bob@example.com")
    );
    for (e, id) in [(ev[2], "u3"), (ev[3], "u4")] {
        assert_eq!(e.event_type, EventType::UserOffboarded);
        let u = e.user.as_ref().expect("user");
        assert_eq!((u.id.as_deref(), u.email.as_deref()), (Some(id), None));
        e.validate().expect("an offboarding by id is valid");
    }
    for e in ev {
        assert!(e.id.starts_with("entra:") && e.id.len() <= 256, "{}", e.id);
    }
}

#[test]
fn ids_are_the_same_when_a_round_is_read_again_and_differ_otherwise() {
    let ada = json!({"id": "u1", "mail": "ada@example.com", "accountEnabled": true});
    let id = |item: &Value, key: &str| {
        events(&users(std::slice::from_ref(item), key))[0]
            .id
            .clone()
    };
    assert_eq!(id(&ada, "k1"), id(&ada, "k1"));
    assert_ne!(id(&ada, "k1"), id(&ada, "k2"), "another round");
    let mut moved = ada.clone();
    moved["department"] = json!("Ops");
    assert_ne!(id(&ada, "k1"), id(&moved, "k1"), "another state");
    assert_ne!(round_key("a"), round_key("b"));
    assert_ne!(event_id("k", "user:a", "x"), event_id("k", "user:ax", ""));
}

fn groups(items: &[Value], names: &mut BTreeMap<String, String>, first: bool) -> Mapped {
    let mut out = Mapped::default();
    for i in items {
        map::group(i, &round("k"), names, first, &mut out);
    }
    out
}

#[test]
fn member_deltas_of_a_group_spread_over_items_are_all_mapped() {
    let mut names = BTreeMap::new();
    let items = [
        json!({"id": "g1", "displayName": "Marketing", "members@delta": [
            {"@odata.type": "#microsoft.graph.user", "id": "u1"},
            {"@odata.type": "#microsoft.graph.group", "id": "g9"}]}),
        json!({"id": "g1", "members@delta": [
            {"@odata.type": "#microsoft.graph.user", "id": "u2", "@removed": {"reason": "deleted"}}]}),
    ];
    let m = groups(&items, &mut names, true);
    let ev = events(&m);
    assert_eq!(ev.len(), 2, "the nested group is not a user: {ev:?}");
    assert_eq!(ev[0].event_type, EventType::GroupMemberAdded);
    assert_eq!(ev[0].groups.as_deref(), Some(&["Marketing".to_owned()][..]));
    assert_eq!(
        ev[0].user.as_ref().and_then(|u| u.id.as_deref()),
        Some("u1")
    );
    assert_eq!(ev[1].event_type, EventType::GroupMemberRemoved);
    assert_eq!(ev[1].groups.as_deref(), Some(&["Marketing".to_owned()][..]));
    assert!(!m.directory_due && m.unmappable == 0);
    assert_eq!(names.get("g1").map(String::as_str), Some("Marketing"));
}

#[test]
fn group_names_come_from_the_cursor_and_unknown_ones_are_skipped() {
    let mut names = BTreeMap::from([("g1".to_owned(), "Marketing".to_owned())]);
    let items = [
        json!({"id": "g1", "members@delta": [{"@odata.type": "#microsoft.graph.user", "id": "u1"}]}),
        json!({"id": "g2", "members@delta": [{"@odata.type": "#microsoft.graph.user", "id": "u1"}]}),
        json!({"id": "g3", "displayName": "Sales", "members@delta": []}),
    ];
    let m = groups(&items, &mut names, false);
    let ev = events(&m);
    assert_eq!(ev.len(), 2, "{ev:?}");
    assert_eq!(ev[0].event_type, EventType::GroupMemberAdded);
    assert_eq!(
        ev[1].event_type,
        EventType::GroupCreated,
        "a group new after the first round"
    );
    assert_eq!(ev[1].groups.as_deref(), Some(&["Sales".to_owned()][..]));
    assert_eq!(m.unmappable, 1, "g2 has no known name");
    assert_eq!(m.items.len(), 3);

    // In the first round every group is listed: none is "created".
    let mut fresh = BTreeMap::new();
    let m = groups(&items[2..], &mut fresh, true);
    assert!(events(&m).is_empty());
}

#[test]
fn a_deleted_or_renamed_group_asks_for_a_directory_pass() {
    let mut names = BTreeMap::from([("g1".to_owned(), "Marketing".to_owned())]);
    let m = groups(
        &[json!({"id": "g1", "@removed": {"reason": "changed"}})],
        &mut names,
        false,
    );
    assert!(m.directory_due && m.items.is_empty());
    assert!(names.is_empty());
    let mut names = BTreeMap::from([("g1".to_owned(), "Marketing".to_owned())]);
    let m = groups(
        &[json!({"id": "g1", "displayName": "Growth"})],
        &mut names,
        false,
    );
    assert!(m.directory_due);
    let m = groups(
        &[json!({"id": "g1", "displayName": "Growth"})],
        &mut names,
        false,
    );
    assert!(!m.directory_due, "the same name again");
}

#[test]
fn the_cursor_document_round_trips_and_refuses_what_it_did_not_write() {
    let mut c = Cursor::epoch("e1".into());
    assert!(c.first_round());
    c.users = Some("https://graph.microsoft.com/v1.0/users/delta?$deltatoken=a".into());
    c.groups = Some("https://graph.microsoft.com/v1.0/groups/delta?$deltatoken=b".into());
    c.names.insert("g1".into(), "Marketing".into());
    let text = c.to_text();
    assert_eq!(Cursor::parse(&text), Some(c.clone()));
    assert!(!c.first_round());
    assert_eq!(Cursor::parse("event_123"), None);
    assert_eq!(Cursor::parse(r#"{"v":2}"#), None);
}

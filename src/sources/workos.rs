//! The `workos` format: WorkOS Directory Sync events, one per request.
//!
//! Envelope `{id, object: "event", event, data, created_at, context}`; the dedup id is the
//! envelope `id` and `occurred_at` its `created_at` (read leniently: the docs also show
//! `2023-04-28 20:05:31.093`, taken as UTC). A directory user in any state but `active` is
//! offboarded, whatever the event says: older WorkOS environments report a suspended or
//! deprovisioned user as `dsync.user.updated` with `state: "inactive"`. Group deletions and
//! renames are acknowledged but ignored: the service never deletes or renames Domo groups.

use std::collections::BTreeMap;

use serde_json::Value;

use super::json::{
    Object, bare_user, child, finish, full_name, object, opt_child, req_text, req_time, scalar,
    text,
};
use super::{AdapterError, Parsed};
use crate::event::{CanonicalEvent, EventType, EventUser};

/// Where the data of a mapped event lives, for error messages.
const DATA: &str = "data";

/// Parses one WorkOS event.
pub(super) fn parse(value: &Value) -> Result<Parsed, AdapterError> {
    let root = object(value, "body")?;
    let id = req_text(root, "id", "body")?;
    let kind = req_text(root, "event", "body")?;
    let ignored = || Parsed::Ignored {
        id: id.to_owned(),
        kind: kind.to_owned(),
    };
    if !matches!(
        kind,
        "dsync.user.created"
            | "dsync.user.updated"
            | "dsync.user.deleted"
            | "dsync.group.created"
            | "dsync.group.user_added"
            | "dsync.group.user_removed"
    ) {
        return Ok(ignored());
    }
    let occurred_at = req_time(root, "created_at", "body")?;
    let data = child(root, "data", "body")?;
    let new = |event_type, user, groups| CanonicalEvent {
        id: id.to_owned(),
        event_type,
        occurred_at,
        user,
        groups,
    };
    let event = match kind {
        "dsync.user.created" | "dsync.user.updated" => {
            let event_type = match (kind, is_active(data)) {
                (_, false) => EventType::UserOffboarded,
                ("dsync.user.created", true) => EventType::UserOnboarded,
                _ => EventType::UserUpdated,
            };
            // WorkOS user events do not carry the user's groups: "not stated".
            new(event_type, Some(snapshot_user(data)), None)
        }
        "dsync.user.deleted" => new(EventType::UserOffboarded, Some(snapshot_user(data)), None),
        "dsync.group.created" => {
            let name = req_text(data, "name", DATA)?;
            new(EventType::GroupCreated, None, Some(vec![name.to_owned()]))
        }
        _ => {
            let user = child(data, "user", DATA)?;
            let group = child(data, "group", DATA)?;
            let name = req_text(group, "name", "data.group")?;
            let event_type = if kind == "dsync.group.user_added" {
                EventType::GroupMemberAdded
            } else {
                EventType::GroupMemberRemoved
            };
            let who = bare_user(email(user), owned(text(user, "id")), name_of(user));
            return finish(
                new(event_type, Some(who), Some(vec![name.to_owned()])),
                "data.user",
                "email",
            );
        }
    };
    finish(event, DATA, "email")
}

/// `state` absent counts as active: only an explicit other state offboards.
fn is_active(user: &Object) -> bool {
    text(user, "state").is_none_or(|s| s.eq_ignore_ascii_case("active"))
}

/// A directory user as a snapshot: email, id, name and attributes.
fn snapshot_user(user: &Object) -> EventUser {
    EventUser {
        email: email(user),
        id: owned(text(user, "id")),
        name: name_of(user),
        attributes: attributes(user),
    }
}

/// `email`, else the primary of `emails[]`, else the first of them.
fn email(user: &Object) -> Option<String> {
    if let Some(email) = text(user, "email") {
        return Some(email.to_owned());
    }
    let emails = user.get("emails").and_then(Value::as_array)?;
    let entries: Vec<&Object> = emails.iter().filter_map(Value::as_object).collect();
    let primary = entries
        .iter()
        .find(|e| e.get("primary") == Some(&Value::Bool(true)));
    primary
        .into_iter()
        .chain(entries.iter())
        .find_map(|e| text(e, "value"))
        .map(str::to_owned)
}

/// First and last name, else WorkOS's own `name`.
fn name_of(user: &Object) -> Option<String> {
    full_name(text(user, "first_name"), text(user, "last_name"))
        .or_else(|| owned(text(user, "name")))
}

/// `custom_attributes` as flat strings, plus `job_title` and `username` where the custom
/// attributes do not already set them (the admin's mapping wins).
///
/// A nested object becomes the attribute itself when it has a `value` or `name` (e.g.
/// `department: {"name": "Sales"}` → `department = Sales`), and each of its scalar fields
/// becomes a dotted attribute (`manager.email`). Arrays and deeper levels are left out.
fn attributes(user: &Object) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (key, value) in opt_child(user, "custom_attributes").into_iter().flatten() {
        match value {
            Value::Object(inner) => {
                let main = ["value", "name"]
                    .iter()
                    .find_map(|k| inner.get(*k).and_then(scalar));
                if let Some(main) = main {
                    out.insert(key.clone(), main);
                }
                for (sub, v) in inner {
                    if let Some(v) = scalar(v) {
                        out.insert(format!("{key}.{sub}"), v);
                    }
                }
            }
            other => {
                if let Some(v) = scalar(other) {
                    out.insert(key.clone(), v);
                }
            }
        }
    }
    for key in ["job_title", "username"] {
        if let Some(v) = text(user, key) {
            out.entry(key.to_owned()).or_insert_with(|| v.to_owned());
        }
    }
    out
}

fn owned(s: Option<&str>) -> Option<String> {
    s.map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;
    use serde_json::{Value, json};

    use crate::config::Format;
    use crate::event::EventType;
    use crate::sources::tests::{only_event, payload, run, time};
    use crate::sources::{AdapterError, Parsed};

    fn workos(body: &Value) -> Result<Vec<Parsed>, AdapterError> {
        run(Format::Workos, &HeaderMap::new(), body)
    }

    /// The SDK's `dsync.user.created` fixture, re-labelled and edited.
    fn user_event(kind: &str, edit: impl FnOnce(&mut Value)) -> Value {
        let mut body = payload("workos-dsync.user.created.sdk-fixture.json");
        body["event"] = json!(kind);
        edit(&mut body["data"]);
        body
    }

    #[test]
    fn user_created_fixture_is_an_onboarding_without_groups() {
        let items = workos(&payload("workos-dsync.user.created.sdk-fixture.json")).expect("maps");
        let ev = only_event(&items);
        assert_eq!(
            ev.id, "event_01EHZNVPK3SFK441A1RGBFSHRT",
            "dedup id is the envelope id"
        );
        assert_eq!(ev.event_type, EventType::UserOnboarded);
        assert_eq!(ev.occurred_at, time("2026-01-15T12:00:00Z"));
        assert_eq!(ev.groups, None, "WorkOS user events do not state groups");
        let user = ev.user.as_ref().expect("user");
        assert_eq!(user.email.as_deref(), Some("marcelina.davis@example.com"));
        assert_eq!(
            user.id.as_deref(),
            Some("directory_user_01E1JG7J09H96KYP8HM9B0G5SJ")
        );
        assert_eq!(user.name.as_deref(), Some("Marcelina Davis"));
        let attrs: Vec<(&str, &str)> = user
            .attributes
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            attrs,
            [
                ("department", "Engineering"),
                ("job_title", "Software Engineer"),
                ("username", "mdavis")
            ]
        );
    }

    #[test]
    fn group_fixtures_map_to_group_created_and_member_added() {
        let items = workos(&payload("workos-dsync.group.created.sdk-fixture.json")).expect("maps");
        let ev = only_event(&items);
        assert_eq!(ev.event_type, EventType::GroupCreated);
        assert_eq!(ev.groups, Some(vec!["Developers".to_owned()]));
        assert_eq!(ev.user, None);

        let items =
            workos(&payload("workos-dsync.group.user_added.sdk-fixture.json")).expect("maps");
        let ev = only_event(&items);
        assert_eq!(ev.event_type, EventType::GroupMemberAdded);
        assert_eq!(ev.groups, Some(vec!["Developers".to_owned()]));
        let user = ev.user.as_ref().expect("user");
        assert_eq!(user.email.as_deref(), Some("marcelina.davis@example.com"));
        assert!(user.attributes.is_empty(), "deltas carry no attributes");
    }

    #[test]
    fn member_removed_uses_the_group_name() {
        let mut body = payload("workos-dsync.group.user_added.sdk-fixture.json");
        body["event"] = json!("dsync.group.user_removed");
        body["data"]["group"]["name"] = json!("Alumni");
        let ev = workos(&body).expect("maps").remove(0);
        let Parsed::Event(ev) = ev else {
            panic!("an event")
        };
        assert_eq!(ev.event_type, EventType::GroupMemberRemoved);
        assert_eq!(ev.groups, Some(vec!["Alumni".to_owned()]));
    }

    #[test]
    fn an_inactive_user_is_offboarded_and_dates_without_zone_are_utc() {
        let body = user_event("dsync.user.updated", |data| {
            data["state"] = json!("inactive")
        });
        let mut body = body;
        body["created_at"] = json!("2023-04-28 20:05:31.093");
        let items = workos(&body).expect("maps");
        let ev = only_event(&items);
        assert_eq!(ev.event_type, EventType::UserOffboarded);
        assert_eq!(ev.occurred_at, time("2023-04-28T20:05:31.093Z"));

        let created_suspended =
            user_event("dsync.user.created", |d| d["state"] = json!("suspended"));
        let items = workos(&created_suspended).expect("maps");
        assert_eq!(only_event(&items).event_type, EventType::UserOffboarded);

        let active = user_event("dsync.user.updated", |_| {});
        assert_eq!(
            only_event(&workos(&active).expect("maps")).event_type,
            EventType::UserUpdated
        );
        let deleted = user_event("dsync.user.deleted", |_| {});
        assert_eq!(
            only_event(&workos(&deleted).expect("maps")).event_type,
            EventType::UserOffboarded
        );
    }

    #[test]
    fn email_falls_back_to_the_primary_then_the_first_of_emails() {
        let body = user_event("dsync.user.created", |data| {
            data.as_object_mut().expect("object").remove("email");
            data["emails"] = json!([
                {"primary": false, "value": "old@example.com"},
                {"primary": true, "value": "main@example.com"}
            ]);
        });
        let items = workos(&body).expect("maps");
        let user = only_event(&items).user.as_ref().expect("user");
        assert_eq!(user.email.as_deref(), Some("main@example.com"));

        let body = user_event("dsync.user.created", |data| {
            data.as_object_mut().expect("object").remove("email");
            data["emails"] =
                json!([{"value": "first@example.com"}, {"value": "second@example.com"}]);
        });
        let items = workos(&body).expect("maps");
        let user = only_event(&items).user.as_ref().expect("user");
        assert_eq!(user.email.as_deref(), Some("first@example.com"));
    }

    #[test]
    fn nested_custom_attributes_are_flattened() {
        let body = user_event("dsync.user.updated", |data| {
            data["custom_attributes"] = json!({
                "department": {"name": "Sales", "id": 7},
                "manager": {"email": "boss@example.com"},
                "cost_center": 4200,
                "addresses": [{"city": "Oslo"}],
                "job_title": "Seller"
            });
        });
        let items = workos(&body).expect("maps");
        let attrs = &only_event(&items).user.as_ref().expect("user").attributes;
        assert_eq!(attrs.get("department").map(String::as_str), Some("Sales"));
        assert_eq!(attrs.get("department.id").map(String::as_str), Some("7"));
        assert_eq!(
            attrs.get("manager.email").map(String::as_str),
            Some("boss@example.com")
        );
        assert_eq!(attrs.get("cost_center").map(String::as_str), Some("4200"));
        assert_eq!(
            attrs.get("job_title").map(String::as_str),
            Some("Seller"),
            "custom wins"
        );
        assert!(!attrs.keys().any(|k| k.starts_with("addresses")));
    }

    #[test]
    fn uninteresting_events_are_ignored_with_their_kind() {
        for kind in [
            "dsync.group.deleted",
            "dsync.group.updated",
            "dsync.activated",
            "connection.activated",
        ] {
            let mut body = payload("workos-dsync.group.created.sdk-fixture.json");
            body["event"] = json!(kind);
            let items = workos(&body).expect("acknowledged");
            assert_eq!(
                items,
                [Parsed::Ignored {
                    id: "event_01EHZNVPK3SFK441A1RGBFSHRT".into(),
                    kind: kind.into()
                }]
            );
        }
    }

    #[test]
    fn unmappable_events_are_errors_naming_the_field() {
        let no_email = user_event("dsync.user.created", |data| {
            let data = data.as_object_mut().expect("object");
            data.remove("email");
            data.remove("emails");
        });
        assert_eq!(
            workos(&no_email).expect_err("no email").to_string(),
            "data: missing `email`"
        );

        let mut no_id = payload("workos-dsync.user.created.sdk-fixture.json");
        no_id.as_object_mut().expect("object").remove("id");
        assert_eq!(
            workos(&no_id).expect_err("no id").to_string(),
            "body: missing `id`"
        );

        let mut bad_time = payload("workos-dsync.user.created.sdk-fixture.json");
        bad_time["created_at"] = json!("last tuesday");
        assert_eq!(
            workos(&bad_time).expect_err("bad time").to_string(),
            r#"body: `created_at` is not a time: "last tuesday""#
        );

        let mut no_group = payload("workos-dsync.group.user_added.sdk-fixture.json");
        no_group["data"]["group"]["name"] = json!("");
        assert_eq!(
            workos(&no_group).expect_err("no name").to_string(),
            "data.group: missing `name`"
        );

        let mut bad_email = payload("workos-dsync.user.created.sdk-fixture.json");
        bad_email["data"]["email"] = json!("not-an-email");
        let err = workos(&bad_email).expect_err("bad email");
        assert!(matches!(err, AdapterError::Rejected { .. }), "{err}");
    }

    #[test]
    fn a_deleted_user_without_email_is_offboarded_by_id() {
        let body = user_event("dsync.user.deleted", |data| {
            let data = data.as_object_mut().expect("object");
            data.remove("email");
            data.remove("emails");
        });
        let items = workos(&body).expect("maps");
        let user = only_event(&items).user.as_ref().expect("user");
        assert_eq!(user.email, None);
        assert_eq!(
            user.id.as_deref(),
            Some("directory_user_01E1JG7J09H96KYP8HM9B0G5SJ")
        );
    }
}

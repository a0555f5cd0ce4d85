//! The `clerk` format: Clerk events delivered by Svix, one per request.
//!
//! Envelope `{type, data, object: "event", timestamp (ms), instance_id}`. Clerk's body has no
//! event id: the dedup id is Svix's message id, the `svix-id` header (or `webhook-id` when
//! white-labelled; `svix-id` wins when both are sent), which stays the same on every retry.
//! `user.deleted` carries only `{deleted, id, object}`, so it offboards by Clerk user id alone.
//! Organisations are Clerk's groups: a membership's group is the organisation's `name`.

use std::collections::BTreeMap;

use axum::http::HeaderMap;
use serde_json::Value;

use super::json::{
    Object, bare_user, child, email_like, finish, full_name, ignored, object, opt_child,
    req_millis, req_text, text,
};
use super::{AdapterError, Parsed};
use crate::event::{CanonicalEvent, EventType, EventUser};

/// The headers that may carry the dedup id, in order of preference.
const ID_HEADERS: [&str; 2] = ["svix-id", "webhook-id"];

/// Parses one Clerk event.
pub(super) fn parse(headers: &HeaderMap, value: &Value) -> Result<Parsed, AdapterError> {
    let id = ID_HEADERS
        .iter()
        .find_map(|name| {
            headers
                .get(*name)?
                .to_str()
                .ok()
                .map(str::trim)
                .filter(|v| !v.is_empty())
        })
        .ok_or(AdapterError::MissingHeader("`svix-id` (or `webhook-id`)"))?;
    let root = object(value, "body")?;
    let kind = req_text(root, "type", "body")?;
    let event_type = match kind {
        "user.created" => EventType::UserOnboarded,
        "user.updated" => EventType::UserUpdated,
        "user.deleted" => EventType::UserOffboarded,
        "organizationMembership.created" => EventType::GroupMemberAdded,
        "organizationMembership.deleted" => EventType::GroupMemberRemoved,
        _ => return ignored(id, kind, "body"),
    };
    let occurred_at = req_millis(root, "timestamp", "body")?;
    let data = child(root, "data", "body")?;
    let (user, groups, email_field) = match event_type {
        EventType::UserOnboarded | EventType::UserUpdated => {
            // Clerk users have no group list: "not stated".
            (user(data), None, "email_addresses[].email_address")
        }
        EventType::UserOffboarded => {
            let user_id = req_text(data, "id", "data")?;
            (bare_user(None, Some(user_id.to_owned()), None), None, "id")
        }
        _ => {
            let org = child(data, "organization", "data")?;
            let group = req_text(org, "name", "data.organization")?;
            let member = opt_child(data, "public_user_data");
            let field = |key| member.and_then(|m| text(m, key));
            // `identifier` is the member's email, or a user name or phone when they have none.
            let who = bare_user(
                email_like(field("identifier")),
                field("user_id").map(str::to_owned),
                full_name(field("first_name"), field("last_name")),
            );
            (
                who,
                Some(vec![group.to_owned()]),
                "public_user_data.identifier",
            )
        }
    };
    let mapped = CanonicalEvent {
        id: id.to_owned(),
        event_type,
        occurred_at,
        user: Some(user),
        groups,
    };
    finish(mapped, "data", email_field)
}

/// A Clerk User object as a snapshot.
fn user(data: &Object) -> EventUser {
    EventUser {
        email: primary_email(data),
        id: text(data, "id").map(str::to_owned),
        name: full_name(text(data, "first_name"), text(data, "last_name")),
        attributes: public_metadata(data),
    }
}

/// The `email_addresses[]` entry whose `id` is `primary_email_address_id`, else the first.
fn primary_email(data: &Object) -> Option<String> {
    let entries: Vec<&Object> = data
        .get("email_addresses")
        .and_then(Value::as_array)?
        .iter()
        .filter_map(Value::as_object)
        .collect();
    let primary_id = text(data, "primary_email_address_id");
    let primary = entries
        .iter()
        .find(|e| primary_id.is_some() && text(e, "id") == primary_id);
    primary
        .into_iter()
        .chain(entries.iter())
        .find_map(|e| text(e, "email_address"))
        .map(str::to_owned)
}

/// The string values of `public_metadata` (the metadata users cannot edit themselves).
fn public_metadata(data: &Object) -> BTreeMap<String, String> {
    opt_child(data, "public_metadata")
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| {
            let v = v.as_str()?.trim();
            (!v.is_empty()).then(|| (k.clone(), v.to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;
    use serde_json::{Value, json};

    use crate::config::Format;
    use crate::event::EventType;
    use crate::sources::tests::{only_event, payload, run, time};
    use crate::sources::{AdapterError, Parsed};

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, value.parse().expect("header value"));
        }
        headers
    }

    fn clerk(body: &Value) -> Result<Vec<Parsed>, AdapterError> {
        run(Format::Clerk, &headers(&[("svix-id", "msg_2pR1")]), body)
    }

    fn membership(kind: &str) -> Value {
        json!({
            "data": {
                "created_at": 1654012591514_i64,
                "id": "orgmem_29w9UXVxWVfJfPn16AtVPcsnSK5",
                "object": "organization_membership",
                "organization": {"id": "org_29w9IfBrPmcpi0IeBVaDhB1Jyoc", "name": "Acme Analytics", "slug": "acme"},
                "public_user_data": {
                    "first_name": "Example", "last_name": "Example",
                    "identifier": "example@example.org", "user_id": "user_29w83sxmDNGwOuEthce5gg56FcC"
                },
                "role": "org:member"
            },
            "object": "event",
            "timestamp": 1654012591835_i64,
            "type": kind
        })
    }

    #[test]
    fn the_docs_user_created_is_an_onboarding_keyed_by_svix_id() {
        let items = clerk(&payload("clerk-user.created.docs.json")).expect("maps");
        let ev = only_event(&items);
        assert_eq!(ev.id, "msg_2pR1", "dedup id is the svix-id header");
        assert_eq!(ev.event_type, EventType::UserOnboarded);
        assert_eq!(ev.occurred_at, time("2022-05-31T15:56:31.835Z"));
        assert_eq!(ev.groups, None);
        let user = ev.user.as_ref().expect("a user");
        assert_eq!(user.email.as_deref(), Some("example@example.org"));
        assert_eq!(user.id.as_deref(), Some("user_29w83sxmDNGwOuEthce5gg56FcC"));
        assert_eq!(user.name.as_deref(), Some("Example Example"));
        assert!(user.attributes.is_empty());
    }

    #[test]
    fn the_primary_email_and_public_metadata_strings_are_used() {
        let mut body = payload("clerk-user.created.docs.json");
        body["type"] = json!("user.updated");
        body["data"]["email_addresses"] = json!([
            {"id": "idn_other", "email_address": "private@example.net"},
            {"id": "idn_29w83yL7CwVlJXylYLxcslromF1", "email_address": "work@example.org"}
        ]);
        body["data"]["public_metadata"] =
            json!({"department": "Sales", "level": 3, "team": {"x": 1}});
        let items = clerk(&body).expect("maps");
        let ev = only_event(&items);
        assert_eq!(ev.event_type, EventType::UserUpdated);
        let user = ev.user.as_ref().expect("a user");
        assert_eq!(user.email.as_deref(), Some("work@example.org"));
        let attrs: Vec<(&str, &str)> = user
            .attributes
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(attrs, [("department", "Sales")]);

        body["data"]["primary_email_address_id"] = Value::Null;
        let items = clerk(&body).expect("maps");
        let user = only_event(&items).user.as_ref().expect("a user");
        assert_eq!(
            user.email.as_deref(),
            Some("private@example.net"),
            "else the first"
        );
    }

    #[test]
    fn user_deleted_offboards_by_clerk_id_alone() {
        let body = json!({
            "data": {"deleted": true, "id": "user_29w83sxmDNGwOuEthce5gg56FcC", "object": "user"},
            "object": "event", "timestamp": 1661861640000_i64, "type": "user.deleted"
        });
        let items = clerk(&body).expect("maps");
        let ev = only_event(&items);
        assert_eq!(ev.event_type, EventType::UserOffboarded);
        let user = ev.user.as_ref().expect("a user");
        assert_eq!(user.email, None);
        assert_eq!(user.id.as_deref(), Some("user_29w83sxmDNGwOuEthce5gg56FcC"));
    }

    #[test]
    fn organization_memberships_are_group_deltas() {
        for (kind, want) in [
            (
                "organizationMembership.created",
                EventType::GroupMemberAdded,
            ),
            (
                "organizationMembership.deleted",
                EventType::GroupMemberRemoved,
            ),
        ] {
            let items = clerk(&membership(kind)).expect(kind);
            let ev = only_event(&items);
            assert_eq!(ev.event_type, want);
            assert_eq!(ev.groups, Some(vec!["Acme Analytics".to_owned()]));
            let user = ev.user.as_ref().expect("a user");
            assert_eq!(user.email.as_deref(), Some("example@example.org"));
            assert_eq!(user.id.as_deref(), Some("user_29w83sxmDNGwOuEthce5gg56FcC"));
        }
        let mut by_phone = membership("organizationMembership.deleted");
        by_phone["data"]["public_user_data"]["identifier"] = json!("+15555550100");
        let items = clerk(&by_phone).expect("maps");
        let user = only_event(&items).user.as_ref().expect("a user");
        assert_eq!(user.email, None, "a phone identifier is not an email");
        assert_eq!(user.id.as_deref(), Some("user_29w83sxmDNGwOuEthce5gg56FcC"));
    }

    #[test]
    fn the_dedup_id_comes_from_svix_id_then_webhook_id() {
        let body = membership("organizationMembership.updated");
        let both = headers(&[("webhook-id", "msg_w"), ("svix-id", "msg_s")]);
        let items = run(Format::Clerk, &both, &body).expect("acknowledged");
        assert_eq!(
            items,
            [Parsed::Ignored {
                id: "msg_s".into(),
                kind: "organizationMembership.updated".into()
            }]
        );
        let only_webhook = headers(&[("webhook-id", "msg_w")]);
        let items = run(Format::Clerk, &only_webhook, &body).expect("acknowledged");
        assert_eq!(items[0].id(), "msg_w");
        let err = run(Format::Clerk, &HeaderMap::new(), &body).expect_err("no id");
        assert_eq!(
            err.to_string(),
            "missing header `svix-id` (or `webhook-id`)"
        );
    }

    #[test]
    fn other_types_are_ignored() {
        for kind in ["session.created", "organization.created", "email.created"] {
            let mut body = membership(kind);
            body["data"] = json!({});
            let items = clerk(&body).expect(kind);
            assert_eq!(
                items,
                [Parsed::Ignored {
                    id: "msg_2pR1".into(),
                    kind: kind.into()
                }]
            );
        }
    }

    #[test]
    fn unmappable_events_are_errors_naming_the_field() {
        let mut no_email = payload("clerk-user.created.docs.json");
        no_email["data"]["email_addresses"] = json!([]);
        let err = clerk(&no_email).expect_err("no email");
        assert_eq!(
            err.to_string(),
            "data: missing `email_addresses[].email_address`"
        );

        let mut no_org = membership("organizationMembership.created");
        no_org["data"]["organization"]["name"] = Value::Null;
        assert_eq!(
            clerk(&no_org).expect_err("no org").to_string(),
            "data.organization: missing `name`"
        );

        let mut nobody = membership("organizationMembership.created");
        nobody["data"]["public_user_data"] = json!({});
        let err = clerk(&nobody).expect_err("no user");
        assert!(matches!(err, AdapterError::Rejected { .. }), "{err}");

        let mut no_time = payload("clerk-user.created.docs.json");
        no_time["timestamp"] = json!("noon");
        let err = clerk(&no_time).expect_err("bad timestamp");
        assert_eq!(
            err.to_string(),
            r#"body: `timestamp` is not a time in milliseconds: "noon""#
        );

        let deleted = json!({"data": {"deleted": true}, "timestamp": 1, "type": "user.deleted"});
        assert_eq!(
            clerk(&deleted).expect_err("no id").to_string(),
            "data: missing `id`"
        );
    }
}

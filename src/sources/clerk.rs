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
    Object, bare_user, child, email_like, finish, full_name, object, opt_child, req_millis,
    req_text, text,
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
        _ => {
            return Ok(Parsed::Ignored {
                id: id.to_owned(),
                kind: kind.to_owned(),
            });
        }
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

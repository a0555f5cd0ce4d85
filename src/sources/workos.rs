//! The `workos` format: WorkOS Directory Sync events, one per request.
//!
//! Envelope `{id, object: "event", event, data, created_at, context}`; the dedup id is the
//! envelope `id` and `occurred_at` its `created_at` (read leniently: the docs also show
//! `2023-04-28 20:05:31.093`, taken as UTC). A directory user in any state but `active` is
//! offboarded, whatever the event says: older WorkOS environments report a suspended or
//! deprovisioned user as `dsync.user.updated` with `state: "inactive"`. Group deletions and
//! renames are acknowledged but ignored: the service never deletes or renames Domo groups.
//!
//! The Events API pull (`crate::pull::workos`) maps every event it reads through [`map_event`]
//! too: WorkOS says the event ids of webhook bodies are those of the Events API, and an Events
//! API element is the same object as a webhook body, so a pulled copy and a pushed one become
//! the same canonical event under the same dedup id. Its directory pass reads users through
//! [`user_email`], [`user_name`] and [`user_is_active`], the rules the events follow.

use std::collections::BTreeMap;

use serde_json::Value;

use super::json::{
    Object, bare_user, child, finish, full_name, ignored, object, opt_child, req_text, req_time,
    scalar, text,
};
use super::{AdapterError, Parsed};
use crate::event::{CanonicalEvent, EventType, EventUser};

/// What a mapped WorkOS event type becomes.
enum Mapping {
    /// `dsync.user.created` / `updated`: a snapshot, or an offboarding if not active.
    User { created: bool },
    /// `dsync.user.deleted`.
    UserDeleted,
    /// `dsync.group.created`.
    GroupCreated,
    /// `dsync.group.user_added` / `user_removed`.
    Member(EventType),
}

/// The WorkOS event types this adapter maps; the Events API pull asks for these only.
pub const MAPPED_TYPES: [&str; 6] = [
    "dsync.user.created",
    "dsync.user.updated",
    "dsync.user.deleted",
    "dsync.group.created",
    "dsync.group.user_added",
    "dsync.group.user_removed",
];

fn mapping_of(kind: &str) -> Option<Mapping> {
    Some(match kind {
        "dsync.user.created" => Mapping::User { created: true },
        "dsync.user.updated" => Mapping::User { created: false },
        "dsync.user.deleted" => Mapping::UserDeleted,
        "dsync.group.created" => Mapping::GroupCreated,
        "dsync.group.user_added" => Mapping::Member(EventType::GroupMemberAdded),
        "dsync.group.user_removed" => Mapping::Member(EventType::GroupMemberRemoved),
        _ => return None,
    })
}

/// Parses one WorkOS event (a webhook body).
pub(super) fn parse(value: &Value) -> Result<Parsed, AdapterError> {
    map_event(value)
}

/// Maps one WorkOS event, a webhook body or an element of `GET /events`' `data` (the same
/// object): the dedup id is the event `id` either way.
pub fn map_event(value: &Value) -> Result<Parsed, AdapterError> {
    let root = object(value, "body")?;
    let id = req_text(root, "id", "body")?;
    let kind = req_text(root, "event", "body")?;
    let Some(mapping) = mapping_of(kind) else {
        return ignored(id, kind, "body");
    };
    let occurred_at = req_time(root, "created_at", "body")?;
    let data = child(root, "data", "body")?;
    // WorkOS user events do not carry the user's groups: `None` is "not stated".
    let (event_type, user, groups, at) = match mapping {
        Mapping::User { created } => {
            let event_type = match (created, is_active(data)) {
                (_, false) => EventType::UserOffboarded,
                (true, true) => EventType::UserOnboarded,
                (false, true) => EventType::UserUpdated,
            };
            (event_type, Some(snapshot_user(data)), None, "data")
        }
        Mapping::UserDeleted => (
            EventType::UserOffboarded,
            Some(snapshot_user(data)),
            None,
            "data",
        ),
        Mapping::GroupCreated => {
            let name = req_text(data, "name", "data")?;
            (
                EventType::GroupCreated,
                None,
                Some(vec![name.to_owned()]),
                "data",
            )
        }
        Mapping::Member(event_type) => {
            let user = child(data, "user", "data")?;
            let group = child(data, "group", "data")?;
            let name = req_text(group, "name", "data.group")?;
            // Deltas name the user only: attributes belong to snapshots.
            let who = bare_user(email(user), owned(text(user, "id")), name_of(user));
            (
                event_type,
                Some(who),
                Some(vec![name.to_owned()]),
                "data.user",
            )
        }
    };
    let event = CanonicalEvent {
        id: id.to_owned(),
        event_type,
        occurred_at,
        user,
        groups,
    };
    finish(event, at, "email")
}

/// `state` absent counts as active: only an explicit other state offboards.
fn is_active(user: &Object) -> bool {
    text(user, "state").is_none_or(|s| s.eq_ignore_ascii_case("active"))
}

/// The item recorded for a WorkOS event that cannot be mapped (the pull keeps reading past
/// it): ignored, under its `id` and `event`; `None` without a usable `id`.
pub fn unmappable(value: &Value) -> Option<Parsed> {
    let event = value.as_object()?;
    let id = text(event, "id")?;
    let kind = text(event, "event").unwrap_or("unknown");
    ignored(id, kind, "event").ok()
}

/// A Directory Sync user's email, as the events name it: `email`, else the primary of
/// `emails[]`, else the first of them.
pub fn user_email(user: &Value) -> Option<String> {
    user.as_object().and_then(email)
}

/// A Directory Sync user's display name, as the events name it.
pub fn user_name(user: &Value) -> Option<String> {
    user.as_object().and_then(name_of)
}

/// Whether a Directory Sync user is active, as the events decide it: any `state` but
/// `active` (`inactive`, `suspended`) is offboarded; no `state` is active.
pub fn user_is_active(user: &Value) -> bool {
    user.as_object().is_none_or(is_active)
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
#[path = "workos_tests.rs"]
mod tests;

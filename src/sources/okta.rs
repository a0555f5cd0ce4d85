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
#[path = "okta_tests.rs"]
mod tests;

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

use serde_json::Value;

use super::json::{
    Object, array, bare_user, child, email_like, finish, missing, object, req_text, req_time, text,
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
        .map(|(i, event)| parse_event(event, &format!("data.events[{i}]")))
        .collect()
}

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

fn parse_event(value: &Value, at: &str) -> Result<Parsed, AdapterError> {
    let event = object(value, at)?;
    let id = req_text(event, "uuid", at)?;
    let kind = req_text(event, "eventType", at)?;
    let ignored = || Parsed::Ignored {
        id: id.to_owned(),
        kind: kind.to_owned(),
    };
    let Some(event_type) = event_type_of(kind) else {
        return Ok(ignored());
    };
    if !succeeded(event) {
        return Ok(ignored());
    }
    let targets = match event.get("target") {
        Some(Value::Null) => return Ok(ignored()),
        None => return Err(missing(at, "target")),
        Some(Value::Array(targets)) => targets,
        Some(_) => {
            return Err(super::json::invalid(
                at,
                "`target` must be an array".to_owned(),
            ));
        }
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

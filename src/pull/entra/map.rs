//! Graph delta items → canonical events. Pure: the round's key and start time, and the group
//! names known, are parameters.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::cursor::event_id;
use crate::event::{CanonicalEvent, EventType, EventUser};
use crate::sources::Parsed;

/// Graph user properties that become attributes, and their names (those the other providers'
/// attributes use where they mean the same).
const ATTRIBUTES: [(&str, &str); 4] = [
    ("department", "department"),
    ("jobTitle", "job_title"),
    ("officeLocation", "location"),
    ("companyName", "company"),
];

/// What a page's items became.
#[derive(Debug, Default)]
pub(super) struct Mapped {
    pub items: Vec<Parsed>,
    /// Items recorded as ignored because they could not be mapped.
    pub unmappable: usize,
    /// A change whose consequences the delta does not list (a group deleted or renamed).
    pub directory_due: bool,
}

/// The round an item belongs to: its key (in every event id) and its start (every event's time).
#[derive(Debug, Clone)]
pub(super) struct RoundOf<'a> {
    pub key: &'a str,
    pub started: DateTime<Utc>,
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// A user's email: `mail`, else the `userPrincipalName` when it is an address (not a guest's
/// `…#EXT#@tenant` name).
pub(super) fn user_email(u: &Value) -> Option<String> {
    let is_address = |s: &&str| {
        s.split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && !d.is_empty() && !d.contains('@'))
            && !s.contains("#EXT#")
    };
    text(u, "mail")
        .filter(is_address)
        .or_else(|| text(u, "userPrincipalName").filter(is_address))
        .map(str::to_owned)
}

/// Whether the user may sign in (`accountEnabled` absent counts as enabled).
pub(super) fn user_enabled(u: &Value) -> bool {
    u.get("accountEnabled").and_then(Value::as_bool) != Some(false)
}

/// An event of the round, its id from its content.
fn event(
    round: &RoundOf<'_>,
    object: &str,
    event_type: EventType,
    user: EventUser,
    groups: Option<Vec<String>>,
) -> Parsed {
    let content = json!({"type": event_type, "user": user, "groups": groups}).to_string();
    let event = CanonicalEvent {
        id: event_id(round.key, object, &content),
        event_type,
        occurred_at: round.started,
        user: Some(user),
        groups,
    };
    match event.validate() {
        Ok(()) => Parsed::Event(event),
        Err(_) => ignored(round, object, "microsoft.graph.user"),
    }
}

fn ignored(round: &RoundOf<'_>, object: &str, kind: &str) -> Parsed {
    Parsed::Ignored {
        id: event_id(round.key, object, kind),
        kind: kind.to_owned(),
    }
}

/// One item of `users/delta`.
pub(super) fn user(item: &Value, round: &RoundOf<'_>, out: &mut Mapped) {
    let Some(id) = text(item, "id") else {
        out.unmappable += 1;
        return;
    };
    let object = format!("user:{id}");
    let by_id = EventUser {
        email: None,
        id: Some(id.to_owned()),
        name: None,
        attributes: BTreeMap::new(),
    };
    if item.get("@removed").is_some() {
        out.items.push(event(
            round,
            &object,
            EventType::UserOffboarded,
            by_id,
            None,
        ));
        return;
    }
    let email = user_email(item);
    if !user_enabled(item) {
        let user = EventUser { email, ..by_id };
        out.items
            .push(event(round, &object, EventType::UserOffboarded, user, None));
        return;
    }
    let Some(email) = email else {
        tracing::warn!(
            user.id = id,
            "an Entra user has neither a mail nor an address as userPrincipalName; ignored"
        );
        out.unmappable += 1;
        out.items
            .push(ignored(round, &object, "microsoft.graph.user"));
        return;
    };
    let attributes = ATTRIBUTES
        .iter()
        .filter_map(|(graph, ours)| text(item, graph).map(|v| ((*ours).to_owned(), v.to_owned())))
        .collect();
    let user = EventUser {
        email: Some(email),
        id: Some(id.to_owned()),
        name: text(item, "displayName").map(str::to_owned),
        attributes,
    };
    let mapped = event(round, &object, EventType::UserUpdated, user, None);
    if matches!(mapped, Parsed::Ignored { .. }) {
        out.unmappable += 1;
    }
    out.items.push(mapped);
}

/// One item of `groups/delta`. `names` (group id → displayName) is updated; `first_round`
/// says whether every group is listed as it is (no `group.created` then: the groups exist).
pub(super) fn group(
    item: &Value,
    round: &RoundOf<'_>,
    names: &mut BTreeMap<String, String>,
    first_round: bool,
    out: &mut Mapped,
) {
    let Some(id) = text(item, "id") else {
        out.unmappable += 1;
        return;
    };
    let object = format!("group:{id}");
    if item.get("@removed").is_some() {
        // Its members are not listed: a directory pass finds who lost the group.
        if let Some(name) = names.remove(id) {
            tracing::info!(group = %name, "an Entra group was deleted; a directory pass follows");
        }
        out.directory_due = true;
        return;
    }
    if let Some(name) = text(item, "displayName") {
        match names.insert(id.to_owned(), name.to_owned()) {
            Some(old) if old != name => out.directory_due = true,
            Some(_) => {}
            None if !first_round => {
                let groups = Some(vec![name.to_owned()]);
                let content =
                    json!({"type": EventType::GroupCreated, "groups": groups}).to_string();
                out.items.push(Parsed::Event(CanonicalEvent {
                    id: event_id(round.key, &object, &content),
                    event_type: EventType::GroupCreated,
                    occurred_at: round.started,
                    user: None,
                    groups,
                }));
            }
            None => {}
        }
    }
    let Some(members) = item.get("members@delta").and_then(Value::as_array) else {
        return;
    };
    let Some(name) = names.get(id).cloned() else {
        tracing::warn!(
            group.id = id,
            "an Entra group item without a displayName, of a group not seen before; its member changes are ignored"
        );
        out.unmappable += 1;
        out.items
            .push(ignored(round, &object, "microsoft.graph.group"));
        return;
    };
    for m in members {
        let kind = m.get("@odata.type").and_then(Value::as_str);
        let (Some(member), true) = (
            text(m, "id"),
            kind.is_none_or(|k| k == "#microsoft.graph.user"),
        ) else {
            // Nested groups, devices, service principals: not users of Domo.
            continue;
        };
        let event_type = if m.get("@removed").is_some() {
            EventType::GroupMemberRemoved
        } else {
            EventType::GroupMemberAdded
        };
        let user = EventUser {
            email: None,
            id: Some(member.to_owned()),
            name: None,
            attributes: BTreeMap::new(),
        };
        let object = format!("group:{id}:member:{member}");
        out.items.push(event(
            round,
            &object,
            event_type,
            user,
            Some(vec![name.clone()]),
        ));
    }
}

//! Which canonical events a SCIM write causes (pure: no store, no clock).
//!
//! A SCIM user maps to the Domo account of its identity email: the primary email, else the
//! `work` one, else the first, else `userName` when it is an email. A user without one is kept
//! and served but changes nothing in Domo until it has one. Per user key:
//! - create, reactivation, or a new identity email → `user.onboarded` (a snapshot: the user's
//!   SCIM groups and rule attributes); an identity email that goes away → `user.offboarded`
//!   for the old one;
//! - a change of the profile of an active user (email spelling, name, rule attributes) →
//!   `user.updated`; other changes (`nickName`, …) → nothing;
//! - `active` → false, or DELETE of an active user → `user.offboarded`; the SCIM memberships
//!   are kept, so a reactivation brings them back (Entra does not re-send them);
//! - a member added to / removed from a group → `group.member_added` / `member_removed` for
//!   active users (an inactive user's groups come back with its reactivation snapshot);
//! - a group renamed → a snapshot of each member (rules match group names);
//! - a group created → `group.created` (its mapped Domo groups are made to exist).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::filter::get_ci;
use super::schema::ENTERPRISE_URN;
use crate::event::{CanonicalEvent, EventType, EventUser, normalize_email};

/// What a SCIM user contributes to its events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserFacts {
    /// The SCIM id (the events' `user.id`).
    pub id: String,
    /// The identity email as sent, when the user has one.
    pub email: Option<String>,
    pub name: Option<String>,
    pub active: bool,
    /// Rule attributes: the enterprise extension's (`manager` = its `value`), `title`, `userType`.
    pub attributes: BTreeMap<String, String>,
}

impl UserFacts {
    /// The facts of a user's stored attributes.
    pub fn of(id: &str, attrs: &Map<String, Value>) -> UserFacts {
        let text = |v: Option<&Value>| {
            v.and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let mut attributes = BTreeMap::new();
        for key in ["title", "userType"] {
            if let Some(v) = text(attrs.get(key)) {
                attributes.insert(key.to_owned(), v);
            }
        }
        if let Some(Value::Object(ext)) = attrs.get(ENTERPRISE_URN) {
            for (k, v) in ext {
                let value = match v {
                    Value::Object(_) => text(get_ci(v, "value")),
                    other => text(Some(other)),
                };
                if let Some(value) = value {
                    attributes.insert(k.clone(), value);
                }
            }
        }
        let name = text(attrs.get("displayName"))
            .or_else(|| text(attrs.get("name").and_then(|n| n.get("formatted"))))
            .or_else(|| {
                let n = attrs.get("name")?;
                let parts: Vec<String> = ["givenName", "familyName"]
                    .iter()
                    .filter_map(|k| text(n.get(*k)))
                    .collect();
                (!parts.is_empty()).then(|| parts.join(" "))
            });
        UserFacts {
            id: id.to_owned(),
            email: identity_email(attrs),
            name,
            active: attrs.get("active") != Some(&Value::Bool(false)),
            attributes,
        }
    }

    /// The lower-cased identity email: the user's key in per-user state and ordering.
    pub fn key(&self) -> Option<String> {
        self.email.as_deref().map(normalize_email)
    }
}

/// The identity email of stored user attributes (see the module docs).
pub fn identity_email(attrs: &Map<String, Value>) -> Option<String> {
    let emails: Vec<&Value> = attrs
        .get("emails")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    fn value(e: &Value) -> Option<&str> {
        e.get("value")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|v| is_email(v))
    }
    let primary = emails
        .iter()
        .filter(|e| e.get("primary") == Some(&Value::Bool(true)))
        .find_map(|e| value(e));
    let work = || {
        emails
            .iter()
            .filter(|e| {
                e.get("type")
                    .and_then(Value::as_str)
                    .is_some_and(|t| t.eq_ignore_ascii_case("work"))
            })
            .find_map(|e| value(e))
    };
    let first = || emails.iter().find_map(|e| value(e));
    let user_name = || {
        attrs
            .get("userName")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|v| is_email(v))
    };
    primary
        .or_else(work)
        .or_else(first)
        .or_else(user_name)
        .map(str::to_owned)
}

/// The same test canonical events pass (`local@domain`, one `@`, at most 320 characters).
fn is_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && s.len() <= 320
                && !s.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

/// An event to stamp and store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Planned {
    /// `user.onboarded` (`fresh`) or `user.updated`: the user's groups and attributes.
    Snapshot {
        facts: UserFacts,
        groups: Vec<String>,
        fresh: bool,
    },
    Offboard {
        facts: UserFacts,
    },
    Member {
        facts: UserFacts,
        group: String,
        added: bool,
    },
    GroupCreated {
        name: String,
    },
}

impl Planned {
    /// The user key the event is stamped under (none for `group.created`).
    pub fn key(&self) -> Option<String> {
        match self {
            Planned::Snapshot { facts, .. }
            | Planned::Offboard { facts }
            | Planned::Member { facts, .. } => facts.key(),
            Planned::GroupCreated { .. } => None,
        }
    }

    /// The canonical event, with its id and time.
    pub fn event(&self, id: String, at: chrono::DateTime<chrono::Utc>) -> CanonicalEvent {
        let user = |f: &UserFacts| EventUser {
            email: f.email.clone(),
            id: Some(f.id.clone()),
            name: f.name.clone(),
            attributes: f.attributes.clone(),
        };
        let (event_type, user, groups) = match self {
            Planned::Snapshot {
                facts,
                groups,
                fresh,
            } => (
                if *fresh {
                    EventType::UserOnboarded
                } else {
                    EventType::UserUpdated
                },
                Some(user(facts)),
                Some(groups.clone()),
            ),
            Planned::Offboard { facts } => (EventType::UserOffboarded, Some(user(facts)), None),
            Planned::Member {
                facts,
                group,
                added,
            } => (
                if *added {
                    EventType::GroupMemberAdded
                } else {
                    EventType::GroupMemberRemoved
                },
                Some(user(facts)),
                Some(vec![group.clone()]),
            ),
            Planned::GroupCreated { name } => {
                (EventType::GroupCreated, None, Some(vec![name.clone()]))
            }
        };
        CanonicalEvent {
            id,
            event_type,
            occurred_at: at,
            user,
            groups,
        }
    }
}

/// The events of a user write: `before` and `after` are the user's facts (`None` when it did
/// not or no longer exists); `groups` are its SCIM groups' names.
pub fn user_write(
    before: Option<&UserFacts>,
    after: Option<&UserFacts>,
    groups: &[String],
) -> Vec<Planned> {
    let old = before.filter(|f| f.key().is_some());
    let new = after.filter(|f| f.key().is_some());
    let snapshot = |f: &UserFacts, fresh| Planned::Snapshot {
        facts: f.clone(),
        groups: groups.to_vec(),
        fresh,
    };
    match (old, new) {
        (Some(o), Some(n)) if o.key() == n.key() => match (o.active, n.active) {
            (true, false) => vec![Planned::Offboard { facts: n.clone() }],
            (false, false) => Vec::new(),
            (false, true) => vec![snapshot(n, true)],
            (true, true) if profile_changed(o, n) => vec![snapshot(n, false)],
            (true, true) => Vec::new(),
        },
        (o, n) => {
            let mut out = Vec::new();
            if let Some(o) = o.filter(|o| o.active) {
                out.push(Planned::Offboard { facts: o.clone() });
            }
            match n {
                Some(n) if n.active => out.push(snapshot(n, true)),
                Some(n) => out.push(Planned::Offboard { facts: n.clone() }),
                None => {}
            }
            out
        }
    }
}

fn profile_changed(a: &UserFacts, b: &UserFacts) -> bool {
    a.email != b.email || a.name != b.name || a.attributes != b.attributes
}

/// The member events of a membership change, for active users with a key.
pub fn member_changes(group: &str, added: &[UserFacts], removed: &[UserFacts]) -> Vec<Planned> {
    let delta = |facts: &UserFacts, added: bool| Planned::Member {
        facts: facts.clone(),
        group: group.to_owned(),
        added,
    };
    added
        .iter()
        .filter(|f| f.active && f.key().is_some())
        .map(|f| delta(f, true))
        .chain(
            removed
                .iter()
                .filter(|f| f.active && f.key().is_some())
                .map(|f| delta(f, false)),
        )
        .collect()
}

#[cfg(test)]
#[path = "events_tests.rs"]
mod tests;

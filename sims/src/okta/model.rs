//! The Okta objects as the simulator keeps them (users, groups) and as the API shows them.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

/// Okta user statuses (reference §1.2).
pub const STATUSES: [&str; 8] = [
    "ACTIVE",
    "DEPROVISIONED",
    "LOCKED_OUT",
    "PASSWORD_EXPIRED",
    "PROVISIONED",
    "RECOVERY",
    "STAGED",
    "SUSPENDED",
];

/// One Okta user.
#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub status: String,
    pub created: DateTime<Utc>,
    pub activated: Option<DateTime<Utc>>,
    pub status_changed: Option<DateTime<Utc>>,
    pub last_updated: DateTime<Utc>,
    /// `profile`: `login`, `email`, `firstName`, `lastName` and any other attributes.
    pub profile: Map<String, Value>,
}

impl User {
    pub fn login(&self) -> &str {
        self.profile
            .get("login")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    pub fn display_name(&self) -> String {
        let part = |k: &str| self.profile.get(k).and_then(Value::as_str).unwrap_or("");
        format!("{} {}", part("firstName"), part("lastName"))
            .trim()
            .to_owned()
    }

    /// The user as `/api/v1/users` shows it.
    pub fn to_json(&self, base: &str) -> Value {
        json!({
            "id": self.id,
            "status": self.status,
            "created": stamp(self.created),
            "activated": self.activated.map(stamp),
            "statusChanged": self.status_changed.map(stamp),
            "lastLogin": null,
            "lastUpdated": stamp(self.last_updated),
            "passwordChanged": null,
            "type": { "id": "oty1simdefaultusertype" },
            "profile": self.profile,
            "credentials": { "provider": { "type": "OKTA", "name": "OKTA" } },
            "_links": { "self": { "href": format!("{base}/api/v1/users/{}", self.id) } },
        })
    }
}

/// One Okta group (`OKTA_GROUP`).
#[derive(Debug, Clone)]
pub struct Group {
    pub id: String,
    pub name: String,
    pub description: String,
    pub created: DateTime<Utc>,
    pub last_updated: DateTime<Utc>,
    pub last_membership_updated: DateTime<Utc>,
    /// Member user ids, in the order they joined.
    pub members: Vec<String>,
}

impl Group {
    /// The group as `/api/v1/groups` shows it.
    pub fn to_json(&self, base: &str) -> Value {
        json!({
            "id": self.id,
            "created": stamp(self.created),
            "lastUpdated": stamp(self.last_updated),
            "lastMembershipUpdated": stamp(self.last_membership_updated),
            "objectClass": ["okta:user_group"],
            "type": "OKTA_GROUP",
            "profile": { "name": self.name, "description": self.description },
            "_links": { "self": { "href": format!("{base}/api/v1/groups/{}", self.id) } },
        })
    }
}

/// `2026-12-04T21:00:00.000Z`: Okta's time format, milliseconds and `Z`.
pub fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Profile fields of a user for seeding: `login`, `email`, `firstName`, `lastName`.
pub fn profile(login: &str, first: &str, last: &str) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert("login".into(), login.into());
    map.insert("email".into(), login.into());
    map.insert("firstName".into(), first.into());
    map.insert("lastName".into(), last.into());
    map
}

/// Users by id, for lookups from the listings.
pub fn by_id(users: &[User]) -> BTreeMap<&str, &User> {
    users.iter().map(|u| (u.id.as_str(), u)).collect()
}

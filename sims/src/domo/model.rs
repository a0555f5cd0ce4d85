//! The simulated Domo objects (groups and users) and the JSON each endpoint shows of them.
//!
//! Domo returns different field subsets from different endpoints (reference §3.1, §4.1);
//! each `*_view` function is one endpoint's subset. These are the simulator's own types and
//! are never shared with the Domo client.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

/// The roles every Domo instance has. Domo rejects a role that does not match a role name
/// exactly (reference §4.1, rdomo).
pub const ROLES: [&str; 5] = ["Admin", "Privileged", "Editor", "Participant", "Social"];

/// A simulated group.
#[derive(Debug, Clone)]
pub struct Group {
    /// Domo group id.
    pub id: u64,
    /// Group name, unique case-insensitively.
    pub name: String,
    /// Inactive groups refuse new members.
    pub active: bool,
    /// Default groups receive every new user.
    pub default: bool,
    /// The user whose client created the group (0 for groups made by hand or at start).
    pub creator_id: u64,
    /// Member user ids.
    pub members: BTreeSet<u64>,
}

impl Group {
    /// `POST /v1/groups` answer: creator as a numeric string, `default`, no member count.
    pub fn create_view(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "active": self.active,
            "creatorId": self.creator_id.to_string(),
            "default": self.default,
        })
    }

    /// `GET /v1/groups/{id}` answer: member count, no `default`.
    pub fn get_view(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "active": self.active,
            "memberCount": self.members.len(),
        })
    }

    /// `GET /v1/groups` element: `default` and member count, no `active`.
    pub fn list_view(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "default": self.default,
            "memberCount": self.members.len(),
        })
    }

    /// `PUT /v1/groups/{id}` answer: the updated group.
    pub fn update_view(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "active": self.active,
            "default": self.default,
            "memberCount": self.members.len(),
        })
    }
}

/// Optional user attributes, kept as given and shown only when set.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserDetails {
    /// Job title.
    pub title: Option<String>,
    /// Second email.
    pub alternate_email: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
    /// Office location.
    pub location: Option<String>,
    /// Time zone name.
    pub timezone: Option<String>,
    /// Locale.
    pub locale: Option<String>,
    /// Employee number: a number or a string, echoed as given.
    pub employee_number: Option<Value>,
}

/// A simulated user.
#[derive(Debug, Clone)]
pub struct User {
    /// Domo user id.
    pub id: u64,
    /// Email (login identity), unique case-insensitively.
    pub email: String,
    /// Full name.
    pub name: String,
    /// One of [`ROLES`].
    pub role: String,
    /// Optional attributes.
    pub details: UserDetails,
    /// Deleted users keep their id and can be revived by creating the email again.
    pub deleted: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl User {
    /// `GET /v1/users` element: a subset without groups or timestamps.
    pub fn list_view(&self) -> Value {
        let mut map = Map::new();
        map.insert("id".into(), json!(self.id));
        map.insert("email".into(), json!(self.email));
        map.insert("name".into(), json!(self.name));
        map.insert("role".into(), json!(self.role));
        insert_opt(&mut map, "title", self.details.title.as_ref());
        insert_opt(&mut map, "phone", self.details.phone.as_ref());
        Value::Object(map)
    }

    /// `GET /v1/users/{id}` and `POST /v1/users` answer: every set field plus `groups`.
    /// A deleted user shows only `id`, `email`, `name`, `role` and `deleted: true`.
    pub fn full_view(&self, groups: &[(u64, String)]) -> Value {
        if self.deleted {
            return json!({
                "id": self.id,
                "email": self.email,
                "name": self.name,
                "role": self.role,
                "deleted": true,
            });
        }
        let mut map = Map::new();
        map.insert("id".into(), json!(self.id));
        map.insert("email".into(), json!(self.email));
        map.insert("name".into(), json!(self.name));
        map.insert("role".into(), json!(self.role));
        map.insert("roleId".into(), json!(role_id(&self.role)));
        let d = &self.details;
        insert_opt(&mut map, "title", d.title.as_ref());
        insert_opt(&mut map, "alternateEmail", d.alternate_email.as_ref());
        insert_opt(&mut map, "phone", d.phone.as_ref());
        insert_opt(&mut map, "location", d.location.as_ref());
        insert_opt(&mut map, "timezone", d.timezone.as_ref());
        insert_opt(&mut map, "locale", d.locale.as_ref());
        if let Some(number) = &d.employee_number {
            map.insert("employeeNumber".into(), number.clone());
        }
        map.insert("createdAt".into(), json!(timestamp(self.created_at)));
        map.insert("updatedAt".into(), json!(timestamp(self.updated_at)));
        map.insert("deleted".into(), json!(false));
        map.insert(
            "image".into(),
            json!(format!(
                "https://domo-sim.example.com/avatar/thumb/domo/{}",
                self.id
            )),
        );
        let groups: Vec<Value> = groups
            .iter()
            .map(|(id, name)| json!({ "id": id, "name": name }))
            .collect();
        map.insert("groups".into(), Value::Array(groups));
        Value::Object(map)
    }
}

/// `roleId` as Domo shows it in the retrieve sample: a numeric string ("1" for Admin).
fn role_id(role: &str) -> String {
    let index = ROLES.iter().position(|r| *r == role).unwrap_or(ROLES.len());
    (index + 1).to_string()
}

/// ISO-8601 UTC with whole seconds, as in Domo's samples (`2017-06-12T20:16:59Z`).
fn timestamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn insert_opt(map: &mut Map<String, Value>, key: &str, value: Option<&String>) {
    if let Some(value) = value {
        map.insert(key.to_owned(), Value::String(value.clone()));
    }
}

//! The WorkOS environment as state: one directory, its users and groups, memberships, and the
//! event log. Every change appends the event a webhook would carry. Pure: time is passed in.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use crate::shared::control::ControlError;

/// `2026-01-15T12:00:00.000Z`, WorkOS's timestamps.
pub fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// One stored event.
#[derive(Debug, Clone)]
pub struct Event {
    pub id: String,
    pub created_at: DateTime<Utc>,
    pub visible_at: DateTime<Utc>,
    pub organization_id: String,
    pub body: Value,
}

#[derive(Debug, Clone)]
pub struct Group {
    pub body: Map<String, Value>,
    pub members: BTreeSet<String>,
}

#[derive(Debug)]
pub struct World {
    pub directory: Value,
    pub directory_id: String,
    pub organization_id: String,
    /// Live users by id (a deleted user is gone).
    pub users: BTreeMap<String, Map<String, Value>>,
    pub groups: BTreeMap<String, Group>,
    /// Oldest first; ids increase.
    pub events: Vec<Event>,
    pub delay_ms: u64,
    seq: u64,
    rng: fastrand::Rng,
}

/// How a change is logged.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogOptions {
    pub silent: bool,
    pub delay_ms: Option<u64>,
}

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

impl World {
    pub fn new(seed: u64, delay_ms: u64, now: DateTime<Utc>) -> Self {
        let mut world = Self {
            directory: Value::Null,
            directory_id: String::new(),
            organization_id: String::new(),
            users: BTreeMap::new(),
            groups: BTreeMap::new(),
            events: Vec::new(),
            delay_ms,
            seq: 0,
            rng: fastrand::Rng::with_seed(seed),
        };
        world.organization_id = world.id("org", now);
        world.directory_id = world.id("directory", now);
        world.directory = json!({
            "object": "directory", "id": world.directory_id,
            "organization_id": world.organization_id, "name": "Sim Directory",
            "domain": "example.com", "type": "okta scim v2.0", "state": "linked",
            "created_at": stamp(now), "updated_at": stamp(now),
        });
        world
    }

    /// `{prefix}_{ULID}`: 48 bits of milliseconds, then a counter, so ids sort by creation.
    pub fn id(&mut self, prefix: &str, now: DateTime<Utc>) -> String {
        self.seq += 1;
        let ms = u128::from(u64::try_from(now.timestamp_millis()).unwrap_or(0));
        let value = (ms << 80) | (u128::from(self.seq) << 16) | u128::from(self.rng.u16(..));
        let text: String = (0..26)
            .rev()
            .map(|i| char::from(CROCKFORD[((value >> (i * 5)) & 31) as usize]))
            .collect();
        format!("{prefix}_{text}")
    }

    /// Appends an event (`None` when silent); `data` is the object it carries.
    pub fn log(
        &mut self,
        kind: &str,
        data: Value,
        now: DateTime<Utc>,
        opts: LogOptions,
    ) -> Option<Value> {
        if opts.silent {
            return None;
        }
        let id = self.id("event", now);
        let body = json!({"object": "event", "id": id, "event": kind, "data": data,
                          "created_at": stamp(now), "context": {}});
        let lag = opts.delay_ms.unwrap_or(self.delay_ms);
        self.events.push(Event {
            id,
            created_at: now,
            visible_at: now + Duration::milliseconds(i64::try_from(lag).unwrap_or(i64::MAX / 2)),
            organization_id: self.organization_id.clone(),
            body: body.clone(),
        });
        Some(body)
    }

    /// The events a reader sees now: in order, up to the first one still invisible (the feed
    /// never shows an event behind one already shown).
    pub fn visible(&self, now: DateTime<Utc>) -> &[Event] {
        let end = self
            .events
            .iter()
            .position(|e| e.visible_at > now)
            .unwrap_or(self.events.len());
        &self.events[..end]
    }

    pub fn user_id(&self, key: &str) -> Result<String, ControlError> {
        self.users
            .iter()
            .find(|(id, u)| *id == key || u.get("email") == Some(&json!(key)))
            .map(|(id, _)| id.clone())
            .ok_or_else(|| ControlError::not_found(format!("no directory user {key:?}")))
    }

    pub fn group_id(&self, key: &str) -> Result<String, ControlError> {
        self.groups
            .iter()
            .find(|(id, g)| *id == key || g.body.get("name") == Some(&json!(key)))
            .map(|(id, _)| id.clone())
            .ok_or_else(|| ControlError::not_found(format!("no directory group {key:?}")))
    }

    /// Creates a user from `{email, first_name?, last_name?, idp_id?, state?, custom_attributes?}`.
    pub fn add_user(
        &mut self,
        fields: &Map<String, Value>,
        now: DateTime<Utc>,
        opts: LogOptions,
    ) -> Result<(String, Option<Value>), ControlError> {
        let email = fields
            .get("email")
            .and_then(Value::as_str)
            .ok_or_else(|| ControlError::bad_request("email is required"))?;
        if self.user_id(email).is_ok() {
            return Err(ControlError::bad_request(format!("{email:?} exists")));
        }
        let id = self.id("directory_user", now);
        let idp = format!("{}", self.seq);
        let mut user = json!({
            "object": "directory_user", "id": id, "directory_id": self.directory_id,
            "organization_id": self.organization_id, "idp_id": idp, "email": email,
            "first_name": null, "last_name": null, "state": "active",
            "emails": [{"primary": true, "type": "work", "value": email}],
            "custom_attributes": {}, "raw_attributes": {}, "role": {"slug": "member"},
            "roles": [{"slug": "member"}], "groups": [],
            "created_at": stamp(now), "updated_at": stamp(now),
        });
        let map = user
            .as_object_mut()
            .ok_or_else(|| ControlError::bad_request("user"))?;
        apply(map, fields)?;
        let map = map.clone();
        self.users.insert(id.clone(), map.clone());
        Ok((
            id,
            self.log("dsync.user.created", Value::Object(map), now, opts),
        ))
    }

    /// Changes a user's fields; the event carries `previous_attributes`.
    pub fn update_user(
        &mut self,
        key: &str,
        fields: &Map<String, Value>,
        now: DateTime<Utc>,
        opts: LogOptions,
    ) -> Result<Option<Value>, ControlError> {
        let id = self.user_id(key)?;
        let user = self
            .users
            .get_mut(&id)
            .ok_or_else(|| ControlError::not_found("user"))?;
        let previous: Map<String, Value> = fields
            .keys()
            .map(|k| (k.clone(), user.get(k).cloned().unwrap_or(Value::Null)))
            .collect();
        apply(user, fields)?;
        user.insert("updated_at".to_owned(), json!(stamp(now)));
        let mut data = user.clone();
        data.insert("previous_attributes".to_owned(), Value::Object(previous));
        Ok(self.log("dsync.user.updated", Value::Object(data), now, opts))
    }

    /// Deletes a user: it leaves its groups silently, one `dsync.user.deleted` is logged.
    pub fn delete_user(
        &mut self,
        key: &str,
        now: DateTime<Utc>,
        opts: LogOptions,
    ) -> Result<Option<Value>, ControlError> {
        let id = self.user_id(key)?;
        let user = self
            .users
            .remove(&id)
            .ok_or_else(|| ControlError::not_found("user"))?;
        for group in self.groups.values_mut() {
            group.members.remove(&id);
        }
        Ok(self.log("dsync.user.deleted", Value::Object(user), now, opts))
    }

    pub fn add_group(
        &mut self,
        name: &str,
        now: DateTime<Utc>,
        opts: LogOptions,
    ) -> Result<(String, Option<Value>), ControlError> {
        if self.group_id(name).is_ok() {
            return Err(ControlError::bad_request(format!("{name:?} exists")));
        }
        let id = self.id("directory_group", now);
        let body = json!({
            "object": "directory_group", "id": id, "idp_id": format!("g{}", self.seq),
            "directory_id": self.directory_id, "organization_id": self.organization_id,
            "name": name, "raw_attributes": {}, "created_at": stamp(now), "updated_at": stamp(now),
        });
        let body = body.as_object().cloned().unwrap_or_default();
        self.groups.insert(
            id.clone(),
            Group {
                body: body.clone(),
                members: BTreeSet::new(),
            },
        );
        Ok((
            id,
            self.log("dsync.group.created", Value::Object(body), now, opts),
        ))
    }

    pub fn delete_group(
        &mut self,
        key: &str,
        now: DateTime<Utc>,
        opts: LogOptions,
    ) -> Result<Option<Value>, ControlError> {
        let id = self.group_id(key)?;
        let group = self
            .groups
            .remove(&id)
            .ok_or_else(|| ControlError::not_found("group"))?;
        Ok(self.log("dsync.group.deleted", Value::Object(group.body), now, opts))
    }

    /// Adds or removes a member; no event when nothing changed.
    pub fn set_member(
        &mut self,
        group: &str,
        user: &str,
        add: bool,
        now: DateTime<Utc>,
        opts: LogOptions,
    ) -> Result<Option<Value>, ControlError> {
        let (gid, uid) = (self.group_id(group)?, self.user_id(user)?);
        let g = self
            .groups
            .get_mut(&gid)
            .ok_or_else(|| ControlError::not_found("group"))?;
        let changed = if add {
            g.members.insert(uid.clone())
        } else {
            g.members.remove(&uid)
        };
        if !changed {
            return Ok(None);
        }
        let data = json!({"directory_id": self.directory_id,
                          "user": self.users.get(&uid), "group": g.body});
        let kind = if add {
            "dsync.group.user_added"
        } else {
            "dsync.group.user_removed"
        };
        Ok(self.log(kind, data, now, opts))
    }
}

/// Sets the control-API fields of a user; `state` must be WorkOS's.
fn apply(user: &mut Map<String, Value>, fields: &Map<String, Value>) -> Result<(), ControlError> {
    const FIELDS: &[&str] = &[
        "email",
        "first_name",
        "last_name",
        "idp_id",
        "state",
        "custom_attributes",
        "job_title",
        "username",
    ];
    for (key, value) in fields {
        if !FIELDS.contains(&key.as_str()) {
            return Err(ControlError::bad_request(format!(
                "unknown field {key:?}; known: {}",
                FIELDS.join(", ")
            )));
        }
        if key == "state"
            && !["active", "inactive", "suspended"].contains(&value.as_str().unwrap_or(""))
        {
            return Err(ControlError::bad_request(
                "state must be active, inactive or suspended",
            ));
        }
        if key == "email" {
            user.insert(
                "emails".to_owned(),
                json!([{"primary": true, "type": "work", "value": value}]),
            );
        }
        user.insert(key.clone(), value.clone());
    }
    let name = [user.get("first_name"), user.get("last_name")]
        .into_iter()
        .filter_map(|v| v.and_then(Value::as_str))
        .collect::<Vec<_>>()
        .join(" ");
    user.insert(
        "name".to_owned(),
        if name.is_empty() {
            Value::Null
        } else {
            json!(name)
        },
    );
    Ok(())
}

//! The simulated Entra ID tenant: users, groups, memberships, and the change log that delta
//! queries read. Pure state: every change takes `now`.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value};

use crate::shared::control::ControlError;

/// One user; `props` holds the Graph properties except `id`.
#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub props: Map<String, Value>,
    /// `Some("changed")` when soft-deleted (restorable), `Some("deleted")` when gone.
    pub removed: Option<&'static str>,
}

/// One security group.
#[derive(Debug, Clone)]
pub struct Group {
    pub id: String,
    pub props: Map<String, Value>,
    pub members: BTreeSet<String>,
    pub removed: Option<&'static str>,
}

/// Which object a change is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Object {
    User(String),
    Group(String),
}

/// What changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Created,
    Updated(Vec<String>),
    Removed,
    Restored,
    MemberAdded(String),
    MemberRemoved(String),
}

/// One entry of the change log.
#[derive(Debug, Clone)]
pub struct Entry {
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub object: Object,
    pub change: Change,
}

/// The tenant.
#[derive(Debug)]
pub struct World {
    rng: fastrand::Rng,
    pub users: Vec<User>,
    pub groups: Vec<Group>,
    pub log: Vec<Entry>,
    /// Replication lag: a change is seen by delta queries this long after it is made.
    pub delay_ms: u64,
}

impl World {
    pub fn new(seed: u64, delay_ms: u64) -> Self {
        Self {
            rng: fastrand::Rng::with_seed(seed),
            users: Vec::new(),
            groups: Vec::new(),
            log: Vec::new(),
            delay_ms,
        }
    }

    /// The highest sequence number such that it and every earlier change are visible.
    pub fn visible_seq(&self, now: DateTime<Utc>) -> u64 {
        let lag = Duration::milliseconds(i64::try_from(self.delay_ms).unwrap_or(i64::MAX));
        self.log
            .iter()
            .take_while(|e| e.at + lag <= now)
            .last()
            .map_or(0, |e| e.seq)
    }

    fn record(&mut self, object: Object, change: Change, now: DateTime<Utc>) {
        let seq = self.log.len() as u64 + 1;
        self.log.push(Entry {
            seq,
            at: now,
            object,
            change,
        });
    }

    fn new_id(&mut self) -> String {
        let bytes: [u8; 16] = std::array::from_fn(|_| self.rng.u8(..));
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .to_string()
    }

    /// A live or soft-deleted user by id or `userPrincipalName` (case-insensitive).
    pub fn user_index(&self, key: &str) -> Result<usize, ControlError> {
        self.users
            .iter()
            .position(|u| {
                u.removed != Some("deleted")
                    && (u.id == key
                        || u.props
                            .get("userPrincipalName")
                            .and_then(Value::as_str)
                            .is_some_and(|p| p.eq_ignore_ascii_case(key)))
            })
            .ok_or_else(|| ControlError::not_found(format!("no user {key:?}")))
    }

    /// A live group by id or `displayName`.
    pub fn group_index(&self, key: &str) -> Result<usize, ControlError> {
        self.groups
            .iter()
            .position(|g| {
                g.removed.is_none()
                    && (g.id == key
                        || g.props.get("displayName").and_then(Value::as_str) == Some(key))
            })
            .ok_or_else(|| ControlError::not_found(format!("no group {key:?}")))
    }

    /// Creates a user; `userPrincipalName` and `displayName` are required, `accountEnabled`
    /// defaults to true and `mail` to the UPN.
    pub fn create_user(
        &mut self,
        mut props: Map<String, Value>,
        now: DateTime<Utc>,
    ) -> Result<String, ControlError> {
        let upn = props
            .get("userPrincipalName")
            .and_then(Value::as_str)
            .filter(|u| u.contains('@'))
            .ok_or_else(|| {
                ControlError::bad_request("userPrincipalName (an email-like name) is required")
            })?
            .to_owned();
        if self.user_index(&upn).is_ok() {
            return Err(ControlError::bad_request(format!("{upn:?} exists")));
        }
        props
            .entry("displayName")
            .or_insert_with(|| Value::String(upn.clone()));
        props
            .entry("mail")
            .or_insert_with(|| Value::String(upn.clone()));
        props.entry("accountEnabled").or_insert(Value::Bool(true));
        props.remove("id");
        let id = self.new_id();
        self.users.push(User {
            id: id.clone(),
            props,
            removed: None,
        });
        self.record(Object::User(id.clone()), Change::Created, now);
        Ok(id)
    }

    /// Changes user properties (a `null` value clears one).
    pub fn update_user(
        &mut self,
        key: &str,
        changes: Map<String, Value>,
        now: DateTime<Utc>,
    ) -> Result<(), ControlError> {
        let i = self.user_index(key)?;
        let names: Vec<String> = changes.keys().filter(|k| *k != "id").cloned().collect();
        let user = &mut self.users[i];
        for (k, v) in changes {
            if k != "id" {
                user.props.insert(k, v);
            }
        }
        let id = user.id.clone();
        self.record(Object::User(id), Change::Updated(names), now);
        Ok(())
    }

    /// Deletes a user (soft unless `hard`); the user leaves every group.
    pub fn delete_user(
        &mut self,
        key: &str,
        hard: bool,
        now: DateTime<Utc>,
    ) -> Result<(), ControlError> {
        let i = self.user_index(key)?;
        let id = self.users[i].id.clone();
        if self.users[i].removed.is_some() && !hard {
            return Err(ControlError::bad_request("the user is already deleted"));
        }
        self.users[i].removed = Some(if hard { "deleted" } else { "changed" });
        let groups: Vec<String> = self
            .groups
            .iter()
            .filter(|g| g.members.contains(&id))
            .map(|g| g.id.clone())
            .collect();
        for gid in groups {
            if let Some(g) = self.groups.iter_mut().find(|g| g.id == gid) {
                g.members.remove(&id);
            }
            self.record(Object::Group(gid), Change::MemberRemoved(id.clone()), now);
        }
        self.record(Object::User(id), Change::Removed, now);
        Ok(())
    }

    /// Restores a soft-deleted user (without its old memberships).
    pub fn restore_user(&mut self, key: &str, now: DateTime<Utc>) -> Result<(), ControlError> {
        let i = self.user_index(key)?;
        if self.users[i].removed != Some("changed") {
            return Err(ControlError::bad_request(
                "only a soft-deleted user can be restored",
            ));
        }
        self.users[i].removed = None;
        let id = self.users[i].id.clone();
        self.record(Object::User(id), Change::Restored, now);
        Ok(())
    }

    /// Creates a group; `displayName` is required.
    pub fn create_group(
        &mut self,
        mut props: Map<String, Value>,
        now: DateTime<Utc>,
    ) -> Result<String, ControlError> {
        let name = props
            .get("displayName")
            .and_then(Value::as_str)
            .filter(|n| !n.trim().is_empty())
            .ok_or_else(|| ControlError::bad_request("displayName is required"))?
            .to_owned();
        if self.group_index(&name).is_ok() {
            return Err(ControlError::bad_request(format!("group {name:?} exists")));
        }
        props.remove("id");
        props.entry("description").or_insert(Value::Null);
        props.entry("securityEnabled").or_insert(Value::Bool(true));
        props.entry("mailEnabled").or_insert(Value::Bool(false));
        let id = self.new_id();
        self.groups.push(Group {
            id: id.clone(),
            props,
            members: BTreeSet::new(),
            removed: None,
        });
        self.record(Object::Group(id.clone()), Change::Created, now);
        Ok(id)
    }

    /// Deletes a group (soft).
    pub fn delete_group(&mut self, key: &str, now: DateTime<Utc>) -> Result<(), ControlError> {
        let i = self.group_index(key)?;
        self.groups[i].removed = Some("changed");
        let id = self.groups[i].id.clone();
        self.record(Object::Group(id), Change::Removed, now);
        Ok(())
    }

    /// Adds or removes a member; a no-op records nothing.
    pub fn set_member(
        &mut self,
        group: &str,
        user: &str,
        add: bool,
        now: DateTime<Utc>,
    ) -> Result<(), ControlError> {
        let g = self.group_index(group)?;
        let u = self.user_index(user)?;
        if add && self.users[u].removed.is_some() {
            return Err(ControlError::bad_request(
                "a deleted user cannot join a group",
            ));
        }
        let uid = self.users[u].id.clone();
        let group = &mut self.groups[g];
        let changed = if add {
            group.members.insert(uid.clone())
        } else {
            group.members.remove(&uid)
        };
        if changed {
            let gid = group.id.clone();
            let change = if add {
                Change::MemberAdded(uid)
            } else {
                Change::MemberRemoved(uid)
            };
            self.record(Object::Group(gid), change, now);
        }
        Ok(())
    }
}

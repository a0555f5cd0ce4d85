//! The simulated Okta org: users, groups, memberships and the System Log that records every
//! change. Pure state: no I/O, no clock of its own (every change takes `now`).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::log::{LogEvent, SystemLog};
pub use super::model::{Group, STATUSES, User, profile, stamp};
use crate::shared::control::ControlError;

/// How a change is logged: whether at all, its `published` time, its own visibility delay.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogOptions {
    /// False: change the directory without a System Log event (directory drift).
    pub silent: bool,
    /// `published`, when it should differ from the change time.
    pub published: Option<DateTime<Utc>>,
    /// Visibility delay in ms for this event, instead of the configured one.
    pub delay_ms: Option<u64>,
}

/// The org.
#[derive(Debug)]
pub struct World {
    rng: fastrand::Rng,
    users: Vec<User>,
    groups: Vec<Group>,
    pub log: SystemLog,
    /// Ids of the users the log names as the admin who acts.
    admin: (String, String),
}

impl World {
    pub fn new(seed: u64, visibility_delay_ms: u64) -> Self {
        let mut rng = fastrand::Rng::with_seed(seed);
        let admin = (new_id(&mut rng, "00u"), "admin@example.com".to_owned());
        Self {
            rng,
            users: Vec::new(),
            groups: Vec::new(),
            log: SystemLog::new(visibility_delay_ms),
            admin,
        }
    }

    pub fn users(&self) -> &[User] {
        &self.users
    }

    pub fn groups(&self) -> &[Group] {
        &self.groups
    }

    /// A user by id or login (case-insensitive).
    pub fn user(&self, key: &str) -> Result<&User, ControlError> {
        self.users
            .iter()
            .find(|u| u.id == key || u.login().eq_ignore_ascii_case(key))
            .ok_or_else(|| ControlError::not_found(format!("no user {key:?}")))
    }

    /// A group by id or name (exact).
    pub fn group(&self, key: &str) -> Result<&Group, ControlError> {
        self.groups
            .iter()
            .find(|g| g.id == key || g.name == key)
            .ok_or_else(|| ControlError::not_found(format!("no group {key:?}")))
    }

    /// Creates a user (`ACTIVE` unless `status` says otherwise); logs `user.lifecycle.create`
    /// and, for an active user, `user.lifecycle.activate`.
    pub fn create_user(
        &mut self,
        mut profile: Map<String, Value>,
        status: Option<&str>,
        now: DateTime<Utc>,
        opts: LogOptions,
    ) -> Result<(String, Vec<LogEvent>), ControlError> {
        let login = profile
            .get("login")
            .and_then(Value::as_str)
            .filter(|l| !l.trim().is_empty())
            .ok_or_else(|| ControlError::bad_request("profile.login is required"))?
            .to_owned();
        if self.user(&login).is_ok() {
            return Err(ControlError::bad_request(format!(
                "login {login:?} is taken"
            )));
        }
        let status = status.unwrap_or("ACTIVE");
        if !STATUSES.contains(&status) {
            return Err(ControlError::bad_request(format!(
                "unknown status {status:?}"
            )));
        }
        profile
            .entry("email")
            .or_insert_with(|| Value::String(login.clone()));
        let id = new_id(&mut self.rng, "00u");
        let active = status == "ACTIVE";
        self.users.push(User {
            id: id.clone(),
            status: status.to_owned(),
            created: now,
            activated: active.then_some(now),
            status_changed: active.then_some(now),
            last_updated: now,
            profile,
        });
        let mut events = vec![self.log_user("user.lifecycle.create", &id, None, now, opts)];
        if active {
            events.push(self.log_user("user.lifecycle.activate", &id, None, now, opts));
        }
        Ok((id, events.into_iter().flatten().collect()))
    }

    /// Applies a lifecycle action (`activate`, `deactivate`, `suspend`, `unsuspend`,
    /// `delete`) as Okta's lifecycle API allows it, and logs it.
    pub fn lifecycle(
        &mut self,
        key: &str,
        action: &str,
        now: DateTime<Utc>,
        opts: LogOptions,
    ) -> Result<Vec<LogEvent>, ControlError> {
        let id = self.user(key)?.id.clone();
        let status = self.user(&id)?.status.clone();
        let (allowed, to, kinds): (&[&str], &str, &[&str]) = match action {
            "activate" => (
                &["STAGED", "PROVISIONED", "DEPROVISIONED"],
                "ACTIVE",
                &["user.lifecycle.activate"],
            ),
            "deactivate" => (
                &[
                    "ACTIVE",
                    "STAGED",
                    "PROVISIONED",
                    "SUSPENDED",
                    "LOCKED_OUT",
                    "PASSWORD_EXPIRED",
                    "RECOVERY",
                ],
                "DEPROVISIONED",
                &["user.lifecycle.deactivate"],
            ),
            "suspend" => (&["ACTIVE"], "SUSPENDED", &["user.lifecycle.suspend"]),
            "unsuspend" => (&["SUSPENDED"], "ACTIVE", &["user.lifecycle.unsuspend"]),
            "delete" => (
                &["DEPROVISIONED"],
                "",
                &[
                    "user.lifecycle.delete.initiated",
                    "user.lifecycle.delete.completed",
                ],
            ),
            other => {
                return Err(ControlError::bad_request(format!(
                    "unknown lifecycle action {other:?}"
                )));
            }
        };
        if !allowed.contains(&status.as_str()) {
            return Err(ControlError::bad_request(format!(
                "cannot {action} a user whose status is {status}"
            )));
        }
        let mut events = Vec::new();
        for kind in kinds {
            events.extend(self.log_user(kind, &id, None, now, opts));
        }
        if action == "delete" {
            self.users.retain(|u| u.id != id);
            for group in &mut self.groups {
                group.members.retain(|m| *m != id);
            }
            return Ok(events);
        }
        if let Some(user) = self.users.iter_mut().find(|u| u.id == id) {
            user.status = to.to_owned();
            user.status_changed = Some(now);
            user.last_updated = now;
            if to == "ACTIVE" && user.activated.is_none() {
                user.activated = Some(now);
            }
        }
        Ok(events)
    }

    /// Merges `changes` into a user's profile and logs `user.account.update_profile`.
    pub fn update_profile(
        &mut self,
        key: &str,
        changes: Map<String, Value>,
        now: DateTime<Utc>,
        opts: LogOptions,
    ) -> Result<Vec<LogEvent>, ControlError> {
        let id = self.user(key)?.id.clone();
        if let Some(user) = self.users.iter_mut().find(|u| u.id == id) {
            user.profile.extend(changes);
            user.last_updated = now;
        }
        Ok(self
            .log_user("user.account.update_profile", &id, None, now, opts)
            .into_iter()
            .collect())
    }

    /// Creates a group and logs `group.lifecycle.create`.
    pub fn create_group(
        &mut self,
        name: &str,
        description: &str,
        now: DateTime<Utc>,
        opts: LogOptions,
    ) -> Result<(String, Vec<LogEvent>), ControlError> {
        if name.trim().is_empty() {
            return Err(ControlError::bad_request("profile.name is required"));
        }
        if self.groups.iter().any(|g| g.name == name) {
            return Err(ControlError::bad_request(format!("group {name:?} exists")));
        }
        let id = new_id(&mut self.rng, "00g");
        self.groups.push(Group {
            id: id.clone(),
            name: name.to_owned(),
            description: description.to_owned(),
            created: now,
            last_updated: now,
            last_membership_updated: now,
            members: Vec::new(),
        });
        let target = vec![self.group_target(&id)];
        let event = self.log_event("group.lifecycle.create", target, now, opts);
        Ok((id, event.into_iter().collect()))
    }

    /// Adds (`add`) or removes a member and logs `group.user_membership.add`/`.remove`.
    /// Adding a member twice or removing a non-member changes and logs nothing.
    pub fn set_member(
        &mut self,
        group: &str,
        user: &str,
        add: bool,
        now: DateTime<Utc>,
        opts: LogOptions,
    ) -> Result<Vec<LogEvent>, ControlError> {
        let gid = self.group(group)?.id.clone();
        let uid = self.user(user)?.id.clone();
        let Some(g) = self.groups.iter_mut().find(|g| g.id == gid) else {
            return Ok(Vec::new());
        };
        let present = g.members.contains(&uid);
        if present == add {
            return Ok(Vec::new());
        }
        if add {
            g.members.push(uid.clone());
        } else {
            g.members.retain(|m| *m != uid);
        }
        g.last_membership_updated = now;
        let kind = if add {
            "group.user_membership.add"
        } else {
            "group.user_membership.remove"
        };
        Ok(self
            .log_user(kind, &uid, Some(&gid), now, opts)
            .into_iter()
            .collect())
    }

    /// The ids of the groups a user belongs to.
    pub fn groups_of(&self, user_id: &str) -> BTreeSet<String> {
        self.groups
            .iter()
            .filter(|g| g.members.iter().any(|m| m == user_id))
            .map(|g| g.id.clone())
            .collect()
    }

    /// Appends a ready-made LogEvent (a JSON object), filling `uuid` and `published`.
    pub fn append_raw(
        &mut self,
        mut event: Map<String, Value>,
        now: DateTime<Utc>,
        delay_ms: Option<u64>,
    ) -> Result<LogEvent, ControlError> {
        if !event.get("eventType").is_some_and(Value::is_string) {
            return Err(ControlError::bad_request(
                "eventType (a string) is required",
            ));
        }
        event
            .entry("uuid")
            .or_insert_with(|| Value::String(new_uuid(&mut self.rng)));
        event
            .entry("published")
            .or_insert_with(|| Value::String(stamp(now)));
        let published = event
            .get("published")
            .and_then(Value::as_str)
            .and_then(|p| DateTime::parse_from_rfc3339(p).ok())
            .map(|p| p.with_timezone(&Utc))
            .ok_or_else(|| ControlError::bad_request("published must be an RFC 3339 time"))?;
        Ok(self
            .log
            .append(Value::Object(event), published, now, delay_ms))
    }

    fn log_user(
        &mut self,
        kind: &str,
        user_id: &str,
        group_id: Option<&str>,
        now: DateTime<Utc>,
        opts: LogOptions,
    ) -> Option<LogEvent> {
        let mut targets = Vec::new();
        if let Some(user) = self.users.iter().find(|u| u.id == user_id) {
            targets.push(json!({
                "id": user.id, "type": "User", "alternateId": user.login(),
                "displayName": user.display_name(), "detailEntry": null,
            }));
        }
        if let Some(gid) = group_id {
            targets.push(self.group_target(gid));
        }
        self.log_event(kind, targets, now, opts)
    }

    fn group_target(&self, gid: &str) -> Value {
        let name = self.group(gid).map(|g| g.name.clone()).unwrap_or_default();
        json!({"id": gid, "type": "UserGroup", "alternateId": "unknown", "displayName": name, "detailEntry": null})
    }

    fn log_event(
        &mut self,
        kind: &str,
        targets: Vec<Value>,
        now: DateTime<Utc>,
        opts: LogOptions,
    ) -> Option<LogEvent> {
        if opts.silent {
            return None;
        }
        let published = opts.published.unwrap_or(now);
        let transaction = new_id(&mut self.rng, "X");
        let event = json!({
            "uuid": new_uuid(&mut self.rng),
            "published": stamp(published),
            "eventType": kind,
            "version": "0",
            "severity": "INFO",
            "displayMessage": display_message(kind),
            "legacyEventType": null,
            "actor": {
                "id": self.admin.0, "type": "User", "alternateId": self.admin.1,
                "displayName": "Sim Admin", "detailEntry": null,
            },
            "client": { "ipAddress": "127.0.0.1", "device": "Unknown", "zone": "null" },
            "outcome": { "result": "SUCCESS", "reason": null },
            "target": targets,
            "transaction": { "type": "WEB", "id": transaction, "detail": {} },
            "debugContext": { "debugData": { "requestId": transaction } },
            "authenticationContext": { "authenticationStep": 0, "externalSessionId": "unknown" },
            "securityContext": { "asNumber": null, "asOrg": null, "isp": null, "domain": null, "isProxy": null },
            "request": { "ipChain": [] },
        });
        Some(self.log.append(event, published, now, opts.delay_ms))
    }
}

fn display_message(kind: &str) -> &'static str {
    match kind {
        "user.lifecycle.create" => "Create okta user",
        "user.lifecycle.activate" => "Activate Okta user",
        "user.lifecycle.deactivate" => "Deactivate Okta User",
        "user.lifecycle.suspend" => "Suspend Okta user",
        "user.lifecycle.unsuspend" => "Unsuspend Okta user",
        "user.lifecycle.delete.initiated" => "Delete Okta user initiated",
        "user.lifecycle.delete.completed" => "Delete Okta user completed",
        "user.account.update_profile" => "Update user profile for Okta",
        "group.user_membership.add" => "Add user to group membership",
        "group.user_membership.remove" => "Remove user from group membership",
        "group.lifecycle.create" => "Create okta group",
        _ => "Event",
    }
}

/// An Okta-shaped id: `prefix` plus alphanumerics, 20 characters in all.
fn new_id(rng: &mut fastrand::Rng, prefix: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let rest: String = (prefix.len()..20)
        .map(|_| char::from(ALPHABET[rng.usize(..ALPHABET.len())]))
        .collect();
    format!("{prefix}{rest}")
}

/// A version-4-shaped UUID from the seeded generator.
fn new_uuid(rng: &mut fastrand::Rng) -> String {
    let bytes: [u8; 16] = std::array::from_fn(|_| rng.u8(..));
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

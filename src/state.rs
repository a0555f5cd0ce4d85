//! Per-user desired state: every event of one user folded into last-writer-wins registers, so
//! that the result does not depend on the order, or the number of times, events arrive
//! (DESIGN.md, "Guarantees" #3).
//!
//! Registers and who writes them:
//! - `status` (active or offboarded): `user.onboarded` / `user.updated` (active) and
//!   `user.offboarded`;
//! - `groups` (the IdP groups snapshot): onboarded / updated only when the event states
//!   `groups` (`None` means "not stated, keep what is known", `Some([])` means "in no group");
//! - `profile` (attributes, plus email, name and IdP id for information): onboarded / updated;
//! - one delta per IdP group: `group.member_added` / `group.member_removed`.
//!
//! Each register keeps the value with the greatest [`Stamp`] (then the greatest value, so even
//! two different payloads under one stamp resolve the same way in any order). A delta counts
//! only when it is newer than the groups snapshot; older ones are pruned. Applying events is
//! therefore commutative, associative and idempotent. IdP group names are compared through
//! [`name_key`] (case-insensitively). This module is pure: no store, no clock, no Domo.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::event::{CanonicalEvent, EventType};
use crate::rules::{Derived, RuleSet, name_key};

/// The order of events: `occurred_at`, then the event's `source:id` so that equal timestamps
/// resolve the same way whatever the arrival order.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Stamp {
    /// When the event happened at the sender.
    pub at: DateTime<Utc>,
    /// The event's `source:id`.
    pub tiebreak: String,
}

/// Whether the user should have access at all.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Onboarded or updated: the rules decide the user's groups.
    Active,
    /// Offboarded: the user is in no managed group.
    Offboarded,
}

/// A last-writer-wins register.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Register<T> {
    /// The stamp of the event that wrote the value.
    pub stamp: Stamp,
    /// The value written.
    pub value: T,
}

/// What the IdP says about the user besides groups: attributes for the rules, and the rest
/// for information.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Profile {
    /// The user's email as last stated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The sender's id for the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Attributes the rules match and template from.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

/// The last membership delta for one IdP group.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Delta {
    /// The delta's stamp (compared before `group` and `present`).
    pub stamp: Stamp,
    /// The group's name as the event spelled it (trimmed).
    pub group: String,
    /// `true` for `member_added`, `false` for `member_removed`.
    pub present: bool,
}

/// The outcome of [`UserState::apply`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// At least one register took the event's value.
    Changed,
    /// Nothing changed: every register the event touches already holds a newer or equal
    /// stamp (a duplicate, or an event older than what is stored), or the event is not about
    /// a user's state (`group.created`).
    Stale,
}

/// Everything known about one user, stored as JSON by the store.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct UserState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<Register<Status>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    groups: Option<Register<BTreeSet<String>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    profile: Option<Register<Profile>>,
    /// By [`name_key`] of the group; only deltas newer than the groups snapshot.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    deltas: BTreeMap<String, Delta>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_applied: Option<Stamp>,
}

/// Writes `value` into `register` when its (stamp, value) is greater; says whether it did.
fn write<T: Ord + Clone>(register: &mut Option<Register<T>>, stamp: &Stamp, value: &T) -> bool {
    let newer = match register {
        None => true,
        Some(r) => (stamp, value) > (&r.stamp, &r.value),
    };
    if newer {
        *register = Some(Register {
            stamp: stamp.clone(),
            value: value.clone(),
        });
    }
    newer
}

impl UserState {
    /// Folds one event into the state. `tiebreak` is the event's `source:id`.
    pub fn apply(&mut self, ev: &CanonicalEvent, tiebreak: &str) -> Applied {
        let stamp = Stamp {
            at: ev.occurred_at,
            tiebreak: tiebreak.to_owned(),
        };
        let names = || {
            ev.groups
                .iter()
                .flatten()
                .map(|g| g.trim())
                .filter(|g| !g.is_empty())
        };
        let changed = match ev.event_type {
            EventType::UserOnboarded | EventType::UserUpdated => {
                let mut changed = write(&mut self.status, &stamp, &Status::Active);
                if let Some(user) = &ev.user {
                    let profile = Profile {
                        email: user.email.clone(),
                        id: user.id.clone(),
                        name: user.name.clone(),
                        attributes: user.attributes.clone(),
                    };
                    changed |= write(&mut self.profile, &stamp, &profile);
                }
                if ev.groups.is_some() {
                    let snapshot: BTreeSet<String> = names().map(str::to_owned).collect();
                    changed |= self.write_groups(&stamp, &snapshot);
                }
                changed
            }
            EventType::UserOffboarded => write(&mut self.status, &stamp, &Status::Offboarded),
            EventType::GroupMemberAdded | EventType::GroupMemberRemoved => {
                let present = ev.event_type == EventType::GroupMemberAdded;
                let mut changed = false;
                for group in names() {
                    let delta = Delta {
                        stamp: stamp.clone(),
                        group: group.to_owned(),
                        present,
                    };
                    changed |= self.write_delta(delta);
                }
                changed
            }
            EventType::GroupCreated => false,
        };
        if changed {
            self.note_applied(&stamp);
            Applied::Changed
        } else {
            Applied::Stale
        }
    }

    /// Merges another state of the same user into this one, with the same result as applying
    /// both states' events in any order.
    pub fn merge(&mut self, other: &UserState) {
        if let Some(r) = &other.status {
            write(&mut self.status, &r.stamp, &r.value);
        }
        if let Some(r) = &other.profile {
            write(&mut self.profile, &r.stamp, &r.value);
        }
        if let Some(r) = &other.groups {
            self.write_groups(&r.stamp, &r.value);
        }
        for delta in other.deltas.values() {
            self.write_delta(delta.clone());
        }
        if let Some(stamp) = &other.last_applied {
            self.note_applied(stamp);
        }
    }

    /// Writes the groups snapshot and prunes the deltas it makes irrelevant.
    fn write_groups(&mut self, stamp: &Stamp, snapshot: &BTreeSet<String>) -> bool {
        let changed = write(&mut self.groups, stamp, snapshot);
        if changed {
            self.deltas.retain(|_, d| d.stamp > *stamp);
        }
        changed
    }

    /// Records a delta unless the groups snapshot or the group's last delta is newer.
    fn write_delta(&mut self, delta: Delta) -> bool {
        if self.groups.as_ref().is_some_and(|g| delta.stamp <= g.stamp) {
            return false;
        }
        let key = name_key(&delta.group);
        match self.deltas.get(&key) {
            Some(existing) if *existing >= delta => false,
            _ => {
                self.deltas.insert(key, delta);
                true
            }
        }
    }

    fn note_applied(&mut self, stamp: &Stamp) {
        if self.last_applied.as_ref().is_none_or(|s| stamp > s) {
            self.last_applied = Some(stamp.clone());
        }
    }

    /// The IdP groups the user is in now: the snapshot (or none) with every newer delta
    /// applied; names are compared ignoring case, and an added group already present keeps
    /// the snapshot's spelling.
    pub fn desired_idp_groups(&self) -> BTreeSet<String> {
        let mut by_key: BTreeMap<String, String> = BTreeMap::new();
        for name in self.groups.iter().flat_map(|r| &r.value) {
            by_key.entry(name_key(name)).or_insert_with(|| name.clone());
        }
        for (key, delta) in &self.deltas {
            if delta.present {
                by_key
                    .entry(key.clone())
                    .or_insert_with(|| delta.group.clone());
            } else {
                by_key.remove(key);
            }
        }
        by_key.into_values().collect()
    }

    /// Whether the latest status is offboarded. With no status yet the user counts as active:
    /// a membership delta may arrive before the user's creation.
    pub fn is_offboarded(&self) -> bool {
        self.status
            .as_ref()
            .is_some_and(|r| r.value == Status::Offboarded)
    }

    /// The user's attributes as last stated (empty when never stated).
    pub fn attributes(&self) -> &BTreeMap<String, String> {
        static EMPTY: BTreeMap<String, String> = BTreeMap::new();
        self.profile
            .as_ref()
            .map_or(&EMPTY, |r| &r.value.attributes)
    }

    /// The profile register (email, id, name, attributes) with its stamp, if ever stated.
    pub fn profile(&self) -> Option<&Register<Profile>> {
        self.profile.as_ref()
    }

    /// The status register with its stamp, if any snapshot was applied.
    pub fn status(&self) -> Option<&Register<Status>> {
        self.status.as_ref()
    }

    /// The groups snapshot register with its stamp, if a snapshot stated groups.
    pub fn groups_snapshot(&self) -> Option<&Register<BTreeSet<String>>> {
        self.groups.as_ref()
    }

    /// The deltas newer than the groups snapshot, by case-folded group name.
    pub fn deltas(&self) -> &BTreeMap<String, Delta> {
        &self.deltas
    }

    /// The Domo groups the user should be in: none while offboarded (a stray delta grants
    /// nothing until a newer onboarded or updated snapshot), else what the rules derive from
    /// the desired IdP groups and the attributes.
    pub fn desired_domo_groups(&self, rules: &RuleSet) -> Vec<Derived> {
        if self.is_offboarded() {
            return Vec::new();
        }
        rules.evaluate(&self.desired_idp_groups(), self.attributes())
    }

    /// The newest stamp merged into this state.
    pub fn last_applied(&self) -> Option<&Stamp> {
        self.last_applied.as_ref()
    }
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "state_props.rs"]
mod props;

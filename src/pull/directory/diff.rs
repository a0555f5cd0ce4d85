//! The directory diff: the provider's listing against the state the service holds for each
//! user, as canonical events stamped with the listing's time. Pure: no store, no clock, no
//! provider.
//!
//! - A user this source knows (by its id for them) who is absent from a complete listing, or
//!   listed as deactivated, suspended or deleted, and not offboarded yet: `user.offboarded`.
//! - An active listed user, per mapped group: a member the state lacks is
//!   `group.member_added`; a group the state has but the listing does not is
//!   `group.member_removed` (also a mapped group the provider no longer has).
//! - Only a complete listing removes (offboards or removes a member). From a partial one,
//!   removals are counted as withheld and adds still apply.
//!
//! The events carry the listing's start time: a change the provider logs after that moment is
//! newer and wins; one before it is older and loses, as the listing already reflects it.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::event::{CanonicalEvent, EventType, EventUser, normalize_email};
use crate::pull::connector::{ListedUser, Listing};
use crate::rules::name_key;
use crate::state::UserState;

/// A user the service holds state for.
#[derive(Debug, Clone)]
pub struct Known {
    /// The lower-cased email keying the state.
    pub user_key: String,
    /// This source's id for the user, when an event named it.
    pub idp_id: Option<String>,
    pub state: UserState,
}

/// One membership change.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
pub struct MemberChange {
    /// The user's email (or the provider's id when it has no email).
    pub user: String,
    /// The IdP group.
    pub group: String,
}

/// What the listing says differs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Drift {
    /// The events that carry the IdP's word into the state, in a stable order.
    pub events: Vec<CanonicalEvent>,
    /// Users to offboard (emails).
    pub offboard: Vec<String>,
    pub add: Vec<MemberChange>,
    pub remove: Vec<MemberChange>,
    /// Removals (offboardings and member removals) not made because the listing is partial.
    pub withheld: usize,
    /// Listed members of mapped groups the service cannot name: no state, and a login that is
    /// not an email.
    pub no_email: usize,
}

/// Compares `listing` (read from `listed_at` on) with `known`. `pass` names the pass in the
/// events' ids (with the source, their dedup key); `mapped` says which IdP groups the rules map.
pub fn diff(
    listing: &Listing,
    known: &[Known],
    mapped: &dyn Fn(&str) -> bool,
    listed_at: DateTime<Utc>,
    pass: &str,
) -> Drift {
    let by_id: BTreeMap<&str, &ListedUser> =
        listing.users.iter().map(|u| (u.id.as_str(), u)).collect();
    let by_email: BTreeMap<String, &ListedUser> = listing
        .users
        .iter()
        .filter_map(|u| u.email.as_deref().map(|e| (normalize_email(e), u)))
        .collect();
    // Listed group name key → (name, member ids).
    let groups: BTreeMap<String, (&str, BTreeSet<&str>)> = listing
        .groups
        .iter()
        .map(|g| {
            let members = g.members.iter().map(String::as_str).collect();
            (name_key(&g.name), (g.name.as_str(), members))
        })
        .collect();
    let mut out = Drift::default();
    let mut matched: BTreeSet<&str> = BTreeSet::new();
    let mk = Maker { listed_at, pass };
    for k in known {
        let listed = k
            .idp_id
            .as_deref()
            .and_then(|id| by_id.get(id).copied())
            .or_else(|| by_email.get(&k.user_key).copied());
        let offboarded = k.state.is_offboarded();
        match listed {
            None => {
                // Only a user this source named can be missing from its directory.
                if k.idp_id.is_some() && !offboarded {
                    if listing.complete {
                        out.offboard.push(k.user_key.clone());
                        out.events
                            .push(mk.offboard(&k.user_key, k.idp_id.as_deref(), None));
                    } else {
                        out.withheld += 1;
                    }
                }
            }
            Some(u) => {
                matched.insert(u.id.as_str());
                if !u.active {
                    if !offboarded {
                        if listing.complete {
                            out.offboard.push(k.user_key.clone());
                            out.events.push(mk.offboard(
                                &k.user_key,
                                Some(&u.id),
                                u.name.as_deref(),
                            ));
                        } else {
                            out.withheld += 1;
                        }
                    }
                    continue;
                }
                let have: BTreeSet<String> = k
                    .state
                    .desired_idp_groups()
                    .iter()
                    .map(|g| name_key(g))
                    .collect();
                let who = Who {
                    email: Some(&k.user_key),
                    id: &u.id,
                    label: &k.user_key,
                };
                for (key, (name, members)) in &groups {
                    let listed_in = members.contains(u.id.as_str());
                    if listed_in && !have.contains(key) {
                        mk.change(&mut out, &who, name, true);
                    } else if !listed_in && have.contains(key) {
                        if listing.complete {
                            mk.change(&mut out, &who, name, false);
                        } else {
                            out.withheld += 1;
                        }
                    }
                }
                // A mapped group the state has but the provider no longer lists at all.
                for g in k.state.desired_idp_groups() {
                    if mapped(&g) && !groups.contains_key(&name_key(&g)) {
                        if listing.complete {
                            mk.change(&mut out, &who, &g, false);
                        } else {
                            out.withheld += 1;
                        }
                    }
                }
            }
        }
    }
    // Active members the service has never seen: they join the groups they are listed in.
    for u in listing
        .users
        .iter()
        .filter(|u| u.active && !matched.contains(u.id.as_str()))
    {
        let email = u.email.as_deref().map(normalize_email);
        for (name, members) in groups.values() {
            if !members.contains(u.id.as_str()) {
                continue;
            }
            match &email {
                Some(e) => {
                    let who = Who {
                        email: Some(e),
                        id: &u.id,
                        label: e,
                    };
                    mk.change(&mut out, &who, name, true);
                }
                None => out.no_email += 1,
            }
        }
    }
    out.offboard.sort();
    out.add.sort();
    out.remove.sort();
    out
}

/// Who a change is about.
struct Who<'a> {
    email: Option<&'a str>,
    id: &'a str,
    /// How the report names them.
    label: &'a str,
}

/// Makes the events of one pass.
struct Maker<'a> {
    listed_at: DateTime<Utc>,
    pass: &'a str,
}

impl Maker<'_> {
    fn offboard(&self, email: &str, id: Option<&str>, name: Option<&str>) -> CanonicalEvent {
        CanonicalEvent {
            id: event_id(self.pass, "off", email, None),
            event_type: EventType::UserOffboarded,
            occurred_at: self.listed_at,
            user: Some(EventUser {
                email: Some(email.to_owned()),
                id: id.map(str::to_owned),
                name: name.map(str::to_owned),
                ..EventUser::default()
            }),
            groups: None,
        }
    }

    fn change(&self, out: &mut Drift, who: &Who<'_>, group: &str, add: bool) {
        let (kind, event_type) = if add {
            ("add", EventType::GroupMemberAdded)
        } else {
            ("rm", EventType::GroupMemberRemoved)
        };
        out.events.push(CanonicalEvent {
            id: event_id(self.pass, kind, who.label, Some(group)),
            event_type,
            occurred_at: self.listed_at,
            user: Some(EventUser {
                email: who.email.map(str::to_owned),
                id: Some(who.id.to_owned()),
                ..EventUser::default()
            }),
            groups: Some(vec![group.to_owned()]),
        });
        let change = MemberChange {
            user: who.label.to_owned(),
            group: group.to_owned(),
        };
        if add {
            out.add.push(change);
        } else {
            out.remove.push(change);
        }
    }
}

/// `dir:<pass>:<kind>:<user>[:<group>]`, or, past the inbox's 256 characters, the same with
/// the user and group replaced by a digest of them.
fn event_id(pass: &str, kind: &str, user: &str, group: Option<&str>) -> String {
    let plain = match group {
        Some(g) => format!("dir:{pass}:{kind}:{user}:{g}"),
        None => format!("dir:{pass}:{kind}:{user}"),
    };
    if plain.len() <= 256 {
        return plain;
    }
    let digest = crate::config::digest(format!("{user}\u{0}{}", group.unwrap_or("")).as_bytes());
    format!("dir:{pass}:{kind}:{}", hex::encode(&digest[..16]))
}

#[cfg(test)]
#[path = "diff_tests.rs"]
mod tests;

//! Delta rounds (reference §5), pure. A round reads the tenant's change log between two
//! positions: an initial round (no token) lists every live object; a round from a
//! `$deltatoken` lists each object changed since, once, in its current state, or as
//! `{"id", "@removed": {"reason"}}`. `$skiptoken`s page through one round, whose end is fixed
//! when it starts; its last page carries the `@odata.deltaLink` for the next round.
//!
//! Tokens are base64url JSON that carry the round, the `$select`, the issue time and the
//! instance's nonce; clients treat them as opaque.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::world::{Change, Object, World};

/// The properties a user delta returns without `$select` (Graph's default user set).
pub const USER_DEFAULT: [&str; 10] = [
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
];

/// The properties a group delta returns without `$select` [guess].
pub const GROUP_DEFAULT: [&str; 4] = [
    "displayName",
    "description",
    "mailEnabled",
    "securityEnabled",
];

/// Users or groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Users,
    Groups,
}

/// The state a `$skiptoken` or `$deltatoken` carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Token {
    pub kind: Kind,
    /// The round reads changes after this position (unused for an initial round).
    pub from: u64,
    /// The round's end (for a delta token: unused).
    pub to: u64,
    pub initial: bool,
    /// Items already served in this round.
    pub offset: usize,
    pub select: Option<Vec<String>>,
    pub issued_ms: i64,
    pub nonce: u64,
}

impl Token {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    pub fn decode(text: &str) -> Option<Self> {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(text).ok()?).ok()
    }
}

fn pick(props: &Map<String, Value>, names: &[String]) -> Map<String, Value> {
    names
        .iter()
        .filter(|n| *n != "id" && *n != "members")
        .map(|n| (n.clone(), props.get(n).cloned().unwrap_or(Value::Null)))
        .collect()
}

fn member_ref(id: &str, removed: bool) -> Value {
    let mut v = json!({"@odata.type": "#microsoft.graph.user", "id": id});
    if removed {
        v["@removed"] = json!({"reason": "deleted"});
    }
    v
}

/// Every item of a round, in order. `members_per_item` splits a big group's members over
/// several items of the same group id.
pub fn items(world: &World, kind: Kind, t: &Token, members_per_item: usize) -> Vec<Value> {
    let defaults: &[&str] = match kind {
        Kind::Users => &USER_DEFAULT,
        Kind::Groups => &GROUP_DEFAULT,
    };
    let names: Vec<String> = t
        .select
        .clone()
        .unwrap_or_else(|| defaults.iter().map(|s| (*s).to_owned()).collect());
    let with_members = kind == Kind::Groups && names.iter().any(|n| n == "members");
    // Per object: the last relevant position, and (groups) the net member changes.
    let mut touched: BTreeMap<String, u64> = BTreeMap::new();
    let mut member_changes: BTreeMap<String, BTreeMap<String, bool>> = BTreeMap::new();
    if !t.initial {
        for e in world.log.iter().filter(|e| e.seq > t.from && e.seq <= t.to) {
            let id = match (&e.object, kind) {
                (Object::User(id), Kind::Users) | (Object::Group(id), Kind::Groups) => id,
                _ => continue,
            };
            let relevant = match &e.change {
                Change::Created | Change::Removed | Change::Restored => true,
                Change::Updated(props) => props.iter().any(|p| names.contains(p)),
                Change::MemberAdded(m) | Change::MemberRemoved(m) => {
                    if with_members {
                        let added = matches!(e.change, Change::MemberAdded(_));
                        member_changes
                            .entry(id.clone())
                            .or_default()
                            .insert(m.clone(), added);
                    }
                    with_members
                }
            };
            if relevant {
                touched.insert(id.clone(), e.seq);
            }
        }
    }
    let mut order: Vec<(u64, String)> = touched.into_iter().map(|(id, seq)| (seq, id)).collect();
    order.sort();
    let mut out = Vec::new();
    match kind {
        Kind::Users => {
            let users: Vec<&super::world::User> = if t.initial {
                world.users.iter().filter(|u| u.removed.is_none()).collect()
            } else {
                order
                    .iter()
                    .filter_map(|(_, id)| world.users.iter().find(|u| u.id == *id))
                    .collect()
            };
            for u in users {
                out.push(match u.removed {
                    Some(reason) => json!({"id": u.id, "@removed": {"reason": reason}}),
                    None => {
                        let mut v = Value::Object(pick(&u.props, &names));
                        v["id"] = json!(u.id);
                        v
                    }
                });
            }
        }
        Kind::Groups => {
            let groups: Vec<&super::world::Group> = if t.initial {
                world
                    .groups
                    .iter()
                    .filter(|g| g.removed.is_none())
                    .collect()
            } else {
                order
                    .iter()
                    .filter_map(|(_, id)| world.groups.iter().find(|g| g.id == *id))
                    .collect()
            };
            for g in groups {
                if let Some(reason) = g.removed {
                    out.push(json!({"id": g.id, "@removed": {"reason": reason}}));
                    continue;
                }
                let mut first = Value::Object(pick(&g.props, &names));
                first["id"] = json!(g.id);
                if !with_members {
                    out.push(first);
                    continue;
                }
                let members: Vec<Value> = if t.initial {
                    g.members.iter().map(|m| member_ref(m, false)).collect()
                } else {
                    member_changes
                        .get(&g.id)
                        .map(|c| c.iter().map(|(m, added)| member_ref(m, !added)).collect())
                        .unwrap_or_default()
                };
                let mut chunks = members.chunks(members_per_item.max(1));
                first["members@delta"] =
                    Value::Array(chunks.next().map(<[Value]>::to_vec).unwrap_or_default());
                out.push(first);
                for chunk in chunks {
                    out.push(json!({"id": g.id, "members@delta": chunk}));
                }
            }
        }
    }
    out
}

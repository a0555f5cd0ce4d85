//! The reconcile plan: per managed group, who should be added, who removed, and which members
//! the service has never seen; and the removal cap that holds a plan for approval. Pure: it
//! reads no store and calls nothing.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::pull::directory::DirectoryDrift;
use crate::rules::name_key;

/// A user the service has seen, with the Domo groups the rules want for them.
#[derive(Debug, Clone)]
pub struct SeenUser {
    pub email: String,
    pub domo_user_id: Option<i64>,
    /// Desired Domo group names.
    pub desired: BTreeSet<String>,
}

/// A managed Domo group as read from Domo: its id and its members.
#[derive(Debug, Clone)]
pub struct GroupRead {
    pub name: String,
    pub id: i64,
    pub members: BTreeSet<i64>,
}

/// The safety settings the plan is checked against.
#[derive(Debug, Clone)]
pub struct Limits {
    pub remove_unknown: bool,
    pub max_removals: u64,
    pub max_removal_share: f64,
}

/// One user in a group change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Member {
    /// The user's email, or `null` for a member the service has never seen.
    pub email: Option<String>,
    pub domo_user_id: i64,
}

/// The plan for one managed group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GroupPlan {
    pub name: String,
    /// `null` when the group does not exist in Domo yet (it will be created).
    pub domo_group_id: Option<i64>,
    /// Members Domo has now.
    pub members: usize,
    /// Members the service wants.
    pub desired: usize,
    pub add: Vec<Member>,
    pub remove: Vec<Member>,
    /// Members the service has never seen (removed only with `reconcile.remove_unknown`).
    pub unknown: Vec<i64>,
    /// Members that would be removed or reported unknown but are never touched: the Domo API
    /// client's own user, whom Domo makes a member of every group the client creates.
    #[serde(default)]
    pub skipped: Vec<Member>,
}

/// Totals over every group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Totals {
    pub groups: usize,
    pub users_seen: usize,
    pub create: usize,
    pub add: usize,
    pub remove: usize,
    pub unknown: usize,
    /// Members left alone because they are the Domo API client's own user.
    #[serde(default)]
    pub skipped: usize,
    /// Users who should be in a group but have no Domo account the service can find.
    pub missing_in_domo: usize,
}

/// A whole run's plan (what a dry run answers; what an apply queues).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReconcilePlan {
    pub totals: Totals,
    /// Groups to create.
    pub create: Vec<String>,
    pub groups: Vec<GroupPlan>,
    /// Whether unknown members are removed by this plan.
    pub remove_unknown: bool,
    /// The Domo user the API client acts as (never removed); `null` when Domo did not say.
    #[serde(default)]
    pub api_user_id: Option<i64>,
    /// Why the plan waits for approval (`null` when under the cap).
    pub held: Option<String>,
    /// Emails whose memberships the plan changes (one repair job each).
    pub users: Vec<String>,
    /// Missing users, by email.
    pub missing_in_domo: Vec<String>,
    /// The directory pass of each pulling source (the run's first step): what the provider's
    /// directory says differs from the service's state, and the events applying it queues.
    /// The groups above are planned from the state with these events applied.
    #[serde(default)]
    pub directory: Vec<DirectoryDrift>,
}

impl ReconcilePlan {
    /// The plan of a directory pass run on its own: the drift, and why it is held (the
    /// caps, counted on the Domo memberships the service knows); no Domo group is read.
    pub fn directory_only(directory: Vec<DirectoryDrift>, held: Option<String>) -> ReconcilePlan {
        ReconcilePlan {
            totals: Totals::default(),
            create: Vec::new(),
            groups: Vec::new(),
            remove_unknown: false,
            api_user_id: None,
            held,
            users: Vec::new(),
            missing_in_domo: Vec::new(),
            directory,
        }
    }

    /// Removals the plan makes, counting unknown members when they are removed.
    pub fn removals(&self) -> usize {
        self.groups
            .iter()
            .map(|g| removals_of(g, self.remove_unknown))
            .sum()
    }

    /// The unknown members to remove, per Domo user: (user id, [(group id, group name)]).
    pub fn unknown_removals(&self) -> BTreeMap<i64, Vec<(i64, String)>> {
        let mut out: BTreeMap<i64, Vec<(i64, String)>> = BTreeMap::new();
        if !self.remove_unknown {
            return out;
        }
        for g in &self.groups {
            let Some(gid) = g.domo_group_id else { continue };
            for u in &g.unknown {
                out.entry(*u).or_default().push((gid, g.name.clone()));
            }
        }
        out
    }
}

fn removals_of(g: &GroupPlan, remove_unknown: bool) -> usize {
    g.remove.len() + if remove_unknown { g.unknown.len() } else { 0 }
}

/// Compares what Domo has (`read`: every managed group that exists) with what the service
/// wants for every user it has seen. `missing` are desired group names that do not exist in
/// Domo. Protected groups must already be left out of both. `api_user` (the Domo API client's
/// own user) is never removed nor counted unknown: it is listed as skipped instead.
pub fn plan_run(
    read: &[GroupRead],
    missing: &BTreeSet<String>,
    users: &[SeenUser],
    limits: &Limits,
    api_user: Option<i64>,
) -> ReconcilePlan {
    let seen: BTreeMap<i64, &str> = users
        .iter()
        .filter_map(|u| u.domo_user_id.map(|id| (id, u.email.as_str())))
        .collect();
    // Desired members per group key.
    let mut wanted: BTreeMap<String, BTreeSet<i64>> = BTreeMap::new();
    let mut missing_users = BTreeSet::new();
    for u in users {
        for g in &u.desired {
            match u.domo_user_id {
                Some(id) => {
                    wanted.entry(name_key(g)).or_default().insert(id);
                }
                None => {
                    missing_users.insert(u.email.clone());
                }
            }
        }
    }
    let member = |id: i64| Member {
        email: seen.get(&id).map(|e| (*e).to_owned()),
        domo_user_id: id,
    };
    let is_api_user = |id: &i64| api_user == Some(*id);
    let mut groups = Vec::new();
    for g in read {
        let want = wanted.get(&name_key(&g.name)).cloned().unwrap_or_default();
        let (skipped, others): (Vec<i64>, Vec<i64>) = g
            .members
            .iter()
            .filter(|id| !want.contains(id))
            .partition(|id| is_api_user(id));
        groups.push(GroupPlan {
            name: g.name.clone(),
            domo_group_id: Some(g.id),
            members: g.members.len(),
            desired: want.len(),
            add: want.difference(&g.members).map(|id| member(*id)).collect(),
            remove: others
                .iter()
                .filter(|id| seen.contains_key(id))
                .map(|id| member(*id))
                .collect(),
            unknown: others
                .iter()
                .filter(|id| !seen.contains_key(id))
                .copied()
                .collect(),
            skipped: skipped.into_iter().map(member).collect(),
        });
    }
    for name in missing {
        let want = wanted.get(&name_key(name)).cloned().unwrap_or_default();
        groups.push(GroupPlan {
            name: name.clone(),
            domo_group_id: None,
            members: 0,
            desired: want.len(),
            add: want.iter().map(|id| member(*id)).collect(),
            remove: Vec::new(),
            unknown: Vec::new(),
            skipped: Vec::new(),
        });
    }
    let mut affected = BTreeSet::new();
    for g in &groups {
        for m in g.add.iter().chain(&g.remove) {
            if let Some(e) = &m.email {
                affected.insert(e.clone());
            }
        }
    }
    let create: Vec<String> = missing
        .iter()
        .filter(|n| wanted.get(&name_key(n)).is_some_and(|w| !w.is_empty()))
        .cloned()
        .collect();
    let totals = Totals {
        groups: groups.len(),
        users_seen: users.len(),
        create: create.len(),
        add: groups.iter().map(|g| g.add.len()).sum(),
        remove: groups.iter().map(|g| g.remove.len()).sum(),
        unknown: groups.iter().map(|g| g.unknown.len()).sum(),
        skipped: groups.iter().map(|g| g.skipped.len()).sum(),
        missing_in_domo: missing_users.len(),
    };
    let mut p = ReconcilePlan {
        totals,
        create,
        groups,
        remove_unknown: limits.remove_unknown,
        api_user_id: api_user,
        held: None,
        users: affected.into_iter().collect(),
        missing_in_domo: missing_users.into_iter().collect(),
        directory: Vec::new(),
    };
    p.held = over_cap(&p, limits);
    p
}

/// Why a plan exceeds the removal cap, if it does: more removals than `max_removals`, or in
/// one group more than `max_removal_share` of its members (one removal is always allowed).
pub fn over_cap(p: &ReconcilePlan, limits: &Limits) -> Option<String> {
    let total = p.removals();
    if u64::try_from(total).unwrap_or(u64::MAX) > limits.max_removals {
        return Some(format!(
            "{total} removals exceed reconcile.max_removals = {}",
            limits.max_removals
        ));
    }
    for g in &p.groups {
        let n = removals_of(g, p.remove_unknown);
        let allowed = ((g.members as f64) * limits.max_removal_share)
            .floor()
            .max(1.0);
        if n > 0 && n as f64 > allowed {
            return Some(format!(
                "{n} of {} members of `{}` would be removed, over reconcile.max_removal_share = {}",
                g.members, g.name, limits.max_removal_share
            ));
        }
    }
    None
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;

//! The events of the replica test, and an independent model of the state they imply.

use std::collections::{BTreeMap, BTreeSet};

use crate::helpers::canonical;

pub const USERS: usize = 200;
pub const EVENTS_PER_USER: usize = 10;
pub const TEAMS: [&str; 6] = ["team-a", "team-b", "team-c", "team-d", "team-e", "team-f"];

/// One generated event: its id, JSON body, and what it does in the model.
pub struct Ev {
    pub id: String,
    pub body: String,
    pub user: usize,
    pub op: Op,
}

pub enum Op {
    Snapshot(BTreeSet<String>), // onboarded / updated: exactly these IdP groups
    Add(String),
    Remove(String),
    Offboard,
}

/// Per user, events in time order: an onboarding, then updates and membership changes, and
/// for some an offboarding last. Times are distinct and increase in generation order.
pub fn generate(rng: &mut fastrand::Rng) -> Vec<Ev> {
    let base = chrono::DateTime::parse_from_rfc3339("2026-11-28T00:00:00Z").expect("time");
    let mut out = Vec::new();
    let mut t = 0i64;
    for u in 1..=USERS {
        let email = format!("user{u}@example.com");
        for k in 0..EVENTS_PER_USER {
            t += 1;
            let at = (base + chrono::Duration::seconds(t)).to_rfc3339();
            let id = format!("evt-{u}-{k}");
            let team = TEAMS[rng.usize(..TEAMS.len())].to_owned();
            let last = k == EVENTS_PER_USER - 1;
            let (kind, op) = match rng.usize(..4) {
                _ if k == 0 => ("user.onboarded", snapshot(rng)),
                _ if last && u % 5 == 0 => ("user.offboarded", Op::Offboard),
                0 => ("user.updated", snapshot(rng)),
                1 => ("group.member_removed", Op::Remove(team)),
                _ => ("group.member_added", Op::Add(team)),
            };
            let groups: Option<Vec<String>> = match &op {
                Op::Snapshot(g) => Some(g.iter().cloned().collect()),
                Op::Add(g) | Op::Remove(g) => Some(vec![g.clone()]),
                Op::Offboard => None,
            };
            let refs: Option<Vec<&str>> = groups
                .as_ref()
                .map(|g| g.iter().map(String::as_str).collect());
            let body = canonical(&id, kind, &at, &email, refs.as_deref());
            out.push(Ev {
                id,
                body,
                user: u,
                op,
            });
        }
    }
    out
}

fn snapshot(rng: &mut fastrand::Rng) -> Op {
    let mut g: BTreeSet<String> = TEAMS
        .iter()
        .filter(|_| rng.bool())
        .map(|t| (*t).to_owned())
        .collect();
    if rng.bool() {
        g.insert("all-staff".to_owned());
    }
    Op::Snapshot(g)
}

/// The independent model: fold each user's events in time order (latest wins), map IdP groups
/// to Domo groups. Returns user → Domo groups, and how many membership changes the events made.
pub fn expected(events: &[Ev]) -> (BTreeMap<usize, BTreeSet<String>>, usize) {
    let mut idp: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
    let mut changes = 0;
    for e in events {
        let set = idp.entry(e.user).or_default();
        let before = set.clone();
        match &e.op {
            Op::Snapshot(g) => *set = g.clone(),
            Op::Add(g) => {
                set.insert(g.clone());
            }
            Op::Remove(g) => {
                set.remove(g);
            }
            Op::Offboard => set.clear(),
        }
        changes += before.symmetric_difference(set).count();
    }
    let domo = idp
        .into_iter()
        .map(|(u, g)| {
            let names = g
                .into_iter()
                .map(|n| {
                    if n == "all-staff" {
                        "All Staff".to_owned()
                    } else {
                        n
                    }
                })
                .collect();
            (u, names)
        })
        .collect();
    (domo, changes)
}

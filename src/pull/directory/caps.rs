//! The reconcile caps applied to a directory pass on its own (a full reconcile checks them on
//! its Domo plan, which it computes from the states with the drift applied). A pass does not
//! read Domo: it counts the Domo memberships its events would take away, as the service
//! knows them (the rules over each user's state before and after), and holds the pass for
//! approval when they exceed `reconcile.max_removals`, or `reconcile.max_removal_share` of a
//! group's members. Pure.

use std::collections::{BTreeMap, BTreeSet};

use crate::event::CanonicalEvent;
use crate::reconcile::Limits;
use crate::rules::{RuleSet, name_key};

use super::diff::Known;

/// Domo memberships a drift takes away.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Removals {
    pub total: usize,
    /// Domo group → (members removed, members the service knows before).
    pub by_group: BTreeMap<String, (usize, usize)>,
}

/// Counts the Domo memberships `events` would remove from the `known` users, under `rules`,
/// leaving out `protected` groups (lower-cased names).
pub fn removals(
    known: &[Known],
    events: &[CanonicalEvent],
    rules: &RuleSet,
    protected: &BTreeSet<String>,
) -> Removals {
    let desired = |s: &crate::state::UserState| -> BTreeSet<String> {
        s.desired_domo_groups(rules)
            .into_iter()
            .map(|d| d.domo_group)
            .filter(|g| !protected.contains(&name_key(g)))
            .collect()
    };
    let mut by_user: BTreeMap<&str, Vec<&CanonicalEvent>> = BTreeMap::new();
    for e in events {
        if let Some(email) = e.user.as_ref().and_then(|u| u.email.as_deref()) {
            by_user.entry(email).or_default().push(e);
        }
    }
    let mut out = Removals::default();
    let mut members: BTreeMap<String, (String, usize)> = BTreeMap::new();
    for k in known {
        let before = desired(&k.state);
        for g in &before {
            members
                .entry(name_key(g))
                .or_insert_with(|| (g.clone(), 0))
                .1 += 1;
        }
        let Some(evs) = by_user.get(k.user_key.as_str()) else {
            continue;
        };
        let mut after_state = k.state.clone();
        for e in evs {
            after_state.apply(e, &format!("directory:{}", e.id));
        }
        let after = desired(&after_state);
        for g in before.difference(&after) {
            out.total += 1;
            let entry = out.by_group.entry(g.clone()).or_insert((0, 0));
            entry.0 += 1;
        }
    }
    for (g, (removed, count)) in &mut out.by_group {
        *count = members.get(&name_key(g)).map_or(*removed, |(_, n)| *n);
    }
    out
}

/// Why the removals exceed the caps, if they do (the same rule as a reconcile plan: more
/// than `max_removals`, or in one group more than `max_removal_share` of its members, one
/// removal always allowed).
pub fn over_cap(source: &str, r: &Removals, limits: &Limits) -> Option<String> {
    if u64::try_from(r.total).unwrap_or(u64::MAX) > limits.max_removals {
        return Some(format!(
            "the directory pass of `{source}` would remove {} Domo memberships, over \
             reconcile.max_removals = {}",
            r.total, limits.max_removals
        ));
    }
    for (group, (removed, members)) in &r.by_group {
        let allowed = ((*members as f64) * limits.max_removal_share)
            .floor()
            .max(1.0);
        if *removed as f64 > allowed {
            return Some(format!(
                "the directory pass of `{source}` would remove {removed} of {members} members of \
                 `{group}`, over reconcile.max_removal_share = {}",
                limits.max_removal_share
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::config::{RuleConfig, RuleMatch};
    use crate::event::{EventType, EventUser};
    use crate::state::UserState;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().expect("time")
    }

    fn rules() -> RuleSet {
        RuleSet::compile(&[
            RuleConfig {
                when: RuleMatch::Group("Marketing".into()),
                domo_groups: vec!["Marketing".into()],
            },
            RuleConfig {
                when: RuleMatch::Group("Finance".into()),
                domo_groups: vec!["Finance".into(), "Everyone".into()],
            },
        ])
        .expect("rules")
    }

    fn user(email: &str, groups: &[&str]) -> Known {
        let mut state = UserState::default();
        state.apply(
            &CanonicalEvent {
                id: "on".into(),
                event_type: EventType::UserOnboarded,
                occurred_at: at("2026-11-01T00:00:00Z"),
                user: Some(EventUser {
                    email: Some(email.into()),
                    ..EventUser::default()
                }),
                groups: Some(groups.iter().map(|g| (*g).to_owned()).collect()),
            },
            "s:on",
        );
        Known {
            user_key: email.into(),
            idp_id: None,
            state,
        }
    }

    fn off(email: &str) -> CanonicalEvent {
        CanonicalEvent {
            id: format!("off-{email}"),
            event_type: EventType::UserOffboarded,
            occurred_at: at("2026-12-01T00:00:00Z"),
            user: Some(EventUser {
                email: Some(email.into()),
                ..EventUser::default()
            }),
            groups: None,
        }
    }

    fn limits(max: u64, share: f64) -> Limits {
        Limits {
            remove_unknown: false,
            max_removals: max,
            max_removal_share: share,
        }
    }

    #[test]
    fn offboardings_count_every_domo_membership_they_take_away() {
        let known = vec![
            user("a@x.io", &["Marketing", "Finance"]),
            user("b@x.io", &["Marketing"]),
            user("c@x.io", &["Marketing"]),
            user("d@x.io", &["Marketing"]),
        ];
        let r = removals(&known, &[off("a@x.io")], &rules(), &BTreeSet::new());
        assert_eq!(r.total, 3, "Marketing, Finance, Everyone");
        assert_eq!(r.by_group["Marketing"], (1, 4));
        assert_eq!(r.by_group["Finance"], (1, 1));
        // One removal is always allowed, even from a group of one.
        assert_eq!(over_cap("okta", &r, &limits(50, 0.25)), None);
        let protected = BTreeSet::from(["everyone".to_owned()]);
        assert_eq!(
            removals(&known, &[off("a@x.io")], &rules(), &protected).total,
            2
        );
    }

    #[test]
    fn an_empty_listing_that_offboards_everyone_is_over_the_cap() {
        let known: Vec<Known> = (0..4)
            .map(|i| user(&format!("u{i}@x.io"), &["Marketing"]))
            .collect();
        let events: Vec<CanonicalEvent> = known.iter().map(|k| off(&k.user_key)).collect();
        let r = removals(&known, &events, &rules(), &BTreeSet::new());
        assert_eq!(r.by_group["Marketing"], (4, 4));
        let why = over_cap("okta", &r, &limits(50, 0.25)).expect("held");
        assert!(why.contains("4 of 4 members of `Marketing`"), "{why}");
        let why = over_cap("okta", &r, &limits(3, 1.0)).expect("held");
        assert!(why.contains("reconcile.max_removals = 3"), "{why}");
        assert_eq!(over_cap("okta", &r, &limits(4, 1.0)), None);
    }

    #[test]
    fn a_user_without_domo_groups_removes_nothing() {
        let known = vec![user("a@x.io", &["Sales Club"])];
        let r = removals(&known, &[off("a@x.io")], &rules(), &BTreeSet::new());
        assert_eq!(r, Removals::default());
    }
}

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;
use crate::config::{RuleConfig, RuleMatch};
use crate::rules::RuleSet;

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// A case-insensitive membership test over a fixed list, as callers are asked to write.
fn any_of(items: &[&str]) -> impl Fn(&str) -> bool {
    let keys: BTreeSet<String> = items.iter().map(|s| name_key(s)).collect();
    move |name| keys.contains(&name_key(name))
}

#[test]
fn adds_missing_groups_and_removes_managed_groups_no_longer_desired() {
    let got = plan(
        &set(&["Marketing", "Sales"]),
        &set(&["Ops", "Sales", "Legacy"]),
        any_of(&["Marketing", "Sales", "Ops"]),
        any_of(&[]),
    );
    assert_eq!(
        got,
        Plan {
            add: vec!["Marketing".into()],
            remove: vec!["Ops".into()],
        },
        "Legacy is not managed and stays"
    );
    assert!(!got.is_empty());
}

#[test]
fn protected_groups_are_never_added_or_removed() {
    let got = plan(
        &set(&["Admins", "Marketing"]),
        &set(&["Domo Default", "Ops"]),
        |_| true,
        any_of(&["Admins", "domo default"]),
    );
    assert_eq!(got.add, ["Marketing"]);
    assert_eq!(got.remove, ["Ops"]);
}

#[test]
fn names_are_compared_ignoring_case() {
    let got = plan(
        &set(&["marketing", "SALES"]),
        &set(&["Marketing", "Sales"]),
        |_| true,
        |_| false,
    );
    assert!(got.is_empty(), "{got:?}");
    let got = plan(&set(&["A", "a"]), &set(&[]), |_| true, |_| false);
    assert_eq!(got.add, ["A"], "one add per case-insensitive name");
}

#[test]
fn an_empty_desired_set_removes_every_managed_group() {
    let got = plan(
        &set(&[]),
        &set(&["B", "A", "Unmanaged"]),
        any_of(&["a", "b"]),
        |_| false,
    );
    assert_eq!(got.add, Vec::<String>::new());
    assert_eq!(got.remove, ["A", "B"]);
}

#[test]
fn blank_names_are_never_added() {
    let got = plan(&set(&["", "  ", " X "]), &set(&[]), |_| true, |_| false);
    assert_eq!(got.add, ["X"]);
}

#[test]
fn plan_round_trips_through_json() {
    let p = Plan {
        add: vec!["A".into()],
        remove: vec!["B".into()],
    };
    let json = serde_json::to_string(&p).expect("serializes");
    assert_eq!(json, r#"{"add":["A"],"remove":["B"]}"#);
    assert_eq!(serde_json::from_str::<Plan>(&json).expect("parses"), p);
    assert!(Plan::default().is_empty());
}

// ---- Property test: the plan respects protection and management, and reaches the target. ----
// Case counts follow proptest's default (256), overridable with `PROPTEST_CASES`.

const NAMES: [&str; 8] = [
    "Marketing",
    "marketing",
    "Sales",
    "Ops",
    "Domo Default",
    "Admins",
    "Eng web",
    "X",
];

fn arb_names() -> impl Strategy<Value = BTreeSet<String>> {
    proptest::sample::subsequence(NAMES.to_vec(), 0..=NAMES.len())
        .prop_map(|v| v.into_iter().map(str::to_owned).collect())
}

fn arb_rule() -> impl Strategy<Value = RuleConfig> {
    let target = proptest::sample::select(vec![
        "Marketing",
        "SALES",
        "Admins",
        "Domo Default",
        "Eng {group}",
        "{dept}",
    ]);
    let when = prop_oneof![
        proptest::sample::select(vec!["*", "mark*", "web", "?ps", "sales"])
            .prop_map(|p| RuleMatch::Group(p.into())),
        proptest::sample::select(vec!["Ops", "*", "s*"]).prop_map(|v| RuleMatch::Attribute {
            name: "dept".into(),
            equals: v.into(),
        }),
    ];
    (when, proptest::collection::vec(target, 1..3)).prop_map(|(when, targets)| RuleConfig {
        domo_groups: targets
            .into_iter()
            .filter(|t| matches!(when, RuleMatch::Group(_)) || !t.contains("{group}"))
            .chain(std::iter::once("X"))
            .map(str::to_owned)
            .collect(),
        when,
    })
}

fn keys(names: impl IntoIterator<Item = impl AsRef<str>>) -> BTreeSet<String> {
    names.into_iter().map(|n| name_key(n.as_ref())).collect()
}

proptest! {
    #[test]
    fn plan_respects_protection_and_reaches_the_target(
        rules in proptest::collection::vec(arb_rule(), 0..4),
        idp_groups in proptest::sample::subsequence(
            vec!["Marketing", "web", "Ops", "sales", "Other"], 0..=5),
        dept in proptest::sample::select(vec!["Ops", "Sales", "Marketing"]),
        current in arb_names(),
        managed in arb_names(),
        protected in arb_names(),
    ) {
        let rules = RuleSet::compile(&rules).expect("generated rules are valid");
        let idp: BTreeSet<String> = idp_groups.into_iter().map(str::to_owned).collect();
        let attrs = BTreeMap::from([("dept".to_owned(), dept.to_owned())]);
        let desired: BTreeSet<String> =
            rules.evaluate(&idp, &attrs).into_iter().map(|d| d.domo_group).collect();
        let (managed, protected) = (keys(&managed), keys(&protected));
        let is_managed = |n: &str| managed.contains(&name_key(n));
        let is_protected = |n: &str| protected.contains(&name_key(n));

        let p = plan(&desired, &current, is_managed, is_protected);

        for name in &p.add {
            prop_assert!(!is_protected(name), "added protected {name}");
            prop_assert!(!keys(&current).contains(&name_key(name)), "added present {name}");
        }
        for name in &p.remove {
            prop_assert!(!is_protected(name), "removed protected {name}");
            prop_assert!(is_managed(name), "removed unmanaged {name}");
            prop_assert!(!keys(&desired).contains(&name_key(name)), "removed desired {name}");
        }
        prop_assert!(p.add.windows(2).all(|w| w[0] < w[1]), "add sorted and unique");
        prop_assert!(p.remove.windows(2).all(|w| w[0] < w[1]), "remove sorted and unique");

        // current with the plan applied = (current − (managed − desired − protected))
        //                                  ∪ (desired − protected), compared case-insensitively.
        let mut after = keys(&current);
        after.retain(|k| !keys(&p.remove).contains(k));
        after.extend(keys(&p.add));
        let desired_keys = keys(&desired);
        let mut expected: BTreeSet<String> = keys(&current)
            .into_iter()
            .filter(|k| !(managed.contains(k) && !protected.contains(k) && !desired_keys.contains(k)))
            .collect();
        expected.extend(desired_keys.iter().filter(|k| !protected.contains(*k)).cloned());
        prop_assert_eq!(after, expected);
    }
}

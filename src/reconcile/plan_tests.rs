use super::*;

fn user(email: &str, id: Option<i64>, groups: &[&str]) -> SeenUser {
    SeenUser {
        email: email.to_owned(),
        domo_user_id: id,
        desired: groups.iter().map(|g| (*g).to_owned()).collect(),
    }
}

fn group(name: &str, id: i64, members: &[i64]) -> GroupRead {
    GroupRead {
        name: name.to_owned(),
        id,
        members: members.iter().copied().collect(),
    }
}

const OPEN: Limits = Limits {
    remove_unknown: false,
    max_removals: 100,
    max_removal_share: 1.0,
};

#[test]
fn drift_is_added_removed_and_unknown_members_are_reported() {
    let users = [
        user("ada@x", Some(1), &["Sales"]),
        user("bob@x", Some(2), &[]),
        user("cy@x", Some(3), &["sales", "Ops"]),
    ];
    // Domo: Sales has bob (should not), a stranger 99, and lacks ada and cy.
    let read = [group("Sales", 10, &[2, 99])];
    let p = plan_run(&read, &BTreeSet::from(["Ops".to_owned()]), &users, &OPEN);
    let sales = &p.groups[0];
    let ids = |m: &[Member]| m.iter().map(|m| m.domo_user_id).collect::<Vec<_>>();
    assert_eq!(
        ids(&sales.add),
        vec![1, 3],
        "names compare case-insensitively"
    );
    assert_eq!(ids(&sales.remove), vec![2]);
    assert_eq!(sales.unknown, vec![99]);
    assert_eq!(p.create, vec!["Ops".to_owned()]);
    assert_eq!(p.users, vec!["ada@x", "bob@x", "cy@x"]);
    assert_eq!(p.removals(), 1, "unknown members are kept by default");
    assert!(p.unknown_removals().is_empty());
    assert_eq!(p.held, None);
}

#[test]
fn a_user_without_a_domo_account_is_reported_not_planned() {
    let users = [user("new@x", None, &["Sales"])];
    let p = plan_run(&[group("Sales", 10, &[])], &BTreeSet::new(), &users, &OPEN);
    assert_eq!(p.missing_in_domo, vec!["new@x"]);
    assert!(p.groups[0].add.is_empty());
}

#[test]
fn removing_unknown_members_counts_towards_the_cap() {
    let limits = Limits {
        remove_unknown: true,
        max_removals: 1,
        max_removal_share: 1.0,
    };
    let p = plan_run(
        &[group("Sales", 10, &[98, 99])],
        &BTreeSet::new(),
        &[],
        &limits,
    );
    assert_eq!(p.removals(), 2);
    assert_eq!(p.unknown_removals().len(), 2);
    assert!(
        p.held
            .as_deref()
            .is_some_and(|h| h.contains("max_removals"))
    );
}

#[test]
fn a_large_share_of_one_group_is_held_but_one_removal_is_always_allowed() {
    let limits = Limits {
        remove_unknown: false,
        max_removals: 1000,
        max_removal_share: 0.25,
    };
    let users: Vec<SeenUser> = (1..=8)
        .map(|i| user(&format!("u{i}@x"), Some(i), &[]))
        .collect();
    let p = plan_run(
        &[group("Sales", 10, &[1, 2, 3])],
        &BTreeSet::new(),
        &users,
        &limits,
    );
    assert!(
        p.held.as_deref().is_some_and(|h| h.contains("Sales")),
        "{p:?}"
    );

    let p = plan_run(
        &[group("Sales", 10, &[1])],
        &BTreeSet::new(),
        &users,
        &limits,
    );
    assert_eq!(
        p.held, None,
        "one removal from a small group is not mass removal"
    );
}

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
    let p = plan_run(
        &read,
        &BTreeSet::from(["Ops".to_owned()]),
        &users,
        &OPEN,
        None,
    );
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
    let p = plan_run(
        &[group("Sales", 10, &[])],
        &BTreeSet::new(),
        &users,
        &OPEN,
        None,
    );
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
        None,
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
        None,
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
        None,
    );
    assert_eq!(
        p.held, None,
        "one removal from a small group is not mass removal"
    );
}

#[test]
fn the_api_client_s_own_user_is_skipped_never_removed_nor_unknown() {
    let limits = Limits {
        remove_unknown: true,
        max_removals: 100,
        max_removal_share: 1.0,
    };
    // Domo made the API user (500) a member of the groups the service created; 99 is a
    // stranger. The API user is unknown to the service in Sales and seen (but not wanted) in
    // Ops; where the rules want it, it is a plain member.
    let users = [
        user("ada@x", Some(1), &["Sales"]),
        user("api@x", Some(500), &["Eng"]),
    ];
    let read = [group("Sales", 10, &[1, 99, 500]), group("Eng", 11, &[500])];
    let p = plan_run(&read, &BTreeSet::new(), &users[..1], &limits, Some(500));
    let sales = &p.groups[0];
    assert_eq!(sales.unknown, vec![99]);
    assert!(sales.remove.is_empty());
    let skipped: Vec<i64> = sales.skipped.iter().map(|m| m.domo_user_id).collect();
    assert_eq!(skipped, vec![500]);
    assert_eq!(p.totals.skipped, 2, "unwanted in Eng too");
    assert_eq!(p.api_user_id, Some(500));
    assert_eq!(p.removals(), 1);
    assert_eq!(
        p.unknown_removals().keys().copied().collect::<Vec<_>>(),
        vec![99]
    );

    let p = plan_run(&read, &BTreeSet::new(), &users, &limits, Some(500));
    assert!(p.groups[1].skipped.is_empty(), "wanted in Eng: a member");
    assert_eq!(p.groups[0].skipped[0].email.as_deref(), Some("api@x"));
    assert!(p.groups[0].remove.is_empty());
    assert!(!p.users.contains(&"api@x".to_owned()), "no repair for it");

    // Without knowing the API user, it is an unknown member like any other.
    let p = plan_run(&read, &BTreeSet::new(), &users[..1], &limits, None);
    assert_eq!(p.groups[0].unknown, vec![99, 500]);
}

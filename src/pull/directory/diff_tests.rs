//! The directory diff, on hand-made listings and states.

use chrono::{DateTime, Utc};

use super::*;
use crate::pull::connector::ListedGroup;

fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("RFC 3339")
}

const LISTED_AT: &str = "2026-12-01T12:00:00Z";

fn listed(id: &str, email: Option<&str>, active: bool) -> ListedUser {
    ListedUser {
        id: id.into(),
        email: email.map(str::to_owned),
        name: None,
        active,
    }
}

fn group(name: &str, members: &[&str]) -> ListedGroup {
    ListedGroup {
        name: name.into(),
        members: members.iter().map(|m| (*m).to_owned()).collect(),
    }
}

fn listing(users: Vec<ListedUser>, groups: Vec<ListedGroup>, complete: bool) -> Listing {
    Listing {
        users,
        groups,
        complete,
        problem: (!complete).then(|| "page 3 failed".into()),
        requests: 0,
    }
}

/// A state: onboarded with `groups` at `when`.
fn onboarded(email: &str, groups: &[&str], when: &str) -> UserState {
    let mut s = UserState::default();
    let ev = CanonicalEvent {
        id: format!("on-{email}"),
        event_type: EventType::UserOnboarded,
        occurred_at: at(when),
        user: Some(EventUser {
            email: Some(email.into()),
            ..EventUser::default()
        }),
        groups: Some(groups.iter().map(|g| (*g).to_owned()).collect()),
    };
    s.apply(&ev, &format!("okta:{}", ev.id));
    s
}

fn known(email: &str, id: Option<&str>, state: UserState) -> Known {
    Known {
        user_key: email.into(),
        idp_id: id.map(str::to_owned),
        state,
    }
}

/// The rules map Marketing, Finance and eng-*.
fn mapped(name: &str) -> bool {
    matches!(name_key(name).as_str(), "marketing" | "finance") || name_key(name).starts_with("eng-")
}

fn run(l: &Listing, k: &[Known]) -> Drift {
    diff(l, k, &mapped, at(LISTED_AT), "1764590400000")
}

fn kinds(d: &Drift) -> Vec<(String, EventType)> {
    d.events
        .iter()
        .map(|e| (e.id.clone(), e.event_type))
        .collect()
}

#[test]
fn absent_and_deactivated_users_of_this_source_are_offboarded_from_a_complete_listing() {
    let early = "2026-11-01T00:00:00Z";
    let known_users = vec![
        known(
            "ada@example.com",
            Some("00u1"),
            onboarded("ada@example.com", &["Marketing"], early),
        ),
        known(
            "bob@example.com",
            Some("00u2"),
            onboarded("bob@example.com", &["Marketing"], early),
        ),
        // Another source's user (no id from this one): not this directory's to offboard.
        known(
            "cy@example.com",
            None,
            onboarded("cy@example.com", &["Marketing"], early),
        ),
        known(
            "dee@example.com",
            Some("00u4"),
            onboarded("dee@example.com", &[], early),
        ),
    ];
    let l = listing(
        vec![
            listed("00u2", Some("bob@example.com"), false),
            listed("00u4", Some("dee@example.com"), true),
        ],
        vec![group("Marketing", &[])],
        true,
    );
    let d = run(&l, &known_users);
    assert_eq!(d.offboard, ["ada@example.com", "bob@example.com"]);
    let off: Vec<&CanonicalEvent> = d
        .events
        .iter()
        .filter(|e| e.event_type == EventType::UserOffboarded)
        .collect();
    assert_eq!(off.len(), 2);
    for e in &off {
        assert_eq!(
            e.occurred_at,
            at(LISTED_AT),
            "stamped with the listing's time"
        );
        assert!(e.validate().is_ok(), "{e:?}");
    }
    assert_eq!(off[0].id, "dir:1764590400000:off:ada@example.com");
    assert_eq!(
        off[0].user.as_ref().and_then(|u| u.id.as_deref()),
        Some("00u1")
    );
    assert!(
        d.remove.is_empty(),
        "offboarded users need no member removals: {d:?}"
    );
    assert_eq!(d.withheld, 0);
}

#[test]
fn an_offboarded_user_is_not_offboarded_again() {
    let mut s = onboarded("ada@example.com", &["Marketing"], "2026-11-01T00:00:00Z");
    s.apply(
        &CanonicalEvent {
            id: "off".into(),
            event_type: EventType::UserOffboarded,
            occurred_at: at("2026-11-02T00:00:00Z"),
            user: Some(EventUser {
                email: Some("ada@example.com".into()),
                ..EventUser::default()
            }),
            groups: None,
        },
        "okta:off",
    );
    let k = vec![known("ada@example.com", Some("00u1"), s)];
    let gone = listing(vec![], vec![], true);
    assert_eq!(run(&gone, &k), Drift::default());
    let deactivated = listing(
        vec![listed("00u1", Some("ada@example.com"), false)],
        vec![],
        true,
    );
    assert_eq!(run(&deactivated, &k), Drift::default());
}

#[test]
fn membership_differences_in_mapped_groups_become_member_events() {
    let k = vec![known(
        "ada@example.com",
        Some("00u1"),
        // eng-old is mapped but no longer exists at the provider; Sales Club is not mapped.
        onboarded(
            "ada@example.com",
            &["Marketing", "eng-old", "Sales Club"],
            "2026-11-01T00:00:00Z",
        ),
    )];
    let l = listing(
        vec![listed("00u1", Some("ada@example.com"), true)],
        vec![group("Marketing", &[]), group("Finance", &["00u1"])],
        true,
    );
    let d = run(&l, &k);
    assert_eq!(
        d.add,
        [MemberChange {
            user: "ada@example.com".into(),
            group: "Finance".into()
        }]
    );
    let removed: Vec<&str> = d.remove.iter().map(|c| c.group.as_str()).collect();
    assert_eq!(removed, ["Marketing", "eng-old"]);
    assert!(d.offboard.is_empty());
    assert_eq!(
        kinds(&d),
        [
            (
                "dir:1764590400000:add:ada@example.com:Finance".to_owned(),
                EventType::GroupMemberAdded
            ),
            (
                "dir:1764590400000:rm:ada@example.com:Marketing".to_owned(),
                EventType::GroupMemberRemoved
            ),
            (
                "dir:1764590400000:rm:ada@example.com:eng-old".to_owned(),
                EventType::GroupMemberRemoved
            ),
        ]
    );
    for e in &d.events {
        assert!(e.validate().is_ok(), "{e:?}");
    }
}

#[test]
fn a_partial_listing_only_adds_and_counts_what_it_withheld() {
    let early = "2026-11-01T00:00:00Z";
    let k = vec![
        known(
            "ada@example.com",
            Some("00u1"),
            onboarded("ada@example.com", &["Marketing"], early),
        ),
        known(
            "bob@example.com",
            Some("00u2"),
            onboarded("bob@example.com", &[], early),
        ),
        known(
            "cy@example.com",
            Some("00u3"),
            onboarded("cy@example.com", &[], early),
        ),
    ];
    // Page 3 failed: ada is missing from Marketing's members, bob is absent, cy is listed
    // deactivated, dee (new) is in Finance.
    let l = listing(
        vec![
            listed("00u1", Some("ada@example.com"), true),
            listed("00u3", Some("cy@example.com"), false),
            listed("00u9", Some("Dee@Example.com"), true),
        ],
        vec![group("Marketing", &[]), group("Finance", &["00u9"])],
        false,
    );
    let d = run(&l, &k);
    assert!(d.offboard.is_empty() && d.remove.is_empty(), "{d:?}");
    assert_eq!(d.withheld, 3, "ada's removal, bob's and cy's offboardings");
    assert_eq!(
        d.add,
        [MemberChange {
            user: "dee@example.com".into(),
            group: "Finance".into()
        }]
    );
    assert!(
        d.events
            .iter()
            .all(|e| e.event_type == EventType::GroupMemberAdded)
    );
}

#[test]
fn new_members_join_their_groups_and_those_without_an_email_are_counted() {
    let l = listing(
        vec![
            listed("00u7", Some("eve@example.com"), true),
            listed("00u8", None, true),
            listed("00u9", Some("old@example.com"), false),
        ],
        vec![group("eng-core", &["00u7", "00u8", "00u9"])],
        true,
    );
    let d = run(&l, &[]);
    assert_eq!(
        d.add,
        [MemberChange {
            user: "eve@example.com".into(),
            group: "eng-core".into()
        }]
    );
    assert_eq!(d.no_email, 1);
    let user = d.events[0].user.as_ref().expect("user");
    assert_eq!(user.email.as_deref(), Some("eve@example.com"));
    assert_eq!(user.id.as_deref(), Some("00u7"));
}

#[test]
fn a_user_is_found_by_email_when_this_source_never_named_their_id() {
    let k = vec![known(
        "ada@example.com",
        None,
        onboarded("ada@example.com", &[], "2026-11-01T00:00:00Z"),
    )];
    let l = listing(
        vec![listed("00u1", Some("ADA@example.com"), false)],
        vec![],
        true,
    );
    assert_eq!(run(&l, &k).offboard, ["ada@example.com"]);
}

#[test]
fn applying_the_drift_makes_the_state_agree_with_the_listing() {
    let early = "2026-11-01T00:00:00Z";
    let mut k = vec![
        known(
            "ada@example.com",
            Some("00u1"),
            onboarded("ada@example.com", &["Marketing"], early),
        ),
        known(
            "bob@example.com",
            Some("00u2"),
            onboarded("bob@example.com", &["Finance"], early),
        ),
        known(
            "cy@example.com",
            Some("00u3"),
            onboarded("cy@example.com", &[], early),
        ),
    ];
    let l = listing(
        vec![
            listed("00u1", Some("ada@example.com"), true),
            listed("00u3", Some("cy@example.com"), true),
            listed("00u4", Some("dee@example.com"), true),
        ],
        vec![
            group("Marketing", &["00u3"]),
            group("Finance", &["00u1", "00u4"]),
        ],
        true,
    );
    let d = run(&l, &k);
    assert!(!d.events.is_empty());
    for e in &d.events {
        let key = e.user_key().expect("email");
        let idx = match k.iter().position(|x| x.user_key == key) {
            Some(i) => i,
            None => {
                k.push(known(
                    &key,
                    e.user.as_ref().and_then(|u| u.id.as_deref()),
                    UserState::default(),
                ));
                k.len() - 1
            }
        };
        k[idx].state.apply(e, &format!("okta:{}", e.id));
    }
    let again = diff(&l, &k, &mapped, at("2026-12-01T13:00:00Z"), "later");
    assert_eq!(again, Drift::default(), "nothing left to change");
}

#[test]
fn a_change_the_provider_logs_after_the_listing_wins_over_it() {
    // The listing (12:00) says ada is in Marketing; a removal at 12:05 arrives later.
    let mut s = onboarded("ada@example.com", &[], "2026-11-01T00:00:00Z");
    let l = listing(
        vec![listed("00u1", Some("ada@example.com"), true)],
        vec![group("Marketing", &["00u1"])],
        true,
    );
    let d = run(&l, &[known("ada@example.com", Some("00u1"), s.clone())]);
    let later = CanonicalEvent {
        id: "uuid-rm".into(),
        event_type: EventType::GroupMemberRemoved,
        occurred_at: at("2026-12-01T12:05:00Z"),
        user: Some(EventUser {
            email: Some("ada@example.com".into()),
            ..EventUser::default()
        }),
        groups: Some(vec!["Marketing".into()]),
    };
    // Whatever the arrival order, the later removal stands.
    let mut other = s.clone();
    s.apply(&d.events[0], "okta:dir");
    s.apply(&later, "okta:uuid-rm");
    other.apply(&later, "okta:uuid-rm");
    other.apply(&d.events[0], "okta:dir");
    assert!(s.desired_idp_groups().is_empty());
    assert_eq!(s.desired_idp_groups(), other.desired_idp_groups());
}

#[test]
fn very_long_ids_are_digested_to_fit_the_inbox() {
    let group_name = format!("eng-{}", "x".repeat(300));
    let l = listing(
        vec![listed("00u7", Some("eve@example.com"), true)],
        vec![group(&group_name, &["00u7"])],
        true,
    );
    let d = run(&l, &[]);
    assert_eq!(d.events.len(), 1);
    assert!(d.events[0].id.len() <= 256);
    assert!(d.events[0].validate().is_ok());
    assert!(d.events[0].id.starts_with("dir:1764590400000:add:"));
}

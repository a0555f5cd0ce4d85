use chrono::TimeZone;

use super::*;
use crate::config::{RuleConfig, RuleMatch};
use crate::event::EventUser;

/// A time `minute` minutes after a fixed origin.
fn at(minute: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 10, 0, 0)
        .single()
        .expect("valid time")
        + chrono::Duration::minutes(minute)
}

pub(super) fn event(
    kind: EventType,
    minute: i64,
    groups: Option<&[&str]>,
    attributes: &[(&str, &str)],
) -> CanonicalEvent {
    CanonicalEvent {
        id: format!("evt_{minute}"),
        event_type: kind,
        occurred_at: at(minute),
        user: Some(EventUser {
            email: Some("ada@example.com".into()),
            id: Some("00u1".into()),
            name: Some("Ada".into()),
            attributes: attributes
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }),
        groups: groups.map(|g| g.iter().map(|s| (*s).to_owned()).collect()),
    }
}

fn snapshot(minute: i64, groups: Option<&[&str]>) -> CanonicalEvent {
    event(EventType::UserUpdated, minute, groups, &[])
}

fn added(minute: i64, group: &str) -> CanonicalEvent {
    event(EventType::GroupMemberAdded, minute, Some(&[group]), &[])
}

fn removed(minute: i64, group: &str) -> CanonicalEvent {
    event(EventType::GroupMemberRemoved, minute, Some(&[group]), &[])
}

fn offboarded(minute: i64) -> CanonicalEvent {
    event(EventType::UserOffboarded, minute, None, &[])
}

/// Applies events with tiebreaks `src:<id>` and returns the state and each outcome.
pub(super) fn fold(events: &[CanonicalEvent]) -> (UserState, Vec<Applied>) {
    let mut state = UserState::default();
    let outcomes = events
        .iter()
        .map(|ev| state.apply(ev, &format!("src:{}", ev.id)))
        .collect();
    (state, outcomes)
}

fn groups(state: &UserState) -> Vec<String> {
    state.desired_idp_groups().into_iter().collect()
}

#[test]
fn a_snapshot_older_than_the_stored_snapshot_is_ignored() {
    let (state, outcomes) = fold(&[snapshot(5, Some(&["New"])), snapshot(1, Some(&["Old"]))]);
    assert_eq!(outcomes, [Applied::Changed, Applied::Stale]);
    assert_eq!(groups(&state), ["New"]);
}

#[test]
fn a_delta_older_than_the_groups_snapshot_is_ignored() {
    let (state, outcomes) = fold(&[snapshot(5, Some(&["A"])), added(3, "B"), removed(4, "A")]);
    assert_eq!(outcomes, [Applied::Changed, Applied::Stale, Applied::Stale]);
    assert_eq!(groups(&state), ["A"]);
    assert!(state.deltas().is_empty());
}

#[test]
fn a_delta_older_than_the_last_delta_for_its_group_is_ignored() {
    let (state, outcomes) = fold(&[
        snapshot(1, Some(&[])),
        removed(9, "B"),
        added(5, "B"),
        added(6, "C"),
    ]);
    assert_eq!(
        outcomes,
        [
            Applied::Changed,
            Applied::Changed,
            Applied::Stale,
            Applied::Changed
        ]
    );
    assert_eq!(groups(&state), ["C"]);
}

#[test]
fn deltas_newer_than_the_snapshot_apply_and_a_newer_snapshot_replaces_them() {
    let (mut state, _) = fold(&[
        snapshot(1, Some(&["A", "B"])),
        added(2, "C"),
        removed(3, "a"),
    ]);
    assert_eq!(groups(&state), ["B", "C"], "removal ignores case");
    assert_eq!(state.deltas().len(), 2);
    assert_eq!(
        state.apply(&snapshot(4, Some(&["D"])), "src:4"),
        Applied::Changed
    );
    assert_eq!(groups(&state), ["D"]);
    assert!(
        state.deltas().is_empty(),
        "deltas older than the snapshot are pruned"
    );
}

#[test]
fn an_added_group_already_in_the_snapshot_keeps_the_snapshots_spelling() {
    let (state, _) = fold(&[snapshot(1, Some(&["Marketing"])), added(2, " MARKETING ")]);
    assert_eq!(groups(&state), ["Marketing"]);
}

#[test]
fn offboard_and_onboard_in_the_wrong_order_end_as_the_latest_says() {
    let onboard = event(EventType::UserOnboarded, 2, Some(&["A"]), &[]);
    let (state, outcomes) = fold(&[onboard.clone(), offboarded(1)]);
    assert_eq!(outcomes, [Applied::Changed, Applied::Stale]);
    assert!(!state.is_offboarded());

    let early_onboard = event(EventType::UserOnboarded, 1, Some(&["A"]), &[]);
    let (state, outcomes) = fold(&[offboarded(2), early_onboard]);
    assert_eq!(
        outcomes,
        [Applied::Changed, Applied::Changed],
        "groups were news"
    );
    assert!(state.is_offboarded());
}

#[test]
fn an_offboarded_user_gets_nothing_from_a_stray_delta_until_a_newer_snapshot() {
    let rules = RuleSet::compile(&[RuleConfig {
        when: RuleMatch::Group("*".into()),
        domo_groups: vec!["Domo {group}".into()],
    }])
    .expect("rules compile");
    let (mut state, _) = fold(&[
        event(EventType::UserOnboarded, 1, Some(&["A"]), &[]),
        offboarded(2),
        added(3, "B"),
    ]);
    assert!(state.is_offboarded());
    assert!(state.desired_domo_groups(&rules).is_empty());
    state.apply(&snapshot(4, None), "src:4");
    let names: Vec<String> = state
        .desired_domo_groups(&rules)
        .into_iter()
        .map(|d| d.domo_group)
        .collect();
    assert_eq!(
        names,
        ["Domo A", "Domo B"],
        "groups not stated: what is known is kept"
    );
}

#[test]
fn a_delta_before_the_users_creation_counts_as_active() {
    let (state, outcomes) = fold(&[added(1, "A")]);
    assert_eq!(outcomes, [Applied::Changed]);
    assert!(!state.is_offboarded());
    assert_eq!(groups(&state), ["A"]);
    // The creation arrives later but happened earlier: the delta still stands.
    let (state, _) = fold(&[added(2, "A"), snapshot(1, Some(&[]))]);
    assert_eq!(groups(&state), ["A"]);
}

#[test]
fn equal_timestamps_resolve_by_source_and_id_in_any_order() {
    let mut a = snapshot(1, Some(&["A"]));
    a.id = "evt_a".into();
    let mut b = snapshot(1, Some(&["B"]));
    b.id = "evt_b".into();
    let (ab, _) = fold(&[a.clone(), b.clone()]);
    let (ba, _) = fold(&[b, a]);
    assert_eq!(ab, ba);
    assert_eq!(groups(&ab), ["B"], "`src:evt_b` sorts after `src:evt_a`");
    assert_eq!(
        ab.last_applied().map(|s| s.tiebreak.as_str()),
        Some("src:evt_b")
    );
}

#[test]
fn a_duplicate_changes_nothing() {
    let ev = event(
        EventType::UserOnboarded,
        1,
        Some(&["A"]),
        &[("dept", "Sales")],
    );
    let (state, outcomes) = fold(&[ev.clone(), ev.clone()]);
    assert_eq!(outcomes, [Applied::Changed, Applied::Stale]);
    let (once, _) = fold(&[ev]);
    assert_eq!(state, once);
    let (state, outcomes) = fold(&[added(1, "A"), added(1, "A")]);
    assert_eq!(outcomes, [Applied::Changed, Applied::Stale]);
    assert_eq!(groups(&state), ["A"]);
}

#[test]
fn groups_not_stated_keep_what_is_known_and_an_empty_list_clears() {
    let (state, outcomes) = fold(&[snapshot(1, Some(&["A"])), snapshot(2, None)]);
    assert_eq!(outcomes, [Applied::Changed, Applied::Changed]);
    assert_eq!(groups(&state), ["A"]);
    let (state, _) = fold(&[snapshot(1, Some(&["A"])), snapshot(2, Some(&[]))]);
    assert!(groups(&state).is_empty());
    // Out of order: the newer `None` does not shield against an older, stated list.
    let (state, _) = fold(&[
        snapshot(3, None),
        snapshot(2, Some(&["B"])),
        snapshot(1, Some(&["A"])),
    ]);
    assert_eq!(groups(&state), ["B"]);
}

#[test]
fn attributes_follow_the_latest_snapshot_and_feed_the_rules() {
    let rules = RuleSet::compile(&[RuleConfig {
        when: RuleMatch::Attribute {
            name: "department".into(),
            equals: "Sales".into(),
        },
        domo_groups: vec!["Sales {location}".into()],
    }])
    .expect("rules compile");
    let newer = event(
        EventType::UserUpdated,
        2,
        None,
        &[("department", "Sales"), ("location", "Paris")],
    );
    let older = event(
        EventType::UserOnboarded,
        1,
        Some(&[]),
        &[("department", "Ops")],
    );
    let (state, _) = fold(&[newer, older]);
    assert_eq!(
        state.attributes().get("location").map(String::as_str),
        Some("Paris")
    );
    assert_eq!(
        state.desired_domo_groups(&rules),
        vec![Derived {
            domo_group: "Sales Paris".into(),
            rule: 0
        }]
    );
    let profile = state.profile().expect("profile stated");
    assert_eq!(profile.value.email.as_deref(), Some("ada@example.com"));
}

#[test]
fn group_created_is_not_user_state() {
    let mut state = UserState::default();
    let ev = event(EventType::GroupCreated, 1, Some(&["A"]), &[]);
    assert_eq!(state.apply(&ev, "src:1"), Applied::Stale);
    assert_eq!(state, UserState::default());
    assert!(state.last_applied().is_none());
}

#[test]
fn last_applied_is_the_newest_stamp_merged() {
    let (state, _) = fold(&[added(3, "A"), snapshot(1, Some(&[])), offboarded(2)]);
    let last = state.last_applied().expect("something applied");
    assert_eq!(last.at, at(3));
    assert_eq!(last.tiebreak, "src:evt_3");
}

#[test]
fn state_round_trips_through_json() {
    let (state, _) = fold(&[
        event(EventType::UserOnboarded, 1, Some(&["A"]), &[("d", "x")]),
        added(2, "B"),
        offboarded(3),
    ]);
    let json = serde_json::to_string(&state).expect("serializes");
    let back: UserState = serde_json::from_str(&json).expect("parses");
    assert_eq!(back, state);
    assert_eq!(
        serde_json::from_str::<UserState>("{}").expect("parses"),
        UserState::default()
    );
}

#[test]
fn merging_states_equals_applying_all_their_events() {
    let first = [snapshot(1, Some(&["A"])), added(4, "B"), offboarded(5)];
    let second = [removed(3, "A"), snapshot(2, Some(&["C"])), added(6, "D")];
    let (mut left, _) = fold(&first);
    let (right, _) = fold(&second);
    left.merge(&right);
    let all: Vec<CanonicalEvent> = first.iter().chain(&second).cloned().collect();
    let (whole, _) = fold(&all);
    assert_eq!(left, whole);
}

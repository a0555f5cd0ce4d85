//! Property tests of the user state: the result never depends on arrival order or repetition.

use proptest::prelude::*;

use super::*;
use crate::state::tests::{event, fold};

// Case counts follow proptest's default (256), overridable with `PROPTEST_CASES`.

const TYPES: [EventType; 6] = EventType::ALL;
const GROUPS: [&str; 5] = ["A", "a", "B", "C", "D"];

fn arb_groups() -> impl Strategy<Value = Vec<String>> {
    proptest::sample::subsequence(GROUPS.to_vec(), 0..=3)
        .prop_map(|g| g.into_iter().map(str::to_owned).collect())
}

/// One event of the user; `id_range` small enough for collisions when wanted.
fn arb_event(id_range: u32) -> impl Strategy<Value = CanonicalEvent> {
    (
        proptest::sample::select(TYPES.to_vec()),
        0i64..6,
        0..id_range,
        proptest::option::of(arb_groups()),
        proptest::sample::select(vec!["Sales", "Ops", ""]),
    )
        .prop_map(|(kind, minute, id, groups, dept)| {
            let mut ev = event(kind, minute, None, &[("department", dept)]);
            ev.id = format!("e{id}");
            ev.groups = groups;
            ev
        })
}

/// Events plus a shuffled copy with some duplicates appended.
fn arb_deliveries(
    id_range: u32,
) -> impl Strategy<Value = (Vec<CanonicalEvent>, Vec<CanonicalEvent>)> {
    proptest::collection::vec(arb_event(id_range), 0..12).prop_flat_map(|events| {
        let n = events.len();
        let dups = proptest::collection::vec(0..n.max(1), 0..4);
        (Just(events.clone()), Just(events).prop_shuffle(), dups).prop_map(
            |(sorted, mut shuffled, dups)| {
                if !sorted.is_empty() {
                    shuffled.extend(dups.into_iter().map(|i| sorted[i].clone()));
                }
                (sorted, shuffled)
            },
        )
    })
}

fn by_stamp(mut events: Vec<CanonicalEvent>) -> Vec<CanonicalEvent> {
    events.sort_by(|a, b| (a.occurred_at, &a.id).cmp(&(b.occurred_at, &b.id)));
    events
}

proptest! {
    #[test]
    fn any_delivery_order_gives_the_same_state((events, delivered) in arb_deliveries(8)) {
        let (sorted, _) = fold(&by_stamp(events));
        let (shuffled, _) = fold(&delivered);
        prop_assert_eq!(&shuffled, &sorted);
        // Applying everything again changes nothing.
        let mut again = shuffled.clone();
        for ev in &delivered {
            prop_assert_eq!(again.apply(ev, &format!("src:{}", ev.id)), Applied::Stale);
        }
        prop_assert_eq!(again, shuffled);
    }

    #[test]
    fn merge_is_order_independent((events, delivered) in arb_deliveries(8), split in 0usize..12) {
        let split = split.min(delivered.len());
        let (left, _) = fold(&delivered[..split]);
        let (right, _) = fold(&delivered[split..]);
        let (whole, _) = fold(&events);
        let mut lr = left.clone();
        lr.merge(&right);
        let mut rl = right.clone();
        rl.merge(&left);
        prop_assert_eq!(&lr, &whole);
        prop_assert_eq!(&rl, &whole);
        let mut twice = lr.clone();
        twice.merge(&right);
        prop_assert_eq!(twice, lr);
    }

    /// With distinct event ids, the state equals a straightforward in-order replay: snapshots
    /// set the groups, deltas add or remove, the last status wins.
    #[test]
    fn state_matches_an_in_order_replay((events, delivered) in arb_deliveries(1_000)) {
        let mut seen = BTreeSet::new();
        let unique: Vec<CanonicalEvent> =
            events.into_iter().filter(|e| seen.insert(e.id.clone())).collect();
        let mut model: BTreeSet<String> = BTreeSet::new();
        let mut offboarded = false;
        let mut attributes = None;
        for ev in by_stamp(unique.clone()) {
            let names = ev.groups.iter().flatten().map(|g| name_key(g));
            match ev.event_type {
                EventType::UserOnboarded | EventType::UserUpdated => {
                    offboarded = false;
                    attributes = ev.user.as_ref().map(|u| u.attributes.clone());
                    if ev.groups.is_some() {
                        model = names.collect();
                    }
                }
                EventType::UserOffboarded => offboarded = true,
                EventType::GroupMemberAdded => model.extend(names),
                EventType::GroupMemberRemoved => names.for_each(|n| { model.remove(&n); }),
                EventType::GroupCreated => {}
            }
        }
        let delivered: Vec<CanonicalEvent> =
            delivered.into_iter().filter(|e| unique.contains(e)).collect();
        let (state, _) = fold(&delivered);
        let got: BTreeSet<String> = state.desired_idp_groups().iter().map(|g| name_key(g)).collect();
        prop_assert_eq!(got, model);
        prop_assert_eq!(state.is_offboarded(), offboarded);
        prop_assert_eq!(state.attributes(), &attributes.unwrap_or_default());
    }
}

//! Scale, with the real service and the simulator over TCP: paging past Domo's 500-row pages,
//! and the Domo calls one membership change costs once the caches are warm.

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn paging_finds_user_600_and_group_700() {
    let users: Vec<String> = (1..=600).map(|i| format!("u{i:03}@example.com")).collect();
    let app = spawn_app_with(Options {
        users,
        rules: r#"
[[rules]]
when = { group = "Team 700" }
domo_groups = ["Team 700"]
"#
        .to_owned(),
        ..Options::default()
    })
    .await;
    // 700 groups made by hand before the service looks any up.
    for i in 1..=700 {
        app.hand_group(&format!("Team {i:03}"), true).await;
    }
    let state = app.sim_state();
    assert!(state.users.len() > 600 && state.groups.len() > 700);

    let ev = canonical(
        "evt_600",
        "user.onboarded",
        "2026-11-28T10:00:00Z",
        "u600@example.com",
        Some(&["Team 700"]),
    );
    app.send_event(&ev).await;
    app.wait_idle().await;

    assert!(
        app.groups_of("u600@example.com")
            .contains(&"Team 700".to_owned())
    );
    // Found, not created; both lists read past their first page of 500.
    assert_eq!(app.calls("POST /v1/groups"), 0);
    assert!(app.calls("GET /v1/groups") >= 2);
    assert!(app.calls("GET /v1/users") >= 2);
    let row = app.event_row("sw", "evt_600").await.expect("stored");
    assert_eq!(row.status, "done");
}

const USERS: usize = 20;
const GROUPS: usize = 10;

/// A membership event `at_s` seconds after 2026-11-28T10:00:00Z (after the warm-up).
fn member_event(id: &str, kind: &str, at_s: i64, email: &str, group: &str) -> serde_json::Value {
    let at = chrono::DateTime::from_timestamp(1_795_860_000 + at_s, 0)
        .expect("valid time")
        .to_rfc3339();
    json!({ "id": id, "type": kind, "occurred_at": at, "user": { "email": email },
            "groups": [group] })
}

/// Sends events 20 per delivery.
async fn send_all(app: &TestApp, events: &[serde_json::Value]) {
    for chunk in events.chunks(20) {
        app.send_event(&serde_json::Value::Array(chunk.to_vec()).to_string())
            .await;
    }
}

#[tokio::test]
async fn a_membership_change_costs_one_domo_call_on_a_warm_run() {
    let users: Vec<String> = (0..USERS).map(|i| format!("w{i:02}@example.com")).collect();
    let app = spawn_app_with(Options {
        users: users.clone(),
        rules: r#"
[[rules]]
when = { group = "team-*" }
domo_groups = ["{group}"]
"#
        .to_owned(),
        ..Options::default()
    })
    .await;

    // Warm-up: the groups exist, every user has been synced once.
    let mut warm: Vec<serde_json::Value> = (0..GROUPS)
        .map(|g| {
            json!({ "id": format!("evt_g{g}"), "type": "group.created",
                    "occurred_at": "2026-11-28T09:00:00Z", "groups": [format!("team-{g}")] })
        })
        .collect();
    warm.extend(users.iter().enumerate().map(|(u, email)| {
        json!({ "id": format!("evt_w{u}"), "type": "user.onboarded",
                "occurred_at": "2026-11-28T09:00:00Z", "user": { "email": email }, "groups": [] })
    }));
    send_all(&app, &warm).await;
    app.wait_idle().await;
    let state = app.sim_state();
    for g in 0..GROUPS {
        let name = format!("team-{g}");
        assert!(state.group_named(&name).is_some());
        // Warm: the service knows the group's id without asking Domo.
        assert!(app.worker.directory.group_id(&name).is_some(), "{name}");
    }
    let before = app.api_calls();

    // 100 additions, then the same 100 pairs removed: 200 real membership changes, each user
    // meeting each group once per phase.
    let mut changes = 0;
    for (phase, kind) in [(0, "group.member_added"), (1, "group.member_removed")] {
        let mut events = Vec::new();
        for round in 0..5 {
            for (u, email) in users.iter().enumerate() {
                let g = (u + round) % GROUPS;
                let at = i64::try_from(phase * 100 + round).expect("small");
                events.push(member_event(
                    &format!("evt_{phase}_{round}_{u}"),
                    kind,
                    at,
                    email,
                    &format!("team-{g}"),
                ));
            }
        }
        changes += events.len();
        send_all(&app, &events).await;
        // One phase at a time, so that no addition and its removal meet in one job.
        app.wait_idle().await;
        if phase == 0 {
            for email in &users {
                assert_eq!(app.groups_of(email).len(), 1 + 5, "{email}");
            }
        }
    }

    assert_eq!(app.store.count_events("dead").await.expect("count"), 0);
    for email in &users {
        assert_eq!(app.groups_of(email), vec![app.default_group()], "{email}");
    }
    let calls = app.api_calls() - before;
    let per_change = calls as f64 / changes as f64;
    eprintln!(
        "warm run: {calls} Domo API calls for {changes} membership changes = {per_change:.3} per change; {:?}",
        app.sim_state().calls
    );
    assert!(per_change <= 1.05, "{per_change:.3} calls per change");
}

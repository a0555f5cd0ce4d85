//! What a reconcile of 1,000 users in 20 groups costs in Domo calls, counted by the simulator.

use reqwest::Method;
use serde_json::{Value, json};

use crate::api_v1::call;
use crate::helpers::{Options, TestApp, spawn_app_with};

const USERS: usize = 1000;
const GROUPS: usize = 20;

fn email(i: usize) -> String {
    format!("u{i:04}@example.com")
}

fn team(i: usize) -> String {
    format!("T{:02}", i % GROUPS + 1)
}

/// API calls per route key since `before`.
fn calls_since(app: &TestApp, before: &[(String, u64)], key: &str) -> u64 {
    let then = before.iter().find(|(k, _)| k == key).map_or(0, |(_, n)| *n);
    app.calls(key) - then
}

fn counts(app: &TestApp) -> Vec<(String, u64)> {
    app.sim_state()
        .calls
        .iter()
        .map(|(k, c)| (k.clone(), c.total))
        .collect()
}

#[tokio::test]
async fn a_reconcile_of_1000_users_in_20_groups_reads_each_group_once() {
    let app = spawn_app_with(Options {
        users: (0..USERS).map(email).collect(),
        rules: "[[rules]]\nwhen = { group = \"T*\" }\ndomo_groups = [\"{group}\"]\n".to_owned(),
        max_body_bytes: 1_000_000,
        worker_concurrency: 8,
        ..Options::default()
    })
    .await;
    // Every user in two of the 20 teams.
    let events: Vec<Value> = (0..USERS)
        .map(|i| {
            json!({ "id": format!("on-{i}"), "type": "user.onboarded",
                    "occurred_at": "2026-11-28T10:00:00Z", "user": { "email": email(i) },
                    "groups": [team(i), team(i + 7)] })
        })
        .collect();
    let (status, body) = call(&app, Method::POST, "/api/v1/events", Some(json!(events))).await;
    assert_eq!(status, 202, "{body}");
    app.wait_idle_for(std::time::Duration::from_secs(300)).await;

    let before = counts(&app);
    let (status, dry) = call(
        &app,
        Method::POST,
        "/api/v1/reconcile/runs",
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 201, "{dry}");
    assert_eq!(
        dry["plan"]["totals"]["groups"], GROUPS,
        "{}",
        dry["plan"]["totals"]
    );
    assert_eq!(dry["plan"]["totals"]["add"], 0);
    assert_eq!(dry["plan"]["totals"]["remove"], 0);
    let lists = calls_since(&app, &before, "GET /v1/groups");
    let members = calls_since(&app, &before, "GET /v1/groups/{id}/users");
    let users = calls_since(&app, &before, "GET /v1/users");
    eprintln!(
        "dry run, no drift: GET /v1/groups {lists}, GET /v1/groups/{{id}}/users {members}, GET /v1/users {users}"
    );
    assert_eq!((lists, members, users), (1, GROUPS as u64, 0));

    // Drift: 10 members of T01 removed by hand, 10 others added to T02 by hand.
    let t01 = group(&app, "T01");
    let t02 = group(&app, "T02");
    let in_t01: Vec<usize> = (0..USERS)
        .filter(|i| team(*i) == "T01" || team(i + 7) == "T01")
        .take(10)
        .collect();
    let not_t02: Vec<usize> = (0..USERS)
        .filter(|i| team(*i) != "T02" && team(i + 7) != "T02")
        .take(10)
        .collect();
    for i in &in_t01 {
        remove(&app, t01, app.sim_user_id(&email(*i))).await;
    }
    for i in &not_t02 {
        app.hand_add(t02, app.sim_user_id(&email(*i))).await;
    }
    let before = counts(&app);
    let (status, run) = call(
        &app,
        Method::POST,
        "/api/v1/reconcile/runs",
        Some(json!({"apply": true})),
    )
    .await;
    assert_eq!(status, 201, "{run}");
    assert_eq!(run["status"], "queued", "{run}");
    app.wait_idle_for(std::time::Duration::from_secs(120)).await;
    let reads = calls_since(&app, &before, "GET /v1/groups")
        + calls_since(&app, &before, "GET /v1/groups/{id}/users");
    let get_user = calls_since(&app, &before, "GET /v1/users/{id}");
    let adds = calls_since(&app, &before, "PUT /v1/groups/{id}/users/{id}");
    let removes = calls_since(&app, &before, "DELETE /v1/groups/{id}/users/{id}");
    eprintln!(
        "apply, 20 drifted memberships: reads {reads}, GET /v1/users/{{id}} {get_user}, PUT {adds}, DELETE {removes}"
    );
    assert_eq!(reads, 1 + GROUPS as u64);
    // One live read per affected user (a user may have drifted in both groups).
    let affected: std::collections::BTreeSet<usize> =
        in_t01.iter().chain(&not_t02).copied().collect();
    assert_eq!((get_user, adds, removes), (affected.len() as u64, 10, 10));
}

fn group(app: &TestApp, name: &str) -> u64 {
    app.sim_state()
        .groups
        .iter()
        .find(|g| g.name == name)
        .map(|g| g.id)
        .expect("group")
}

async fn remove(app: &TestApp, group: u64, user: u64) {
    let resp = app
        .client
        .delete(format!(
            "http://{}/_sim/groups/{group}/users/{user}",
            app.sim_addr
        ))
        .send()
        .await
        .expect("sim control request");
    assert_eq!(resp.status(), 204);
}

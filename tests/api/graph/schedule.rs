//! The schedule a Graph notification sets: one for a burst, kept by a run it interrupted,
//! never cutting a backoff short.

use chrono::Utc;
use serde_json::json;

use serde_json::Value;

use super::{LATER_MS, SOURCE, STATE, graph_app, outcome, pull_follows, user};
use crate::helpers::*;
use crate::pull::entra_sim::EntraSim;

/// Delta rounds the simulator has answered (`GET /v1.0/users/delta`, one page each here).
async fn rounds(sim: &EntraSim) -> u64 {
    let calls = sim
        .control(reqwest::Method::GET, "/_sim/calls", Value::Null)
        .await;
    calls["GET /v1.0/users/delta"]["total"]
        .as_u64()
        .unwrap_or(0)
}

#[tokio::test]
async fn a_burst_of_notifications_makes_one_prompt_pull() {
    let app = graph_app().await;
    let first = rounds(&app.sim).await;
    assert_eq!(first, 1, "the initial round");
    // The change the notifications are about: a user disabled at Entra.
    app.sim.add_user("ada@example.com").await;
    let before = Utc::now().timestamp_millis();
    let body = json!({ "value": [user(STATE)] }).to_string();
    let mut sends = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let req = app
            .client
            .post(app.url(&format!("/webhooks/{SOURCE}")))
            .header("content-type", "application/json")
            .body(body.clone());
        sends.spawn(async move { req.send().await.map(|r| r.status().as_u16()) });
    }
    while let Some(sent) = sends.join_next().await {
        assert_eq!(sent.expect("task").expect("sent"), 202);
    }
    assert_eq!(outcome(&app, "pull_requested").await, 50.0);
    pull_follows(&app, before).await;
    // Wait until the pulls the burst asked for are over: the schedule an interval away again.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let row = app
            .store
            .pull_state(SOURCE)
            .await
            .expect("store")
            .expect("row");
        let now = Utc::now().timestamp_millis();
        let lease = app
            .store
            .lease_holder(&format!("pull:{SOURCE}"))
            .await
            .expect("lease");
        if row.next_run_ms.is_some_and(|n| n > now + LATER_MS / 2) && lease.is_none() {
            assert_eq!(row.failures, 0);
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the burst's pull did not end: {row:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // One run for the burst; a second only when notifications came while the first ran (it
    // may have missed their change). Never one per notification.
    let runs = rounds(&app.sim).await - first;
    assert!(
        (1..=2).contains(&runs),
        "{runs} delta rounds for 50 notifications"
    );
    // The change was read: the user is known to the service.
    let user: Value = app
        .client
        .get(app.url("/api/v1/users/ada@example.com"))
        .bearer_auth(TOKEN_ALL)
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("JSON");
    assert_eq!(user["email"], "ada@example.com", "{user}");
}

/// A source name no poller runs: the schedule is only what the test writes.
const ALONE: &str = "schedule-only";

async fn next_run(store: &domo_group_sync::store::Store) -> i64 {
    store
        .pull_state(ALONE)
        .await
        .expect("store")
        .and_then(|r| r.next_run_ms)
        .expect("a schedule")
}

#[tokio::test]
async fn a_pull_asked_for_during_a_run_stays_due_and_a_backoff_stands() {
    // The store's schedule alone, for a source no poller runs.
    let app = spawn_app().await;
    let store = &app.store;
    let t = Utc::now().timestamp_millis() + 10_000;
    // A run starts at t; a notification comes at t + 5; the run ends at t + 9.
    store.request_event_pull(ALONE, t - 1).await.expect("due");
    store.request_event_pull(ALONE, t + 5).await.expect("asked");
    store
        .record_pull_run(ALONE, None, t + 9 + LATER_MS, t, t + 9)
        .await
        .expect("recorded");
    assert_eq!(
        next_run(store).await,
        t + 5,
        "still due: the run may have missed it"
    );
    // The next run (t + 10 to t + 12) saw it: the interval applies again.
    store
        .record_pull_run(ALONE, None, t + 12 + LATER_MS, t + 10, t + 12)
        .await
        .expect("recorded");
    assert_eq!(next_run(store).await, t + 12 + LATER_MS);
    // After a failure the backoff stands; a success clears it and notifications count again.
    store
        .record_pull_run(ALONE, Some("boom"), t + 60_000, t + 13, t + 14)
        .await
        .expect("failed");
    store
        .request_event_pull(ALONE, t + 15)
        .await
        .expect("asked");
    assert_eq!(next_run(store).await, t + 60_000);
    // A source never pulled gets a row, due.
    store.request_event_pull("fresh", t).await.expect("asked");
    let fresh = store
        .pull_state("fresh")
        .await
        .expect("store")
        .expect("row");
    assert_eq!((fresh.next_run_ms, fresh.failures), (Some(t), 0));
}

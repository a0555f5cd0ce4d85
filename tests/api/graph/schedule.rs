//! The schedule a Graph notification sets: one for a burst, kept by a run it interrupted,
//! never cutting a backoff short.

use chrono::Utc;
use serde_json::json;

use super::{LATER_MS, SOURCE, STATE, graph_app, next_run_ms, outcome, user};

#[tokio::test]
async fn a_burst_of_notifications_sets_one_schedule() {
    let app = graph_app().await;
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
    let after = Utc::now().timestamp_millis();
    let rows = app.store.pull_states().await.expect("rows");
    let ours: Vec<_> = rows.iter().filter(|r| r.source == SOURCE).collect();
    assert_eq!(ours.len(), 1, "one schedule for the source");
    let next = ours[0].next_run_ms.expect("scheduled");
    assert!(
        (before..=after).contains(&next),
        "{before} ≤ {next} ≤ {after}"
    );
    assert_eq!(ours[0].failures, 0);
    assert_eq!(outcome(&app, "pull_requested").await, 50.0);
}

#[tokio::test]
async fn a_pull_asked_for_during_a_run_stays_due_and_a_backoff_stands() {
    let app = graph_app().await;
    let store = &app.store;
    let t = Utc::now().timestamp_millis() + 10_000;
    // A run starts at t; a notification comes at t + 5; the run ends at t + 9.
    store.request_event_pull(SOURCE, t - 1).await.expect("due");
    store
        .request_event_pull(SOURCE, t + 5)
        .await
        .expect("asked");
    store
        .record_pull_run(SOURCE, None, t + 9 + LATER_MS, t, t + 9)
        .await
        .expect("recorded");
    assert_eq!(
        next_run_ms(&app).await,
        t + 5,
        "still due: the run may have missed it"
    );
    // The next run (t + 10 to t + 12) saw it: the interval applies again.
    store
        .record_pull_run(SOURCE, None, t + 12 + LATER_MS, t + 10, t + 12)
        .await
        .expect("recorded");
    assert_eq!(next_run_ms(&app).await, t + 12 + LATER_MS);
    // After a failure the backoff stands; a success clears it and notifications count again.
    store
        .record_pull_run(SOURCE, Some("boom"), t + 60_000, t + 13, t + 14)
        .await
        .expect("failed");
    store
        .request_event_pull(SOURCE, t + 15)
        .await
        .expect("asked");
    assert_eq!(next_run_ms(&app).await, t + 60_000);
    // A source never pulled gets a row, due.
    store.request_event_pull("fresh", t).await.expect("asked");
    let fresh = store
        .pull_state("fresh")
        .await
        .expect("store")
        .expect("row");
    assert_eq!((fresh.next_run_ms, fresh.failures), (Some(t), 0));
}

//! The internal REST API for events (submit, list, one, replay, dead letters), end to end: the
//! service and the Domo simulator over TCP. Shared calls for the other `api_*` modules.

use reqwest::Method;
use serde_json::{Value, json};

use domo_group_sync::config::Scheme;

use crate::helpers::{
    SW_SECRET, TestApp, adhoc_source, canonical, json_body, sign_with, spawn_app,
};

pub async fn call(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = app.api(method, path);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("sent");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// The user's Domo groups, leaving out Domo's default group (everyone is in it).
pub fn groups(app: &TestApp, email: &str) -> Vec<String> {
    let mut g = app.groups_of(email);
    g.retain(|n| n != "Default");
    g
}

/// Waits until the event `id` is in `status`.
pub async fn wait_status(app: &TestApp, id: i64, status: &str) -> Value {
    let path = format!("/api/v1/events/{id}");
    app.wait_until(&format!("event {id} to be {status}"), || async {
        call(app, Method::GET, &path, None).await.1["status"] == status
    })
    .await;
    call(app, Method::GET, &path, None).await.1
}

#[tokio::test]
async fn submitted_events_are_deduplicated_applied_and_show_their_domo_calls() {
    // Arrange
    let app = spawn_app().await;
    let ev: Value = serde_json::from_str(&canonical(
        "evt_api_1",
        "user.onboarded",
        "2026-11-28T10:00:00Z",
        "ada@example.com",
        Some(&["Marketing"]),
    ))
    .expect("json");

    // Act
    let (status, first) = call(&app, Method::POST, "/api/v1/events", Some(ev.clone())).await;
    let (status2, again) = call(&app, Method::POST, "/api/v1/events", Some(ev)).await;

    // Assert
    assert_eq!(status, 202, "{first}");
    assert_eq!(first["events"][0]["status"], "queued");
    assert_eq!(status2, 202);
    assert_eq!(again["events"][0]["status"], "duplicate");
    let id = first["events"][0]["id"].as_i64().expect("event number");
    assert_eq!(again["events"][0]["id"], id, "a duplicate names the first");
    let detail = wait_status(&app, id, "done").await;
    assert_eq!(detail["source"], "api");
    assert_eq!(detail["user_email"], "ada@example.com");
    assert_eq!(detail["payload"]["id"], "evt_api_1");
    let ops = detail["operations"].as_array().expect("operations");
    let add = ops
        .iter()
        .find(|o| o["op"] == "add_member")
        .unwrap_or_else(|| panic!("an add_member call: {detail}"));
    assert_eq!(add["group"], "Marketing");
    assert_eq!(add["outcome"], "ok");
    assert_eq!(groups(&app, "ada@example.com"), ["Marketing"]);
}

#[tokio::test]
async fn invalid_events_get_a_problem_and_store_nothing() {
    let app = spawn_app().await;
    let cases = [
        (
            json!({"id": "x", "type": "user.onboarded", "occurred_at": "2026-11-28T10:00:00Z"}),
            422,
            "no email",
        ),
        (
            json!({"id": "x", "type": "user.exploded", "occurred_at": "2026-11-28T10:00:00Z"}),
            422,
            "unknown type",
        ),
        (json!([]), 422, "no events"),
    ];
    for (body, expected, why) in cases {
        let (status, problem) = call(&app, Method::POST, "/api/v1/events", Some(body)).await;
        assert_eq!(status, expected, "{why}: {problem}");
        assert!(
            problem["type"]
                .as_str()
                .is_some_and(|t| t.starts_with("urn:")),
            "{why}"
        );
    }
    let resp = app
        .api(Method::POST, "/api/v1/events")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), 400, "broken JSON");
    let (_, page) = call(&app, Method::GET, "/api/v1/events", None).await;
    assert_eq!(page["events"], json!([]), "nothing was stored");
}

#[tokio::test]
async fn events_are_listed_newest_first_with_filters_and_a_stable_cursor() {
    // Arrange: five events of two users
    let app = spawn_app().await;
    for (i, email) in ["ada", "grace", "ada", "grace", "ada"].iter().enumerate() {
        let body = canonical(
            &format!("evt_list_{i}"),
            "user.updated",
            &format!("2026-11-28T10:00:0{i}Z"),
            &format!("{email}@example.com"),
            Some(&[]),
        );
        let (status, _) = call(
            &app,
            Method::POST,
            "/api/v1/events",
            Some(serde_json::from_str(&body).expect("json")),
        )
        .await;
        assert_eq!(status, 202);
    }
    app.wait_idle().await;

    // Act: pages of two, Ada only
    let mut seen = Vec::new();
    let mut path = "/api/v1/events?email=ADA@example.com&limit=2&source=api".to_owned();
    loop {
        let (status, page) = call(&app, Method::GET, &path, None).await;
        assert_eq!(status, 200, "{page}");
        for e in page["events"].as_array().expect("events") {
            seen.push(e["event_id"].as_str().expect("id").to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/events?email=ada@example.com&limit=2&cursor={c}"),
            None => break,
        }
    }

    // Assert
    assert_eq!(seen, ["evt_list_4", "evt_list_2", "evt_list_0"]);
    let (_, done) = call(&app, Method::GET, "/api/v1/events?status=done", None).await;
    assert_eq!(done["events"].as_array().map(Vec::len), Some(5));
    let (_, none) = call(
        &app,
        Method::GET,
        "/api/v1/events?received_before=2000-01-01T00:00:00Z",
        None,
    )
    .await;
    assert_eq!(none["events"], json!([]));
    let (status, _) = call(&app, Method::GET, "/api/v1/events?cursor=garbage!", None).await;
    assert_eq!(status, 422, "a cursor this service did not give out");
    let (status, _) = call(&app, Method::GET, "/api/v1/events?limit=0", None).await;
    assert_eq!(status, 400, "a bad limit");
}

#[tokio::test]
async fn a_finished_event_is_replayed_under_a_new_id_linked_to_the_original() {
    let app = spawn_app().await;
    let (_, sub) = call(
        &app,
        Method::POST,
        "/api/v1/events",
        Some(
            serde_json::from_str(&canonical(
                "evt_r",
                "user.onboarded",
                "2026-11-28T10:00:00Z",
                "alan@example.com",
                Some(&["Finance"]),
            ))
            .expect("json"),
        ),
    )
    .await;
    let id = sub["events"][0]["id"].as_i64().expect("event");
    wait_status(&app, id, "done").await;

    let (status, replay) = call(
        &app,
        Method::POST,
        &format!("/api/v1/events/{id}/replay"),
        None,
    )
    .await;
    assert_eq!(status, 202, "{replay}");
    let rid = replay["id"].as_i64().expect("replay number");
    assert_eq!(replay["replay_of"], id);
    assert!(
        ["queued", "running", "done"].contains(&replay["status"].as_str().unwrap_or_default()),
        "the replay is in the queue (a worker may have taken it already): {replay}"
    );
    assert_ne!(rid, id);
    let detail = wait_status(&app, rid, "done").await;
    assert_eq!(detail["replay_of"], id);
    assert_eq!(
        detail["occurred_at"], "2026-11-28T10:00:00Z",
        "a replay keeps its time"
    );
    let (_, original) = call(&app, Method::GET, &format!("/api/v1/events/{id}"), None).await;
    assert_eq!(original["replays"], json!([rid]));
    assert_eq!(groups(&app, "alan@example.com"), ["Finance"]);

    let (status, _) = call(&app, Method::POST, "/api/v1/events/999999/replay", None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn dead_events_are_listed_with_their_reason_and_can_be_replayed() {
    let app = spawn_app().await;
    // Nobody has this email in Domo: waited for (user_wait_secs = 2), then dead-lettered.
    let (_, sub) = call(
        &app,
        Method::POST,
        "/api/v1/users/ghost@example.com/onboard",
        Some(json!({"groups": ["Marketing"]})),
    )
    .await;
    let id = sub["events"][0]["id"].as_i64().expect("event");
    wait_status(&app, id, "dead").await;

    let (status, dead) = call(&app, Method::GET, "/api/v1/dead-letters", None).await;
    assert_eq!(status, 200);
    assert_eq!(dead["events"][0]["id"], id);
    assert!(
        dead["events"][0]["last_error"]
            .as_str()
            .is_some_and(|e| !e.is_empty()),
        "{dead}"
    );

    let (status, replay) = call(
        &app,
        Method::POST,
        &format!("/api/v1/events/{id}/replay"),
        None,
    )
    .await;
    assert_eq!(status, 202, "{replay}");
    let (_, queued) = call(
        &app,
        Method::GET,
        &format!("/api/v1/events/{}", replay["id"]),
        None,
    )
    .await;
    assert_eq!(queued["replay_of"], id);
}

#[tokio::test]
async fn webhook_and_api_events_share_one_inbox() {
    // Arrange: one event by webhook (signed as the `sw` source's sender would), one by the API
    let app = spawn_app().await;
    let body = canonical(
        "evt_hook",
        "user.onboarded",
        "2026-11-28T10:00:00Z",
        "ada@example.com",
        Some(&["Finance"]),
    );
    let src = adhoc_source(Scheme::StandardWebhooks, SW_SECRET);
    let headers = sign_with(
        &src,
        &src.secrets[0],
        &body,
        chrono::Utc::now().timestamp(),
        "msg_hook",
    );
    let resp = app.post_with("sw", &body, &headers).await;
    assert_eq!(resp.status(), 202);
    let api_body = canonical(
        "evt_hook",
        "user.updated",
        "2026-11-28T11:00:00Z",
        "ada@example.com",
        Some(&["Marketing"]),
    );
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/events",
        Some(serde_json::from_str(&api_body).expect("json")),
    )
    .await;
    assert_eq!(
        status, 202,
        "the same id under another source is another event"
    );
    app.wait_idle().await;

    // Act
    let page = json_body(
        app.api(Method::GET, "/api/v1/events?email=ada@example.com")
            .send()
            .await
            .expect("sent"),
    )
    .await;

    // Assert
    let sources: Vec<&str> = page["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["source"].as_str().expect("source"))
        .collect();
    assert_eq!(sources, ["api", "sw"], "newest first");
    assert_eq!(
        groups(&app, "ada@example.com"),
        ["Marketing"],
        "the newer event wins"
    );
}

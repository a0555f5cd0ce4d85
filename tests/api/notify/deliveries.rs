//! Delivery: retries with the same webhook-id until the subscriber answers, dead letters and
//! their replay, and a subscriber that hangs does not hold up the service's own work.

use std::time::Duration;

use domo_group_sync::notify::source::PullReport;
use reqwest::Method;
use serde_json::json;

use super::{Receiver, assert_verified, subscriber_toml};
use crate::api_v1::call;
use crate::helpers::{Options, TOKEN_NO_ADMIN, canonical, spawn_app_with};

const WAIT: Duration = Duration::from_secs(30);

/// Makes the app write one `source.failing` notice (threshold 1).
async fn fail_source(app: &crate::helpers::TestApp, source: &str) {
    let report = PullReport::Failed { error: "down" };
    let now = chrono::Utc::now().timestamp_millis();
    assert!(
        app.source_watch
            .report(source, report, now)
            .await
            .expect("report")
            .is_some()
    );
}

fn failing_toml(url: &str, max_attempts: u32) -> String {
    subscriber_toml("it", url, &["source.failing"], max_attempts)
        + "source_error_threshold = 1\nsource_repeat_secs = 0\n"
}

#[tokio::test]
async fn a_failing_subscriber_gets_the_same_message_until_it_answers() {
    let rx = Receiver::start("retries", &[("FAIL_FIRST", "2")]);
    let app = spawn_app_with(Options {
        extra_toml: failing_toml(&rx.url(), 5),
        ..Options::default()
    })
    .await;
    fail_source(&app, "okta").await;

    rx.wait_for("a 2xx answer", WAIT, |rs| {
        rs.iter().any(|r| r["status"] == 204)
    })
    .await;
    let rs = rx.requests();
    assert_eq!(rs.len(), 3, "{rs:#?}");
    let statuses: Vec<i64> = rs.iter().filter_map(|r| r["status"].as_i64()).collect();
    assert_eq!(statuses, [503, 503, 204]);
    for r in &rs {
        assert_verified(r);
        assert_eq!(r["id"], rs[0]["id"], "one message, one webhook-id");
        assert_eq!(r["body"], rs[0]["body"], "the same body each time");
    }
    let id = {
        let page = app.get_json("/api/v1/deliveries").await;
        page["deliveries"][0]["id"].as_i64().expect("id")
    };
    let one = app.get_json(&format!("/api/v1/deliveries/{id}")).await;
    assert_eq!(one["status"], "delivered", "{one}");
    assert_eq!(one["attempts"], 3);
    assert_eq!(one["last_status"], 204);
    assert_eq!(one["body"]["data"]["source"], "okta");
}

#[tokio::test]
async fn dead_deliveries_are_kept_and_replayed_after_an_outage() {
    let dir = tempfile::tempdir().expect("tempdir");
    let down = dir.path().join("down");
    std::fs::write(&down, "").expect("flag");
    let rx = Receiver::start(
        "replay",
        &[("FAIL_WHILE", down.to_str().expect("utf-8 path"))],
    );
    let app = spawn_app_with(Options {
        extra_toml: failing_toml(&rx.url(), 2),
        ..Options::default()
    })
    .await;
    fail_source(&app, "okta").await;
    fail_source(&app, "workos").await;
    app.wait_until("two dead deliveries", || async {
        let (_, page) = call(&app, Method::GET, "/api/v1/deliveries?status=dead", None).await;
        page["deliveries"].as_array().is_some_and(|d| d.len() == 2)
    })
    .await;
    let (_, dead) = call(&app, Method::GET, "/api/v1/deliveries?status=dead", None).await;
    for d in dead["deliveries"].as_array().expect("list") {
        assert_eq!(d["attempts"], 2, "{d}");
        assert_eq!(d["last_status"], 503, "{d}");
        assert!(
            d["last_error"]
                .as_str()
                .is_some_and(|e| e.starts_with("gave up after 2 attempts")),
            "{d}"
        );
    }
    let (_, subs) = call(&app, Method::GET, "/api/v1/subscribers", None).await;
    assert_eq!(subs["subscribers"][0]["name"], "it");
    assert_eq!(subs["subscribers"][0]["dead"], 2, "{subs}");
    assert!(
        !subs.to_string().contains(&rx.url()) && !subs.to_string().contains("whsec_"),
        "never the URL or the secret: {subs}"
    );
    let before = rx.requests().len();
    assert_eq!(before, 4, "2 messages × 2 attempts");

    // Replays need the admin scope; an unknown subscriber is 404.
    let replay = "/api/v1/subscribers/it/replay";
    let resp = app
        .client
        .post(app.url(replay))
        .bearer_auth(TOKEN_NO_ADMIN)
        .json(&json!({}))
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), 403);
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/subscribers/nobody/replay",
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 404);

    // The subscriber is back: every dead message goes out again, under its own webhook-id.
    std::fs::remove_file(&down).expect("back up");
    let (status, body) = call(&app, Method::POST, replay, Some(json!({}))).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["replayed"], 2);
    rx.wait_for("both delivered", WAIT, |rs| {
        rs.iter().filter(|r| r["status"] == 204).count() == 2
    })
    .await;
    let rs = rx.requests();
    let first_ids: Vec<&serde_json::Value> = rs[..before].iter().map(|r| &r["id"]).collect();
    for r in rs[before..].iter().filter(|r| r["status"] == 204) {
        assert_verified(r);
        assert!(
            first_ids.contains(&&r["id"]),
            "a replay keeps its webhook-id: {r}"
        );
    }

    // One delivered message sent again on request; a pending or unknown one cannot be.
    let id = dead["deliveries"][0]["id"].as_i64().expect("id");
    let path = format!("/api/v1/deliveries/{id}/replay");
    let (status, again) = call(&app, Method::POST, &path, None).await;
    assert_eq!(status, 202, "{again}");
    assert_eq!(again["status"], "pending");
    rx.wait_for("the resend", WAIT, |rs| {
        rs.iter().filter(|r| r["status"] == 204).count() == 3
    })
    .await;
    let (status, _) = call(&app, Method::POST, "/api/v1/deliveries/999999/replay", None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_subscriber_that_hangs_does_not_hold_up_ingest_or_the_workers() {
    // Every request hangs past the 2 s delivery timeout.
    let rx = Receiver::start("hang", &[("DELAY_SECS", "30")]);
    let app = spawn_app_with(Options {
        extra_toml: subscriber_toml("slow", &rx.url(), &["membership.applied"], 50),
        ..Options::default()
    })
    .await;
    let users = ["ada@example.com", "grace@example.com", "alan@example.com"];
    for (i, u) in users.iter().enumerate() {
        for j in 0..5 {
            app.send_event(&canonical(
                &format!("evt-{i}-{j}"),
                "user.updated",
                &format!("2026-11-28T10:00:0{j}Z"),
                u,
                Some(if j % 2 == 0 {
                    &["Marketing"]
                } else {
                    &["Finance"]
                }),
            ))
            .await;
        }
    }
    // The work completes while every delivery attempt hangs.
    app.wait_idle().await;
    for u in users {
        assert_eq!(crate::api_v1::groups(&app, u), ["Marketing"], "{u}");
    }
    let (_, page) = call(
        &app,
        Method::GET,
        "/api/v1/deliveries?subscriber=slow",
        None,
    )
    .await;
    let list = page["deliveries"].as_array().expect("list");
    assert!(!list.is_empty(), "the changes were written to the outbox");
    assert!(
        list.iter().all(|d| d["status"] == "pending"),
        "nothing delivered: {page}"
    );
    app.wait_until("a timed-out attempt", || async {
        let (_, page) = call(
            &app,
            Method::GET,
            "/api/v1/deliveries?subscriber=slow",
            None,
        )
        .await;
        page["deliveries"]
            .as_array()
            .is_some_and(|l| l.iter().any(|d| d["last_error"] == "timed out"))
    })
    .await;
}

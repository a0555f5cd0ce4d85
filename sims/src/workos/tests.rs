//! WorkOS simulator tests over real TCP.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{Simulator, WorkosConfig};
use crate::shared::testing::{Served, serve};

const KEY: &str = "sk_test_sim";

async fn spawn() -> Served {
    serve(Simulator::new(WorkosConfig::default()).router()).await
}

async fn control(s: &Served, method: Method, path: &str, body: Value) -> Value {
    let response = s
        .http
        .request(method, s.url(path))
        .json(&body)
        .send()
        .await
        .expect("control");
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    response.json().await.expect("json")
}

async fn get(s: &Served, path: &str) -> (StatusCode, Value) {
    let response = s
        .http
        .get(s.url(path))
        .bearer_auth(KEY)
        .send()
        .await
        .expect("get");
    (
        response.status(),
        response.json().await.unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn events_page_forward_with_after_and_match_the_webhook_bodies() {
    let s = spawn().await;
    let mut sent = Vec::new();
    for i in 0..3 {
        let created = control(
            &s,
            Method::POST,
            "/_sim/users",
            json!({"email": format!("u{i}@x"), "first_name": "U"}),
        )
        .await;
        sent.extend(created["events"].as_array().cloned().unwrap_or_default());
    }
    control(&s, Method::POST, "/_sim/groups", json!({"name": "Sales"})).await;
    let added = control(&s, Method::PUT, "/_sim/groups/Sales/users/u0@x", json!({})).await;
    sent.extend(added["events"].as_array().cloned().unwrap_or_default());
    let off = control(
        &s,
        Method::PATCH,
        "/_sim/users/u1@x",
        json!({"state": "inactive"}),
    )
    .await;
    assert_eq!(
        off["events"][0]["data"]["previous_attributes"]["state"],
        "active"
    );
    sent.extend(off["events"].as_array().cloned().unwrap_or_default());
    let types = "dsync.user.created,dsync.user.updated,dsync.group.user_added";
    let (mut got, mut after) = (Vec::new(), None::<String>);
    loop {
        let cursor = after
            .as_ref()
            .map(|a| format!("&after={a}"))
            .unwrap_or_default();
        let (status, page) = get(
            &s,
            &format!("/events?events={types}&limit=2&order=desc{cursor}"),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        got.extend(page["data"].as_array().cloned().unwrap_or_default());
        match page["list_metadata"]["after"].as_str() {
            Some(a) => after = Some(a.to_owned()),
            None => break,
        }
    }
    assert_eq!(
        got, sent,
        "oldest first, the group creation filtered out, same bodies as the webhooks"
    );
    let last = got
        .last()
        .and_then(|e| e["id"].as_str())
        .expect("id")
        .to_owned();
    let (_, empty) = get(&s, &format!("/events?events={types}&after={last}")).await;
    assert_eq!(empty["data"], json!([]));
    assert_eq!(get(&s, "/events").await.0, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        get(&s, "/events?events=a&after=bogus").await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let response = s
        .http
        .get(s.url("/events?events=a"))
        .bearer_auth("sk_wrong")
        .send()
        .await
        .expect("get");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_delayed_event_holds_back_later_ones() {
    let s = spawn().await;
    control(
        &s,
        Method::POST,
        "/_sim/users",
        json!({"email": "slow@x", "delay_ms": 300}),
    )
    .await;
    control(
        &s,
        Method::POST,
        "/_sim/users",
        json!({"email": "fast@x", "delay_ms": 0}),
    )
    .await;
    let (_, page) = get(&s, "/events?events=dsync.user.created").await;
    assert_eq!(page["data"], json!([]));
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let (_, page) = get(&s, "/events?events=dsync.user.created").await;
    assert_eq!(page["data"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn directory_listings_page_with_cursors_and_filters() {
    let s = spawn().await;
    let (_, dirs) = get(&s, "/directories").await;
    let dir = dirs["data"][0]["id"]
        .as_str()
        .expect("directory")
        .to_owned();
    let group = control(&s, Method::POST, "/_sim/groups", json!({"name": "Eng"})).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    for i in 0..5 {
        control(
            &s,
            Method::POST,
            "/_sim/users",
            json!({"email": format!("d{i}@x")}),
        )
        .await;
        if i % 2 == 0 {
            control(
                &s,
                Method::PUT,
                &format!("/_sim/groups/Eng/users/d{i}@x"),
                json!({}),
            )
            .await;
        }
    }
    control(
        &s,
        Method::PATCH,
        "/_sim/users/d4@x",
        json!({"state": "suspended"}),
    )
    .await;
    let (mut emails, mut after) = (Vec::new(), String::new());
    loop {
        let (status, page) = get(
            &s,
            &format!("/directory_users?directory={dir}&limit=2{after}"),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        emails.extend(
            page["data"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|u| u["email"].clone()),
        );
        match page["list_metadata"]["after"].as_str() {
            Some(a) => after = format!("&after={a}"),
            None => break,
        }
    }
    assert_eq!(
        emails,
        ["d4@x", "d3@x", "d2@x", "d1@x", "d0@x"]
            .map(|e| json!(e))
            .to_vec(),
        "newest first"
    );
    let (_, members) = get(&s, &format!("/directory_users?group={group}&order=asc")).await;
    let states: Vec<(Value, Value)> = members["data"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|u| (u["email"].clone(), u["state"].clone()))
        .collect();
    assert_eq!(
        states,
        vec![
            (json!("d0@x"), json!("active")),
            (json!("d2@x"), json!("active")),
            (json!("d4@x"), json!("suspended"))
        ]
    );
    let user = members["data"][0]["id"].as_str().expect("id").to_owned();
    let (_, groups) = get(&s, &format!("/directory_groups?user={user}")).await;
    assert_eq!(groups["data"][0]["name"], "Eng");
    control(
        &s,
        Method::DELETE,
        &format!("/_sim/users/{user}"),
        json!({}),
    )
    .await;
    assert_eq!(
        get(&s, &format!("/directory_users/{user}")).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&s, "/directory_users").await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

#[tokio::test]
async fn rate_limit_and_faults_answer_429_with_retry_after() {
    let s = spawn().await;
    control(
        &s,
        Method::PUT,
        "/_sim/faults",
        json!({"rate_429": 1.0, "retry_after_share": 1.0, "retry_after_secs": 4}),
    )
    .await;
    let response = s
        .http
        .get(s.url("/directories"))
        .bearer_auth(KEY)
        .send()
        .await
        .expect("get");
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("4")
    );
    control(&s, Method::PUT, "/_sim/faults", json!({})).await;
    control(
        &s,
        Method::PUT,
        "/_sim/rate-limit",
        json!({"per_minute": 2}),
    )
    .await;
    // Limit 2: a 429 comes within 5 requests even if a window boundary falls among them.
    let mut limited = None;
    for _ in 0..5 {
        let response = s
            .http
            .get(s.url("/directories"))
            .bearer_auth(KEY)
            .send()
            .await
            .expect("get");
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
            break;
        }
        assert_eq!(response.status(), StatusCode::OK);
    }
    assert!(
        limited.is_some_and(|secs| (1..=60).contains(&secs)),
        "{limited:?}"
    );
}

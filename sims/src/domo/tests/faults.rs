//! Fault injection: 429 with and without `Retry-After`, 5xx, dropped connections, latency,
//! faults changed at run time, and faulted requests changing nothing.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{assert_bedrock, spawn_default};
use crate::domo::Faults;

#[tokio::test]
async fn rate_429_with_and_without_retry_after_changes_nothing() {
    let sim = spawn_default().await;
    let token = sim.token().await;
    let groups_before = sim.sim.snapshot().groups;

    sim.sim.set_faults(Faults {
        rate_429: 1.0,
        retry_after_share: 1.0,
        retry_after_secs: 7,
        ..Faults::default()
    });
    let response = sim
        .call(
            &token,
            Method::POST,
            "/v1/groups",
            Some(json!({ "name": "X" })),
        )
        .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("7")
    );
    assert_bedrock(&response.json::<Value>().await.expect("json"), 429);

    sim.sim.set_faults(Faults {
        rate_429: 1.0,
        retry_after_share: 0.0,
        retry_after_secs: 7,
        ..Faults::default()
    });
    let response = sim
        .call(
            &token,
            Method::POST,
            "/v1/groups",
            Some(json!({ "name": "X" })),
        )
        .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().get("retry-after").is_none());

    // The token endpoint is faulted too.
    let token_response = sim
        .http
        .get(sim.url("/oauth/token?grant_type=client_credentials"))
        .basic_auth("sim-client", Some("sim-secret"))
        .send()
        .await
        .expect("token");
    assert_eq!(token_response.status(), StatusCode::TOO_MANY_REQUESTS);

    let state = sim.sim.snapshot();
    assert_eq!(
        state.groups, groups_before,
        "faulted requests change nothing"
    );
    assert_eq!(state.tokens_issued, 1);
    let calls = state.calls_to("POST /v1/groups");
    assert_eq!((calls.total, calls.ok), (2, 0));
    let log = sim.sim.requests();
    let faulted: Vec<_> = log.iter().filter(|r| r.status == 429).collect();
    assert_eq!(faulted.len(), 3);
    assert_eq!(faulted[0].retry_after_secs, Some(7));
    assert_eq!(faulted[1].retry_after_secs, None);
    assert!(log.iter().all(|r| r.done_ms >= r.at_ms));
}

#[tokio::test]
async fn rate_5xx_answers_500_502_or_503_some_with_empty_bodies() {
    let sim = spawn_default().await;
    let token = sim.token().await;
    sim.sim.set_faults(Faults {
        rate_5xx: 1.0,
        ..Faults::default()
    });
    let mut statuses = std::collections::BTreeSet::new();
    let (mut empty, mut bedrock) = (0, 0);
    for _ in 0..40 {
        let response = sim.call(&token, Method::GET, "/v1/groups", None).await;
        let status = response.status().as_u16();
        statuses.insert(status);
        let text = response.text().await.expect("body");
        if text.is_empty() {
            empty += 1;
        } else {
            let body: Value = serde_json::from_str(&text).expect("bedrock json");
            assert_bedrock(&body, status);
            bedrock += 1;
        }
    }
    assert_eq!(
        statuses.into_iter().collect::<Vec<_>>(),
        vec![500, 502, 503]
    );
    assert!(empty > 0 && bedrock > 0, "empty {empty}, bedrock {bedrock}");
    assert_eq!(sim.sim.snapshot().calls_to("GET /v1/groups").ok, 0);
}

#[tokio::test]
async fn dropped_connection_is_a_client_error_and_the_server_keeps_serving() {
    let sim = spawn_default().await;
    let token = sim.token().await;
    sim.control(
        Method::PUT,
        "/_sim/faults",
        Some(json!({ "drop_rate": 1.0 })),
        StatusCode::OK,
    )
    .await;
    let dropped = sim
        .http
        .post(sim.url("/v1/groups"))
        .header("Authorization", format!("bearer {token}"))
        .json(&json!({ "name": "Lost" }))
        .send()
        .await;
    let error = dropped.expect_err("the connection is dropped without an answer");
    assert!(!error.is_status(), "{error}");
    assert!(error.is_request(), "{error:?}");
    assert!(sim.sim.snapshot().group_named("Lost").is_none());

    // Control endpoints are never faulted; clearing the faults lets the next request through.
    let faults = sim
        .control(Method::GET, "/_sim/faults", None, StatusCode::OK)
        .await;
    assert_eq!(faults["drop_rate"], 1.0);
    sim.control(Method::PUT, "/_sim/faults", Some(json!({})), StatusCode::OK)
        .await;
    let id = sim.create_group(&token, "Kept").await;
    assert!(sim.sim.snapshot().groups.iter().any(|g| g.id == id));
    let log = sim.sim.requests();
    let dropped: Vec<_> = log.iter().filter(|r| r.status == 0).collect();
    assert_eq!(dropped.len(), 1);
    assert_eq!(dropped[0].route, "/v1/groups");
}

#[tokio::test]
async fn faults_change_at_run_time_and_bad_rates_are_rejected() {
    let sim = spawn_default().await;
    let token = sim.token().await;
    sim.expect(&token, Method::GET, "/v1/users", None, StatusCode::OK)
        .await;
    let set = sim
        .control(
            Method::PUT,
            "/_sim/faults",
            Some(json!({ "rate_429": 1.0, "latency_ms": 1 })),
            StatusCode::OK,
        )
        .await;
    assert_eq!(set["rate_429"], 1.0);
    assert_eq!(sim.sim.faults().latency_ms, 1);
    let response = sim.call(&token, Method::GET, "/v1/users", None).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    // The control surface stays reachable while every API call fails.
    sim.control(Method::GET, "/_sim/state", None, StatusCode::OK)
        .await;

    let bad = sim
        .control(
            Method::PUT,
            "/_sim/faults",
            Some(json!({ "rate_5xx": 2.0 })),
            StatusCode::BAD_REQUEST,
        )
        .await;
    assert_bedrock(&bad, 400);
    assert_eq!(
        sim.sim.faults().rate_429,
        1.0,
        "a rejected change keeps the old faults"
    );

    sim.sim.set_faults(Faults::default());
    sim.expect(&token, Method::GET, "/v1/users", None, StatusCode::OK)
        .await;
}

#[tokio::test]
async fn a_write_dropped_after_it_is_applied_takes_effect_without_an_answer() {
    let sim = super::spawn(crate::domo::SimConfig {
        users: vec![crate::domo::SeedUser {
            email: "ada@example.com".into(),
            name: "Ada".into(),
            role: "Participant".into(),
        }],
        ..crate::domo::SimConfig::default()
    })
    .await;
    let token = sim.token().await;
    let user = sim
        .sim
        .snapshot()
        .user_with_email("ada@example.com")
        .map(|u| u.id)
        .expect("seeded");
    sim.sim.set_faults(Faults {
        drop_after_write_rate: 1.0,
        ..Faults::default()
    });
    let error = sim
        .http
        .post(sim.url("/v1/groups"))
        .header("Authorization", format!("bearer {token}"))
        .json(&json!({ "name": "Done But Lost" }))
        .send()
        .await
        .expect_err("the answer is dropped");
    assert!(!error.is_status(), "{error}");
    let group = sim
        .sim
        .snapshot()
        .group_named("Done But Lost")
        .map(|g| g.id)
        .expect("the group was created all the same");
    // Adding and removing a member: applied, unanswered.
    for method in [reqwest::Method::PUT, reqwest::Method::DELETE] {
        let add = sim
            .http
            .request(
                method.clone(),
                sim.url(&format!("/v1/groups/{group}/users/{user}")),
            )
            .header("Authorization", format!("bearer {token}"))
            .send()
            .await;
        assert!(add.is_err(), "{method} was answered");
        let member = sim
            .sim
            .snapshot()
            .groups
            .iter()
            .any(|g| g.id == group && g.members.contains(&user));
        assert_eq!(member, method == reqwest::Method::PUT, "after {method}");
    }
    // Reads are answered: the fault applies to writes only.
    let list = sim.call(&token, Method::GET, "/v1/groups", None).await;
    assert_eq!(list.status(), StatusCode::OK);
    let state = sim.sim.snapshot();
    assert_eq!(
        state.calls_to("POST /v1/groups").ok,
        1,
        "counted as applied"
    );
    let log = sim.sim.requests();
    let lost: Vec<_> = log.iter().filter(|r| r.status == 0).collect();
    assert_eq!(lost.len(), 3);
    assert_eq!(lost[0].applied_status, Some(201));
    assert_eq!(lost[1].applied_status, Some(204));
}

#[tokio::test]
async fn omit_user_groups_leaves_the_field_out_of_one_user() {
    let sim = spawn_default().await;
    let token = sim.token().await;
    let user = sim.sim.snapshot().users[0].id;
    let path = format!("/v1/users/{user}");
    let full = sim.call(&token, Method::GET, &path, None).await;
    let full: Value = full.json().await.expect("json");
    assert!(full.get("groups").is_some(), "{full}");
    sim.sim.set_faults(Faults {
        omit_user_groups: true,
        ..Faults::default()
    });
    let bare: Value = sim
        .call(&token, Method::GET, &path, None)
        .await
        .json()
        .await
        .expect("json");
    assert!(bare.get("groups").is_none(), "{bare}");
    assert_eq!(bare["email"], full["email"]);
}

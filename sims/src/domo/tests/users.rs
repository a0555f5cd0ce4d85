//! Users API: paging, create (default group, duplicates, revive), retrieve, delete.

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::{assert_bedrock, spawn, spawn_default};
use crate::domo::SimConfig;
use crate::domo::config::generated_users;

#[tokio::test]
async fn list_pages_over_more_than_500_users() {
    let sim = spawn(SimConfig {
        users: generated_users(600).collect(),
        ..SimConfig::default()
    })
    .await;
    let token = sim.token().await;
    let page = |query: String| {
        let (sim, token) = (&sim, &token);
        async move {
            let body = sim
                .expect(
                    token,
                    Method::GET,
                    &format!("/v1/users{query}"),
                    None,
                    StatusCode::OK,
                )
                .await;
            body.as_array().expect("bare array").clone()
        }
    };
    let first = page(String::new()).await;
    assert_eq!(first.len(), 50);
    assert_eq!(first[0]["email"], "api-owner@example.com");
    assert_eq!(first[1]["email"], "user1@example.com");
    assert!(first[1].get("groups").is_none(), "list has no groups");
    assert_eq!(first[1]["role"], "Participant");

    let mut emails = Vec::new();
    let mut offset = 0;
    loop {
        let rows = page(format!("?limit=500&offset={offset}")).await;
        emails.extend(
            rows.iter()
                .map(|u| u["email"].as_str().unwrap_or_default().to_owned()),
        );
        if rows.len() < 500 {
            break;
        }
        offset += 500;
    }
    assert_eq!(emails.len(), 601, "600 generated + the API client's owner");
    assert_eq!(
        emails.last().map(String::as_str),
        Some("user600@example.com")
    );
    assert_eq!(page("?limit=501".to_owned()).await.len(), 500);
}

#[tokio::test]
async fn create_is_201_in_the_default_group_and_duplicate_email_is_400() {
    let sim = spawn_default().await;
    let token = sim.token().await;
    let created = sim
        .expect(
            &token,
            Method::POST,
            "/v1/users?sendInvite=False",
            Some(
                json!({ "name": "Ada", "email": "ada@example.com", "role": "Participant",
                         "title": "Engineer", "employeeNumber": 23432 }),
            ),
            StatusCode::CREATED,
        )
        .await;
    let id = created["id"].as_u64().expect("id");
    assert_eq!(created["email"], "ada@example.com");
    assert_eq!(created["title"], "Engineer");
    assert_eq!(created["employeeNumber"], 23432);
    assert_eq!(created["groups"][0]["name"], "Default");
    assert!(created["groups"][0]["id"].is_u64());

    let dup = sim
        .expect(
            &token,
            Method::POST,
            "/v1/users/",
            Some(json!({ "name": "Ada 2", "email": "ADA@example.com", "role": "Participant" })),
            StatusCode::BAD_REQUEST,
        )
        .await;
    assert_bedrock(&dup, 400);
    for body in [
        json!({ "email": "x@example.com", "role": "Participant" }),
        json!({ "name": "X", "email": "x@example.com", "role": "Wizard" }),
        json!({ "name": "X", "email": "not-an-email", "role": "Admin" }),
    ] {
        sim.expect(
            &token,
            Method::POST,
            "/v1/users",
            Some(body),
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
    sim.expect(
        &token,
        Method::POST,
        "/v1/users?sendInvite=maybe",
        Some(json!({ "name": "X", "email": "x@example.com", "role": "Admin" })),
        StatusCode::BAD_REQUEST,
    )
    .await;

    let got = sim
        .expect(
            &token,
            Method::GET,
            &format!("/v1/users/{id}"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(got["deleted"], false);
    assert_eq!(got["groups"], created["groups"]);
    assert!(got["createdAt"].as_str().is_some_and(|t| t.ends_with('Z')));
}

#[tokio::test]
async fn deleted_user_is_200_deleted_true_and_can_be_revived() {
    let sim = spawn(SimConfig {
        users: generated_users(1).collect(),
        ..SimConfig::default()
    })
    .await;
    let token = sim.token().await;
    let id = sim
        .sim
        .snapshot()
        .user_with_email("user1@example.com")
        .expect("user")
        .id;
    let group = sim.create_group(&token, "Team").await;
    sim.expect(
        &token,
        Method::PUT,
        &format!("/v1/groups/{group}/users/{id}"),
        None,
        StatusCode::NO_CONTENT,
    )
    .await;

    sim.expect(
        &token,
        Method::DELETE,
        &format!("/v1/users/{id}"),
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    let got = sim
        .expect(
            &token,
            Method::GET,
            &format!("/v1/users/{id}"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(got["deleted"], true);
    assert_eq!(got["id"], id);
    assert!(got.get("groups").is_none(), "a subset: {got}");
    let listed = sim
        .expect(&token, Method::GET, "/v1/users", None, StatusCode::OK)
        .await;
    assert!(
        listed
            .as_array()
            .expect("array")
            .iter()
            .all(|u| u["id"] != id)
    );
    let state = sim.sim.snapshot();
    assert!(state.groups.iter().all(|g| !g.members.contains(&id)));
    assert!(
        state
            .user_with_email("user1@example.com")
            .is_some_and(|u| u.deleted)
    );
    sim.expect(
        &token,
        Method::PUT,
        &format!("/v1/groups/{group}/users/{id}"),
        None,
        StatusCode::BAD_REQUEST,
    )
    .await;

    let revived = sim
        .expect(
            &token,
            Method::POST,
            "/v1/users",
            Some(json!({ "name": "User One", "email": "user1@example.com", "role": "Editor" })),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(revived["id"], id);
    assert_eq!(revived["role"], "Editor");
    assert_eq!(revived["groups"][0]["name"], "Default");

    let unknown = sim
        .expect(
            &token,
            Method::GET,
            "/v1/users/123456789",
            None,
            StatusCode::NOT_FOUND,
        )
        .await;
    assert_bedrock(&unknown, 404);
}

//! Groups API: create, duplicates, paging, members, inactive groups, delete rules, 404s.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{assert_bedrock, spawn, spawn_default};
use crate::domo::SimConfig;

#[tokio::test]
async fn create_is_201_with_string_creator_and_duplicate_is_400() {
    let sim = spawn_default().await;
    let token = sim.token().await;
    let owner = sim.sim.owner_id();

    let created = sim
        .expect(
            &token,
            Method::POST,
            "/v1/groups/",
            Some(json!({ "name": "Marketing", "active": "true", "unknownKey": 1 })),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(created["name"], "Marketing");
    assert_eq!(created["active"], true);
    assert_eq!(created["default"], false);
    assert_eq!(created["creatorId"], owner.to_string());
    let id = created["id"].as_u64().expect("numeric id");
    assert!(id >= 100_000_000);

    for name in ["Marketing", "marketing"] {
        let dup = sim
            .expect(
                &token,
                Method::POST,
                "/v1/groups",
                Some(json!({ "name": name })),
                StatusCode::BAD_REQUEST,
            )
            .await;
        assert_bedrock(&dup, 400);
    }
    let missing_name = sim
        .expect(
            &token,
            Method::POST,
            "/v1/groups",
            Some(json!({})),
            StatusCode::BAD_REQUEST,
        )
        .await;
    assert_bedrock(&missing_name, 400);

    // Retrieve shows memberCount (the creator) and no `default`.
    let got = sim
        .expect(
            &token,
            Method::GET,
            &format!("/v1/groups/{id}"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        got,
        json!({ "id": id, "name": "Marketing", "active": true, "memberCount": 1 })
    );
    let state = sim.sim.snapshot();
    assert_eq!(state.groups.len(), 2, "Default + Marketing");
    assert_eq!(
        state.group_named("Marketing").map(|g| g.members.clone()),
        Some(vec![owner])
    );
}

#[tokio::test]
async fn list_pages_default_50_max_500_with_offset() {
    let sim = spawn_default().await;
    for i in 0..600 {
        sim.control(
            Method::POST,
            "/_sim/groups",
            Some(json!({ "name": format!("G{i:03}") })),
            StatusCode::CREATED,
        )
        .await;
    }
    let token = sim.token().await;
    let page = |query: &'static str| {
        let (sim, token) = (&sim, &token);
        async move {
            let body = sim
                .expect(
                    token,
                    Method::GET,
                    &format!("/v1/groups{query}"),
                    None,
                    StatusCode::OK,
                )
                .await;
            body.as_array().expect("bare array").clone()
        }
    };
    let first = page("").await;
    assert_eq!(first.len(), 50);
    assert_eq!(first[0]["name"], "Default");
    assert_eq!(first[0]["default"], true);
    assert!(
        first[1].get("active").is_none(),
        "list has no active: {}",
        first[1]
    );
    assert_eq!(first[1]["memberCount"], 0);

    assert_eq!(page("?limit=500").await.len(), 500);
    assert_eq!(page("?limit=1000").await.len(), 500, "clamped to 500");
    let last = page("?limit=500&offset=500").await;
    assert_eq!(last.len(), 101, "601 groups in all");
    assert_eq!(last[100]["name"], "G599");
    assert!(page("?offset=601").await.is_empty());
    let second = page("?limit=10&offset=10").await;
    assert_eq!(second[0]["name"], "G009");

    for bad in ["?limit=0", "?limit=abc", "?offset=-5"] {
        let body = sim
            .expect(
                &token,
                Method::GET,
                &format!("/v1/groups{bad}"),
                None,
                StatusCode::BAD_REQUEST,
            )
            .await;
        assert_bedrock(&body, 400);
    }
}

#[tokio::test]
async fn members_are_a_bare_array_of_ids_and_membership_is_idempotent() {
    let sim = spawn(SimConfig {
        users: crate::domo::config::generated_users(3).collect(),
        ..SimConfig::default()
    })
    .await;
    let token = sim.token().await;
    let owner = sim.sim.owner_id();
    let group = sim.create_group(&token, "Sales").await;
    let users: Vec<u64> = sim
        .sim
        .snapshot()
        .users
        .iter()
        .map(|u| u.id)
        .filter(|id| *id != owner)
        .collect();
    let path = |u: u64| format!("/v1/groups/{group}/users/{u}");
    for &user in &users {
        sim.expect(
            &token,
            Method::PUT,
            &path(user),
            Some(json!({})),
            StatusCode::NO_CONTENT,
        )
        .await;
    }
    // Already a member: still 204.
    sim.expect(
        &token,
        Method::PUT,
        &path(users[0]),
        None,
        StatusCode::NO_CONTENT,
    )
    .await;

    let members = sim
        .expect(
            &token,
            Method::GET,
            &format!("/v1/groups/{group}/users"),
            None,
            StatusCode::OK,
        )
        .await;
    let mut want: Vec<u64> = users.clone();
    want.push(owner);
    want.sort_unstable();
    let got: Vec<u64> = members
        .as_array()
        .expect("bare array")
        .iter()
        .map(|v| v.as_u64().expect("integer id"))
        .collect();
    assert_eq!(got, want);
    let paged = sim
        .expect(
            &token,
            Method::GET,
            &format!("/v1/groups/{group}/users?limit=2&offset=1"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(paged, json!(want[1..3]));

    sim.expect(
        &token,
        Method::DELETE,
        &path(users[1]),
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    // Not a member any more: still 204.
    sim.expect(
        &token,
        Method::DELETE,
        &path(users[1]),
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    let state = sim.sim.snapshot();
    let sales = state.group_named("Sales").expect("Sales");
    assert!(!sales.members.contains(&users[1]));
    assert_eq!(sales.members.len(), 3);
}

#[tokio::test]
async fn adding_to_an_inactive_group_is_400_until_activated() {
    let sim = spawn(SimConfig {
        users: crate::domo::config::generated_users(1).collect(),
        ..SimConfig::default()
    })
    .await;
    let token = sim.token().await;
    let user = sim
        .sim
        .snapshot()
        .user_with_email("user1@example.com")
        .expect("user")
        .id;
    let created = sim
        .expect(
            &token,
            Method::POST,
            "/v1/groups",
            Some(json!({ "name": "Dormant", "active": "false" })),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(created["active"], false);
    let group = created["id"].as_u64().expect("id");
    let add = format!("/v1/groups/{group}/users/{user}");
    let body = sim
        .expect(&token, Method::PUT, &add, None, StatusCode::BAD_REQUEST)
        .await;
    assert_bedrock(&body, 400);

    let updated = sim
        .expect(
            &token,
            Method::PUT,
            &format!("/v1/groups/{group}"),
            Some(json!({ "active": true, "memberCount": 0 })),
            StatusCode::OK,
        )
        .await;
    assert_eq!(updated["active"], true);
    assert_eq!(updated["name"], "Dormant");
    sim.expect(&token, Method::PUT, &add, None, StatusCode::NO_CONTENT)
        .await;
}

#[tokio::test]
async fn delete_needs_an_empty_group_and_unknown_ids_are_bedrock_404() {
    let sim = spawn_default().await;
    let token = sim.token().await;
    let owner = sim.sim.owner_id();
    let group = sim.create_group(&token, "Temp").await;
    let path = format!("/v1/groups/{group}");
    let body = sim
        .expect(&token, Method::DELETE, &path, None, StatusCode::BAD_REQUEST)
        .await;
    assert_bedrock(&body, 400);
    sim.expect(
        &token,
        Method::DELETE,
        &format!("{path}/users/{owner}"),
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    sim.expect(&token, Method::DELETE, &path, None, StatusCode::NO_CONTENT)
        .await;

    for (method, path) in [
        (Method::GET, path.clone()),
        (Method::PUT, path.clone()),
        (Method::DELETE, path.clone()),
        (Method::GET, format!("{path}/users")),
        (Method::PUT, format!("{path}/users/{owner}")),
        (
            Method::PUT,
            format!("/v1/groups/{}/users/123", default_group(&sim)),
        ),
    ] {
        let body: Value = sim
            .expect(&token, method, &path, None, StatusCode::NOT_FOUND)
            .await;
        assert_bedrock(&body, 404);
        assert_eq!(body["statusReason"], "Not Found");
    }
    let body = sim
        .expect(
            &token,
            Method::GET,
            "/v1/groups/abc",
            None,
            StatusCode::BAD_REQUEST,
        )
        .await;
    assert_bedrock(&body, 400);
}

#[tokio::test]
async fn rename_to_a_taken_name_is_400_and_default_group_is_protected() {
    let sim = spawn_default().await;
    let token = sim.token().await;
    let a = sim.create_group(&token, "A").await;
    sim.create_group(&token, "B").await;
    let body = sim
        .expect(
            &token,
            Method::PUT,
            &format!("/v1/groups/{a}"),
            Some(json!({ "name": "b" })),
            StatusCode::BAD_REQUEST,
        )
        .await;
    assert_bedrock(&body, 400);
    let default = default_group(&sim);
    let owner = sim.sim.owner_id();
    sim.expect(
        &token,
        Method::DELETE,
        &format!("/v1/groups/{default}"),
        None,
        StatusCode::BAD_REQUEST,
    )
    .await;
    sim.expect(
        &token,
        Method::DELETE,
        &format!("/v1/groups/{default}/users/{owner}"),
        None,
        StatusCode::BAD_REQUEST,
    )
    .await;
}

fn default_group(sim: &super::TestSim) -> u64 {
    sim.sim
        .snapshot()
        .groups
        .iter()
        .find(|g| g.default)
        .expect("default group")
        .id
}

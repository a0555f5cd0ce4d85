//! Call counters, the state view, hand edits through `/_sim`, and seeded determinism.

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::{spawn, spawn_default};
use crate::domo::{SimConfig, SimState, Simulator};

#[tokio::test]
async fn calls_are_counted_per_route_template_with_ok_separately() {
    let sim = spawn(SimConfig {
        users: crate::domo::config::generated_users(2).collect(),
        ..SimConfig::default()
    })
    .await;
    let token = sim.token().await;
    let group = sim.create_group(&token, "Ops").await;
    let user = sim
        .sim
        .snapshot()
        .user_with_email("user2@example.com")
        .expect("user")
        .id;
    let add = format!("/v1/groups/{group}/users/{user}");
    sim.expect(&token, Method::PUT, &add, None, StatusCode::NO_CONTENT)
        .await;
    sim.expect(
        &token,
        Method::PUT,
        &format!("{add}/"),
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    sim.expect(
        &token,
        Method::PUT,
        &format!("/v1/groups/{group}/users/1"),
        None,
        StatusCode::NOT_FOUND,
    )
    .await;

    // Read through HTTP, as an end-to-end test would.
    let state: SimState = serde_json::from_value(
        sim.control(Method::GET, "/_sim/state", None, StatusCode::OK)
            .await,
    )
    .expect("SimState json");
    let add_calls = state.calls_to("PUT /v1/groups/{id}/users/{id}");
    assert_eq!((add_calls.total, add_calls.ok), (3, 2));
    assert_eq!(state.calls_to("POST /v1/groups").ok, 1);
    assert_eq!(state.calls_to("GET /oauth/token").total, 1);
    assert_eq!(state.tokens_issued, 1);
    assert!(
        state.calls.keys().all(|k| !k.contains("_sim")),
        "{:?}",
        state.calls
    );
    let ops = state.group_named("Ops").expect("Ops");
    assert!(ops.active && !ops.default);
    assert!(ops.members.contains(&user));
    // The state a person reads names the members by email too, in the order of the ids.
    let at = ops.members.iter().position(|m| *m == user).expect("member");
    assert_eq!(ops.member_emails.len(), ops.members.len());
    assert_eq!(ops.member_emails[at], "user2@example.com");

    let log: Vec<crate::domo::RequestRecord> = serde_json::from_value(
        sim.control(Method::GET, "/_sim/requests", None, StatusCode::OK)
            .await,
    )
    .expect("request log json");
    assert_eq!(log.len(), 5);
    assert_eq!(log[4].route, "/v1/groups/{id}/users/{id}");
    assert_eq!(log[4].status, 404);
    assert_eq!(log[4].method, "PUT");

    sim.control(
        Method::POST,
        "/_sim/reset-counters",
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    let state = sim.sim.snapshot();
    assert!(state.calls.is_empty());
    assert_eq!(state.tokens_issued, 0);
    assert!(sim.sim.requests().is_empty());
    assert_eq!(state.groups.len(), 2, "reset keeps the instance");
}

#[tokio::test]
async fn hand_edits_add_users_and_groups_and_bypass_api_rules() {
    let sim = spawn_default().await;
    let created = sim
        .control(
            Method::POST,
            "/_sim/users",
            Some(json!([
                { "email": "a@example.com", "name": "A", "role": "Admin" },
                { "email": "b@example.com", "name": "B", "role": "Participant" }
            ])),
            StatusCode::CREATED,
        )
        .await;
    let ids: Vec<u64> = created
        .as_array()
        .expect("array")
        .iter()
        .map(|u| u["id"].as_u64().expect("id"))
        .collect();
    assert_eq!(ids.len(), 2);
    assert_eq!(created[0]["groups"][0]["name"], "Default");

    // All or nothing: a duplicate inside the batch creates none.
    sim.control(
        Method::POST,
        "/_sim/users",
        Some(json!([
            { "email": "c@example.com", "name": "C", "role": "Admin" },
            { "email": "C@example.com", "name": "C2", "role": "Admin" }
        ])),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(
        sim.sim
            .snapshot()
            .user_with_email("c@example.com")
            .is_none()
    );

    let group = sim
        .control(
            Method::POST,
            "/_sim/groups",
            Some(json!({ "name": "Legacy", "active": false })),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(group["members"], json!([]));
    let gid = group["id"].as_u64().expect("id");
    sim.control(
        Method::PUT,
        &format!("/_sim/groups/{gid}/users/{}", ids[0]),
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    let default = sim.sim.snapshot().groups[0].id;
    sim.control(
        Method::DELETE,
        &format!("/_sim/groups/{default}/users/{}", ids[1]),
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    sim.control(
        Method::PUT,
        &format!("/_sim/groups/{gid}/users/1"),
        None,
        StatusCode::NOT_FOUND,
    )
    .await;

    let state = sim.sim.snapshot();
    assert_eq!(
        state.group_named("Legacy").map(|g| g.members.clone()),
        Some(vec![ids[0]])
    );
    assert!(!state.groups[0].members.contains(&ids[1]));
    assert!(state.calls.is_empty(), "control calls are not counted");
}

#[test]
fn the_same_seed_gives_the_same_ids_and_another_seed_others() {
    let users = || crate::domo::config::generated_users(5).collect::<Vec<_>>();
    let ids = |seed: u64| {
        let state = Simulator::new(SimConfig {
            seed,
            users: users(),
            ..SimConfig::default()
        })
        .snapshot();
        let mut ids: Vec<u64> = state.groups.iter().map(|g| g.id).collect();
        ids.extend(state.users.iter().map(|u| u.id));
        ids
    };
    let first = ids(42);
    assert_eq!(first, ids(42));
    assert_ne!(first, ids(43));
    assert!(
        first
            .iter()
            .all(|id| (100_000_000..=2_147_483_647).contains(id))
    );
    let mut unique = first.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), first.len());
}

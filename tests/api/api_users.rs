//! The internal REST API for users, groups, plans and sources, end to end.

use reqwest::Method;
use serde_json::{Value, json};

use crate::api_v1::{call, groups, wait_status};
use crate::helpers::{canonical, spawn_app};

#[tokio::test]
async fn onboard_membership_and_offboard_by_email_drive_domo_and_the_user_view() {
    let app = spawn_app().await;

    // Onboard with groups and attributes
    let (status, body) = call(
        &app,
        Method::POST,
        "/api/v1/users/Grace@Example.com/onboard",
        Some(json!({"name": "Grace", "groups": ["Marketing"], "attributes": {"department": "Sales", "location": "Paris"}})),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    app.wait_idle().await;
    assert_eq!(
        groups(&app, "grace@example.com"),
        ["Marketing", "Sales", "Sales Paris"]
    );

    // Add an IdP group that a glob rule maps
    let (status, body) = call(
        &app,
        Method::PUT,
        "/api/v1/users/grace@example.com/groups/eng-web",
        None,
    )
    .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["domo_groups"], json!(["Engineering"]));
    app.wait_idle().await;
    assert!(groups(&app, "grace@example.com").contains(&"Engineering".to_owned()));

    // A group no rule maps is refused: it would do nothing
    let (status, _) = call(
        &app,
        Method::PUT,
        "/api/v1/users/grace@example.com/groups/Unmapped",
        None,
    )
    .await;
    assert_eq!(status, 422);

    // The user as the service sees them
    let (status, user) = call(&app, Method::GET, "/api/v1/users/grace@example.com", None).await;
    assert_eq!(status, 200, "{user}");
    assert_eq!(user["offboarded"], false);
    assert_eq!(user["attributes"]["location"], "Paris");
    assert_eq!(user["desired_idp_groups"], json!(["Marketing", "eng-web"]));
    let desired: Vec<&str> = user["desired_domo_groups"]
        .as_array()
        .expect("desired")
        .iter()
        .map(|g| g["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        desired,
        ["Engineering", "Marketing", "Sales", "Sales Paris"]
    );
    assert_eq!(
        user["desired_domo_groups"][1]["rule"], 0,
        "Marketing comes from rules[0]"
    );
    assert!(user["domo_user_id"].is_i64());
    assert_eq!(
        user["memberships"].as_array().map(Vec::len),
        Some(5),
        "four managed groups and Domo's default group: {user}"
    );

    // Remove, then offboard
    let (status, _) = call(
        &app,
        Method::DELETE,
        "/api/v1/users/grace@example.com/groups/eng-web",
        None,
    )
    .await;
    assert_eq!(status, 202);
    app.wait_idle().await;
    assert_eq!(
        groups(&app, "grace@example.com"),
        ["Marketing", "Sales", "Sales Paris"]
    );
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/users/grace@example.com/offboard",
        None,
    )
    .await;
    assert_eq!(status, 202);
    app.wait_idle().await;
    assert_eq!(groups(&app, "grace@example.com"), Vec::<String>::new());
    let (_, user) = call(&app, Method::GET, "/api/v1/users/grace@example.com", None).await;
    assert_eq!(user["offboarded"], true);
    assert_eq!(user["desired_domo_groups"], json!([]));

    let (status, _) = call(&app, Method::GET, "/api/v1/users/nobody@example.com", None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn plan_tells_what_an_event_would_do_and_changes_nothing() {
    let app = spawn_app().await;
    app.send_event(&canonical(
        "e1",
        "user.onboarded",
        "2026-11-28T10:00:00Z",
        "ada@example.com",
        Some(&["Marketing"]),
    ))
    .await;
    app.wait_idle().await;
    let sim_url = format!("http://{}/_sim/state", app.sim_addr);
    let sim_before = app
        .client
        .get(&sim_url)
        .send()
        .await
        .expect("sent")
        .text()
        .await
        .expect("text");

    let ev = canonical(
        "e2",
        "user.updated",
        "2026-11-28T11:00:00Z",
        "ada@example.com",
        Some(&["Finance"]),
    );
    let (status, plan) = call(
        &app,
        Method::POST,
        "/api/v1/plan",
        Some(serde_json::from_str(&ev).expect("json")),
    )
    .await;
    assert_eq!(status, 200, "{plan}");
    assert_eq!(plan["changes_state"], true);
    assert_eq!(plan["add"], json!(["Finance"]));
    assert_eq!(plan["remove"], json!(["Marketing"]));
    assert_eq!(plan["create"], json!(["Finance"]));
    assert_eq!(
        plan["current_domo_groups"],
        json!(["Default", "Marketing"]),
        "what the service knows, the default group included (never removed)"
    );

    // An older event changes nothing
    let old = canonical(
        "e0",
        "user.offboarded",
        "2026-11-28T09:00:00Z",
        "ada@example.com",
        None,
    );
    let (_, plan) = call(
        &app,
        Method::POST,
        "/api/v1/plan",
        Some(serde_json::from_str(&old).expect("json")),
    )
    .await;
    assert_eq!(plan["changes_state"], false);
    assert_eq!(plan["add"], json!([]));
    assert_eq!(plan["remove"], json!([]));

    // Nothing was stored, queued or called
    let sim_after = app
        .client
        .get(&sim_url)
        .send()
        .await
        .expect("sent")
        .text()
        .await
        .expect("text");
    assert_eq!(sim_after, sim_before, "Domo is untouched");
    let pass = app.worker.run_once().await.expect("a worker pass");
    assert_eq!(
        pass,
        domo_group_sync::worker::Outcome::Idle,
        "nothing was queued"
    );
    let (_, page) = call(&app, Method::GET, "/api/v1/events?source=api", None).await;
    assert_eq!(page["events"], json!([]));
}

#[tokio::test]
async fn groups_are_listed_and_ensured_through_the_queue() {
    let app = spawn_app().await;
    let (status, body) = call(
        &app,
        Method::POST,
        "/api/v1/groups",
        Some(json!({"name": "Finance"})),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["domo_groups"], json!(["Finance"]));
    let id = body["event"]["id"].as_i64().expect("event number");
    let detail = wait_status(&app, id, "done").await;
    assert!(
        detail["operations"]
            .as_array()
            .expect("ops")
            .iter()
            .any(|o| o["op"] == "create_group"),
        "{detail}"
    );
    assert!(app.sim_state().groups.iter().any(|g| g.name == "Finance"));

    let (status, list) = call(&app, Method::GET, "/api/v1/groups", None).await;
    assert_eq!(status, 200);
    let finance = list["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .find(|g| g["name"] == "Finance")
        .cloned()
        .expect("Finance is listed");
    assert!(finance["domo_id"].is_i64());
    assert_eq!(finance["created_by_service"], true);
    assert_eq!(finance["named_by_rule"], true);

    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/groups",
        Some(json!({"name": "Nothing maps this"})),
    )
    .await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn sources_are_listed_without_secrets() {
    let app = spawn_app().await;
    let resp = app
        .api(Method::GET, "/api/v1/sources")
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.expect("text");
    assert!(
        !text.contains(crate::helpers::SW_SECRET) && !text.contains("whsec_"),
        "no secret"
    );
    let body: Value = serde_json::from_str(&text).expect("json");
    let sw = body["sources"]
        .as_array()
        .expect("sources")
        .iter()
        .find(|s| s["name"] == "sw")
        .cloned()
        .expect("sw");
    assert_eq!(
        sw,
        json!({"name": "sw", "path": "/webhooks/sw", "format": "canonical",
        "scheme": "standard-webhooks", "tolerance_secs": 300, "secret_count": 2})
    );
}

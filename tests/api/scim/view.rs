//! The SCIM view and its guarantees: written with its events in one commit, served at once
//! whatever Domo is doing, unchanged by retries, stable across restarts, and mapped to Domo
//! accounts by identity email.

use std::collections::BTreeMap;

use dgs_sims::domo::Faults;
use domo_group_sync::app::Application;
use domo_group_sync::config::{Config, ConfigInput};
use domo_group_sync::store::{EventFilter, EventRow};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::oneshot;

use super::{SCIM_TOKEN, q, scim_answer, spawn_scim};
use crate::helpers::{Options, TestApp, config_toml};

async fn scim_events(app: &TestApp) -> Vec<EventRow> {
    let filter = EventFilter {
        source: Some("scim".into()),
        ..EventFilter::default()
    };
    let mut rows = app
        .store
        .list_events(&filter, None, 1000)
        .await
        .expect("events");
    rows.reverse();
    rows
}

async fn create(app: &TestApp, body: Value, path: &str) -> String {
    let (s, r) = app.scim_call(Method::POST, path, Some(body)).await;
    assert_eq!(s, 201, "{r}");
    r["id"].as_str().expect("id").to_owned()
}

#[tokio::test]
async fn get_reflects_what_the_idp_set_while_domo_is_still_applying() {
    let app = spawn_scim().await;
    app.sim.set_faults(Faults {
        rate_5xx: 1.0,
        ..Faults::default()
    });
    let uid = create(&app, json!({"userName": "ada@example.com"}), "/Users").await;
    let gid = create(
        &app,
        json!({"displayName": "Marketing", "members": [{"value": uid}]}),
        "/Groups",
    )
    .await;
    // Answered from the SCIM view: the membership is there although Domo has none of it.
    let (_, g) = app.scim_get(&format!("/Groups/{gid}")).await;
    assert_eq!(g["members"], json!([{"value": uid}]));
    let (_, by) = app
        .scim_get(&format!(
            "/Groups?filter={}",
            q(&format!(r#"members[value eq "{uid}"]"#))
        ))
        .await;
    assert_eq!(by["totalResults"], 1);
    assert!(
        app.store.count_pending().await.expect("count") > 0,
        "Domo has not been applied"
    );
    assert!(
        !app.groups_of("ada@example.com")
            .contains(&"Marketing".to_owned())
    );
    // The events were committed with the view: Domo catches up once it answers.
    app.sim.set_faults(Faults::default());
    app.wait_until("Domo to catch up", || async {
        app.groups_of("ada@example.com")
            .contains(&"Marketing".to_owned())
    })
    .await;
}

#[tokio::test]
async fn a_retried_request_changes_nothing() {
    let app = spawn_scim().await;
    let uid = create(
        &app,
        json!({"userName": "ada@example.com", "name": {"givenName": "Ada"}}),
        "/Users",
    )
    .await;
    let gid = create(&app, json!({"displayName": "Marketing"}), "/Groups").await;
    let add = json!({"Operations": [{"op": "Add", "path": "members", "value": [{"value": uid}]}]});
    let disable = json!({"Operations": [{"op": "Replace", "path": "active", "value": "False"}]});
    let put = json!({"userName": "ada@example.com", "name": {"givenName": "Ada"}, "active": false});
    for (method, path, body) in [
        (Method::PATCH, format!("/Groups/{gid}"), add),
        (Method::PATCH, format!("/Users/{uid}"), disable),
        (Method::PUT, format!("/Users/{uid}"), put),
    ] {
        let (first, _) = app
            .scim_call(method.clone(), &path, Some(body.clone()))
            .await;
        let events = scim_events(&app).await.len();
        let version = |v: &Value| v["meta"]["version"].clone();
        let (_, before) = app.scim_get(&path).await;
        let (again, _) = app.scim_call(method, &path, Some(body)).await;
        let (_, after) = app.scim_get(&path).await;
        assert_eq!(first, again, "{path}: same answer");
        assert_eq!(
            scim_events(&app).await.len(),
            events,
            "{path}: no new event"
        );
        assert_eq!(version(&before), version(&after), "{path}: no new version");
    }
    let (s, _) = app
        .scim_call(
            Method::POST,
            "/Users",
            Some(json!({"userName": "ada@example.com"})),
        )
        .await;
    assert_eq!(s, 409, "a retried create");
    assert_eq!(
        app.scim_call(Method::DELETE, &format!("/Users/{uid}"), None)
            .await
            .0,
        204
    );
    assert_eq!(
        app.scim_call(Method::DELETE, &format!("/Users/{uid}"), None)
            .await
            .0,
        404,
        "a retried delete"
    );
    app.wait_idle().await;
}

#[tokio::test]
async fn events_carry_the_write_order_of_each_user() {
    let app = spawn_scim().await;
    let uid = create(&app, json!({"userName": "ada@example.com"}), "/Users").await;
    let gid = create(&app, json!({"displayName": "Marketing"}), "/Groups").await;
    for op in ["add", "remove", "add"] {
        let path = if op == "add" {
            "members".to_owned()
        } else {
            format!("members[value eq \"{uid}\"]")
        };
        let value = if op == "add" {
            json!([{"value": uid}])
        } else {
            Value::Null
        };
        app.scim_call(
            Method::PATCH,
            &format!("/Groups/{gid}"),
            Some(json!({"Operations": [{"op": op, "path": path, "value": value}]})),
        )
        .await;
    }
    app.scim_call(
        Method::PATCH,
        &format!("/Users/{uid}"),
        Some(json!({"Operations": [{"op": "replace", "path": "active", "value": false}]})),
    )
    .await;
    let rows: Vec<EventRow> = scim_events(&app)
        .await
        .into_iter()
        .filter(|e| e.user_key.as_deref() == Some("ada@example.com"))
        .collect();
    let kinds: Vec<&str> = rows.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "user.onboarded",
            "group.member_added",
            "group.member_removed",
            "group.member_added",
            "user.offboarded"
        ]
    );
    let times: Vec<i64> = rows.iter().filter_map(|e| e.occurred_at).collect();
    assert!(
        times.windows(2).all(|w| w[0] < w[1]),
        "strictly increasing per user: {times:?}"
    );
    let payload: Value =
        serde_json::from_str(rows[1].payload.as_deref().expect("payload")).expect("json");
    assert_eq!(
        (&payload["user"]["id"], &payload["groups"]),
        (&json!(uid), &json!(["Marketing"]))
    );
    assert!(
        app.domo_groups_of("ada@example.com").await.is_empty(),
        "the latest write wins"
    );
}

#[tokio::test]
async fn the_identity_email_maps_a_user_to_its_domo_account() {
    let app = spawn_scim().await;
    // No email at all: served, but nothing for Domo.
    create(&app, json!({"userName": "jdoe"}), "/Users").await;
    assert!(scim_events(&app).await.is_empty());
    // The primary email wins over userName; changing it moves the access.
    let uid = create(
        &app,
        json!({"userName": "u1", "emails": [{"value": "ada@example.com", "type": "work"}]}),
        "/Users",
    )
    .await;
    create(
        &app,
        json!({"displayName": "Marketing", "members": [{"value": uid}]}),
        "/Groups",
    )
    .await;
    assert_eq!(app.domo_groups_of("ada@example.com").await, ["Marketing"]);
    let (s, _) = app
        .scim_call(Method::PATCH, &format!("/Users/{uid}"), Some(json!({"Operations": [
            {"op": "Add", "path": "emails", "value": [{"value": "grace@example.com", "type": "other", "primary": true}]}]})))
        .await;
    assert_eq!(s, 200);
    assert!(
        app.domo_groups_of("ada@example.com").await.is_empty(),
        "the old account loses access"
    );
    assert_eq!(app.domo_groups_of("grace@example.com").await, ["Marketing"]);
    // Rule attributes from the enterprise extension.
    let (s, _) = app
        .scim_call(
            Method::PATCH,
            &format!("/Users/{uid}"),
            Some(json!({"Operations": [{"op": "replace", "value": {
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Sales"}}]})),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        app.domo_groups_of("grace@example.com").await,
        ["Marketing", "Sales"]
    );
}

/// Starts another replica of `app` (same database and simulator) serving HTTP.
pub async fn replica(
    app: &TestApp,
    o: Options,
) -> (std::net::SocketAddr, oneshot::Sender<()>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let o = Options {
        store_url: Some(app.db.url.clone()),
        scim: true,
        ..o
    };
    let toml = config_toml(dir.path(), app.sim_addr, &o);
    let config = Config::parse(ConfigInput {
        toml: Some(&toml),
        env: &BTreeMap::new(),
    })
    .expect("config");
    let b = Application::build(config).await.expect("replica builds");
    let addr = b.local_addr().expect("addr");
    let (stop, rx) = oneshot::channel::<()>();
    tokio::spawn(b.run_until_stopped(async move {
        let _ = rx.await;
    }));
    (addr, stop, dir)
}

#[tokio::test]
async fn ids_are_stable_across_restarts() {
    let mut app = spawn_scim().await;
    let uid = create(
        &app,
        json!({"userName": "ada@example.com", "externalId": "e-1"}),
        "/Users",
    )
    .await;
    let gid = create(
        &app,
        json!({"displayName": "Marketing", "members": [{"value": uid}]}),
        "/Groups",
    )
    .await;
    app.stop_service().await;
    let (addr, _stop, _dir) = replica(&app, Options::default()).await;
    let get = |path: String| {
        let client = app.client.clone();
        async move {
            scim_answer(
                client
                    .get(format!("http://{addr}/scim/scim/v2{path}"))
                    .bearer_auth(SCIM_TOKEN)
                    .send()
                    .await
                    .expect("sent"),
            )
            .await
        }
    };
    let (s, u) = get(format!("/Users?filter={}", q(r#"externalId eq "e-1""#))).await;
    assert_eq!((s, &u["Resources"][0]["id"]), (200, &json!(uid)));
    let (s, g) = get(format!("/Groups/{gid}")).await;
    assert_eq!((s, &g["members"][0]["value"]), (200, &json!(uid)));
}

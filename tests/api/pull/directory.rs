//! The directory pass: only a complete listing removes anyone, and removals pass the reconcile
//! caps (held for approval, shown by a dry run).

use std::time::Duration;

use dgs_sims::okta::OktaConfig;
use serde_json::{Value, json};

use super::{OktaSim, push_okta};
use crate::helpers::*;

const TRIO: [&str; 3] = ["ada@example.com", "grace@example.com", "alan@example.com"];

/// Ada, Grace and Alan in Marketing at `okta`, delivered to the service by the hook.
async fn trio_in_marketing(okta: &OktaSim, app: &TestApp) {
    let mut setup = okta.add_group("Marketing").await;
    for login in TRIO {
        setup.extend(okta.add_user(login).await.1);
        setup.extend(okta.member("Marketing", login, true, false).await);
    }
    push_okta(app, &setup).await;
    app.wait_until("the three in Marketing", || async {
        TRIO.iter()
            .all(|u| app.managed_groups_of(u) == ["Marketing"])
    })
    .await;
}

fn first_drift(run: &Value) -> &Value {
    &run["plan"]["directory"][0]
}

#[tokio::test]
async fn a_directory_listing_that_fails_on_its_third_page_removes_nobody() {
    // 450 more users: the user list has three pages of 200.
    let okta = OktaSim::start_with(OktaConfig {
        generate_users: 450,
        generate_groups: 3,
        ..OktaConfig::default()
    })
    .await;
    let app = spawn_app_with(Options {
        okta_pull: Some(okta.pull_toml(0, 0)),
        extra_toml: "[reconcile]\nmax_removal_share = 1.0\n".into(),
        ..Options::default()
    })
    .await;
    trio_in_marketing(&okta, &app).await;
    // Okta drops Ada from Marketing and deactivates Grace; no event reaches the service.
    okta.member("Marketing", "ada@example.com", false, true)
        .await;
    okta.lifecycle("grace@example.com", "deactivate", true)
        .await;

    // The third page of the user list fails, and keeps failing through the retries.
    okta.control(reqwest::Method::POST, "/_sim/reset-counters", Value::Null)
        .await;
    okta.faults(json!({"fail_route": "GET /api/v1/users", "fail_from_call": 3}))
        .await;
    let report = app.pull_now("okta", true).await;
    let run = &report["directory"];
    let d = first_drift(run);
    assert_eq!(d["complete"], false, "{report}");
    let problem = d["problem"].as_str().expect("a reason");
    assert!(
        problem.contains("users") && problem.contains("503"),
        "{problem}"
    );
    assert_eq!(d["offboard"], json!([]), "{d}");
    assert_eq!(d["remove"], json!([]), "{d}");
    assert!(d["withheld_removals"].as_u64().expect("n") >= 2, "{d}");
    assert!(
        report["warnings"]
            .to_string()
            .contains("the directory listing is incomplete"),
        "{report}"
    );
    app.wait_idle().await;
    for u in TRIO {
        assert_eq!(app.managed_groups_of(u), ["Marketing"], "{u} kept");
    }
    assert!(
        app.events_of("okta", "dir:").await.is_empty(),
        "nothing queued"
    );
    let sources = json_body(
        app.api(reqwest::Method::GET, "/api/v1/sources")
            .send()
            .await
            .expect("sources"),
    )
    .await;
    let okta_view = sources["sources"]
        .as_array()
        .expect("list")
        .iter()
        .find(|s| s["name"] == "okta")
        .expect("okta")
        .clone();
    assert!(
        okta_view["pull"]["directory_error"]
            .as_str()
            .is_some_and(|e| e.contains("503")),
        "{okta_view}"
    );

    // Once every page reads, the drift is applied.
    okta.faults(json!({})).await;
    let report = app.pull_now("okta", true).await;
    let d = first_drift(&report["directory"]);
    assert_eq!(d["complete"], true, "{report}");
    assert_eq!(d["offboard"], json!(["grace@example.com"]));
    assert_eq!(
        d["remove"],
        json!([{"user": "ada@example.com", "group": "Marketing"}])
    );
    app.wait_until_for("the drift applied", Duration::from_secs(20), || async {
        app.managed_groups_of("ada@example.com").is_empty()
            && app.managed_groups_of("grace@example.com").is_empty()
            && app.managed_groups_of("alan@example.com") == ["Marketing"]
    })
    .await;
}

#[tokio::test]
async fn a_listing_that_comes_back_empty_is_refused_by_the_caps() {
    // The hook came from one org; the pull reads an empty one (a wrong api_base, an IdP
    // outage that lists nobody): every known user looks gone.
    let pushed = OktaSim::start().await;
    let empty = OktaSim::start().await;
    let app = spawn_app_with(Options {
        okta_pull: Some(empty.pull_toml(0, 0)),
        ..Options::default()
    })
    .await;
    trio_in_marketing(&pushed, &app).await;

    // A dry run shows it, held.
    let resp = app
        .api(reqwest::Method::POST, "/api/v1/reconcile/runs")
        .json(&json!({}))
        .send()
        .await
        .expect("dry run");
    assert_eq!(resp.status(), 201);
    let dry = json_body(resp).await;
    assert_eq!(dry["status"], "planned");
    let d = first_drift(&dry);
    assert_eq!(d["source"], "okta");
    assert_eq!(d["complete"], true);
    assert_eq!(d["users_listed"], 0);
    assert_eq!(
        d["offboard"],
        json!(
            TRIO.iter()
                .copied()
                .collect::<std::collections::BTreeSet<_>>()
        )
    );
    let held = dry["plan"]["held"].as_str().expect("over the cap");
    // Domo's members include the service's own account (the group's creator), never removed.
    assert!(held.contains("3 of 4 members of `Marketing`"), "{held}");
    let marketing = dry["plan"]["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .find(|g| g["name"] == "Marketing")
        .expect("Marketing planned")
        .clone();
    assert_eq!(marketing["remove"].as_array().map(Vec::len), Some(3));

    // The pass on its own is held too, and changes nothing.
    let report = app.pull_now("okta", true).await;
    let run = &report["directory"];
    assert_eq!(run["status"], "held", "{report}");
    let why = run["plan"]["held"].as_str().expect("held");
    assert!(why.contains("max_removal_share"), "{why}");
    assert!(report["warnings"].to_string().contains("held for approval"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.wait_idle().await;
    for u in TRIO {
        assert_eq!(app.managed_groups_of(u), ["Marketing"], "{u} kept");
    }
    assert!(app.events_of("okta", "dir:").await.is_empty());

    // Approved, it applies.
    let id = run["id"].as_i64().expect("run id");
    let resp = app
        .api(
            reqwest::Method::POST,
            &format!("/api/v1/reconcile/runs/{id}/approve"),
        )
        .send()
        .await
        .expect("approve");
    assert_eq!(resp.status(), 200);
    assert_eq!(json_body(resp).await["status"], "queued");
    app.wait_until_for("the three offboarded", Duration::from_secs(20), || async {
        TRIO.iter().all(|u| app.managed_groups_of(u).is_empty())
    })
    .await;
    assert_eq!(app.events_of("okta", "dir:").await.len(), 3);
}

//! Reconcile end to end: hand edits in the simulator (as a Domo admin would make them) are
//! found and repaired through the queue; unknown members are reported and kept; a mass removal
//! over the cap waits for approval; protected groups are never touched. Runs asked at once,
//! the CLI and the schedule are in `reconcile_runs.rs`.

use reqwest::Method;
use serde_json::{Value, json};

use crate::api_v1::{call, groups};
use crate::helpers::{DEFAULT_RULES, Options, TestApp, spawn_app_with};

pub(crate) const ADA: &str = "ada@example.com";
const GRACE: &str = "grace@example.com";
const ALAN: &str = "alan@example.com";

pub(crate) async fn app_with(reconcile: &str) -> TestApp {
    spawn_app_with(Options {
        rules: format!("{DEFAULT_RULES}\n[reconcile]\n{reconcile}\n"),
        ..Options::default()
    })
    .await
}

pub(crate) async fn onboard(app: &TestApp, email: &str, idp_groups: &[&str]) {
    let (status, body) = call(
        app,
        Method::POST,
        &format!("/api/v1/users/{email}/onboard"),
        Some(json!({ "groups": idp_groups })),
    )
    .await;
    assert_eq!(status, 202, "{body}");
}

pub(crate) async fn hand_remove(app: &TestApp, group: u64, user: u64) {
    let resp = app
        .client
        .delete(format!(
            "http://{}/_sim/groups/{group}/users/{user}",
            app.sim_addr
        ))
        .send()
        .await
        .expect("sim control request");
    assert_eq!(resp.status(), 204);
}

pub(crate) fn group_id(app: &TestApp, name: &str) -> u64 {
    app.sim_state()
        .groups
        .iter()
        .find(|g| g.name == name)
        .map(|g| g.id)
        .expect("group exists")
}

pub(crate) async fn start(app: &TestApp, apply: bool) -> Value {
    let (status, body) = call(
        app,
        Method::POST,
        "/api/v1/reconcile/runs",
        Some(json!({ "apply": apply })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body
}

pub(crate) fn plan_group<'a>(run: &'a Value, name: &str) -> &'a Value {
    run["plan"]["groups"]
        .as_array()
        .and_then(|gs| gs.iter().find(|g| g["name"] == name))
        .unwrap_or_else(|| panic!("no group {name} in {run}"))
}

pub(crate) fn ids(v: &Value) -> Vec<u64> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|m| m["domo_user_id"].as_u64().or_else(|| m.as_u64()))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn hand_edits_are_found_by_a_dry_run_and_repaired_by_an_apply() {
    let app = app_with("").await;
    onboard(&app, ADA, &["Marketing", "Finance"]).await;
    onboard(&app, GRACE, &["Marketing"]).await;
    app.wait_idle().await;
    let (finance, marketing) = (group_id(&app, "Finance"), group_id(&app, "Marketing"));
    let (ada, grace, alan) = (
        app.sim_user_id(ADA),
        app.sim_user_id(GRACE),
        app.sim_user_id(ALAN),
    );
    // A Domo admin removes Ada from Finance, adds Grace to it, and adds Alan (whom the service
    // has never seen) to Marketing.
    hand_remove(&app, finance, ada).await;
    app.hand_add(finance, grace).await;
    app.hand_add(marketing, alan).await;

    let dry = start(&app, false).await;
    assert_eq!(dry["status"], "planned", "{dry}");
    let f = plan_group(&dry, "Finance");
    assert_eq!(ids(&f["add"]), vec![ada]);
    assert_eq!(ids(&f["remove"]), vec![grace]);
    assert!(ids(&plan_group(&dry, "Marketing")["unknown"]).contains(&alan));
    assert!(ids(&plan_group(&dry, "Marketing")["remove"]).is_empty());
    // A dry run changes nothing.
    app.wait_idle().await;
    assert_eq!(groups(&app, ADA), ["Marketing"]);
    assert_eq!(groups(&app, GRACE), ["Finance", "Marketing"]);

    // The stored run is the same object.
    let id = dry["id"].as_i64().expect("run id");
    let (status, shown) = call(
        &app,
        Method::GET,
        &format!("/api/v1/reconcile/runs/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(shown["plan"], dry["plan"]);

    let applied = start(&app, true).await;
    assert_eq!(applied["status"], "queued", "{applied}");
    app.wait_idle().await;
    assert_eq!(groups(&app, ADA), ["Finance", "Marketing"]);
    assert_eq!(groups(&app, GRACE), ["Marketing"]);
    assert_eq!(
        groups(&app, ALAN),
        ["Marketing"],
        "an unknown member is kept"
    );

    let id = applied["id"].as_i64().expect("run id");
    let (_, shown) = call(
        &app,
        Method::GET,
        &format!("/api/v1/reconcile/runs/{id}"),
        None,
    )
    .await;
    assert_eq!(shown["jobs"]["done"], 2, "{shown}");
    assert_eq!(shown["jobs"]["dead"], 0, "{shown}");

    // Nothing is left to repair.
    let again = start(&app, false).await;
    assert_eq!(again["plan"]["totals"]["add"], 0, "{again}");
    assert_eq!(again["plan"]["totals"]["remove"], 0, "{again}");
    let (_, list) = call(&app, Method::GET, "/api/v1/reconcile/runs", None).await;
    assert_eq!(list["runs"].as_array().map(Vec::len), Some(3));
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    for series in [
        "dgs_reconcile_runs_total{status=\"queued\"}",
        "dgs_reconcile_repairs_queued_total{kind=\"remove\"}",
        "dgs_reconcile_last_success_timestamp_seconds",
        "dgs_reconcile_drift{kind=\"add\"}",
    ] {
        assert!(metrics.contains(series), "{series} missing");
    }

    // Why is Ada in Finance, and why is Grace not?
    let (status, ex) = call(
        &app,
        Method::GET,
        &format!("/api/v1/users/{ADA}/explain"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{ex}");
    let f = explained(&ex, "Finance");
    assert_eq!(f["should_be_member"], true, "{f}");
    assert_eq!(f["rule"], 1, "{f}");
    assert!(
        f["decided_by"]["event"]
            .as_str()
            .is_some_and(|e| e.starts_with("api:")),
        "{f}"
    );
    assert_eq!(f["in_domo"], true, "{f}");
    assert_eq!(f["in_domo_source"], "last_run", "{f}");
    assert_eq!(f["last_call"]["op"], "add_member", "{f}");
    let path = format!("/api/v1/users/{GRACE}/explain?live=true");
    let (_, ex) = call(&app, Method::GET, &path, None).await;
    let f = explained(&ex, "Finance");
    assert_eq!(f["should_be_member"], false, "{f}");
    assert_eq!(f["in_domo"], false, "{f}");
    assert_eq!(f["in_domo_source"], "live", "{f}");
    assert_eq!(f["last_call"]["op"], "remove_member", "{f}");
    let (status, _) = call(
        &app,
        Method::GET,
        "/api/v1/users/nobody@example.com/explain",
        None,
    )
    .await;
    assert_eq!(status, 404);
}

fn explained<'a>(ex: &'a Value, name: &str) -> &'a Value {
    ex["groups"]
        .as_array()
        .and_then(|gs| gs.iter().find(|g| g["name"] == name))
        .unwrap_or_else(|| panic!("no group {name} in {ex}"))
}

#[tokio::test]
async fn a_mass_removal_over_the_cap_waits_for_approval_then_applies() {
    let app = app_with("max_removals = 2").await;
    for u in [ADA, GRACE, ALAN] {
        onboard(&app, u, &["Finance"]).await;
    }
    app.wait_idle().await;
    // Someone fills Marketing (named by a rule, so managed) by hand.
    let marketing = app.hand_group("Marketing", true).await;
    for u in [ADA, GRACE, ALAN] {
        app.hand_add(marketing, app.sim_user_id(u)).await;
    }

    let held = start(&app, true).await;
    assert_eq!(held["status"], "held", "{held}");
    assert!(
        held["plan"]["held"]
            .as_str()
            .is_some_and(|h| h.contains("max_removals"))
    );
    app.wait_idle().await;
    assert_eq!(
        groups(&app, ADA),
        ["Finance", "Marketing"],
        "nothing applied before approval"
    );

    let id = held["id"].as_i64().expect("run id");
    let path = format!("/api/v1/reconcile/runs/{id}/approve");
    let (status, approved) = call(&app, Method::POST, &path, None).await;
    assert_eq!(status, 200, "{approved}");
    assert_eq!(approved["status"], "queued");
    assert_eq!(approved["approved_by"], "api:all");
    app.wait_idle().await;
    for u in [ADA, GRACE, ALAN] {
        assert_eq!(groups(&app, u), ["Finance"], "{u}");
    }
    let (status, _) = call(&app, Method::POST, &path, None).await;
    assert_eq!(status, 409, "a run is approved once");
}

#[tokio::test]
async fn protected_groups_are_untouched_and_unknown_members_go_only_when_configured() {
    let app = app_with(
        "protected_groups = [\"Finance\"]\nremove_unknown = true\nmax_removal_share = 1.0",
    )
    .await;
    onboard(&app, ADA, &["Marketing"]).await;
    app.wait_idle().await;
    let (ada, alan) = (app.sim_user_id(ADA), app.sim_user_id(ALAN));
    let finance = app.hand_group("Finance", true).await;
    app.hand_add(finance, ada).await;
    app.hand_add(finance, alan).await;
    app.hand_add(group_id(&app, "Marketing"), alan).await;
    let default = app.default_group();

    let run = start(&app, true).await;
    assert_eq!(run["status"], "queued", "{run}");
    let names: Vec<&str> = run["plan"]["groups"]
        .as_array()
        .map(|gs| gs.iter().filter_map(|g| g["name"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        !names.contains(&"Finance"),
        "a protected group is not even read: {names:?}"
    );
    assert!(!names.contains(&default.as_str()), "nor the default group");
    app.wait_idle().await;
    assert_eq!(
        groups(&app, ALAN),
        ["Finance"],
        "removed from Marketing only"
    );
    assert_eq!(groups(&app, ADA), ["Finance", "Marketing"]);
}

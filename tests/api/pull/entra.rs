//! The Entra pull against the Entra simulator over TCP: Graph delta rounds bring what no
//! webhook could (Entra sends none), a round's deltaLink is stored only when it completes, an
//! expired delta token brings a reset and a full directory pass, and the directory pass finds
//! what the delta did not read.

use std::time::Duration;

use serde_json::{Value, json};

use super::control::source_view;
use super::entra_sim::{ENTRA_SECRET, EntraSim};
use crate::helpers::*;

async fn app_for(sim: &EntraSim) -> TestApp {
    spawn_app_with(Options {
        extra_toml: sim.source_toml(0, 0),
        ..Options::default()
    })
    .await
}

/// Marketing with `members` in it at Entra, brought to Domo by a first pull.
async fn marketing_with(sim: &EntraSim, app: &TestApp, members: &[&str]) {
    sim.add_group("Marketing").await;
    for email in members {
        sim.add_user(email).await;
        sim.member("Marketing", email, true).await;
    }
    let report = app.pull_now("entra", false).await;
    assert_eq!(report["ok"], true, "{report}");
    app.wait_until_for(
        "the members in Marketing",
        Duration::from_secs(20),
        || async {
            members
                .iter()
                .all(|m| app.managed_groups_of(m) == ["Marketing"])
        },
    )
    .await;
}

async fn stored_cursor(app: &TestApp) -> Option<String> {
    app.store
        .pull_state("entra")
        .await
        .expect("state")
        .and_then(|s| s.cursor)
}

#[tokio::test]
async fn offboardings_and_removals_no_webhook_carried_are_applied_by_the_next_pull() {
    let sim = EntraSim::start(100).await;
    let app = app_for(&sim).await;
    let trio = ["ada@example.com", "grace@example.com", "alan@example.com"];
    marketing_with(&sim, &app, &trio).await;
    let first = stored_cursor(&app).await.expect("a cursor");
    let doc: Value = serde_json::from_str(&first).expect("json cursor");
    assert!(
        doc["users"]
            .as_str()
            .is_some_and(|l| l.starts_with(&sim.base)),
        "{doc}"
    );
    assert_eq!(doc["names"].as_object().map(|n| n.len()), Some(1), "{doc}");

    // Ada is disabled, Grace leaves Marketing, Alan is deleted.
    sim.update_user("ada@example.com", json!({"accountEnabled": false}))
        .await;
    sim.member("Marketing", "grace@example.com", false).await;
    sim.delete_user("alan@example.com").await;
    let report = app.pull_now("entra", false).await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(
        report["events"]["queued"], 4,
        "ada, grace, alan and alan's membership: {report}"
    );
    app.wait_until_for("the three removed", Duration::from_secs(20), || async {
        trio.iter().all(|u| app.managed_groups_of(u).is_empty())
    })
    .await;
    assert_ne!(stored_cursor(&app).await.as_deref(), Some(first.as_str()));

    let view = source_view(&app, "entra").await;
    assert_eq!(view["pull"]["provider"], "entra", "{view}");
    assert!(
        !view.to_string().contains(ENTRA_SECRET),
        "no credential shown"
    );
    let requests = sim.requests().await;
    assert!(
        requests.iter().any(|r| r["route"] == "/v1.0/groups/delta"),
        "{requests:?}"
    );
}

#[tokio::test]
async fn a_delta_link_is_stored_only_when_its_round_completes() {
    // Two users a page: a round over three changed users has two users pages.
    let sim = EntraSim::start(2).await;
    let app = app_for(&sim).await;
    marketing_with(
        &sim,
        &app,
        &["ada@example.com", "grace@example.com", "alan@example.com"],
    )
    .await;
    let before = stored_cursor(&app).await.expect("a cursor");
    let stored = app.events_of("entra", "entra:").await.len();
    for u in ["ada@example.com", "grace@example.com", "alan@example.com"] {
        sim.update_user(u, json!({"jobTitle": "Analyst"})).await;
    }
    // The second page of the users round fails (after the service's retries).
    sim.faults(json!({"fail_route": "GET /v1.0/users/delta", "fail_from_call": 2}))
        .await;
    let failed = app.pull_now("entra", false).await;
    assert_eq!(failed["ok"], false, "{failed}");
    assert_eq!(
        stored_cursor(&app).await.as_deref(),
        Some(before.as_str()),
        "no deltaLink stored mid-round"
    );
    let partial = app.events_of("entra", "entra:").await.len();
    assert_eq!(partial, stored + 2, "the first page's two users");

    sim.faults(json!({})).await;
    let done = app.pull_now("entra", false).await;
    assert_eq!(done["ok"], true, "{done}");
    assert_eq!(
        done["events"]["duplicate"], 0,
        "the round went on, nothing read twice: {done}"
    );
    assert_eq!(app.events_of("entra", "entra:").await.len(), stored + 3);
    let after = stored_cursor(&app).await.expect("a cursor");
    assert_ne!(after, before, "the round completed");
    // The round went on from its nextLink: the users' first page was not read again.
    let requests = sim.requests().await;
    let skips = requests
        .iter()
        .filter(|r| {
            r["target"]
                .as_str()
                .is_some_and(|t| t.contains("skiptoken"))
        })
        .count();
    assert!(skips >= 1, "{requests:?}");
}

#[tokio::test]
async fn an_expired_delta_token_resets_the_cursor_and_runs_a_full_directory_pass() {
    let sim = EntraSim::start(100).await;
    let app = app_for(&sim).await;
    marketing_with(&sim, &app, &["ada@example.com", "grace@example.com"]).await;
    sim.expire_delta_tokens().await;
    sim.update_user("ada@example.com", json!({"accountEnabled": false}))
        .await;
    let report = app.pull_now("entra", false).await;
    assert_eq!(report["events"]["cursor_reset"], true, "{report}");
    assert_eq!(report["directory"]["scope"], "entra", "{report}");
    let d = &report["directory"]["plan"]["directory"][0];
    assert_eq!(d["complete"], true, "{report}");
    app.wait_until_for("ada offboarded", Duration::from_secs(20), || async {
        app.managed_groups_of("ada@example.com").is_empty()
    })
    .await;
    assert_eq!(app.managed_groups_of("grace@example.com"), ["Marketing"]);
    let metrics = app.metrics_text().await;
    let resets = metrics
        .lines()
        .find(|l| l.starts_with("dgs_pull_cursor_resets_total{source=\"entra\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0);
    assert!(resets >= 1.0, "{metrics}");
    let requests = sim.requests().await;
    assert!(
        requests.iter().any(|r| r["status"] == 410),
        "the refused token was tried"
    );
}

#[tokio::test]
async fn the_directory_pass_finds_a_user_disabled_while_the_delta_was_not_read() {
    let sim = EntraSim::start(2).await;
    let app = app_for(&sim).await;
    marketing_with(
        &sim,
        &app,
        &["ada@example.com", "grace@example.com", "alan@example.com"],
    )
    .await;
    sim.update_user("grace@example.com", json!({"accountEnabled": false}))
        .await;
    sim.member("Marketing", "alan@example.com", false).await;
    // The delta cannot be read: only the directory pass sees the changes.
    sim.faults(json!({"fail_route": "GET /v1.0/users/delta", "fail_from_call": 1}))
        .await;
    let report = app.pull_now("entra", true).await;
    assert_eq!(report["ok"], false, "the event pull failed: {report}");
    let d = &report["directory"]["plan"]["directory"][0];
    assert_eq!(d["complete"], true, "{report}");
    assert_eq!(d["offboard"], json!(["grace@example.com"]), "{d}");
    assert_eq!(
        d["remove"],
        json!([{"user": "alan@example.com", "group": "Marketing"}]),
        "{d}"
    );
    app.wait_until_for("the drift applied", Duration::from_secs(20), || async {
        app.managed_groups_of("grace@example.com").is_empty()
            && app.managed_groups_of("alan@example.com").is_empty()
            && app.managed_groups_of("ada@example.com") == ["Marketing"]
    })
    .await;
    let requests = sim.requests().await;
    assert!(
        requests
            .iter()
            .any(|r| r["route"] == "/v1.0/groups/{id}/members"),
        "{requests:?}"
    );
}

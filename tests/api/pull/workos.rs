//! The WorkOS pull against the WorkOS simulator over TCP: a missed offboarding comes in with
//! the next poll, an event both pushed and pulled is applied once, a listing that fails part
//! way removes nobody, and an expired cursor brings a full directory pass.

use std::time::Duration;

use serde_json::{Value, json};

use super::control::source_view;
use super::workos_sim::{WORKOS_KEY, WorkosSim, push_workos};
use crate::helpers::*;

fn ids(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["id"].as_str().expect("event id").to_owned())
        .collect()
}

async fn app_for(sim: &WorkosSim, interval: u64) -> TestApp {
    spawn_app_with(Options {
        extra_toml: sim.source_toml(interval, 0),
        ..Options::default()
    })
    .await
}

/// Marketing with `members` in it, created at WorkOS and delivered by its webhooks.
async fn marketing_with(sim: &WorkosSim, app: &TestApp, members: &[&str]) {
    let mut setup = sim.add_group("Marketing").await;
    for email in members {
        setup.extend(sim.add_user(email, false).await.1);
        setup.extend(sim.member("Marketing", email, true, false).await);
    }
    push_workos(app, &setup).await;
    app.wait_until("the members in Marketing", || async {
        members
            .iter()
            .all(|m| app.managed_groups_of(m) == ["Marketing"])
    })
    .await;
}

#[tokio::test]
async fn an_offboarding_that_was_never_pushed_is_applied_by_the_next_poll() {
    let sim = WorkosSim::start().await;
    let app = app_for(&sim, 1).await;
    marketing_with(&sim, &app, &["ada@example.com"]).await;

    // WorkOS marks Ada inactive; the webhook is lost.
    let lost = sim
        .update_user("ada@example.com", json!({"state": "inactive"}), false)
        .await;
    assert_eq!(lost.len(), 1);
    let lost_id = ids(&lost).remove(0);
    app.wait_until_for(
        "the pulled offboarding to remove ada",
        Duration::from_secs(20),
        || async { app.managed_groups_of("ada@example.com").is_empty() },
    )
    .await;
    let row = app.wait_status("workos", &lost_id, "done").await;
    assert_eq!(row.attempts, 1);

    let view = source_view(&app, "workos").await;
    let pull = &view["pull"];
    assert_eq!(pull["provider"], "workos", "{view}");
    assert_eq!(pull["auth"], "token");
    assert!(pull["events_pulled"].as_i64().expect("n") >= 4, "{pull}");
    assert!(pull["last_success_at"].is_string(), "{pull}");
    assert!(
        !view.to_string().contains(WORKOS_KEY),
        "no credential shown"
    );
    let requests = sim.requests().await;
    let events = requests
        .iter()
        .find(|r| r["route"] == "/events")
        .expect("the Events API was read");
    assert_eq!(events["auth_scheme"], "Bearer");
}

#[tokio::test]
async fn an_event_both_pushed_and_pulled_is_stored_once_and_applied_once() {
    let sim = WorkosSim::start().await;
    let app = app_for(&sim, 0).await;
    let mut setup = sim.add_group("Marketing").await;
    for email in ["ada@example.com", "grace@example.com"] {
        setup.extend(sim.add_user(email, false).await.1);
    }
    push_workos(&app, &setup).await;

    // Ada's membership: pushed first, then pulled.
    let ada = sim
        .member("Marketing", "ada@example.com", true, false)
        .await;
    push_workos(&app, &ada).await;
    app.wait_until("ada in Marketing", || async {
        app.managed_groups_of("ada@example.com") == ["Marketing"]
    })
    .await;
    // Grace's: pulled first, then pushed (WorkOS retried late).
    let grace = sim
        .member("Marketing", "grace@example.com", true, false)
        .await;
    let report = app.pull_now("workos", false).await;
    assert_eq!(report["ok"], true, "{report}");
    let ev = &report["events"];
    assert!(
        ev["duplicate"].as_u64().expect("n") >= 4,
        "the pushed ones: {report}"
    );
    assert_eq!(ev["queued"], 1, "grace's: {report}");
    app.wait_until("grace in Marketing", || async {
        app.managed_groups_of("grace@example.com") == ["Marketing"]
    })
    .await;
    let late = super::control::push(&app, "workos", &grace[0]).await;
    assert_eq!(late["events"][0]["status"], "duplicate", "{late}");
    app.wait_idle().await;

    let again = app.pull_now("workos", false).await;
    assert_eq!(again["events"]["queued"], 0, "{again}");
    for id in ids(&ada).into_iter().chain(ids(&grace)) {
        let stored = app.events_of("workos", &id).await;
        assert_eq!(stored.len(), 1, "{id}: {stored:?}");
        assert_eq!(stored[0].1, "done");
    }
    assert_eq!(app.calls("PUT /v1/groups/{id}/users/{id}"), 2);
}

#[tokio::test]
async fn a_directory_listing_that_fails_on_its_third_page_removes_nobody() {
    let sim = WorkosSim::start().await;
    let app = app_for(&sim, 0).await;
    let trio = ["ada@example.com", "grace@example.com", "alan@example.com"];
    marketing_with(&sim, &app, &trio).await;
    // 250 more users: the user list has three pages of 100.
    for i in 0..250 {
        sim.add_user(&format!("filler{i}@example.com"), true).await;
    }
    // WorkOS drops Ada from Marketing and suspends Grace; no webhook reaches the service.
    sim.member("Marketing", "ada@example.com", false, true)
        .await;
    sim.update_user("grace@example.com", json!({"state": "suspended"}), true)
        .await;

    sim.faults(json!({"fail_route": "GET /directory_users", "fail_from_call": 3}))
        .await;
    let report = app.pull_now("workos", true).await;
    let d = &report["directory"]["plan"]["directory"][0];
    assert_eq!(d["complete"], false, "{report}");
    let problem = d["problem"].as_str().expect("a reason");
    assert!(
        problem.contains("users of Sim Directory") && problem.contains("503"),
        "{problem}"
    );
    assert_eq!(d["offboard"], json!([]), "{d}");
    assert_eq!(d["remove"], json!([]), "{d}");
    assert!(d["withheld_removals"].as_u64().expect("n") >= 1, "{d}");
    app.wait_idle().await;
    for u in trio {
        assert_eq!(app.managed_groups_of(u), ["Marketing"], "{u} kept");
    }
    assert!(app.events_of("workos", "dir:").await.is_empty());

    // Once every page reads, the drift is applied.
    sim.faults(json!({})).await;
    let report = app.pull_now("workos", true).await;
    let d = &report["directory"]["plan"]["directory"][0];
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
async fn an_expired_or_refused_cursor_brings_a_full_directory_pass() {
    let sim = WorkosSim::start().await;
    let app = app_for(&sim, 0).await;
    marketing_with(&sim, &app, &["ada@example.com", "grace@example.com"]).await;
    let first = app.pull_now("workos", false).await;
    assert_eq!(first["ok"], true, "{first}");
    let state = app
        .store
        .pull_state("workos")
        .await
        .expect("state")
        .expect("row");
    let cursor = state.cursor.expect("an event id");
    assert!(cursor.starts_with("event_"), "{cursor}");
    // Ada leaves Marketing without a webhook, and (for this test) without an event either.
    sim.member("Marketing", "ada@example.com", false, true)
        .await;

    // 1. Last read 31 days ago: past the Events API's 30-day retention.
    let now = chrono::Utc::now().timestamp_millis();
    app.store
        .set_pull_cursor("workos", Some(&cursor), Some(now - 31 * 86_400_000), now)
        .await
        .expect("cursor");
    let report = app.pull_now("workos", false).await;
    assert_eq!(report["events"]["cursor_reset"], true, "{report}");
    assert!(
        report["warnings"]
            .to_string()
            .contains("no longer honoured the stored cursor"),
        "{report}"
    );
    assert_eq!(report["directory"]["scope"], "workos", "{report}");
    let d = &report["directory"]["plan"]["directory"][0];
    assert_eq!(
        d["remove"],
        json!([{"user": "ada@example.com", "group": "Marketing"}]),
        "{report}"
    );
    app.wait_until_for("ada removed", Duration::from_secs(20), || async {
        app.managed_groups_of("ada@example.com").is_empty()
    })
    .await;
    assert_eq!(app.managed_groups_of("grace@example.com"), ["Marketing"]);

    // 2. A cursor WorkOS refuses (not an id it issued): reset too.
    let now = chrono::Utc::now().timestamp_millis();
    app.store
        .set_pull_cursor("workos", Some("event_bogus"), Some(now), now)
        .await
        .expect("cursor");
    let report = app.pull_now("workos", false).await;
    assert_eq!(report["events"]["cursor_reset"], true, "{report}");
    assert!(report["directory"].is_object(), "{report}");
    let metrics = app.metrics_text().await;
    let resets = metrics
        .lines()
        .find(|l| l.starts_with("dgs_pull_cursor_resets_total{source=\"workos\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0);
    assert!(resets >= 2.0, "{metrics}");
    let requests = sim.requests().await;
    assert!(
        requests.iter().any(|r| r["target"]
            .as_str()
            .is_some_and(|t| t.contains("after=event_bogus") && r["status"] == 422)),
        "the refused cursor was tried once"
    );
}

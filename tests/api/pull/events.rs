//! Missed events: what the hook never delivered is pulled from the System Log, and what both
//! delivered is stored and applied once.

use std::time::Duration;

use serde_json::Value;

use super::{OktaSim, push_okta};
use crate::helpers::*;

/// The `uuid` of each LogEvent.
fn uuids(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["uuid"].as_str().expect("uuid").to_owned())
        .collect()
}

#[tokio::test]
async fn an_offboarding_that_was_never_pushed_is_applied_by_the_next_poll() {
    let okta = OktaSim::start().await;
    let app = spawn_app_with(Options {
        okta_pull: Some(okta.pull_toml(1, 0)),
        ..Options::default()
    })
    .await;
    // Ada joins Marketing; the hook delivers it.
    let mut onboarding = okta.add_group("Marketing").await;
    let (ada_id, created) = okta.add_user("ada@example.com").await;
    onboarding.extend(created);
    onboarding.extend(
        okta.member("Marketing", "ada@example.com", true, false)
            .await,
    );
    push_okta(&app, &onboarding).await;
    app.wait_until("ada in Marketing", || async {
        app.managed_groups_of("ada@example.com") == ["Marketing"]
    })
    .await;

    // Okta deactivates her; the hook delivery is lost (never sent).
    let lost = okta.lifecycle("ada@example.com", "deactivate", false).await;
    assert_eq!(lost.len(), 1);
    let lost_id = uuids(&lost).remove(0);
    app.wait_until_for(
        "the pulled offboarding to remove ada",
        Duration::from_secs(20),
        || async { app.managed_groups_of("ada@example.com").is_empty() },
    )
    .await;
    let row = app.wait_status("okta", &lost_id, "done").await;
    assert_eq!(row.attempts, 1);

    // The pull's state is visible to operators.
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
        .expect("okta source")
        .clone();
    let pull = &okta_view["pull"];
    assert_eq!(pull["provider"], "okta");
    assert_eq!(pull["auth"], "token");
    assert_eq!(pull["interval_secs"], 1);
    assert!(
        pull["events_pulled"].as_i64().expect("count") >= 4,
        "{pull}"
    );
    assert!(pull["last_success_at"].is_string(), "{pull}");
    assert!(pull["next_run_at"].is_string(), "{pull}");
    assert!(
        pull["cursor_age_secs"].as_i64().expect("age") < 30,
        "{pull}"
    );
    assert!(pull["lag_secs"].is_i64(), "{pull}");
    assert_eq!(okta_view["path"], "/webhooks/okta");
    let text = okta_view.to_string();
    assert!(
        !text.contains(super::okta_sim::OKTA_TOKEN),
        "no credential shown"
    );
    assert!(ada_id.starts_with("00u"));
}

#[tokio::test]
async fn an_event_both_pushed_and_pulled_is_stored_once_and_applied_once() {
    let okta = OktaSim::start().await;
    // No scheduled event pull: the test decides when it pulls.
    let app = spawn_app_with(Options {
        okta_pull: Some(okta.pull_toml(0, 0)),
        ..Options::default()
    })
    .await;
    let mut setup = okta.add_group("Marketing").await;
    for login in ["ada@example.com", "grace@example.com"] {
        setup.extend(okta.add_user(login).await.1);
    }
    push_okta(&app, &setup).await;

    // Ada's membership: pushed first, then pulled.
    let ada = okta
        .member("Marketing", "ada@example.com", true, false)
        .await;
    push_okta(&app, &ada).await;
    app.wait_until("ada in Marketing", || async {
        app.managed_groups_of("ada@example.com") == ["Marketing"]
    })
    .await;
    // Grace's: pulled first, then pushed (the hook retried late).
    let grace = okta
        .member("Marketing", "grace@example.com", true, false)
        .await;
    let report = app.pull_now("okta", false).await;
    assert_eq!(report["ok"], true, "{report}");
    let ev = &report["events"];
    assert!(
        ev["duplicate"].as_u64().expect("n") >= 1,
        "ada's copy: {report}"
    );
    assert!(ev["queued"].as_u64().expect("n") >= 1, "grace's: {report}");
    app.wait_until("grace in Marketing", || async {
        app.managed_groups_of("grace@example.com") == ["Marketing"]
    })
    .await;
    push_okta(&app, &grace).await;
    app.wait_idle().await;

    // A second pull reads nothing new.
    let again = app.pull_now("okta", false).await;
    assert_eq!(again["events"]["queued"], 0, "{again}");

    // One row per uuid, each applied once: one Domo add per user.
    for id in uuids(&ada).into_iter().chain(uuids(&grace)) {
        let stored = app.events_of("okta", &id).await;
        assert_eq!(stored.len(), 1, "{id}: {stored:?}");
        assert_eq!(stored[0].1, "done");
    }
    assert_eq!(app.calls("PUT /v1/groups/{id}/users/{id}"), 2);
    let metrics = app.metrics_text().await;
    assert!(
        metrics.contains("dgs_pull_events_total{source=\"okta\",outcome=\"duplicate\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("dgs_pull_last_success_timestamp_seconds{source=\"okta\"}"));
    assert!(metrics.contains("dgs_pull_lag_seconds{source=\"okta\"}"));
}

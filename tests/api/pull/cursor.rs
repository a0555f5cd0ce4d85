//! A cursor the provider no longer honours (retention passed, or refused) is reset, with a
//! warning and `dgs_pull_cursor_resets_total`, and a full directory pass catches the drift.

use std::time::Duration;

use serde_json::Value;

use super::{OktaSim, push_okta};
use crate::helpers::*;

/// Ada and Grace in Marketing, known to the service through the hook; then Okta drops Ada from
/// Marketing without any event (directory drift only a directory pass can see).
async fn drifted(okta: &OktaSim, app: &TestApp) {
    let mut setup = okta.add_group("Marketing").await;
    for login in ["ada@example.com", "grace@example.com"] {
        setup.extend(okta.add_user(login).await.1);
        setup.extend(okta.member("Marketing", login, true, false).await);
    }
    push_okta(app, &setup).await;
    app.wait_until("both in Marketing", || async {
        app.managed_groups_of("ada@example.com") == ["Marketing"]
            && app.managed_groups_of("grace@example.com") == ["Marketing"]
    })
    .await;
    okta.member("Marketing", "ada@example.com", false, true)
        .await;
}

fn resets(metrics: &str) -> f64 {
    metrics
        .lines()
        .find(|l| l.starts_with("dgs_pull_cursor_resets_total{source=\"okta\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

fn directory_of(report: &Value) -> &Value {
    &report["directory"]["plan"]["directory"][0]
}

#[tokio::test]
async fn an_expired_cursor_triggers_a_full_pass_with_a_warning_and_a_metric() {
    let okta = OktaSim::start().await;
    let app = spawn_app_with(Options {
        okta_pull: Some(okta.pull_toml(0, 0)),
        extra_toml: "[reconcile]\nmax_removal_share = 1.0\n".into(),
        ..Options::default()
    })
    .await;
    drifted(&okta, &app).await;

    // 1. A cursor last read 100 days ago: past Okta's 90-day retention, so it may have skipped
    //    events; it is not even tried.
    let now = chrono::Utc::now().timestamp_millis();
    let old = format!("{}/api/v1/logs?limit=1000&after=1_1", okta.base);
    app.store
        .set_pull_cursor("okta", Some(&old), Some(now - 100 * 86_400_000), now)
        .await
        .expect("cursor");
    let report = app.pull_now("okta", false).await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["events"]["cursor_reset"], true, "{report}");
    let warnings = report["warnings"].to_string();
    assert!(
        warnings.contains("no longer honoured the stored cursor"),
        "{warnings}"
    );
    // The full pass ran (though the source's directory interval is off) and found the drift.
    assert_eq!(report["directory"]["scope"], "okta", "{report}");
    assert_eq!(report["directory"]["status"], "queued", "{report}");
    let d = directory_of(&report);
    assert_eq!(d["complete"], true);
    assert_eq!(
        d["remove"],
        serde_json::json!([{"user": "ada@example.com", "group": "Marketing"}])
    );
    app.wait_until_for("ada removed", Duration::from_secs(20), || async {
        app.managed_groups_of("ada@example.com").is_empty()
    })
    .await;
    assert_eq!(app.managed_groups_of("grace@example.com"), ["Marketing"]);
    assert!(resets(&app.metrics_text().await) >= 1.0);
    let requests = okta.requests().await;
    assert!(
        !requests.iter().any(|r| r["target"]
            .as_str()
            .is_some_and(|t| t.contains("after=1_1"))),
        "the expired cursor was not used"
    );

    // 2. A cursor Okta refuses (a bookmark it did not issue): reset too.
    let refused = format!("{}/api/v1/logs?limit=1000&after=not-a-bookmark", okta.base);
    let now = chrono::Utc::now().timestamp_millis();
    app.store
        .set_pull_cursor("okta", Some(&refused), Some(now), now)
        .await
        .expect("cursor");
    let report = app.pull_now("okta", false).await;
    assert_eq!(report["events"]["cursor_reset"], true, "{report}");
    assert!(report["directory"].is_object(), "{report}");
    assert!(resets(&app.metrics_text().await) >= 2.0);
    let state = app
        .store
        .pull_state("okta")
        .await
        .expect("state")
        .expect("row");
    let cursor = state.cursor.expect("a fresh cursor");
    assert!(
        cursor.starts_with(&okta.base) && !cursor.contains("not-a-bookmark"),
        "{cursor}"
    );
}

//! Reconcile runs as a whole: two requests (or two replicas) asking at the same moment run it
//! once; the CLI prints a dry run and applies with `--apply`; the schedule applies, and a run
//! cut short is marked failed.

/// Asks for an applying run at `first` and `second` (base URLs) at the same moment, with Domo
/// slowed down so the runs would overlap: one is started (201), the other refused (409), and
/// one run is stored.
use dgs_sims::domo::Faults;
use reqwest::Method;
use serde_json::json;

use crate::api_v1::{call, groups};
use crate::helpers::{Options, TestApp};
use crate::reconcile::{ADA, app_with, group_id, hand_remove, onboard};

async fn ask_twice_at_once(app: &TestApp, first: &str, second: &str) {
    app.sim.set_faults(Faults {
        latency_ms: 300,
        ..Faults::default()
    });
    let client = reqwest::Client::new();
    let post = |base: &str| {
        client
            .post(format!("{base}/api/v1/reconcile/runs"))
            .bearer_auth(crate::helpers::TOKEN_ALL)
            .json(&json!({ "apply": true }))
            .send()
    };
    let (a, b) = tokio::join!(post(first), post(second));
    let mut statuses = vec![
        a.expect("sent").status().as_u16(),
        b.expect("sent").status().as_u16(),
    ];
    statuses.sort_unstable();
    assert_eq!(statuses, vec![201, 409]);
    app.sim.set_faults(Faults::default());
    let (_, list) = call(app, Method::GET, "/api/v1/reconcile/runs", None).await;
    assert_eq!(list["runs"].as_array().map(Vec::len), Some(1), "{list}");
}

#[tokio::test]
async fn two_requests_at_the_same_moment_run_once() {
    let app = app_with("").await;
    onboard(&app, ADA, &["Marketing", "Finance"]).await;
    app.wait_idle().await;
    let base = app.url("");
    ask_twice_at_once(&app, &base, &base).await;
}

/// Two replicas (this test's service and a second process on the same database and the same
/// Domo) asked to reconcile at the same moment: one run, the other answered 409.
#[tokio::test]
async fn two_replicas_asked_at_the_same_moment_run_it_once() {
    let app = app_with("").await;
    onboard(&app, ADA, &["Marketing", "Finance"]).await;
    app.wait_idle().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let o = Options {
        store_url: Some(app.config.store.url.expose().to_owned()),
        ..Options::default()
    };
    let second = crate::helpers::spawn_binary(dir.path(), app.sim_addr, &o, "", "warn", None).await;
    ask_twice_at_once(&app, &app.url(""), &second.base).await;
}

#[tokio::test]
async fn the_cli_prints_a_dry_run_and_applies_with_apply() {
    let app = app_with("").await;
    onboard(&app, ADA, &["Marketing"]).await;
    app.wait_idle().await;
    hand_remove(&app, group_id(&app, "Marketing"), app.sim_user_id(ADA)).await;

    // The CLI on the same store and simulator as the running service.
    let dir = tempfile::tempdir().expect("tempdir");
    let o = Options {
        store_url: Some(app.config.store.url.expose().to_owned()),
        ..Options::default()
    };
    let toml = crate::helpers::config_toml(dir.path(), app.sim_addr, &o);
    let path = dir.path().join("config.toml");
    std::fs::write(&path, toml).expect("write config");
    let run = |apply: bool| {
        let path = path.clone();
        tokio::task::spawn_blocking(move || {
            let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_domo-group-sync"));
            cmd.args(["reconcile", "--config"]).arg(&path);
            if apply {
                cmd.arg("--apply");
            }
            cmd.output().expect("runs")
        })
    };
    let out = run(false).await.expect("joined");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("(dry run): planned"), "{stdout}");
    assert!(stdout.contains("1 to add"), "{stdout}");
    assert!(
        stderr.contains("Marketing"),
        "progress names the groups read: {stderr}"
    );
    assert_eq!(
        groups(&app, ADA),
        Vec::<String>::new(),
        "a dry run changes nothing"
    );

    let out = run(true).await.expect("joined");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("(apply): queued"), "{stdout}");
    app.wait_idle().await;
    assert_eq!(groups(&app, ADA), ["Marketing"]);
}

#[tokio::test]
async fn the_schedule_applies_a_reconcile_and_a_run_cut_short_is_marked_failed() {
    let app = app_with("interval_secs = 1").await;
    onboard(&app, ADA, &["Marketing"]).await;
    app.wait_idle().await;
    // A run a killed process left behind.
    let stale = app.store.insert_run("cli", true, 0).await.expect("insert");
    hand_remove(&app, group_id(&app, "Marketing"), app.sim_user_id(ADA)).await;

    app.wait_until("a scheduled run to repair Ada", || async {
        groups(&app, ADA) == ["Marketing"]
    })
    .await;
    let (_, list) = call(&app, Method::GET, "/api/v1/reconcile/runs", None).await;
    let runs = list["runs"].as_array().cloned().unwrap_or_default();
    assert!(
        runs.iter()
            .any(|r| r["started_by"] == "schedule" && r["status"] == "queued"),
        "{list}"
    );
    let (_, old) = call(
        &app,
        Method::GET,
        &format!("/api/v1/reconcile/runs/{stale}"),
        None,
    )
    .await;
    assert_eq!(old["status"], "failed", "{old}");
}
